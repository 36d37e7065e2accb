#include "crypto/jcs.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace quipu::crypto {
namespace {

constexpr int64_t kMaxExactInteger = int64_t{1} << 53;  // every |n| <= 2^53 is a double

Status JsonError(std::string_view reason, size_t offset) {
  std::string m = "json: ";
  m.append(reason);
  m.append(" at offset ");
  m.append(std::to_string(offset));
  return InvalidArgument(std::move(m));
}

// Returns the length (2..4) of the valid UTF-8 sequence that starts at p[0]
// (a byte >= 0x80) within [p, end), or 0 if it is invalid: a stray
// continuation byte, an overlong form, an encoded surrogate, a code point
// above U+10FFFF, or a sequence cut short.
inline size_t Utf8SequenceLength(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = p[0];
  const size_t avail = static_cast<size_t>(end - p);
  auto cont = [](unsigned char b) { return (b & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) {
    return (avail >= 2 && cont(p[1])) ? 2 : 0;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (avail < 3) return 0;
    const unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;  // no overlongs
    const unsigned char hi = c == 0xED ? 0x9F : 0xBF;  // no U+D800..U+DFFF
    return (p[1] >= lo && p[1] <= hi && cont(p[2])) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (avail < 4) return 0;
    const unsigned char lo = c == 0xF0 ? 0x90 : 0x80;  // no overlongs
    const unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
    return (p[1] >= lo && p[1] <= hi && cont(p[2]) && cont(p[3])) ? 4 : 0;
  }
  return 0;
}

// Returns the offset of the first invalid UTF-8 byte in s, or npos.
size_t FindInvalidUtf8(std::string_view s) {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const auto* e = b + s.size();
  const auto* p = b;
  while (p < e) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    const size_t n = Utf8SequenceLength(p, e);
    if (n == 0) return static_cast<size_t>(p - b);
    p += n;
  }
  return std::string_view::npos;
}

// Orders UTF-8 strings as their UTF-16 code unit sequences would be ordered.
// Byte order equals code point order, and UTF-16 order differs from it only
// between U+E000..U+FFFF (lead bytes EE, EF) and supplementary characters
// (lead bytes F0..F4, surrogates D800..DBFF in UTF-16): the latter sort
// first. At the first differing byte both strings are at the same character
// boundary (or inside characters with the same lead byte), so remapping just
// those lead bytes gives UTF-16 order. Inputs must be valid UTF-8.
inline int CompareUtf16(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  const auto* pa = reinterpret_cast<const unsigned char*>(a.data());
  const auto* pb = reinterpret_cast<const unsigned char*>(b.data());
  for (size_t i = 0; i < n; ++i) {
    if (pa[i] != pb[i]) {
      auto rank = [](unsigned c) -> unsigned {
        if (c == 0xEE || c == 0xEF) return c + 0x10;  // after F0..F4
        if (c >= 0xF0) return c - 0x02;               // EE..F2: after ED
        return c;
      };
      return rank(pa[i]) < rank(pb[i]) ? -1 : 1;
    }
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

constexpr char kHexDigits[] = "0123456789abcdef";

// Appends s (valid UTF-8) as a canonical JSON string, quotes included.
void AppendEscapedString(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t run = 0;  // start of the pending run of bytes copied as they are
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\t': out->append("\\t"); break;
      case '\n': out->append("\\n"); break;
      case '\f': out->append("\\f"); break;
      case '\r': out->append("\\r"); break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHexDigits[c >> 4], kHexDigits[c & 0xF]};
        out->append(esc, 6);
      }
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

// Writes ECMAScript Number::toString(v) for finite v into buf (>= 32 bytes);
// returns the length.
size_t WriteJsonNumber(double v, char* buf) {
  if (v == 0) {  // +0 and -0
    buf[0] = '0';
    return 1;
  }
  char* p = buf;
  if (v < 0) {
    *p++ = '-';
    v = -v;
  }
  // Shortest round-trip digits, closest to v on ties (as ECMAScript asks),
  // in the form d[.ddd]e[+-]XX.
  char sci[32];
  const auto r = std::to_chars(sci, sci + sizeof(sci), v, std::chars_format::scientific);
  char digits[20];
  int k = 0;
  const char* q = sci;
  for (; q < r.ptr && *q != 'e'; ++q) {
    if (*q != '.') digits[k++] = *q;
  }
  int exp10 = 0;
  std::from_chars(q + 1 + (q[1] == '+' ? 1 : 0), r.ptr, exp10);
  const int n = exp10 + 1;  // v = 0.d1d2...dk × 10^n
  if (k <= n && n <= 21) {  // integer: digits then zeros
    std::memcpy(p, digits, k);
    p += k;
    std::memset(p, '0', n - k);
    p += n - k;
  } else if (0 < n && n <= 21) {  // point inside the digits
    std::memcpy(p, digits, n);
    p += n;
    *p++ = '.';
    std::memcpy(p, digits + n, k - n);
    p += k - n;
  } else if (-6 < n && n <= 0) {  // 0.000ddd
    *p++ = '0';
    *p++ = '.';
    std::memset(p, '0', -n);
    p += -n;
    std::memcpy(p, digits, k);
    p += k;
  } else {  // exponent form
    *p++ = digits[0];
    if (k > 1) {
      *p++ = '.';
      std::memcpy(p, digits + 1, k - 1);
      p += k - 1;
    }
    *p++ = 'e';
    const int e = n - 1;
    *p++ = e < 0 ? '-' : '+';
    p = std::to_chars(p, p + 8, e < 0 ? -e : e).ptr;
  }
  return static_cast<size_t>(p - buf);
}

void AppendJsonNumber(double v, std::string* out) {
  char buf[40];
  out->append(buf, WriteJsonNumber(v, buf));
}

// For error messages: a member name escaped and cut to a readable length.
std::string QuotedForMessage(std::string_view key) {
  std::string out;
  constexpr size_t kMax = 64;
  if (key.size() <= kMax) {
    AppendEscapedString(key, &out);
    return out;
  }
  size_t cut = kMax;  // do not split a UTF-8 sequence
  while (cut > 0 && (static_cast<unsigned char>(key[cut]) & 0xC0) == 0x80) --cut;
  AppendEscapedString(key.substr(0, cut), &out);
  out.insert(out.size() - 1, "...");
  return out;
}

// ---------------------------------------------------------------------------
// The strict parser, shared by Canonicalize and ParseJsonStrict. It reports
// events to a Sink:
//   BeginObject(), Key(name, raw_is_canonical, offset) -> Status,
//   EndMember(), EndObject() -> Status, BeginArray(), EndArray(),
//   Separator(), String(value, raw_is_canonical),
//   Number(value, text, is_integer_text), Literal(text).
// `name`/`value` is the unescaped string; when raw_is_canonical the input
// held no escapes, so the input bytes are also the canonical escaped form.
template <typename Sink>
class Parser {
 public:
  Parser(std::string_view text, const JcsLimits& limits, Sink* sink)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()),
        limits_(limits), sink_(sink) {}

  Status ParseDocument() {
    SkipWhitespace();
    QUIPU_RETURN_IF_ERROR(ParseValue(0));
    SkipWhitespace();
    if (p_ != end_) return UnexpectedHere("after the value");
    return Status::Ok();
  }

 private:
  size_t Offset() const { return static_cast<size_t>(p_ - begin_); }

  Status UnexpectedHere(std::string_view context) const {
    if (p_ == end_) return JsonError("unexpected end of input", Offset());
    const unsigned char c = static_cast<unsigned char>(*p_);
    std::string reason = "unexpected ";
    if (c >= 0x20 && c < 0x7F) {
      reason += '\'';
      reason += static_cast<char>(c);
      reason += '\'';
    } else {
      reason += "byte 0x";
      reason += kHexDigits[c >> 4];
      reason += kHexDigits[c & 0xF];
    }
    if (!context.empty()) {
      reason += ' ';
      reason += context;
    }
    return JsonError(reason, Offset());
  }

  void SkipWhitespace() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  Status ParseValue(size_t depth) {
    if (p_ == end_) return JsonError("unexpected end of input", Offset());
    if (++values_ > limits_.max_values) {
      return JsonError("more than " + std::to_string(limits_.max_values) + " values", Offset());
    }
    switch (*p_) {
      case '{': return ParseObject(depth + 1);
      case '[': return ParseArray(depth + 1);
      case '"': {
        std::string_view value;
        bool raw;
        QUIPU_RETURN_IF_ERROR(ParseString(&value, &raw));
        sink_->String(value, raw);
        return Status::Ok();
      }
      case 't': return ParseLiteral("true");
      case 'f': return ParseLiteral("false");
      case 'n': return ParseLiteral("null");
      default:
        if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) return ParseNumber();
        if (*p_ == 'N' || *p_ == 'I') {
          return JsonError("NaN and Infinity are not JSON numbers", Offset());
        }
        return UnexpectedHere("where a value should start");
    }
  }

