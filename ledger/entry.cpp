#include "ledger/entry.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "crypto/encoding.h"
#include "crypto/jcs.h"

namespace quipu::ledger {
namespace {

using nlohmann::json;

// Character classes, as tables: the audit runs these over every entry.
struct CharTables {
  bool lower_hex[256] = {};
  bool plain[256] = {};  // printable ASCII that a canonical string holds unescaped
  constexpr CharTables() {
    for (int c = '0'; c <= '9'; ++c) lower_hex[c] = true;
    for (int c = 'a'; c <= 'f'; ++c) lower_hex[c] = true;
    for (int c = 0x20; c <= 0x7e; ++c) plain[c] = c != '"' && c != '\\';
  }
};
constexpr CharTables kChars;

// The length of the longest prefix of `s` that kChars.plain accepts. The
// audit and `log append` run this over every string of every entry, so it
// looks at 16 bytes a step where SSE2 is there.
size_t PlainPrefix(std::string_view s) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  for (; i + 16 <= s.size(); i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    // Signed compare: bytes >= 0x80 are negative, so below 0x20 too.
    const __m128i bad =
        _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(x, space), _mm_cmpeq_epi8(x, del)),
                     _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)));
    if (const int mask = _mm_movemask_epi8(bad); mask != 0)
      return i + static_cast<size_t>(__builtin_ctz(mask));
  }
#endif
  while (i < s.size() && kChars.plain[static_cast<uint8_t>(s[i])]) ++i;
  return i;
}

bool IsLowerHex(std::string_view s, size_t len) {
  if (s.size() != len) return false;
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i below0 = _mm_set1_epi8('0' - 1), above9 = _mm_set1_epi8('9' + 1);
  const __m128i belowa = _mm_set1_epi8('a' - 1), abovef = _mm_set1_epi8('f' + 1);
  for (; i + 16 <= s.size(); i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, below0), _mm_cmplt_epi8(x, above9));
    const __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(x, belowa), _mm_cmplt_epi8(x, abovef));
    if (_mm_movemask_epi8(_mm_or_si128(digit, letter)) != 0xffff) return false;
  }
#endif
  bool ok = true;
  for (; i < s.size(); ++i) ok &= kChars.lower_hex[static_cast<uint8_t>(s[i])];
  return ok;
}

// '0'..'9' → 0..9 and 'a'..'f' → 10..15 without a branch: random hex digits
// would mispredict one in two.
int Nibble(char c) { return (c & 0xf) + 9 * ((c >> 6) & 1); }

crypto::Digest DecodeSha256(std::string_view hex) {
  crypto::Digest d;
  for (size_t i = 0; i < 32; ++i)
    d[i] = static_cast<uint8_t>(Nibble(hex[2 * i]) << 4 | Nibble(hex[2 * i + 1]));
  return d;
}

constexpr uint64_t kMaxIndex = uint64_t{1} << 53;
// Bounds on a type, far above any real one: a table beyond them is a mistake.
constexpr size_t kMaxTypeFields = 16;    // top-level fields of a type
constexpr size_t kMaxObjectFields = 32;  // fields inside a type's object fields, in all

}  // namespace

// ---- The table ------------------------------------------------------------

namespace {
FieldSpec Field(std::string name, FieldKind kind) {
  FieldSpec f;
  f.name = std::move(name);
  f.kind = kind;
  return f;
}
}  // namespace

