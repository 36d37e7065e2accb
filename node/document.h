// Documents as quipu hashes them: a PDF by its exact bytes, a JSON document
// by its RFC 8785 canonical form, anything else (raw) by its bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/sha256.h"
#include "crypto/status.h"

namespace quipu::node {

enum class DocType { kPdf, kJson, kRaw };

std::string_view DocTypeName(DocType type);   // "pdf", "json", "raw"
std::string_view MediaType(DocType type);     // "application/pdf", ...
// Parses "pdf" | "json" | "raw" and the media types; nullopt otherwise.
std::optional<DocType> ParseDocType(std::string_view text);

// Sniffs the type from the first bytes: a `%PDF-` header in the first 1024
// bytes is a PDF; a first non-blank `{` or `[` is JSON; anything else is raw.
DocType SniffDocType(std::span<const uint8_t> head);

struct RevisionHash {
  uint64_t length = 0;
  crypto::Digest sha256{};
};

struct HashedDocument {
  DocType type = DocType::kRaw;
  crypto::Digest sha256{};  // what quipu records and looks up
  uint64_t size = 0;        // bytes of the input as given
  // PDF only:
  int pages = 0;
  std::vector<RevisionHash> revisions;  // every revision, the last one is the whole file
};

// Hashes an in-memory document as `type`. Errors (kInvalidArgument): a PDF
// that does not parse, JSON that is not strict RFC 8785 input.
Result<HashedDocument> HashDocument(std::span<const uint8_t> bytes, DocType type);

}  // namespace quipu::node
