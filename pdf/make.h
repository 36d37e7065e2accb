// PDF generation helpers for tests, benchmarks and (later) QR stamping.
// PoDoFo stays behind this header; nothing here throws.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "crypto/encoding.h"
#include "crypto/status.h"

namespace quipu::pdf {

using Bytes = crypto::Bytes;  // std::vector<uint8_t>

// Returns a new well-formed PDF (one revision) of `pages` A4 pages, each
// showing `text` (Latin-1 subset; other bytes are written as-is) and its page
// number in Helvetica. Errors: kInvalidArgument if pages is not in
// [1, 100000]; kInternal if PoDoFo fails. Deterministic: the same arguments
// give the same bytes, today or tomorrow. Thread-safe (serialised).
Result<Bytes> MakeSamplePdf(int pages, std::string_view text);

// Returns `pdf` followed by an incremental update that sets the document
// information /Subject to `text`: the input bytes are an exact prefix of the
// result, which has one more revision. Errors: kInvalidArgument if `pdf`
// cannot be parsed (or needs a password); kInternal if PoDoFo fails to write.
// Deterministic, as MakeSamplePdf. Thread-safe (serialised).
Result<Bytes> AppendIncrementalUpdate(std::span<const uint8_t> pdf, std::string_view text);

}  // namespace quipu::pdf
