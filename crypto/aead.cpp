#include "crypto/aead.h"

#include <sodium.h>

#include "crypto/random.h"

namespace quipu::crypto {

Result<Bytes> AeadSeal(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                       std::span<const uint8_t> plaintext, std::span<const uint8_t> associated_data) {
  QUIPU_RETURN_IF_ERROR(InitCrypto());
  if (key.size() != kAeadKeyBytes) return InvalidArgument("aead: the key must be 32 bytes");
  if (nonce.size() != kAeadNonceBytes) return InvalidArgument("aead: the nonce must be 24 bytes");
  Bytes out(plaintext.size() + kAeadTagBytes);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &len, plaintext.data(), plaintext.size(),
                                             associated_data.data(), associated_data.size(), nullptr,
                                             nonce.data(), key.data());
  out.resize(len);
  return out;
}

Result<Bytes> AeadOpen(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                       std::span<const uint8_t> ciphertext, std::span<const uint8_t> associated_data) {
  QUIPU_RETURN_IF_ERROR(InitCrypto());
  if (key.size() != kAeadKeyBytes) return InvalidArgument("aead: the key must be 32 bytes");
  if (nonce.size() != kAeadNonceBytes) return InvalidArgument("aead: the nonce must be 24 bytes");
  if (ciphertext.size() < kAeadTagBytes) return PermissionDenied("aead: ciphertext shorter than its tag");
  Bytes out(ciphertext.size() - kAeadTagBytes);
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &len, nullptr, ciphertext.data(), ciphertext.size(),
                                                 associated_data.data(), associated_data.size(), nonce.data(),
                                                 key.data()) != 0) {
    return PermissionDenied("aead: the ciphertext does not authenticate (wrong key, nonce, data or tampered)");
  }
  out.resize(len);
  return out;
}

}  // namespace quipu::crypto