FieldSpec FieldSpec::Sha256(std::string name) { return Field(std::move(name), FieldKind::kSha256); }
FieldSpec FieldSpec::Id(std::string name, size_t max_length) {
  FieldSpec f = Field(std::move(name), FieldKind::kId);
  f.max_length = max_length;
  return f;
}
FieldSpec FieldSpec::Text(std::string name, size_t max_length) {
  FieldSpec f = Field(std::move(name), FieldKind::kText);
  f.max_length = max_length;
  return f;
}
FieldSpec FieldSpec::Enum(std::string name, std::vector<std::string> values) {
  FieldSpec f = Field(std::move(name), FieldKind::kEnum);
  f.values = std::move(values);
  return f;
}
FieldSpec FieldSpec::Index(std::string name) { return Field(std::move(name), FieldKind::kIndex); }
FieldSpec FieldSpec::Object(std::string name, std::vector<FieldSpec> fields) {
  FieldSpec f = Field(std::move(name), FieldKind::kObject);
  f.fields = std::move(fields);
  return f;
}
FieldSpec FieldSpec::Optional() const {
  FieldSpec f = *this;
  f.optional = true;
  return f;
}
FieldSpec FieldSpec::Document() const {
  FieldSpec f = *this;
  f.document = true;
  return f;
}

namespace {

// One key the scanner expects, in canonical order: a type field or one of
// the envelope's three.
struct Slot {
  enum Role : uint8_t { kField, kTime, kType, kVersion };
  std::string_view name;
  Role role = kField;
  FieldKind kind = FieldKind::kId;
  bool optional = false;
  bool document = false;
  size_t max_length = 0;
  const std::vector<std::string>* values = nullptr;  // kEnum
  uint32_t begin = 0, end = 0;                       // kObject: its fields in Layout::nested
};

// A type prepared for both parsers.
struct Layout {
  const EntryType* type = nullptr;
  std::vector<Slot> entry;   // stored entries: the fields, time, type and v, in key order
  std::vector<Slot> fields;  // a caller's fields: the fields and type, in key order
  std::vector<Slot> nested;  // the fields of object fields, each object's in key order
  // Where the document is: a top-level field, and the field inside it when
  // it is in an object.
  const FieldSpec* doc_outer = nullptr;
  const FieldSpec* doc_inner = nullptr;
};

bool IsName(std::string_view s) {
  if (s.empty() || s.size() > 32 || s[0] < 'a' || s[0] > 'z') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsPrintableAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

Slot SlotOf(const FieldSpec& f) {
  Slot s;
  s.name = f.name;
  s.kind = f.kind;
  s.optional = f.optional;
  s.document = f.document;
  s.max_length = f.max_length;
  s.values = &f.values;
  return s;
}

std::atomic<uint64_t> next_schema_id{1};

}  // namespace

struct EntrySchema::Impl {
  uint64_t id = 0;  // 0: the empty schema
  std::vector<EntryType> types;
  std::vector<Layout> layouts;  // one per type, pointing into `types`

