#include "crypto/otp.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

namespace quipu::crypto {
namespace {

const EVP_MD* Md(OtpHash hash) {
  switch (hash) {
    case OtpHash::kSha1: return EVP_sha1();
    case OtpHash::kSha256: return EVP_sha256();
    case OtpHash::kSha512: return EVP_sha512();
  }
  return EVP_sha1();
}

const char* HashName(OtpHash hash) {
  switch (hash) {
    case OtpHash::kSha1: return "SHA1";
    case OtpHash::kSha256: return "SHA256";
    case OtpHash::kSha512: return "SHA512";
  }
  return "SHA1";
}

constexpr uint32_t kPow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};


}  // namespace

Result<std::string> Hotp(std::span<const uint8_t> key, uint64_t counter, int digits, OtpHash hash) {
  if (digits < 6 || digits > 8) return InvalidArgument("otp: digits must be 6 to 8");
  if (key.empty()) return InvalidArgument("otp: empty key");
  uint8_t msg[8];
  for (int i = 0; i < 8; ++i) msg[i] = static_cast<uint8_t>(counter >> (56 - 8 * i));
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(Md(hash), key.data(), static_cast<int>(key.size()), msg, sizeof msg, mac, &len) == nullptr) {
    return Internal("otp: HMAC failed");
  }
  // RFC 4226 §5.3 dynamic truncation.
  const unsigned offset = mac[len - 1] & 0x0f;
  const uint32_t bin = (static_cast<uint32_t>(mac[offset] & 0x7f) << 24) |
                       (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                       (static_cast<uint32_t>(mac[offset + 2]) << 8) | mac[offset + 3];
  std::string code = std::to_string(bin % kPow10[digits]);
  return std::string(static_cast<size_t>(digits) - code.size(), '0') + code;
}

Result<std::string> Totp(std::span<const uint8_t> key, uint64_t unix_time, int digits, OtpHash hash,
                         uint64_t step, uint64_t t0) {
  if (step == 0) return InvalidArgument("otp: the time step must be positive");
  if (unix_time < t0) return InvalidArgument("otp: time before T0");
  return Hotp(key, (unix_time - t0) / step, digits, hash);
}

Result<std::optional<uint64_t>> VerifyTotp(std::span<const uint8_t> key, std::string_view code,
                                           uint64_t unix_time, int window_steps, int digits, OtpHash hash,
                                           uint64_t step) {
  if (window_steps < 0 || window_steps > 10) return InvalidArgument("otp: window must be 0 to 10 steps");
  if (step == 0) return InvalidArgument("otp: the time step must be positive");
  const uint64_t now = unix_time / step;
  std::optional<uint64_t> matched;
  // Every candidate is computed and compared, match or not, so the time
  // taken does not say which step (if any) matched.
  for (int d = -window_steps; d <= window_steps; ++d) {
    if (d < 0 && now < static_cast<uint64_t>(-d)) continue;
    const uint64_t counter = now + static_cast<uint64_t>(static_cast<int64_t>(d));
    QUIPU_ASSIGN_OR_RETURN(std::string expected, Hotp(key, counter, digits, hash));
    const bool same = code.size() == expected.size() &&
                      sodium_memcmp(code.data(), expected.data(), expected.size()) == 0;
    if (same && !matched) matched = counter;
  }
  return matched;
}

std::string Base32Encode(std::span<const uint8_t> data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t b : data) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
  return out;
}

Result<Bytes> Base32Decode(std::string_view text) {
  Bytes out;
  uint32_t buffer = 0;
  int bits = 0;
  bool padding = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a';
    else if (c >= '2' && c <= '7') v = c - '2' + 26;
    else return InvalidArgument("base32: invalid character at offset " + std::to_string(i));
    if (padding) return InvalidArgument("base32: data after padding at offset " + std::to_string(i));
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  if (bits >= 5) return InvalidArgument("base32: truncated input");
  return out;
}

std::string OtpauthUri(std::string_view issuer, std::string_view account, std::span<const uint8_t> key,
                       int digits, OtpHash hash, uint64_t period) {
  return "otpauth://totp/" + PercentEncode(issuer) + ":" + PercentEncode(account) +
         "?secret=" + Base32Encode(key) + "&issuer=" + PercentEncode(issuer) + "&algorithm=" + HashName(hash) +
         "&digits=" + std::to_string(digits) + "&period=" + std::to_string(period);
}

}  // namespace quipu::crypto
