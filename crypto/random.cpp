#include "crypto/random.h"

#include <sodium.h>

#include <cstdlib>

namespace quipu::crypto {

Status InitCrypto() {
  static const int rc = sodium_init();  // thread-safe static initialisation
  if (rc < 0) return Internal("libsodium could not be initialised");
  return Status::Ok();
}

void RandomBytes(std::span<uint8_t> out) {
  if (!InitCrypto().ok()) std::abort();  // no randomness: nothing safe to do
  if (out.empty()) return;  // libsodium wants a non-null buffer
  randombytes_buf(out.data(), out.size());
}

Bytes RandomBytes(size_t n) {
  Bytes b(n);
  RandomBytes(std::span<uint8_t>(b));
  return b;
}

}  // namespace quipu::crypto