  const Layout* Find(std::string_view type) const {
    for (const Layout& l : layouts) {
      if (l.type->name == type) return &l;
    }
    return nullptr;
  }
};

namespace {

// Checks one field of a type (`where` names it).
Status PrepareField(const FieldSpec& f, const std::string& where, bool top) {
  if (!IsName(f.name)) {
    return InvalidArgument(where +
                           ": a field name is 1 to 32 of a-z, 0-9 and _, starting with a letter");
  }
  if (top && !(f.name < "time")) {
    return InvalidArgument(where +
                           ": a type's fields sort before \"time\" (the sequencer's `time`, `type` "
                           "and `v` come last)");
  }
  if (f.kind != FieldKind::kObject && !f.fields.empty())
    return InvalidArgument(where + ": only an object has fields");
  if (f.kind != FieldKind::kEnum && !f.values.empty())
    return InvalidArgument(where + ": only an enum has values");
  if (f.document && f.kind != FieldKind::kSha256)
    return InvalidArgument(where + ": a document field is a SHA-256");
  switch (f.kind) {
    case FieldKind::kId:
    case FieldKind::kText:
      if (f.max_length < 1 || f.max_length > kMaxEntryBytes) {
        return InvalidArgument(where + ": max_length must be 1 to " +
                               std::to_string(kMaxEntryBytes));
      }
      break;
    case FieldKind::kEnum: {
      if (f.values.empty()) return InvalidArgument(where + ": an enum needs values");
      for (const std::string& v : f.values) {
        if (v.empty() || !IsPrintableAscii(v))
          return InvalidArgument(where + ": enum values are printable ASCII");
        if (std::count(f.values.begin(), f.values.end(), v) != 1) {
          return InvalidArgument(where + ": enum value '" + v + "' is repeated");
        }
      }
      break;
    }
    case FieldKind::kObject:
      if (!top) return InvalidArgument(where + ": an object field holds no objects");
      if (f.fields.empty()) return InvalidArgument(where + ": an object needs fields");
      break;
    case FieldKind::kSha256:
    case FieldKind::kIndex:
      break;
  }
  return Status::Ok();
}

// Sorts slots by key (names are ASCII: byte order is RFC 8785's UTF-16 order).
void SortSlots(std::vector<Slot>::iterator begin, std::vector<Slot>::iterator end) {
  std::sort(begin, end, [](const Slot& a, const Slot& b) { return a.name < b.name; });
}

Status PrepareType(const EntryType& type, Layout& layout) {
  const std::string where = "entry type '" + type.name + "'";
  if (!IsName(type.name))
    return InvalidArgument(where +
                           ": a type name is 1 to 32 of a-z, 0-9 and _, starting with a letter");
  if (type.fields.size() > kMaxTypeFields) {
    return InvalidArgument(where + ": at most " + std::to_string(kMaxTypeFields) + " fields");
  }
  layout.type = &type;
  for (const FieldSpec& f : type.fields) {
    const std::string at = where + ", field '" + f.name + "'";
    QUIPU_RETURN_IF_ERROR(PrepareField(f, at, /*top=*/true));
    for (const FieldSpec& other : type.fields) {
      if (&other != &f && other.name == f.name) return InvalidArgument(at + ": repeated");
    }
    Slot slot = SlotOf(f);
    if (f.kind == FieldKind::kObject) {
      slot.begin = static_cast<uint32_t>(layout.nested.size());
      for (const FieldSpec& g : f.fields) {
        const std::string in = at + ", field '" + g.name + "'";
        QUIPU_RETURN_IF_ERROR(PrepareField(g, in, /*top=*/false));
        for (const FieldSpec& other : f.fields) {
          if (&other != &g && other.name == g.name) return InvalidArgument(in + ": repeated");
        }
        if (g.document) {
          if (layout.doc_outer != nullptr)
            return InvalidArgument(in + ": a type has at most one document field");
          layout.doc_outer = &f;
          layout.doc_inner = &g;
        }
        layout.nested.push_back(SlotOf(g));
      }
      slot.end = static_cast<uint32_t>(layout.nested.size());
      SortSlots(layout.nested.begin() + slot.begin, layout.nested.end());
    } else if (f.document) {
      if (layout.doc_outer != nullptr)
        return InvalidArgument(at + ": a type has at most one document field");
      layout.doc_outer = &f;
    }
    layout.fields.push_back(slot);
  }
  if (layout.nested.size() > kMaxObjectFields) {
    return InvalidArgument(where + ": at most " + std::to_string(kMaxObjectFields) +
                           " fields in its objects");
  }
  Slot type_slot;
  type_slot.name = "type";
  type_slot.role = Slot::kType;
  layout.fields.push_back(type_slot);
  SortSlots(layout.fields.begin(), layout.fields.end());
  layout.entry = layout.fields;
  Slot time_slot, v_slot;
  time_slot.name = "time";
  time_slot.role = Slot::kTime;
  v_slot.name = "v";
  v_slot.role = Slot::kVersion;
  layout.entry.push_back(time_slot);
  layout.entry.push_back(v_slot);
  SortSlots(layout.entry.begin(), layout.entry.end());
  return Status::Ok();
}

}  // namespace

EntrySchema::EntrySchema() : impl_(std::make_shared<const Impl>()) {}

Result<EntrySchema> EntrySchema::Make(std::vector<EntryType> types) {
  auto impl = std::make_shared<Impl>();
  impl->types = std::move(types);
  impl->layouts.resize(impl->types.size());
  for (size_t i = 0; i < impl->types.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (impl->types[j].name == impl->types[i].name) {
        return InvalidArgument("entry type '" + impl->types[i].name + "' is repeated");
      }
    }
    QUIPU_RETURN_IF_ERROR(PrepareType(impl->types[i], impl->layouts[i]));
  }
  impl->id = next_schema_id.fetch_add(1);
  return EntrySchema(std::move(impl));
}

