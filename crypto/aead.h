// XChaCha20-Poly1305 (IETF construction, libsodium): authenticated
// encryption with associated data, 24-byte random nonces.
#pragma once

#include <span>

#include "crypto/encoding.h"
#include "crypto/status.h"

namespace quipu::crypto {

inline constexpr size_t kAeadKeyBytes = 32;
inline constexpr size_t kAeadNonceBytes = 24;
inline constexpr size_t kAeadTagBytes = 16;

// Returns ciphertext || 16-byte tag. kInvalidArgument for a key or nonce of
// the wrong size.
Result<Bytes> AeadSeal(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                       std::span<const uint8_t> plaintext, std::span<const uint8_t> associated_data);

// The plaintext. kInvalidArgument for wrong sizes; kPermissionDenied when
// the ciphertext, nonce, key or associated data do not authenticate.
Result<Bytes> AeadOpen(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                       std::span<const uint8_t> ciphertext, std::span<const uint8_t> associated_data);

}  // namespace quipu::crypto
