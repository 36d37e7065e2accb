// Ledger entries: RFC 8785 canonical JSON objects with `v`, `type`, `time`
// and the fields of their type (docs/ledger.md). Callers give the type
// fields; the sequencer adds `v` and `time` and canonicalizes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/sha256.h"
#include "crypto/status.h"

namespace quipu::ledger {

constexpr int kEntryVersion = 1;
constexpr size_t kMaxEntryBytes = 16 * 1024;

// Checks that `fields` is an object with a known `type` and exactly that
// type's fields, well formed, and without `v` or `time` (the sequencer's).
// kInvalidArgument naming the field and the reason otherwise.
Status ValidateEntryFields(const nlohmann::json& fields);

// The bytes the sequencer adds to a caller's fields: `"time":"<27>",` and
// `,"v":1`.
constexpr size_t kSequencerBytes = 44;

// A caller's type fields, validated, in canonical form, and the document
// they concern (approval, rejection, qr_issue, and qr_revoke when it names one). Only the two functions below
// make one, so holding one proves the check was done: the sequencer takes
// them without checking again.
class CanonicalFields {
 public:
  const std::string& text() const { return text_; }
  const std::optional<crypto::Digest>& doc_sha256() const { return doc_; }

 private:
  friend Result<CanonicalFields> ParseEntryFields(std::string_view text);
  friend Result<CanonicalFields> CanonicalEntryFields(const nlohmann::json& fields);
  CanonicalFields(std::string text, std::optional<crypto::Digest> doc)
      : text_(std::move(text)), doc_(doc) {}
  std::string text_;
  std::optional<crypto::Digest> doc_;
};
// From JSON text: text already in canonical form, as quipu's own tools and
// the benchmarks write it, is checked by a scanner without building a JSON
// tree; anything else is parsed strictly, validated and canonicalized.
// kInvalidArgument naming the problem (bad JSON, a field, the size).
Result<CanonicalFields> ParseEntryFields(std::string_view text);
// From a JSON value: validated and canonicalized.
Result<CanonicalFields> CanonicalEntryFields(const nlohmann::json& fields);

// Returns the canonical entry bytes: `fields` plus v and time. Errors if the
// result is over kMaxEntryBytes or not canonicalizable.
Result<std::string> BuildEntry(const nlohmann::json& fields, std::string_view time);

// What the ledger indexes and shows of an entry, read back from its bytes.
struct EntrySummary {
  std::string type;
  std::string time;
  int64_t time_micros = 0;  // `time` as microseconds since the Unix epoch
  std::string client;
  std::optional<crypto::Digest> doc_sha256;  // approval, rejection, qr_issue (qr_revoke: newer ones)
  std::string media_type;
  std::optional<uint64_t> target;            // qr_revoke
};

// Parses and validates stored entry bytes (as the audit does): they must be
// canonical and valid. kCorruption otherwise.
Result<EntrySummary> ParseEntry(std::string_view bytes);

// What the audit needs of each entry: the same checks as ParseEntry, but
// only the time and the document come back, so that quipu's own entries
// (the fast path) are checked without copying anything.
struct EntryFacts {
  int64_t time_micros = 0;
  std::optional<crypto::Digest> doc_sha256;
};
Result<EntryFacts> CheckEntry(std::string_view bytes);

// RFC 3339 UTC with microseconds: "2026-11-23T04:05:06.123456Z".
std::string FormatTime(int64_t unix_micros);
// The inverse; kInvalidArgument unless exactly that shape.
Result<int64_t> ParseTime(std::string_view text);

}  // namespace quipu::ledger
