#include "pdf/worker_protocol.h"

#include <bit>
#include <cmath>
#include <cstring>

namespace quipu::pdf::worker {
namespace {

constexpr std::string_view kRequestMagic = "QPW1";
constexpr std::string_view kReplyMagic = "QPR1";

void PutUint(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

void PutDouble(std::string& out, double v) { PutUint(out, std::bit_cast<uint64_t>(v), 8); }

void PutString(std::string& out, std::string_view s, int length_bytes) {
  PutUint(out, s.size(), length_bytes);
  out += s;
}

// A strict reader over a body: every read checks the bytes are there.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool Uint(uint64_t& v, int bytes) {
    if (s_.size() - at_ < static_cast<size_t>(bytes)) return false;
    v = 0;
    for (int i = 0; i < bytes; ++i) v = v << 8 | static_cast<uint8_t>(s_[at_++]);
    return true;
  }
  bool Double(double& v) {
    uint64_t bits = 0;
    if (!Uint(bits, 8)) return false;
    v = std::bit_cast<double>(bits);
    return true;
  }
  bool String(std::string_view& v, int length_bytes) {
    uint64_t n = 0;
    if (!Uint(n, length_bytes) || s_.size() - at_ < n) return false;
    v = s_.substr(at_, static_cast<size_t>(n));
    at_ += static_cast<size_t>(n);
    return true;
  }
  bool Magic(std::string_view magic) {
    if (s_.substr(at_, magic.size()) != magic) return false;
    at_ += magic.size();
    return true;
  }
  std::string_view Rest() {
    std::string_view r = s_.substr(at_);
    at_ = s_.size();
    return r;
  }
  bool AtEnd() const { return at_ == s_.size(); }

 private:
  std::string_view s_;
  size_t at_ = 0;
};

bool IsPrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

Status Malformed(std::string_view what) { return InvalidArgument("PDF worker message: " + std::string(what)); }

}  // namespace

std::string FrameHeader(uint64_t body_bytes) {
  std::string out;
  PutUint(out, body_bytes, 8);
  return out;
}

Result<uint64_t> ParseFrameHeader(std::span<const uint8_t, kFrameHeaderBytes> header, uint64_t max_body) {
  uint64_t n = 0;
  for (uint8_t b : header) n = n << 8 | b;
  if (n > max_body || n > kMaxFrameBytes) {
    return Malformed("a frame of " + std::to_string(n) + " bytes is over the limit of " +
                     std::to_string(std::min(max_body, kMaxFrameBytes)));
  }
  return n;
}

std::string EncodeRequestPrefix(const Request& r) {
  std::string out(kRequestMagic);
  out += static_cast<char>(r.op);
  if (r.op == Op::kStamp) {
    PutUint(out, static_cast<uint64_t>(r.qr.size), 2);
    PutString(out, r.qr.marker, 1);
    PutUint(out, static_cast<uint32_t>(r.options.page), 4);
    out += static_cast<char>(r.options.corner);
    PutDouble(out, r.options.size_pt);
    PutDouble(out, r.options.margin_pt);
    PutString(out, r.options.caption, 2);
  }
  return out;
}

Result<Request> DecodeRequest(std::string_view body) {
  Reader in(body);
  if (!in.Magic(kRequestMagic)) return Malformed("not a request (bad magic)");
  uint64_t op = 0;
  if (!in.Uint(op, 1) || (op != 1 && op != 2)) return Malformed("unknown operation");
  Request r;
  r.op = static_cast<Op>(op);
  if (r.op == Op::kStamp) {
    uint64_t size = 0, page = 0, corner = 0;
    std::string_view marker, caption;
    if (!in.Uint(size, 2) || !in.String(marker, 1) || !in.Uint(page, 4) || !in.Uint(corner, 1) ||
        !in.Double(r.options.size_pt) || !in.Double(r.options.margin_pt) || !in.String(caption, 2)) {
      return Malformed("truncated stamp arguments");
    }
    if (corner > static_cast<uint64_t>(Corner::kTopLeft)) return Malformed("unknown corner");
    if (page > 0x7fffffff) return Malformed("page out of range");
    r.qr.size = static_cast<int>(size);
    r.qr.marker = std::string(marker);
    r.options.page = static_cast<int>(page);
    r.options.corner = static_cast<Corner>(corner);
    r.options.caption = std::string(caption);
  }
  r.pdf = in.Rest();
  return r;
}

std::string EncodeReply(Op op, const Reply& r) {
  std::string out(kReplyMagic);
  out += static_cast<char>(r.status.code());
  std::string message = r.status.message().substr(0, kMaxMessageBytes);
  for (char& c : message) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  PutString(out, message, 2);
  if (!r.status.ok()) return out;
  if (op == Op::kParse) {
    PutString(out, r.facts.version.substr(0, 8), 1);
    PutUint(out, static_cast<uint32_t>(std::max(0, r.facts.pages)), 4);
    out += static_cast<char>((r.facts.encrypted ? 1 : 0) | (r.facts.has_signatures ? 2 : 0));
  } else {
    out += r.pdf;
  }
  return out;
}

Result<Reply> DecodeReply(Op op, std::string_view body) {
  Reader in(body);
  if (!in.Magic(kReplyMagic)) return Malformed("not a reply (bad magic)");
  uint64_t code = 0;
  std::string_view message;
  if (!in.Uint(code, 1) || !in.String(message, 2)) return Malformed("truncated reply");
  if (message.size() > kMaxMessageBytes || !IsPrintableAscii(message)) return Malformed("bad error message");
  Reply r;
  const auto status = static_cast<StatusCode>(code);
  if (status == StatusCode::kOk) {
    if (!message.empty()) return Malformed("a success with a message");
  } else if (status == StatusCode::kInvalidArgument || status == StatusCode::kUnprocessable) {
    if (message.empty()) return Malformed("an error without a message");
    r.status = Status(status, std::string(message));
    if (!in.AtEnd()) return Malformed("bytes after an error");
    return r;
  } else {
    return Malformed("a status code the worker may not send");
  }
  if (op == Op::kParse) {
    std::string_view version;
    uint64_t pages = 0, flags = 0;
    if (!in.String(version, 1) || !in.Uint(pages, 4) || !in.Uint(flags, 1)) return Malformed("truncated facts");
    if (!in.AtEnd()) return Malformed("bytes after the facts");
    if (version.size() > 8 || version.find_first_not_of("0123456789.") != std::string_view::npos) {
      return Malformed("bad PDF version");
    }
    if (pages > 0x7fffffff || flags > 3) return Malformed("facts out of range");
    r.facts.version = std::string(version);
    r.facts.pages = static_cast<int>(pages);
    r.facts.encrypted = (flags & 1) != 0;
    r.facts.has_signatures = (flags & 2) != 0;
  } else {
    r.pdf = in.Rest();
  }
  return r;
}

}  // namespace quipu::pdf::worker