const std::vector<EntryType>& EntrySchema::types() const { return impl_->types; }

bool EntrySchema::Checked(const CanonicalFields& fields) const {
  return fields.schema_ == impl_->id;
}

// ---- The definition -------------------------------------------------------

namespace {

Status CheckFields(const json& obj, const std::vector<FieldSpec>& fields, const std::string& prefix,
                   const std::string& type, bool top);

Status CheckValue(const json& v, const FieldSpec& f, const std::string& path,
                  const std::string& type) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("entry: '" + path + "' " + why);
  };
  switch (f.kind) {
    case FieldKind::kSha256:
      if (!v.is_string() || !IsLowerHex(v.get_ref<const std::string&>(), 64)) {
        return bad("must be 64 lower-case hex digits");
      }
      return Status::Ok();
    case FieldKind::kId: {
      if (!v.is_string()) return bad("must be a string");
      const auto& s = v.get_ref<const std::string&>();
      if (s.empty() || s.size() > f.max_length) {
        return bad("must have 1 to " + std::to_string(f.max_length) + " characters");
      }
      if (!IsPrintableAscii(s)) return bad("must be printable ASCII");
      return Status::Ok();
    }
    case FieldKind::kText: {
      // UTF-8 is checked where the text is parsed or canonicalized.
      if (!v.is_string()) return bad("must be a string");
      const auto& s = v.get_ref<const std::string&>();
      if (s.empty() || s.size() > f.max_length)
        return bad("must have 1 to " + std::to_string(f.max_length) + " bytes");
      return Status::Ok();
    }
    case FieldKind::kEnum: {
      if (v.is_string() && std::find(f.values.begin(), f.values.end(),
                                     v.get_ref<const std::string&>()) != f.values.end()) {
        return Status::Ok();
      }
      std::string list;
      for (const std::string& value : f.values) list += (list.empty() ? "" : " or ") + value;
      return bad("must be " + list);
    }
    case FieldKind::kIndex: {
      const bool non_negative =
          v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
      if (!non_negative || v.get<uint64_t>() >= kMaxIndex) return bad("must be a ledger index");
      return Status::Ok();
    }
    case FieldKind::kObject:
      if (!v.is_object()) return bad("must be an object");
      return CheckFields(v, f.fields, path + ".", type, /*top=*/false);
  }
  return Internal("entry: unknown field kind");
}

// Checks that `obj` has exactly `fields` (and `type`, at the top).
Status CheckFields(const json& obj, const std::vector<FieldSpec>& fields, const std::string& prefix,
                   const std::string& type, bool top) {
  for (const FieldSpec& f : fields) {
    auto it = obj.find(f.name);
    if (it == obj.end()) {
      if (f.optional) continue;
      return InvalidArgument("entry: missing field '" + prefix + f.name + "'");
    }
    QUIPU_RETURN_IF_ERROR(CheckValue(*it, f, prefix + f.name, type));
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (top && it.key() == "type") continue;
    if (std::none_of(fields.begin(), fields.end(),
                     [&](const FieldSpec& f) { return f.name == it.key(); })) {
      return InvalidArgument("entry: a '" + type + "' entry has no field '" + prefix + it.key() +
                             "'");
    }
  }
  return Status::Ok();
}

// The document of valid fields `obj` of the type `layout`, if it has one.
std::optional<crypto::Digest> DocumentOf(const json& obj, const Layout& layout) {
  if (layout.doc_outer == nullptr) return std::nullopt;
  auto it = obj.find(layout.doc_outer->name);
  if (it == obj.end()) return std::nullopt;
  const json* sha = &*it;
  if (layout.doc_inner != nullptr) {  // `sha` is a valid object field
    auto in = sha->find(layout.doc_inner->name);
    if (in == sha->end()) return std::nullopt;
    sha = &*in;
  }
  return DecodeSha256(sha->get_ref<const std::string&>());
}

}  // namespace

