#include "node/secrets.h"

#include <sodium.h>
#include <sys/stat.h>

#include "crypto/aead.h"
#include "crypto/random.h"
#include "crypto/secret_file.h"

namespace quipu::node {

namespace {

// data.key and QR keys: 64 hex digits and a newline; tokens are shorter.
constexpr size_t kMaxSecretFileBytes = 1024;

// lstat, so that a symbolic link counts as there (and is refused on read).
bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// A file another process created between our look and our write is kept.
Status OkIfCreatedMeanwhile(Status s) {
  return s.code() == StatusCode::kAlreadyExists ? Status::Ok() : s;
}

}  // namespace

Result<std::array<uint8_t, 32>> ReadHexKeyFile(const std::string& path) {
  QUIPU_ASSIGN_OR_RETURN(crypto::SecretText text, crypto::ReadSecretFile(path, kMaxSecretFileBytes));
  auto raw = crypto::HexDecode(text.line());
  if (!raw.ok() || raw->size() != 32) {
    if (raw.ok()) sodium_memzero(raw->data(), raw->size());
    return crypto::DamagedSecretFile(path, text.size(), "a 32-byte key as 64 hex digits");
  }
  std::array<uint8_t, 32> key;
  std::copy(raw->begin(), raw->end(), key.begin());
  sodium_memzero(raw->data(), raw->size());
  return key;
}

Status CreateHexKeyFile(const std::string& path) {
  crypto::Bytes key = crypto::RandomBytes(32);
  std::string text = crypto::HexEncode(key) + "\n";
  Status s = crypto::WriteSecretFile(path, text, crypto::SecretFileOverwrite::kRefuse);
  sodium_memzero(key.data(), key.size());
  sodium_memzero(text.data(), text.size());
  return s;
}

std::string NewToken(std::string_view prefix) {
  return std::string(prefix) + crypto::Base64UrlEncode(crypto::RandomBytes(32));
}

Result<NodeSecrets> LoadNodeSecrets(const std::string& dir, bool create) {
  NodeSecrets s;
  const std::string key_path = dir + "/" + kDataKeyFile;
  s.admin_token_path = dir + "/" + kAdminTokenFile;
  if (create && !Exists(key_path)) QUIPU_RETURN_IF_ERROR(OkIfCreatedMeanwhile(CreateHexKeyFile(key_path)));
  if (create && !Exists(s.admin_token_path)) {
    std::string token = NewToken("qa_") + "\n";
    Status made = crypto::WriteSecretFile(s.admin_token_path, token, crypto::SecretFileOverwrite::kRefuse);
    sodium_memzero(token.data(), token.size());
    QUIPU_RETURN_IF_ERROR(OkIfCreatedMeanwhile(made));
  }
  QUIPU_ASSIGN_OR_RETURN(s.data_key, ReadHexKeyFile(key_path));
  QUIPU_ASSIGN_OR_RETURN(crypto::SecretText token, crypto::ReadSecretFile(s.admin_token_path, kMaxSecretFileBytes));
  if (token.line().size() < 16) {
    return crypto::DamagedSecretFile(s.admin_token_path, token.size(), "an admin token (16 characters or more)");
  }
  s.admin_token_hash = crypto::Sha256(token.line());
  return s;
}

bool CheckAdminToken(const NodeSecrets& secrets, std::string_view presented) {
  const crypto::Digest h = crypto::Sha256(presented);
  return sodium_memcmp(h.data(), secrets.admin_token_hash.data(), h.size()) == 0;
}

namespace {

// Opens nonce || ciphertext; `what` names it in errors ("secret", "value").
Result<std::string> OpenSealed(const std::array<uint8_t, 32>& key, std::span<const uint8_t> all,
                               std::string_view purpose, const std::string& what) {
  if (all.size() < crypto::kAeadNonceBytes + crypto::kAeadTagBytes) return Corruption("a sealed " + what + " is malformed");
  auto plain = crypto::AeadOpen(key, all.first(crypto::kAeadNonceBytes), all.subspan(crypto::kAeadNonceBytes),
                                crypto::AsBytes(purpose));
  if (!plain.ok()) {
    return Corruption("a sealed " + what + " does not open with data.key (" + plain.status().message() + ")");
  }
  return std::string(crypto::AsString(*plain));
}

}  // namespace

Result<std::string> SealBytes(const std::array<uint8_t, 32>& key, std::string_view plaintext,
                              std::string_view purpose) {
  const crypto::Bytes nonce = crypto::RandomBytes(crypto::kAeadNonceBytes);
  QUIPU_ASSIGN_OR_RETURN(crypto::Bytes ct, crypto::AeadSeal(key, nonce, crypto::AsBytes(plaintext),
                                                            crypto::AsBytes(purpose)));
  std::string out(crypto::AsString(nonce));
  out.append(crypto::AsString(ct));
  return out;
}

Result<std::string> OpenBytes(const std::array<uint8_t, 32>& key, std::string_view sealed,
                              std::string_view purpose) {
  return OpenSealed(key, crypto::AsBytes(sealed), purpose, "value");
}

Result<std::string> SealSecret(const std::array<uint8_t, 32>& key, std::string_view plaintext,
                               std::string_view purpose) {
  QUIPU_ASSIGN_OR_RETURN(std::string sealed, SealBytes(key, plaintext, purpose));
  return crypto::HexEncode(crypto::AsBytes(sealed));
}

Result<std::string> OpenSecret(const std::array<uint8_t, 32>& key, std::string_view sealed_hex,
                               std::string_view purpose) {
  auto raw = crypto::HexDecode(sealed_hex);
  if (!raw.ok()) return Corruption("a sealed secret is malformed");
  return OpenSealed(key, *raw, purpose, "secret");
}

}  // namespace quipu::node