  Status ParseLiteral(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
      return JsonError("invalid literal (expected " + std::string(word) + ")", Offset());
    }
    p_ += word.size();
    sink_->Literal(word);
    return Status::Ok();
  }

  Status CheckDepth(size_t depth) const {
    if (depth > limits_.max_depth) {
      return JsonError("nesting deeper than " + std::to_string(limits_.max_depth), Offset());
    }
    return Status::Ok();
  }

  Status ParseObject(size_t depth) {
    QUIPU_RETURN_IF_ERROR(CheckDepth(depth));
    ++p_;  // '{'
    sink_->BeginObject();
    SkipWhitespace();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return sink_->EndObject();
    }
    while (true) {
      if (p_ == end_ || *p_ != '"') return UnexpectedHere("where a member name should start");
      const size_t key_offset = Offset();
      std::string_view key;
      bool raw;
      QUIPU_RETURN_IF_ERROR(ParseString(&key, &raw));
      QUIPU_RETURN_IF_ERROR(sink_->Key(key, raw, key_offset));
      SkipWhitespace();
      if (p_ == end_ || *p_ != ':') return UnexpectedHere("where ':' should follow a member name");
      ++p_;
      SkipWhitespace();
      QUIPU_RETURN_IF_ERROR(ParseValue(depth));
      sink_->EndMember();
      SkipWhitespace();
      if (p_ != end_ && *p_ == ',') {
        ++p_;
        sink_->Separator();
        SkipWhitespace();
        continue;
      }
      if (p_ != end_ && *p_ == '}') {
        ++p_;
        return sink_->EndObject();
      }
      return UnexpectedHere("where ',' or '}' should follow a member");
    }
  }

  Status ParseArray(size_t depth) {
    QUIPU_RETURN_IF_ERROR(CheckDepth(depth));
    ++p_;  // '['
    sink_->BeginArray();
    SkipWhitespace();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      sink_->EndArray();
      return Status::Ok();
    }
    while (true) {
      QUIPU_RETURN_IF_ERROR(ParseValue(depth));
      SkipWhitespace();
      if (p_ != end_ && *p_ == ',') {
        ++p_;
        sink_->Separator();
        SkipWhitespace();
        continue;
      }
      if (p_ != end_ && *p_ == ']') {
        ++p_;
        sink_->EndArray();
        return Status::Ok();
      }
      return UnexpectedHere("where ',' or ']' should follow an element");
    }
  }

  // Reads 4 hex digits at p_ (after "\u"); returns false if they are not.
  bool ReadHex4(uint32_t* unit) {
    if (end_ - p_ < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = p_[i];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else return false;
    }
    p_ += 4;
    *unit = v;
    return true;
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // Parses the string at p_ (on its '"'). *value is the unescaped text: a view
  // of the input when it held no escapes (*raw = true), else of a scratch
  // buffer valid until the next ParseString.
  Status ParseString(std::string_view* value, bool* raw) {
    ++p_;  // '"'
    const char* start = p_;
    const auto* const uend = reinterpret_cast<const unsigned char*>(end_);
    // Fast path: scan until the closing quote or the first escape.
    while (true) {
      // Skip plain ASCII eight bytes at a time when possible.
      while (end_ - p_ >= 8) {
        uint64_t w;
        std::memcpy(&w, p_, 8);
        // A byte needs attention if it is >= 0x80, < 0x20, '"' or '\\'.
        const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
        const uint64_t ctrl = (w - ones * 0x20) & ~w;
        const uint64_t xq = w ^ (ones * '"'), xb = w ^ (ones * '\\');
        const uint64_t quote = (xq - ones) & ~xq, bslash = (xb - ones) & ~xb;
        if (((ctrl | quote | bslash | w) & high) != 0) break;
        p_ += 8;
      }
      if (p_ == end_) return JsonError("unterminated string", static_cast<size_t>(start - 1 - begin_));
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        *value = std::string_view(start, static_cast<size_t>(p_ - start));
        *raw = true;
        ++p_;
        return Status::Ok();
      }
      if (c == '\\') break;
      if (c < 0x20) return JsonError("unescaped control character in string", Offset());
      if (c < 0x80) {
        ++p_;
        continue;
      }
      const size_t n = Utf8SequenceLength(reinterpret_cast<const unsigned char*>(p_), uend);
      if (n == 0) return JsonError("invalid UTF-8", Offset());
      p_ += n;
    }
    // Slow path: the string has escapes; unescape into scratch_.
    scratch_.assign(start, static_cast<size_t>(p_ - start));
    while (true) {
      if (p_ == end_) return JsonError("unterminated string", static_cast<size_t>(start - 1 - begin_));
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        break;
      }
      if (c == '\\') {
        const size_t esc_offset = Offset();
        ++p_;
        if (p_ == end_) return JsonError("unterminated string", static_cast<size_t>(start - 1 - begin_));
        const char e = *p_++;
        switch (e) {
          case '"': scratch_.push_back('"'); break;
          case '\\': scratch_.push_back('\\'); break;
          case '/': scratch_.push_back('/'); break;
          case 'b': scratch_.push_back('\b'); break;
          case 'f': scratch_.push_back('\f'); break;
          case 'n': scratch_.push_back('\n'); break;
          case 'r': scratch_.push_back('\r'); break;
          case 't': scratch_.push_back('\t'); break;
          case 'u': {
            uint32_t unit;
            if (!ReadHex4(&unit)) return JsonError("invalid \\u escape", esc_offset);
            if (unit >= 0xDC00 && unit <= 0xDFFF) {
              return JsonError("lone low surrogate escape", esc_offset);
            }
            if (unit >= 0xD800 && unit <= 0xDBFF) {
              uint32_t low;
              if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') {
                return JsonError("high surrogate escape not followed by a low one", esc_offset);
              }
              p_ += 2;
              if (!ReadHex4(&low)) return JsonError("invalid \\u escape", Offset() - 2);
              if (low < 0xDC00 || low > 0xDFFF) {
                return JsonError("high surrogate escape not followed by a low one", esc_offset);
              }
              unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            }
            AppendUtf8(unit, &scratch_);
            break;
          }
          default:
            return JsonError("invalid escape", esc_offset);
        }
        continue;
      }
      if (c < 0x20) return JsonError("unescaped control character in string", Offset());
      if (c < 0x80) {
        scratch_.push_back(static_cast<char>(c));
        ++p_;
        continue;
      }
      const size_t n = Utf8SequenceLength(reinterpret_cast<const unsigned char*>(p_), uend);
      if (n == 0) return JsonError("invalid UTF-8", Offset());
      scratch_.append(p_, n);
      p_ += n;
    }
    *value = scratch_;
    *raw = false;
    return Status::Ok();
  }

  Status ParseNumber() {
    const char* start = p_;
    const size_t offset = Offset();
    auto digit = [this] { return p_ != end_ && *p_ >= '0' && *p_ <= '9'; };
    if (*p_ == '-') ++p_;
    if (p_ != end_ && (*p_ == 'I' || *p_ == 'N')) {
      return JsonError("NaN and Infinity are not JSON numbers", offset);
    }
    if (!digit()) return JsonError("invalid number (no digit after '-')", offset);
    if (*p_ == '0') {
      ++p_;
      if (digit()) return JsonError("invalid number (leading zero)", offset);
    } else {
      while (digit()) ++p_;
    }
    bool is_integer = true;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      is_integer = false;
      if (!digit()) return JsonError("invalid number (no digit after '.')", offset);
      while (digit()) ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      is_integer = false;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digit()) return JsonError("invalid number (no digit in exponent)", offset);
      while (digit()) ++p_;
    }
    const std::string_view text(start, static_cast<size_t>(p_ - start));
    double value = 0;
    const auto r = std::from_chars(start, p_, value);
    if (r.ec == std::errc::result_out_of_range) {
      if (OverflowsDouble(text)) {
        return JsonError("number out of range of an IEEE-754 double", offset);
      }
      value = text[0] == '-' ? -0.0 : 0.0;  // underflow rounds to zero
    } else if (r.ec != std::errc() || r.ptr != p_ || !std::isfinite(value)) {
      // The grammar was checked above, so this means infinity.
      return JsonError("number out of range of an IEEE-754 double", offset);
    }
    sink_->Number(value, text, is_integer);
    return Status::Ok();
  }

  // For a grammatical number that from_chars found out of range: true if
  // its magnitude is huge (overflow), false if tiny (underflow). The decimal
  // exponent of its first non-zero digit decides it; out-of-range values are
  // beyond 1e308 or below 1e-323, so the sign of that exponent suffices.
  static bool OverflowsDouble(std::string_view t) {
    size_t i = (t[0] == '-') ? 1 : 0;
    int64_t position = 0;  // digits before the point, counted from the first non-zero
    bool seen_nonzero = false, after_point = false;
    for (; i < t.size() && t[i] != 'e' && t[i] != 'E'; ++i) {
      if (t[i] == '.') {
        after_point = true;
        continue;
      }
      if (!seen_nonzero) {
        if (t[i] == '0') {
          if (after_point) --position;
          continue;
        }
        seen_nonzero = true;
      }
      if (!after_point) ++position;
    }
    if (!seen_nonzero) return false;
    int64_t exp = 0;
    if (i < t.size()) {
      ++i;
      bool neg = false;
      if (t[i] == '+' || t[i] == '-') neg = t[i++] == '-';
      for (; i < t.size(); ++i) {
        exp = std::min<int64_t>(exp * 10 + (t[i] - '0'), int64_t{1} << 40);
      }
      if (neg) exp = -exp;
    }
    return position + exp > 0;
  }

  const char* const begin_;
  const char* p_;
  const char* const end_;
  const JcsLimits& limits_;
  Sink* const sink_;
  std::string scratch_;
  size_t values_ = 0;
};

