#include "api/params.h"

#include <charconv>
#include <string>

#include "crypto/encoding.h"

namespace quipu::api {

Result<uint64_t> ParseIndexParam(std::string_view text, std::string_view what) {
  const Status bad = InvalidArgument(std::string(what) + " must be a decimal integer below 2^53");
  if (text.empty() || text.size() > 16 || (text.size() > 1 && text[0] == '0')) return bad;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v >= (uint64_t{1} << 53)) return bad;
  return v;
}

Result<crypto::Digest> ParseSha256Param(std::string_view hex) {
  const Status bad = InvalidArgument("a document SHA-256 is 64 hex digits");
  if (hex.size() != 64) return bad;
  auto bytes = crypto::HexDecode(hex);
  if (!bytes.ok() || bytes->size() != 32) return bad;
  crypto::Digest d;
  std::copy(bytes->begin(), bytes->end(), d.begin());
  return d;
}

}  // namespace quipu::api
