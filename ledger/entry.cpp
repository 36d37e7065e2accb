#include "ledger/entry.h"

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

constexpr size_t kMaxTextField = 256;

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
    const __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(x, space), _mm_cmpeq_epi8(x, del)),
                                     _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)));
    if (const int mask = _mm_movemask_epi8(bad); mask != 0) return i + static_cast<size_t>(__builtin_ctz(mask));
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

// A short identifier: 1..256 printable ASCII characters.
Status CheckText(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return InvalidArgument(std::string("entry: missing field '") + name + "'");
  if (!it->is_string()) return InvalidArgument(std::string("entry: '") + name + "' must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.empty() || s.size() > kMaxTextField) {
    return InvalidArgument(std::string("entry: '") + name + "' must have 1 to 256 characters");
  }
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e) {
      return InvalidArgument(std::string("entry: '") + name + "' must be printable ASCII");
    }
  }
  return Status::Ok();
}

// Free text (a revocation reason): 1..256 bytes of UTF-8; JCS checks UTF-8.
Status CheckFreeText(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return InvalidArgument(std::string("entry: missing field '") + name + "'");
  if (!it->is_string()) return InvalidArgument(std::string("entry: '") + name + "' must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.empty() || s.size() > kMaxTextField) {
    return InvalidArgument(std::string("entry: '") + name + "' must have 1 to 256 bytes");
  }
  return Status::Ok();
}

Status CheckHex64(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return InvalidArgument(std::string("entry: missing field '") + name + "'");
  if (!it->is_string() || !IsLowerHex(it->get_ref<const std::string&>(), 64)) {
    return InvalidArgument(std::string("entry: '") + name + "' must be 64 lower-case hex digits");
  }
  return Status::Ok();
}

Status CheckDoc(const json& obj) {
  auto it = obj.find("doc");
  if (it == obj.end()) return InvalidArgument("entry: missing field 'doc'");
  if (!it->is_object()) return InvalidArgument("entry: 'doc' must be an object");
  if (it->size() != 2) return InvalidArgument("entry: 'doc' must have exactly sha256 and media_type");
  QUIPU_RETURN_IF_ERROR(CheckHex64(*it, "sha256"));
  auto mt = it->find("media_type");
  if (mt == it->end() || !mt->is_string() ||
      (*mt != "application/pdf" && *mt != "application/json")) {
    return InvalidArgument("entry: 'doc.media_type' must be application/pdf or application/json");
  }
  return Status::Ok();
}

Status CheckIndex(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return InvalidArgument(std::string("entry: missing field '") + name + "'");
  // Indices stay below 2^53 so that every JSON reader reads them exactly.
  const bool non_negative = it->is_number_unsigned() ||
                            (it->is_number_integer() && it->get<int64_t>() >= 0);
  if (!non_negative || it->get<uint64_t>() >= (uint64_t{1} << 53)) {
    return InvalidArgument(std::string("entry: '") + name + "' must be a ledger index");
  }
  return Status::Ok();
}