// Writes the canonical form while parsing. Object members are written in
// input order, each member's bytes [out_begin, out_end) recorded; at '}' they
// are checked for duplicates and, unless already in order, rewritten in
// UTF-16 order in place (the object's length does not change).
class CanonicalSink {
 public:
  CanonicalSink(std::string_view input, std::string* out) : input_(input), out_(out) {}

  void BeginObject() {
    out_->push_back('{');
    frames_.push_back({members_.size(), arena_.size(), out_->size()});
  }

  Status Key(std::string_view name, bool raw, size_t offset) {
    Member m;
    m.offset = offset;
    m.out_begin = out_->size();
    if (raw) {
      m.in_arena = false;
      m.key_pos = static_cast<size_t>(name.data() - input_.data());
      out_->push_back('"');
      out_->append(name);
      out_->push_back('"');
    } else {
      m.in_arena = true;
      m.key_pos = arena_.size();
      arena_.append(name);
      AppendEscapedString(name, out_);
    }
    m.key_len = name.size();
    out_->push_back(':');
    members_.push_back(m);
    return Status::Ok();
  }

  void EndMember() { members_.back().out_end = out_->size(); }

  Status EndObject() {
    const Frame f = frames_.back();
    frames_.pop_back();
    auto first = members_.begin() + static_cast<ptrdiff_t>(f.members_start);
    auto last = members_.end();
    bool sorted = true;
    for (auto it = first; it != last && it + 1 != last && sorted; ++it) {
      sorted = CompareUtf16(KeyOf(*it), KeyOf(*(it + 1))) < 0;
    }
    if (!sorted) {
      std::sort(first, last, [this](const Member& a, const Member& b) {
        const int c = CompareUtf16(KeyOf(a), KeyOf(b));
        return c != 0 ? c < 0 : a.offset < b.offset;
      });
      // Report the earliest second occurrence of any repeated name.
      const Member* dup = nullptr;
      for (auto it = first; it + 1 != last; ++it) {  // here there are >= 2 members
        if (CompareUtf16(KeyOf(*it), KeyOf(*(it + 1))) == 0 &&
            (dup == nullptr || (it + 1)->offset < dup->offset)) {
          dup = &*(it + 1);
        }
      }
      if (dup != nullptr) {
        return JsonError("duplicate key " + QuotedForMessage(KeyOf(*dup)), dup->offset);
      }
      reorder_.assign(out_->data() + f.out_start, out_->size() - f.out_start);
      char* w = out_->data() + f.out_start;
      for (auto it = first; it != last; ++it) {
        if (it != first) *w++ = ',';
        const size_t len = it->out_end - it->out_begin;
        std::memcpy(w, reorder_.data() + (it->out_begin - f.out_start), len);
        w += len;
      }
    }
    members_.resize(f.members_start);
    arena_.resize(f.arena_start);
    out_->push_back('}');
    return Status::Ok();
  }

