#include "crypto/ed25519.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "crypto/note.h"
#include "crypto/secret_file.h"

namespace quipu::crypto {
namespace {

// libsodium must be initialised once before its random generator is used;
// a function-local static makes that thread-safe. (crypto/random.h may offer
// a shared InitCrypto(); this stays private to avoid a clash.)
void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();  // no entropy source: nothing safe can follow
}

// Wipes a string holding a secret when the scope ends.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string& s) : s_(s) {}
  ~WipeOnExit() { sodium_memzero(s_.data(), s_.size()); }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  std::string& s_;
};

// Key files are one short line; anything much larger is not a key file.
constexpr size_t kMaxKeyFileSize = 4096;

}  // namespace

void SigningKey::Wipe::operator()(Secret* s) const {
  sodium_memzero(s->data(), s->size());
  delete s;
}

SigningKey SigningKey::Generate() {
  EnsureSodium();
  std::unique_ptr<Secret, Wipe> secret(new Secret);
  Ed25519PublicKey pk;
  crypto_sign_keypair(pk.data(), secret->data());
  return SigningKey(std::move(secret));
}

Result<SigningKey> SigningKey::FromSeed(std::span<const uint8_t> seed) {
  if (seed.size() != kEd25519SeedSize) {
    return InvalidArgument("Ed25519 seed must be 32 bytes, got " + std::to_string(seed.size()));
  }
  EnsureSodium();
  std::unique_ptr<Secret, Wipe> secret(new Secret);
  Ed25519PublicKey pk;
  crypto_sign_seed_keypair(pk.data(), secret->data(), seed.data());
  return SigningKey(std::move(secret));
}

std::span<const uint8_t, kEd25519SeedSize> SigningKey::Seed() const {
  assert(valid());
  return std::span<const uint8_t, kEd25519SeedSize>(secret_->data(), kEd25519SeedSize);
}

Ed25519PublicKey SigningKey::PublicKey() const {
  assert(valid());
  Ed25519PublicKey pk;
  std::memcpy(pk.data(), secret_->data() + kEd25519SeedSize, pk.size());
  return pk;
}

Ed25519Signature SigningKey::Sign(std::span<const uint8_t> message) const {
  assert(valid());
  Ed25519Signature sig;
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_->data());
  return sig;
}

Ed25519Signature SigningKey::Sign(std::string_view message) const {
  return Sign(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(message.data()),
                                       message.size()));
}

bool VerifyEd25519(std::span<const uint8_t> public_key, std::span<const uint8_t> message,
                   std::span<const uint8_t> signature) {
  if (public_key.size() != kEd25519PublicKeySize || signature.size() != kEd25519SignatureSize) {
    return false;
  }
  EnsureSodium();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     public_key.data()) == 0;
}

Status SaveSigningKey(const std::string& path, const SigningKey& key, std::string_view name,
                      SecretFileOverwrite overwrite) {
  if (!key.valid()) return InvalidArgument("cannot save an empty signing key to " + path);
  if (!IsValidKeyName(name)) {
    return InvalidArgument("invalid key name for " + path +
                           ": must be non-empty UTF-8 without spaces or '+'");
  }
  std::string text = PrivateKeyString(name, key);
  WipeOnExit wipe(text);
  text += '\n';  // reserve()d by PrivateKeyString: no reallocation leaves a copy

  return WriteSecretFile(path, text, overwrite);
}

Result<SigningKey> LoadSigningKey(const std::string& path, std::string* name_out) {
  QUIPU_ASSIGN_OR_RETURN(SecretText text, ReadSecretFile(path, kMaxKeyFileSize));
  Result<NoteSigner> signer = ParsePrivateKey(text.line());
  if (!signer.ok()) {
    return DamagedSecretFile(path, text.size(), "a signing key (" + signer.status().message() + ")");
  }
  if (name_out) *name_out = signer->name();
  return SigningKey::FromSeed(signer->key().Seed());
}

}  // namespace quipu::crypto
