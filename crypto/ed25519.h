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
// 32-byte RFC 8032 private key. The file must be mode 0600 (or stricter):
// crypto/secret_file.h writes and reads it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "crypto/secret_file.h"
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

// Writes `key` with its note key `name` to `path` in the format above,
// atomically, through WriteSecretFile (crypto/secret_file.h): a crash
// leaves either no key file or a whole one. kRefuse (the default) never
// replaces an existing file. The secret text is wiped from memory after the
// write. Errors: kInvalidArgument (name not a valid note key name, empty
// key), kAlreadyExists (path exists and `overwrite` is kRefuse), kIoError.
Status SaveSigningKey(const std::string& path, const SigningKey& key, std::string_view name,
                      SecretFileOverwrite overwrite = SecretFileOverwrite::kRefuse);

// Reads a key file written by SaveSigningKey (or by Go's note.GenerateKey)
// through ReadSecretFile. `name_out`, when given, receives the key name.
// Errors: ReadSecretFile's (kNotFound; kPermissionDenied for a symbolic
// link or a file group or others may access, the message saying `chmod 600
// <path>`; kInvalidArgument for a directory or other non-regular file;
// kCorruption for an empty file or one over 4 KiB; kIoError), and
// kCorruption (DamagedSecretFile) when the text is not a whole key: a
// malformed or truncated key string, an unknown algorithm, a wrong seed
// size, a key hash not matching the seed.
Result<SigningKey> LoadSigningKey(const std::string& path, std::string* name_out = nullptr);

}  // namespace quipu::crypto