  void BeginArray() { out_->push_back('['); }
  void EndArray() { out_->push_back(']'); }
  void Separator() { out_->push_back(','); }

  void String(std::string_view value, bool raw) {
    if (raw) {
      out_->push_back('"');
      out_->append(value);
      out_->push_back('"');
    } else {
      AppendEscapedString(value, out_);
    }
  }

  void Number(double value, std::string_view text, bool is_integer) {
    // Integers of up to 15 digits are exact doubles below 1e21, whose
    // canonical form is their digits: the (leading-zero-free) text itself.
    const size_t digits = text.size() - (text[0] == '-' ? 1 : 0);
    if (is_integer && digits <= 15) {
      if (text == "-0") {
        out_->push_back('0');
      } else {
        out_->append(text);
      }
      return;
    }
    AppendJsonNumber(value, out_);
  }

  void Literal(std::string_view word) { out_->append(word); }

 private:
  struct Member {
    size_t key_pos;  // into input_ or arena_
    size_t key_len;
    bool in_arena;
    size_t offset;     // of the name's opening quote in the input
    size_t out_begin;  // the member's canonical bytes in *out_
    size_t out_end;
  };
  struct Frame {
    size_t members_start;
    size_t arena_start;
    size_t out_start;  // just after '{'
  };

  std::string_view KeyOf(const Member& m) const {
    return m.in_arena ? std::string_view(arena_).substr(m.key_pos, m.key_len)
                      : input_.substr(m.key_pos, m.key_len);
  }

