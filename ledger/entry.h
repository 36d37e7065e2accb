// Ledger entries: RFC 8785 canonical JSON objects with `v`, `type`, `time`
// and the fields of their type (docs/ledger.md). The ledger knows entries by
// that envelope only: which types exist and what fields they hold is the
// caller's, given as an EntrySchema (a declarative table) that the
// definitional parser and the fast scanner both read, so the two cannot
// disagree about a type. Callers give the type fields; the sequencer adds
// `v` and `time` and canonicalizes.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/sha256.h"
#include "crypto/status.h"

namespace quipu::ledger {

constexpr int kEntryVersion = 1;
constexpr size_t kMaxEntryBytes = 16 * 1024;

// The bytes the sequencer adds to a caller's fields: `"time":"<27>",` and
// `,"v":1`.
constexpr size_t kSequencerBytes = 44;

// What a type field holds. Each kind has one rule, applied alike by the
// definitional parser and the fast scanner.
enum class FieldKind {
  kSha256,  // 64 lower-case hex digits
  kId,      // 1..max_length printable ASCII characters (U+0020..U+007E)
  kText,    // 1..max_length bytes of UTF-8
  kEnum,    // exactly one of `values`
  kIndex,   // a ledger index: an integer 0 <= n < 2^53 (every JSON reader reads it exactly)
  kObject,  // an object with exactly `fields` (none of them an object)
};

// One field of an entry type. Build them with the makers below; names are
// 1..32 of [a-z0-9_] starting with a letter.
struct FieldSpec {
  std::string name;
  FieldKind kind = FieldKind::kId;
  size_t max_length = 256;          // kId, kText: 1..kMaxEntryBytes
  std::vector<std::string> values;  // kEnum: printable ASCII, at least one
  std::vector<FieldSpec> fields;    // kObject: at least one (32 in all of a type's objects)
  bool optional = false;            // may be absent; checked when present
  // kSha256 only: the document the entry concerns, recorded in the documents
  // index (Log::FindDocument). At most one per type, at the top level or in
  // an object field.
  bool document = false;

  static FieldSpec Sha256(std::string name);
  static FieldSpec Id(std::string name, size_t max_length = 256);
  static FieldSpec Text(std::string name, size_t max_length = 256);
  static FieldSpec Enum(std::string name, std::vector<std::string> values);
  static FieldSpec Index(std::string name);
  static FieldSpec Object(std::string name, std::vector<FieldSpec> fields);
  // Copies with `optional` or `document` set.
  FieldSpec Optional() const;
  FieldSpec Document() const;
};

// An entry type: its `type` value and its fields besides `type`. Every
// top-level field name sorts before "time", so that an entry is its fields
// with `"time"` put before `"type"` and `"v"` after it (docs/ledger.md).
struct EntryType {
  std::string name;               // 1..32 of [a-z0-9_] starting with a letter
  std::vector<FieldSpec> fields;  // at most 16, and 32 in their objects
};

class EntrySchema;

// A caller's type fields, validated, in canonical form, and the document
// they concern. Only EntrySchema makes one, so holding one proves the check
// was done: the sequencer takes them without checking again (it makes sure
// they were checked against its own schema).
class CanonicalFields {
 public:
  const std::string& text() const { return text_; }
  const std::optional<crypto::Digest>& doc_sha256() const { return doc_; }

 private:
  friend class EntrySchema;
  CanonicalFields(std::string text, std::optional<crypto::Digest> doc, uint64_t schema)
      : text_(std::move(text)), doc_(doc), schema_(schema) {}
  std::string text_;
  std::optional<crypto::Digest> doc_;
  uint64_t schema_;  // the EntrySchema that checked them
};

// What every entry shows, read back from its bytes. A type's own fields are
// read from the entry's JSON by whoever knows the type.
struct EntrySummary {
  std::string type;
  std::string time;
  int64_t time_micros = 0;                   // `time` as microseconds since the Unix epoch
  std::optional<crypto::Digest> doc_sha256;  // the type's document field, when it has one
};

// What the audit needs of each entry: the same checks as ParseEntry, but
// only the time and the document come back, so that plain entries (the fast
// path) are checked without copying anything.
struct EntryFacts {
  int64_t time_micros = 0;
  std::optional<crypto::Digest> doc_sha256;
};

// The entry types a ledger accepts: an immutable table, cheap to copy (the
// copies share it). Thread-safe. The default one has no types and refuses
// every entry (a read-only Log needs none).
class EntrySchema {
 public:
  EntrySchema();
  // Checks the table (names, kinds, limits, at most one document field per
  // type) and prepares it for both parsers. kInvalidArgument naming the type
  // and field otherwise.
  static Result<EntrySchema> Make(std::vector<EntryType> types);

  const std::vector<EntryType>& types() const;

  // Checks that `fields` is an object with a known `type` and exactly that
  // type's fields, well formed, and without `v` or `time` (the sequencer's).
  // kInvalidArgument naming the field and the reason otherwise.
  Status ValidateFields(const nlohmann::json& fields) const;
  // From JSON text: text already in canonical form with plain strings, as
  // quipu's own tools and the benchmarks write it, is checked by the fast
  // scanner without building a JSON tree; anything else is parsed strictly,
  // validated and canonicalized. kInvalidArgument naming the problem (bad
  // JSON, a field, the size).
  Result<CanonicalFields> ParseFields(std::string_view text) const;
  // From a JSON value: validated and canonicalized.
  Result<CanonicalFields> CanonicalizeFields(const nlohmann::json& fields) const;
  // True if `fields` were made by this schema (or a copy of it).
  bool Checked(const CanonicalFields& fields) const;

  // Parses and validates stored entry bytes (as the audit does): they must be
  // canonical and valid. kCorruption otherwise.
  Result<EntrySummary> ParseEntry(std::string_view bytes) const;
  // The same judgement as ParseEntry, returning only what the audit keeps.
  Result<EntryFacts> CheckEntry(std::string_view bytes) const;

  // The two judges alone, for tests and fuzzers (ParseEntry and ParseFields
  // try the scanner and ask the definition when it does not vouch):
  // the definition (strict JSON, RFC 8785, the table) for stored bytes...
  Result<EntrySummary> ParseEntryByDefinition(std::string_view bytes) const;
  // ...and the scanner, true only for bytes it vouches for: canonical, valid,
  // strings without escapes. `fields_only`: a caller's fields, without `v`
  // and `time`.
  bool Scans(std::string_view text, bool fields_only) const;

  struct Impl;  // the table and its prepared form, in entry.cpp

 private:
  explicit EntrySchema(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Returns the canonical entry bytes: `fields` plus v and time. Errors if the
// result is over kMaxEntryBytes or not canonicalizable. Does not check the
// fields against a schema.
Result<std::string> BuildEntry(const nlohmann::json& fields, std::string_view time);

// RFC 3339 UTC with microseconds: "2026-11-23T04:05:06.123456Z".
std::string FormatTime(int64_t unix_micros);
// The inverse; kInvalidArgument unless exactly that shape.
Result<int64_t> ParseTime(std::string_view text);

}  // namespace quipu::ledger