Status EntrySchema::ValidateFields(const json& fields) const {
  if (!fields.is_object()) return InvalidArgument("entry: must be a JSON object");
  if (fields.contains("v") || fields.contains("time")) {
    return InvalidArgument("entry: 'v' and 'time' are set by the sequencer, not by callers");
  }
  auto t = fields.find("type");
  if (t == fields.end() || !t->is_string())
    return InvalidArgument("entry: missing string field 'type'");
  const std::string& type = t->get_ref<const std::string&>();
  const Layout* layout = impl_->Find(type);
  if (layout == nullptr) return InvalidArgument("entry: unknown type '" + type + "'");
  return CheckFields(fields, layout->type->fields, "", type, /*top=*/true);
}

Result<std::string> BuildEntry(const json& fields, std::string_view time) {
  json full = fields;
  full["v"] = kEntryVersion;
  full["time"] = std::string(time);
  QUIPU_ASSIGN_OR_RETURN(std::string bytes, crypto::CanonicalDump(full));
  if (bytes.size() > kMaxEntryBytes) {
    return InvalidArgument("entry: " + std::to_string(bytes.size()) +
                           " bytes, over the 16 KiB limit");
  }
  return bytes;
}

Result<EntrySummary> EntrySchema::ParseEntryByDefinition(std::string_view bytes) const {
  auto parsed = crypto::ParseJsonStrict(bytes);
  if (!parsed.ok()) return Corruption("entry is not valid JSON: " + parsed.status().message());
  json j = std::move(parsed).value();
  auto canonical = crypto::CanonicalDump(j);
  if (!canonical.ok() || *canonical != bytes)
    return Corruption("entry is not in RFC 8785 canonical form");
  if (!j.is_object()) return Corruption("entry is not an object");
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_integer() || v->get<int64_t>() != kEntryVersion) {
    return Corruption("entry has no 'v' of 1");
  }
  auto time = j.find("time");
  if (time == j.end() || !time->is_string() ||
      !ParseTime(time->get_ref<const std::string&>()).ok()) {
    return Corruption("entry has no valid 'time'");
  }
  EntrySummary s;
  s.time = time->get<std::string>();
  s.time_micros = *ParseTime(s.time);
  j.erase("v");
  j.erase("time");
  if (Status st = ValidateFields(j); !st.ok()) return Corruption(st.message());
  s.type = j["type"].get<std::string>();
  s.doc_sha256 = DocumentOf(j, *impl_->Find(s.type));
  return s;
}

// ---- The fast scanner -----------------------------------------------------

namespace {

// What the scanner found in a valid entry, borrowed from its bytes.
struct Found {
  std::string_view type, time;
  int64_t time_micros = 0;
  std::optional<crypto::Digest> doc_sha256;
};

// The fast path for the audit's millions of entries and `log append`'s
// lines: a scanner for the shape quipu writes (keys in canonical order,
// strings of printable ASCII without escapes, small integers, objects one
// deep), checked against the same table as the definition. One pass: the
// type is read first from the end (it is the last key but `v`), then every
// key must be the next one its type's slots allow. It answers only when it
// is sure: true with `out` filled for a canonical, valid entry; false for
// anything else, which the definition then judges.
class Scan {
 public:
  // With fields_only, the bytes are a caller's type fields: no `v` and no
  // `time` (the sequencer adds them).
  Scan(std::string_view s, bool fields_only) : s_(s), fields_only_(fields_only) {}

  bool Run(const EntrySchema::Impl& schema, Found& out) {
    const Layout* layout = schema.Find(TypeFromTheEnd());
    if (layout == nullptr) return false;
    const std::vector<Slot>& slots = fields_only_ ? layout->fields : layout->entry;
    if (!Object(slots.data(), slots.size(), *layout, out) || pos_ != s_.size()) return false;
    out.type = layout->type->name;
    return true;
  }

