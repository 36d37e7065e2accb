// Byte encodings: hex (lower case), Base64 (RFC 4648 §4, padded) and
// Base64url (RFC 4648 §5, unpadded). Decoders are strict: they reject any
// character outside the alphabet, bad padding and non-canonical trailing bits.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/status.h"

namespace quipu::crypto {

using Bytes = std::vector<uint8_t>;

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsString(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string HexEncode(std::span<const uint8_t> data);
// Accepts upper or lower case; errors on odd length or a non-hex character.
Result<Bytes> HexDecode(std::string_view text);

std::string Base64Encode(std::span<const uint8_t> data);
Result<Bytes> Base64Decode(std::string_view text);

// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string PercentEncode(std::string_view text);

std::string Base64UrlEncode(std::span<const uint8_t> data);
Result<Bytes> Base64UrlDecode(std::string_view text);

}  // namespace quipu::crypto