  std::string_view input_;
  std::string* out_;
  std::vector<Member> members_;  // a stack: the open objects' members
  std::vector<Frame> frames_;
  std::string arena_;    // unescaped names that had escapes
  std::string reorder_;  // scratch for rewriting an object in order
};

// Builds an nlohmann::json while parsing.
class DomSink {
 public:
  nlohmann::json& root() { return root_; }

  void BeginObject() { Open(nlohmann::json::object()); }
  Status Key(std::string_view name, bool, size_t offset) {
    if (stack_.back()->contains(name)) {
      return JsonError("duplicate key " + QuotedForMessage(name), offset);
    }
    pending_key_.assign(name);
    return Status::Ok();
  }
  void EndMember() {}
  Status EndObject() {
    stack_.pop_back();
    return Status::Ok();
  }
  void BeginArray() { Open(nlohmann::json::array()); }
  void EndArray() { stack_.pop_back(); }
  void Separator() {}
  void String(std::string_view value, bool) { Place(nlohmann::json(std::string(value))); }
  void Number(double value, std::string_view text, bool is_integer) {
    // Keep an integer only when the written value itself is a double (|n| <=
    // 2^53); 9007199254740993 becomes the double it rounds to.
    int64_t n = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), n);
    if (is_integer && r.ec == std::errc() && n >= -kMaxExactInteger && n <= kMaxExactInteger) {
      Place(nlohmann::json(n));
    } else {
      Place(nlohmann::json(value));
    }
  }
  void Literal(std::string_view word) {
    if (word == "null") Place(nlohmann::json(nullptr));
    else Place(nlohmann::json(word == "true"));
  }

 private:
  nlohmann::json* Place(nlohmann::json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    nlohmann::json* top = stack_.back();
    if (top->is_array()) {
      top->push_back(std::move(v));
      return &top->back();
    }
    auto& slot = (*top)[pending_key_];
    slot = std::move(v);
    return &slot;
  }
  void Open(nlohmann::json&& v) { stack_.push_back(Place(std::move(v))); }

  nlohmann::json root_;
  std::vector<nlohmann::json*> stack_;
  std::string pending_key_;
};