 private:
  // The value of the last `"type":` key: before `,"v":1}` in an entry, before
  // the closing brace in a caller's fields. A guess, checked by the pass.
  std::string_view TypeFromTheEnd() const {
    std::string_view head = s_;
    constexpr std::string_view kVersionTail = ",\"v\":1}";
    if (fields_only_) {
      if (head.empty() || head.back() != '}') return {};
      head.remove_suffix(1);
    } else {
      if (!head.ends_with(kVersionTail)) return {};
      head.remove_suffix(kVersionTail.size());
    }
    if (head.size() < 2 || head.back() != '"') return {};
    head.remove_suffix(1);
    const size_t open = head.rfind('"');
    if (open == std::string_view::npos) return {};
    return head.substr(open + 1);
  }

  // Reads an object whose keys are slots[0..n) in order, the optional ones
  // perhaps absent, and checks each value.
  bool Object(const Slot* slots, size_t n, const Layout& layout, Found& out) {
    if (!Eat('{')) return false;
    size_t k = 0;
    do {
      std::string_view key;
      if (!String(key) || !Eat(':')) return false;
      // Keys come in the slots' (sorted) order, so they ascend and none repeats.
      while (k < n && !Same(key, slots[k].name)) {
        if (!slots[k].optional) return false;
        ++k;
      }
      if (k == n || !Value(slots[k], layout, out)) return false;
      ++k;
    } while (Eat(','));
    for (; k < n; ++k) {
      if (!slots[k].optional) return false;
    }
    return Eat('}');
  }

  bool Value(const Slot& slot, const Layout& layout, Found& out) {
    switch (slot.role) {
      case Slot::kType: {
        std::string_view type;
        return String(type) && type == layout.type->name;
      }
      case Slot::kVersion: {
        uint64_t v;
        return Integer(v) && v == static_cast<uint64_t>(kEntryVersion);
      }
      case Slot::kTime: {
        std::string_view time;
        if (!String(time)) return false;
        auto micros = ParseTime(time);
        if (!micros.ok()) return false;
        out.time = time;
        out.time_micros = *micros;
        return true;
      }
      case Slot::kField:
        break;
    }
    std::string_view text;
    switch (slot.kind) {
      case FieldKind::kSha256:
        if (!String(text) || !IsLowerHex(text, 64)) return false;
        if (slot.document) out.doc_sha256 = DecodeSha256(text);
        return true;
      case FieldKind::kId:
      case FieldKind::kText:
        // Plain strings only: printable ASCII, so UTF-8 too.
        return String(text) && !text.empty() && text.size() <= slot.max_length;
      case FieldKind::kEnum:
        return String(text) &&
               std::find(slot.values->begin(), slot.values->end(), text) != slot.values->end();
      case FieldKind::kIndex: {
        uint64_t index;
        return Integer(index);  // below 2^53
      }
      case FieldKind::kObject:
        return Object(layout.nested.data() + slot.begin, slot.end - slot.begin, layout, out);
    }
    return false;
  }

  // Names are a few bytes: compared here rather than by a call to memcmp.
  static bool Same(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }

  bool Eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  // A string of printable ASCII other than '"' and '\\' (no escapes).
  bool String(std::string_view& out) {
    if (!Eat('"')) return false;
    // One pass: '"' is not plain, so the scan stops at the closing quote,
    // or earlier at anything that would need an escape.
    const size_t start = pos_;
    const size_t end = start + PlainPrefix(s_.substr(start));
    if (end == s_.size() || s_[end] != '"') return false;
    out = s_.substr(start, end - start);
    pos_ = end + 1;
    return true;
  }
  // A non-negative integer in canonical form, below 2^53.
  bool Integer(uint64_t& out) {
    const size_t start = pos_;
    out = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      out = out * 10 + static_cast<uint64_t>(s_[pos_] - '0');
      if (++pos_ - start > 16) return false;
    }
    if (pos_ == start || (pos_ - start > 1 && s_[start] == '0')) return false;
    return out < kMaxIndex;
  }