Status CheckFieldCount(const json& obj, size_t expected, const std::string& type) {
  if (obj.size() != expected) {
    return InvalidArgument("entry: a '" + type + "' entry has exactly " +
                           std::to_string(expected - 1) + " fields besides type; got extra fields");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateEntryFields(const json& fields) {
  if (!fields.is_object()) return InvalidArgument("entry: must be a JSON object");
  if (fields.contains("v") || fields.contains("time")) {
    return InvalidArgument("entry: 'v' and 'time' are set by the sequencer, not by callers");
  }
  auto t = fields.find("type");
  if (t == fields.end() || !t->is_string()) return InvalidArgument("entry: missing string field 'type'");
  const std::string& type = t->get_ref<const std::string&>();
  if (type == "approval" || type == "rejection") {
    QUIPU_RETURN_IF_ERROR(CheckText(fields, "client"));
    QUIPU_RETURN_IF_ERROR(CheckText(fields, "request"));
    QUIPU_RETURN_IF_ERROR(CheckHex64(fields, "subject"));
    QUIPU_RETURN_IF_ERROR(CheckDoc(fields));
    return CheckFieldCount(fields, 5, type);
  }
  if (type == "qr_issue") {
    QUIPU_RETURN_IF_ERROR(CheckText(fields, "client"));
    QUIPU_RETURN_IF_ERROR(CheckDoc(fields));
    QUIPU_RETURN_IF_ERROR(CheckHex64(fields, "payload"));
    return CheckFieldCount(fields, 4, type);
  }
  if (type == "qr_revoke") {
    QUIPU_RETURN_IF_ERROR(CheckText(fields, "client"));
    QUIPU_RETURN_IF_ERROR(CheckIndex(fields, "target"));
    QUIPU_RETURN_IF_ERROR(CheckFreeText(fields, "reason"));
    // `doc` (the revoked code's document) is optional: revocations written
    // before it was added have none.
    if (fields.contains("doc")) {
      QUIPU_RETURN_IF_ERROR(CheckDoc(fields));
      return CheckFieldCount(fields, 5, type);
    }
    return CheckFieldCount(fields, 4, type);
  }
  return InvalidArgument("entry: unknown type '" + type + "'");
}

Result<std::string> BuildEntry(const json& fields, std::string_view time) {
  json full = fields;
  full["v"] = kEntryVersion;
  full["time"] = std::string(time);
  QUIPU_ASSIGN_OR_RETURN(std::string bytes, crypto::CanonicalDump(full));
  if (bytes.size() > kMaxEntryBytes) {
    return InvalidArgument("entry: " + std::to_string(bytes.size()) + " bytes, over the 16 KiB limit");
  }
  return bytes;
}

namespace {

// The fields FastEntry found, borrowed from the bytes it scanned.
struct EntryViews {
  std::string_view type, time, client, media_type;
  int64_t time_micros = 0;
  std::optional<crypto::Digest> doc_sha256;
  std::optional<uint64_t> target;
};

// The fast path of ParseEntry, for the audit's millions of entries: a
// scanner for the exact shape quipu writes (keys in canonical order, strings
// of printable ASCII without escapes, small integers). It answers only when
// it is sure: true with `out` filled for a canonical, valid entry; false
// for anything else, which the full parser then judges.
class FastEntry {
 public:
  // With fields_only, the bytes are a caller's type fields: no `v` and no
  // `time` (the sequencer adds them).
  explicit FastEntry(std::string_view s, bool fields_only = false) : s_(s), fields_only_(fields_only) {}

  bool Parse(EntryViews& out) {
    if (!Eat('{')) return false;
    std::string_view key, client, request, subject, payload, reason, time, type, sha, media;
    uint64_t target = 0, v = 0;
    bool has_doc = false, has_target = false;
    std::string_view prev;
    int fields = 0;
    do {
      if (!String(key) || key <= prev || !Eat(':')) return false;
      prev = key;
      ++fields;
      if (key == "client") {
        if (!String(client)) return false;
      } else if (key == "request") {
        if (!String(request)) return false;
      } else if (key == "subject") {
        if (!String(subject)) return false;
      } else if (key == "payload") {
        if (!String(payload)) return false;
      } else if (key == "reason") {
        if (!String(reason)) return false;
      } else if (key == "time") {
        if (fields_only_ || !String(time)) return false;
      } else if (key == "type") {
        if (!String(type)) return false;
      } else if (key == "target") {
        if (!Integer(target)) return false;
        has_target = true;
      } else if (key == "v") {
        if (fields_only_ || !Integer(v)) return false;
      } else if (key == "doc") {
        std::string_view k1, k2;
        if (!Eat('{') || !String(k1) || k1 != "media_type" || !Eat(':') || !String(media) || !Eat(',') ||
            !String(k2) || k2 != "sha256" || !Eat(':') || !String(sha) || !Eat('}')) {
          return false;
        }
        has_doc = true;
      } else {
        return false;
      }
    } while (Eat(','));
    if (!Eat('}') || pos_ != s_.size()) return false;

    Result<int64_t> micros = int64_t{0};
    if (!fields_only_) {
      micros = ParseTime(time);
      if (v != 1 || !micros.ok()) return false;
    }
    if (!IdText(client)) return false;
    // The sequencer's two fields are absent from a caller's fields.
    const int base = fields_only_ ? 0 : 2;
    auto hex = [](std::string_view h) { return IsLowerHex(h, 64); };
    auto doc_ok = [&] {
      return has_doc && hex(sha) && (media == "application/pdf" || media == "application/json");
    };
    if (type == "approval" || type == "rejection") {
      if (fields != base + 5 || !IdText(request) || !hex(subject) || !doc_ok()) return false;
    } else if (type == "qr_issue") {
      if (fields != base + 4 || !hex(payload) || !doc_ok()) return false;
    } else if (type == "qr_revoke") {
      if (fields != base + (has_doc ? 5 : 4) || (has_doc && !doc_ok()) || !has_target ||
          target >= (uint64_t{1} << 53) || reason.empty() || reason.size() > kMaxTextField) {
        return false;
      }
    } else {
      return false;
    }
    out.type = type;
    out.time = time;
    out.time_micros = *micros;
    out.client = client;
    if (has_doc) {
      crypto::Digest d;
      for (size_t i = 0; i < 32; ++i) d[i] = static_cast<uint8_t>(Nibble(sha[2 * i]) << 4 | Nibble(sha[2 * i + 1]));
      out.doc_sha256 = d;
      out.media_type = media;
    }
    if (has_target) out.target = target;
    return true;
  }

 private:
  static bool IdText(std::string_view t) { return !t.empty() && t.size() <= kMaxTextField; }
  // '0'..'9' → 0..9 and 'a'..'f' → 10..15 without a branch: random hex
  // digits would mispredict one in two.
  static int Nibble(char c) { return (c & 0xf) + 9 * ((c >> 6) & 1); }

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
    return out < (uint64_t{1} << 53);
  }

  std::string_view s_;
  bool fields_only_;
  size_t pos_ = 0;
};

}  // namespace

namespace {

// ParseEntry by the definitions (strict JSON, JCS, field rules), for what
// the fast scanner does not vouch for.
Result<EntrySummary> ParseEntryByDefinition(std::string_view bytes) {
  auto parsed = crypto::ParseJsonStrict(bytes);
  if (!parsed.ok()) return Corruption("entry is not valid JSON: " + parsed.status().message());
  json j = std::move(parsed).value();
  auto canonical = crypto::CanonicalDump(j);
  if (!canonical.ok() || *canonical != bytes) return Corruption("entry is not in RFC 8785 canonical form");
  if (!j.is_object()) return Corruption("entry is not an object");
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_integer() || v->get<int64_t>() != kEntryVersion) {
    return Corruption("entry has no 'v' of 1");
  }
  auto time = j.find("time");
  if (time == j.end() || !time->is_string() || !ParseTime(time->get_ref<const std::string&>()).ok()) {
    return Corruption("entry has no valid 'time'");
  }
  EntrySummary s;
  s.time = time->get<std::string>();
  s.time_micros = *ParseTime(s.time);
  j.erase("v");
  j.erase("time");
  if (Status st = ValidateEntryFields(j); !st.ok()) return Corruption(st.message());
  s.type = j["type"].get<std::string>();
  s.client = j["client"].get<std::string>();
  if (auto doc = j.find("doc"); doc != j.end()) {
    auto hex = crypto::HexDecode((*doc)["sha256"].get<std::string>());
    crypto::Digest d;
    std::copy(hex->begin(), hex->end(), d.begin());
    s.doc_sha256 = d;
    s.media_type = (*doc)["media_type"].get<std::string>();
  }
  if (auto target = j.find("target"); target != j.end()) s.target = target->get<uint64_t>();
  return s;
}

}  // namespace

