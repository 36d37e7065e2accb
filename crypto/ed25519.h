// Ed25519 (RFC 8032) keys and signatures through libsodium, and the key file
// that holds a node's signing key.
//
// Key file format (one line, the C2SP / golang.org/x/mod/sumdb/note private
// key string, so Go's note.NewSigner reads the same file):
//
//   PRIVATE+KEY+<name>+<key hash, 8 lower-case hex>+<base64(0x01 || seed)>\n
//
// <name> is the key name of the signed notes the key makes (see
// crypto/note.h), <key hash> is KeyHash(name, public key), the seed is the
// 32-byte RFC 8032 private key. The file must be mode 0600 (or stricter).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "crypto/status.h"

namespace quipu::crypto {

inline constexpr size_t kEd25519SeedSize = 32;
inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

using Ed25519PublicKey = std::array<uint8_t, kEd25519PublicKeySize>;
using Ed25519Signature = std::array<uint8_t, kEd25519SignatureSize>;

// An Ed25519 private key. The secret lives in one heap block that is wiped
// (sodium_memzero) when the key is destroyed; moving a key moves the block, so
// no copy of the secret is left behind. Not copyable. A moved-from key is
// empty (valid() is false) and must not be used except to assign to or
// destroy. Thread-safe for concurrent const use (Sign, PublicKey).
class SigningKey {
 public:
  // Returns a new key from the operating system's random generator.
  static SigningKey Generate();
  // Returns the key whose RFC 8032 private key (seed) is `seed`.
  // Errors: kInvalidArgument unless seed is 32 bytes.
  static Result<SigningKey> FromSeed(std::span<const uint8_t> seed);

  SigningKey(SigningKey&&) noexcept = default;
  SigningKey& operator=(SigningKey&&) noexcept = default;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey() = default;

  bool valid() const { return secret_ != nullptr; }
  // The 32-byte seed: secret; borrowed, valid while this key lives.
  std::span<const uint8_t, kEd25519SeedSize> Seed() const;
  Ed25519PublicKey PublicKey() const;
  // Returns the RFC 8032 signature of `message` (deterministic).
  Ed25519Signature Sign(std::span<const uint8_t> message) const;
  Ed25519Signature Sign(std::string_view message) const;

 private:
  // libsodium's 64-byte secret key: seed || public key.
  using Secret = std::array<uint8_t, 64>;
  struct Wipe {
    void operator()(Secret* s) const;
  };
  explicit SigningKey(std::unique_ptr<Secret, Wipe> secret) : secret_(std::move(secret)) {}

  std::unique_ptr<Secret, Wipe> secret_;
};

// Returns true iff `signature` is a valid RFC 8032 signature of `message` by
// `public_key`. Wrong sizes, non-canonical encodings and small-order keys
// (libsodium's rules) return false. Thread-safe.
bool VerifyEd25519(std::span<const uint8_t> public_key, std::span<const uint8_t> message,
                   std::span<const uint8_t> signature);

// What SaveSigningKey does when the file exists already.
enum class KeyFileOverwrite { kRefuse, kReplace };

// Writes `key` with its note key `name` to `path` in the format above,
// atomically: a new temporary file in the same directory (O_CREAT|O_EXCL,
// mode 0600), fsync, then link (kRefuse) or rename (kReplace) onto `path`,
// then fsync of the directory. A crash leaves either no key file or a whole
// one. The secret text is wiped from memory after the write.
// Errors: kInvalidArgument (name not a valid note key name, empty key),
// kAlreadyExists (path exists and `overwrite` is kRefuse), kIoError.
Status SaveSigningKey(const std::string& path, const SigningKey& key, std::string_view name,
                      KeyFileOverwrite overwrite = KeyFileOverwrite::kRefuse);

// Reads a key file written by SaveSigningKey (or by Go's note.GenerateKey).
// `name_out`, when given, receives the key name. Errors: kNotFound (no such
// file), kPermissionDenied (the file is readable or writable by group or
// others: the message says to run `chmod 600 <path>`), kInvalidArgument (not
// a regular file, too large, malformed key string, unknown algorithm, wrong
// seed size, key hash not matching the seed), kIoError.
Result<SigningKey> LoadSigningKey(const std::string& path, std::string* name_out = nullptr);

}  // namespace quipu::crypto
