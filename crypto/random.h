// Randomness and library initialisation (libsodium).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/encoding.h"
#include "crypto/status.h"

namespace quipu::crypto {

// Initialises libsodium once; safe to call from any thread, any number of
// times. kInternal if libsodium cannot start (no entropy source).
Status InitCrypto();

// Fills `out` with bytes from the operating system's CSPRNG.
void RandomBytes(std::span<uint8_t> out);
Bytes RandomBytes(size_t n);

}  // namespace quipu::crypto