Result<EntrySummary> ParseEntry(std::string_view bytes) {
  EntryViews fast;
  if (!FastEntry(bytes).Parse(fast)) return ParseEntryByDefinition(bytes);
  EntrySummary s;
  s.type = std::string(fast.type);
  s.time = std::string(fast.time);
  s.time_micros = fast.time_micros;
  s.client = std::string(fast.client);
  s.doc_sha256 = fast.doc_sha256;
  s.media_type = std::string(fast.media_type);
  s.target = fast.target;
  return s;
}

Result<CanonicalFields> ParseEntryFields(std::string_view text) {
  if (text.size() + kSequencerBytes <= kMaxEntryBytes) {
    if (EntryViews fast; FastEntry(text, /*fields_only=*/true).Parse(fast)) {
      return CanonicalFields(std::string(text), fast.doc_sha256);
    }
  }
  auto parsed = crypto::ParseJsonStrict(text);
  if (!parsed.ok()) return InvalidArgument("entry: " + parsed.status().message());
  return CanonicalEntryFields(*parsed);
}

Result<CanonicalFields> CanonicalEntryFields(const json& fields) {
  QUIPU_RETURN_IF_ERROR(ValidateEntryFields(fields));
  QUIPU_ASSIGN_OR_RETURN(std::string canonical, crypto::CanonicalDump(fields));
  if (canonical.size() + kSequencerBytes > kMaxEntryBytes) {
    return InvalidArgument("entry: larger than " + std::to_string(kMaxEntryBytes) + " bytes");
  }
  std::optional<crypto::Digest> doc_sha256;
  if (auto doc = fields.find("doc"); doc != fields.end()) {
    auto raw = crypto::HexDecode((*doc)["sha256"].get<std::string>());
    crypto::Digest d;
    std::copy(raw->begin(), raw->end(), d.begin());
    doc_sha256 = d;
  }
  return CanonicalFields(std::move(canonical), doc_sha256);
}

Result<EntryFacts> CheckEntry(std::string_view bytes) {
  if (EntryViews fast; FastEntry(bytes).Parse(fast)) return EntryFacts{fast.time_micros, fast.doc_sha256};
  QUIPU_ASSIGN_OR_RETURN(EntrySummary s, ParseEntryByDefinition(bytes));
  return EntryFacts{s.time_micros, s.doc_sha256};
}

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
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(micros));
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
  const int64_t micros = ((days * 24 + hour) * 60 + minute) * int64_t{60000000} + int64_t{second} * 1000000 +
                         num(20, 6);
  return micros;
}

}  // namespace quipu::ledger
