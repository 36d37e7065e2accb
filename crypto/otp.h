// One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238) with SHA-1,
// SHA-256 or SHA-512 and 6 to 8 digits; Base32 (RFC 4648) for their keys;
// the otpauth:// URI authenticator apps read from a QR code.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "crypto/encoding.h"
#include "crypto/status.h"

namespace quipu::crypto {

enum class OtpHash { kSha1, kSha256, kSha512 };

// The code for `counter`, zero-padded to `digits`. kInvalidArgument unless
// 6 <= digits <= 8 and the key is not empty.
Result<std::string> Hotp(std::span<const uint8_t> key, uint64_t counter, int digits, OtpHash hash);

// The code for the time step containing `unix_time`: counter =
// (unix_time - t0) / step.
Result<std::string> Totp(std::span<const uint8_t> key, uint64_t unix_time, int digits, OtpHash hash,
                         uint64_t step = 30, uint64_t t0 = 0);

// Checks `code` against the steps from window_steps before to window_steps
// after the one containing `unix_time`, comparing in constant time. The
// counter of the step that matched (so a caller can accept each step once),
// or nullopt. kInvalidArgument for bad parameters.
Result<std::optional<uint64_t>> VerifyTotp(std::span<const uint8_t> key, std::string_view code,
                                           uint64_t unix_time, int window_steps, int digits, OtpHash hash,
                                           uint64_t step = 30);

// RFC 4648 Base32, upper case, without padding.
std::string Base32Encode(std::span<const uint8_t> data);
// Accepts upper or lower case, with or without '=' padding, ignoring
// spaces; kInvalidArgument otherwise.
Result<Bytes> Base32Decode(std::string_view text);

// otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=...&algorithm=...&digits=...&period=...
// (the Key Uri Format of authenticator apps), label and issuer
// percent-encoded.
std::string OtpauthUri(std::string_view issuer, std::string_view account, std::span<const uint8_t> key,
                       int digits, OtpHash hash, uint64_t period = 30);

}  // namespace quipu::crypto