  std::string_view s_;
  bool fields_only_;
  size_t pos_ = 0;
};

}  // namespace

bool EntrySchema::Scans(std::string_view text, bool fields_only) const {
  Found found;
  return Scan(text, fields_only).Run(*impl_, found);
}

Result<EntrySummary> EntrySchema::ParseEntry(std::string_view bytes) const {
  Found fast;
  if (!Scan(bytes, false).Run(*impl_, fast)) return ParseEntryByDefinition(bytes);
  EntrySummary s;
  s.type = std::string(fast.type);
  s.time = std::string(fast.time);
  s.time_micros = fast.time_micros;
  s.doc_sha256 = fast.doc_sha256;
  return s;
}

Result<EntryFacts> EntrySchema::CheckEntry(std::string_view bytes) const {
  if (Found fast; Scan(bytes, false).Run(*impl_, fast))
    return EntryFacts{fast.time_micros, fast.doc_sha256};
  QUIPU_ASSIGN_OR_RETURN(EntrySummary s, ParseEntryByDefinition(bytes));
  return EntryFacts{s.time_micros, s.doc_sha256};
}

Result<CanonicalFields> EntrySchema::ParseFields(std::string_view text) const {
  if (text.size() + kSequencerBytes <= kMaxEntryBytes) {
    if (Found fast; Scan(text, /*fields_only=*/true).Run(*impl_, fast)) {
      return CanonicalFields(std::string(text), fast.doc_sha256, impl_->id);
    }
  }
  auto parsed = crypto::ParseJsonStrict(text);
  if (!parsed.ok()) return InvalidArgument("entry: " + parsed.status().message());
  return CanonicalizeFields(*parsed);
}

Result<CanonicalFields> EntrySchema::CanonicalizeFields(const json& fields) const {
  QUIPU_RETURN_IF_ERROR(ValidateFields(fields));
  QUIPU_ASSIGN_OR_RETURN(std::string canonical, crypto::CanonicalDump(fields));
  if (canonical.size() + kSequencerBytes > kMaxEntryBytes) {
    return InvalidArgument("entry: larger than " + std::to_string(kMaxEntryBytes) + " bytes");
  }
  const Layout* layout = impl_->Find(fields.find("type")->get_ref<const std::string&>());
  return CanonicalFields(std::move(canonical), DocumentOf(fields, *layout), impl_->id);
}

// ---- Times ----------------------------------------------------------------

std::string FormatTime(int64_t unix_micros) {
  int64_t secs = unix_micros / 1000000;
  int64_t micros = unix_micros % 1000000;
  if (micros < 0) {
    micros += 1000000;
    secs -= 1;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(micros));
  return buf;
}

Result<int64_t> ParseTime(std::string_view text) {
  // Exactly YYYY-MM-DDTHH:MM:SS.ffffffZ
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (text.size() != kShape.size()) return InvalidArgument("time: not YYYY-MM-DDTHH:MM:SS.ffffffZ");
  for (size_t i = 0; i < kShape.size(); ++i) {
    bool ok = kShape[i] == 'd' ? (text[i] >= '0' && text[i] <= '9') : text[i] == kShape[i];
    if (!ok) return InvalidArgument("time: not YYYY-MM-DDTHH:MM:SS.ffffffZ");
  }
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (text[i] - '0');
    return v;
  };
  const int year = num(0, 4), month = num(5, 2), day = num(8, 2);
  const int hour = num(11, 2), minute = num(14, 2), second = num(17, 2);
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] + (month == 2 && leap) ||
      hour > 23 || minute > 59 || second > 59) {
    return InvalidArgument("time: not a real date and time");
  }
  // Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years).
  const int y = year - (month <= 2);
  const int era = y / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = int64_t{era} * 146097 + doe - 719468;
  const int64_t micros = ((days * 24 + hour) * 60 + minute) * int64_t{60000000} +
                         int64_t{second} * 1000000 + num(20, 6);
  return micros;
}

}  // namespace quipu::ledger
