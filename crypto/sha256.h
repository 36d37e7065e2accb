// SHA-256 through OpenSSL's EVP interface (SHA-NI where the CPU has it):
// one-shot, streaming, and whole files in constant memory.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/status.h"

namespace quipu::crypto {

using Digest = std::array<uint8_t, 32>;

// Returns SHA-256(data).
Digest Sha256(std::span<const uint8_t> data);
Digest Sha256(std::string_view data);

// HMAC-SHA-256 (RFC 2104, RFC 4231) of `message` under `key`.
Digest HmacSha256(std::span<const uint8_t> key, std::string_view message);

// Returns SHA-256(a || b) without copying; for the Merkle tree's prefixed
// leaf and node hashes. Uses a per-thread context (no allocation per call).
Digest Sha256Concat(std::span<const uint8_t> a, std::span<const uint8_t> b);

// An incremental SHA-256. Not copyable; thread-compatible.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(std::span<const uint8_t> data);
  void Update(std::string_view data);
  // Returns the digest of everything given since construction or the last
  // Finish(), and starts over.
  Digest Finish();

 private:
  struct Impl;
  Impl* impl_;
};

// Returns SHA-256 of every prefix data[0, ends[i]) in one pass over `data`:
// one running state, copied at each end. `ends` must be ascending and at
// most data.size() (kInvalidArgument otherwise). For a PDF's revisions: the
// cost is one hash of the file whatever the number of prefixes.
Result<std::vector<Digest>> Sha256Prefixes(std::span<const uint8_t> data, std::span<const uint64_t> ends);

// Hashes the file at `path` ("-" reads standard input) in constant memory.
// `size_out`, when given, receives the number of bytes read.
// Errors: kNotFound (no such file), kIoError (any read error).
Result<Digest> Sha256File(const std::string& path, uint64_t* size_out = nullptr);

}  // namespace quipu::crypto
