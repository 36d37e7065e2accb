#include "node/secrets.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "crypto/aead.h"
#include "crypto/random.h"

namespace quipu::node {

Status WriteSecretFile(const std::string& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return AlreadyExists(path + " exists");
    return IoError(path + ": " + std::strerror(errno));
  }
  ::fchmod(fd, 0600);  // whatever the umask
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(path.c_str());
      return IoError(path + ": " + why);
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return IoError(path + ": fsync failed");
  return Status::Ok();
}

Result<std::string> ReadSecretFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound(path + " does not exist");
    return IoError(path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
    ::close(fd);
    return PermissionDenied(path + " may be read by others (chmod 600 it)");
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (n < 0) return IoError(path + ": read failed");
  return out;
}

std::string NewToken(std::string_view prefix) {
  return std::string(prefix) + crypto::Base64UrlEncode(crypto::RandomBytes(32));
}

Result<NodeSecrets> LoadNodeSecrets(const std::string& dir, bool create) {
  NodeSecrets s;
  const std::string key_path = dir + "/" + kDataKeyFile;
  s.admin_token_path = dir + "/" + kAdminTokenFile;
  if (create && !std::filesystem::exists(key_path)) {
    QUIPU_RETURN_IF_ERROR(WriteSecretFile(key_path, crypto::HexEncode(crypto::RandomBytes(32)) + "\n"));
  }
  if (create && !std::filesystem::exists(s.admin_token_path)) {
    QUIPU_RETURN_IF_ERROR(WriteSecretFile(s.admin_token_path, NewToken("qa_") + "\n"));
  }
  QUIPU_ASSIGN_OR_RETURN(std::string key_hex, ReadSecretFile(key_path));
  while (!key_hex.empty() && (key_hex.back() == '\n' || key_hex.back() == '\r')) key_hex.pop_back();
  auto key = crypto::HexDecode(key_hex);
  if (!key.ok() || key->size() != 32) return Corruption(key_path + " is not 64 hex digits");
  std::copy(key->begin(), key->end(), s.data_key.begin());
  sodium_memzero(key->data(), key->size());
  QUIPU_ASSIGN_OR_RETURN(std::string token, ReadSecretFile(s.admin_token_path));
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  if (token.size() < 16) return Corruption(s.admin_token_path + " holds no token");
  s.admin_token_hash = crypto::Sha256(token);
  sodium_memzero(token.data(), token.size());
  return s;
}

bool CheckAdminToken(const NodeSecrets& secrets, std::string_view presented) {
  const crypto::Digest h = crypto::Sha256(presented);
  return sodium_memcmp(h.data(), secrets.admin_token_hash.data(), h.size()) == 0;
}

Result<std::string> SealSecret(const std::array<uint8_t, 32>& key, std::string_view plaintext,
                               std::string_view purpose) {
  const crypto::Bytes nonce = crypto::RandomBytes(crypto::kAeadNonceBytes);
  QUIPU_ASSIGN_OR_RETURN(crypto::Bytes ct, crypto::AeadSeal(key, nonce, crypto::AsBytes(plaintext),
                                                            crypto::AsBytes(purpose)));
  return crypto::HexEncode(nonce) + crypto::HexEncode(ct);
}

Result<std::string> OpenSecret(const std::array<uint8_t, 32>& key, std::string_view sealed_hex,
                               std::string_view purpose) {
  auto raw = crypto::HexDecode(sealed_hex);
  if (!raw.ok() || raw->size() < crypto::kAeadNonceBytes + crypto::kAeadTagBytes) {
    return Corruption("a sealed secret is malformed");
  }
  const std::span<const uint8_t> all(*raw);
  auto plain = crypto::AeadOpen(key, all.first(crypto::kAeadNonceBytes), all.subspan(crypto::kAeadNonceBytes),
                                crypto::AsBytes(purpose));
  if (!plain.ok()) return Corruption("a sealed secret does not open with data.key (" + plain.status().message() + ")");
  return std::string(crypto::AsString(*plain));
}

}  // namespace quipu::node
