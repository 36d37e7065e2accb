#include "crypto/base45.h"

#include <array>

namespace quipu::crypto {
namespace {

constexpr std::string_view kAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (size_t i = 0; i < kAlphabet.size(); ++i) t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kDecode = MakeDecodeTable();

}  // namespace

std::string Base45Encode(std::span<const uint8_t> data) {
  std::string out;
  out.reserve(data.size() / 2 * 3 + 2);
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) {
    unsigned n = data[i] * 256u + data[i + 1];
    out += kAlphabet[n % 45];
    n /= 45;
    out += kAlphabet[n % 45];
    out += kAlphabet[n / 45];
  }
  if (i < data.size()) {
    const unsigned n = data[i];
    out += kAlphabet[n % 45];
    out += kAlphabet[n / 45];
  }
  return out;
}

Result<Bytes> Base45Decode(std::string_view text) {
  if (text.size() % 3 == 1) {
    return InvalidArgument("base45: length " + std::to_string(text.size()) + " is not valid (3k or 3k+2)");
  }
  Bytes out;
  out.reserve(text.size() / 3 * 2 + 1);
  for (size_t i = 0; i < text.size(); i += 3) {
    const size_t len = std::min<size_t>(3, text.size() - i);
    unsigned v[3] = {0, 0, 0};
    for (size_t j = 0; j < len; ++j) {
      const int d = kDecode[static_cast<uint8_t>(text[i + j])];
      if (d < 0) return InvalidArgument("base45: invalid character at offset " + std::to_string(i + j));
      v[j] = static_cast<unsigned>(d);
    }
    const unsigned n = v[0] + v[1] * 45 + v[2] * 45 * 45;
    if (len == 3) {
      if (n > 0xffff) return InvalidArgument("base45: group at offset " + std::to_string(i) + " exceeds 65535");
      out.push_back(static_cast<uint8_t>(n >> 8));
      out.push_back(static_cast<uint8_t>(n & 0xff));
    } else {
      if (n > 0xff) return InvalidArgument("base45: final pair at offset " + std::to_string(i) + " exceeds 255");
      out.push_back(static_cast<uint8_t>(n));
    }
  }
  return out;
}

}  // namespace quipu::crypto