Status CheckSize(std::string_view text, const JcsLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return JsonError("input of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                         std::to_string(limits.max_bytes) + " bytes",
                     limits.max_bytes);
  }
  return Status::Ok();
}

Status DumpValue(const nlohmann::json& v, std::string* out) {
  using Type = nlohmann::json::value_t;
  switch (v.type()) {
    case Type::null: out->append("null"); return Status::Ok();
    case Type::boolean: out->append(v.get<bool>() ? "true" : "false"); return Status::Ok();
    case Type::number_integer: {
      const int64_t i = v.get<int64_t>();
      if (i > kMaxExactInteger || i < -kMaxExactInteger) {
        return InvalidArgument("json: integer " + std::to_string(i) +
                               " is beyond ±2^53, not exactly an IEEE-754 double");
      }
      char buf[24];
      out->append(buf, std::to_chars(buf, buf + sizeof(buf), i).ptr);
      return Status::Ok();
    }
    case Type::number_unsigned: {
      const uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(kMaxExactInteger)) {
        return InvalidArgument("json: integer " + std::to_string(u) +
                               " is beyond ±2^53, not exactly an IEEE-754 double");
      }
      char buf[24];
      out->append(buf, std::to_chars(buf, buf + sizeof(buf), u).ptr);
      return Status::Ok();
    }
    case Type::number_float: {
      const double d = v.get<double>();
      if (!std::isfinite(d)) return InvalidArgument("json: NaN or Infinity is not a JSON number");
      AppendJsonNumber(d, out);
      return Status::Ok();
    }
    case Type::string: {
      const auto& s = v.get_ref<const std::string&>();
      if (const size_t bad = FindInvalidUtf8(s); bad != std::string_view::npos) {
        return InvalidArgument("json: invalid UTF-8 in string at byte " + std::to_string(bad));
      }
      AppendEscapedString(s, out);
      return Status::Ok();
    }
    case Type::array: {
      out->push_back('[');
      bool first = true;
      for (const auto& e : v) {
        if (!first) out->push_back(',');
        first = false;
        QUIPU_RETURN_IF_ERROR(DumpValue(e, out));
      }
      out->push_back(']');
      return Status::Ok();
    }
    case Type::object: {
      const auto& obj = v.get_ref<const nlohmann::json::object_t&>();
      std::vector<const nlohmann::json::object_t::value_type*> members;
      members.reserve(obj.size());
      for (const auto& kv : obj) {
        if (const size_t bad = FindInvalidUtf8(kv.first); bad != std::string_view::npos) {
          return InvalidArgument("json: invalid UTF-8 in member name at byte " +
                                 std::to_string(bad));
        }
        members.push_back(&kv);
      }
      // std::map orders by bytes; JCS orders by UTF-16 code units.
      std::sort(members.begin(), members.end(),
                [](auto* a, auto* b) { return CompareUtf16(a->first, b->first) < 0; });
      out->push_back('{');
      bool first = true;
      for (const auto* kv : members) {
        if (!first) out->push_back(',');
        first = false;
        AppendEscapedString(kv->first, out);
        out->push_back(':');
        QUIPU_RETURN_IF_ERROR(DumpValue(kv->second, out));
      }
      out->push_back('}');
      return Status::Ok();
    }
    case Type::binary: return InvalidArgument("json: binary values have no JSON form");
    case Type::discarded: return InvalidArgument("json: discarded value has no JSON form");
  }
  return Internal("json: unknown nlohmann::json type");
}

}  // namespace

Result<std::string> Canonicalize(std::string_view json_text, const JcsLimits& limits) {
  QUIPU_RETURN_IF_ERROR(CheckSize(json_text, limits));
  std::string out;
  out.reserve(json_text.size());
  CanonicalSink sink(json_text, &out);
  Parser<CanonicalSink> parser(json_text, limits, &sink);
  QUIPU_RETURN_IF_ERROR(parser.ParseDocument());
  return out;
}

Result<nlohmann::json> ParseJsonStrict(std::string_view text, const JcsLimits& limits) {
  QUIPU_RETURN_IF_ERROR(CheckSize(text, limits));
  DomSink sink;
  Parser<DomSink> parser(text, limits, &sink);
  QUIPU_RETURN_IF_ERROR(parser.ParseDocument());
  return std::move(sink.root());
}

Result<std::string> CanonicalDump(const nlohmann::json& value) {
  std::string out;
  QUIPU_RETURN_IF_ERROR(DumpValue(value, &out));
  return out;
}

std::string FormatJsonNumber(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value < 0 ? "-Infinity" : "Infinity";
  char buf[40];
  return std::string(buf, WriteJsonNumber(value, buf));
}

}  // namespace quipu::crypto
