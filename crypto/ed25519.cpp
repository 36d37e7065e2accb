#include "crypto/ed25519.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "crypto/note.h"

namespace quipu::crypto {
namespace {

// libsodium must be initialised once before its random generator is used;
// a function-local static makes that thread-safe. (crypto/random.h may offer
// a shared InitCrypto(); this stays private to avoid a clash.)
void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();  // no entropy source: nothing safe can follow
}

std::string ErrnoText(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports the error close() gives (a late write error).
  bool Close() {
    int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

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

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(ErrnoText("cannot write key file", path));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status SyncDirectory(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return IoError(ErrnoText("cannot open directory", dir));
  if (::fsync(fd.get()) != 0) return IoError(ErrnoText("cannot fsync directory", dir));
  return Status::Ok();
}

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
                      KeyFileOverwrite overwrite) {
  if (!key.valid()) return InvalidArgument("cannot save an empty signing key to " + path);
  if (!IsValidKeyName(name)) {
    return InvalidArgument("invalid key name for " + path +
                           ": must be non-empty UTF-8 without spaces or '+'");
  }
  std::string text = PrivateKeyString(name, key);
  WipeOnExit wipe(text);
  text += '\n';  // reserve()d by PrivateKeyString: no reallocation leaves a copy

  // The temporary name is unique per process and attempt; O_EXCL makes sure
  // we never write through a file or symlink someone else put there.
  EnsureSodium();
  std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" +
                    std::to_string(randombytes_uniform(1u << 30));
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return IoError(ErrnoText("cannot create key file", tmp));
  struct Unlinker {
    const std::string* path;
    ~Unlinker() {
      if (path) ::unlink(path->c_str());
    }
  } unlinker{&tmp};

  // open() applies the umask, which can only remove bits; make it exact.
  if (::fchmod(fd.get(), 0600) != 0) return IoError(ErrnoText("cannot chmod key file", tmp));
  QUIPU_RETURN_IF_ERROR(WriteAll(fd.get(), text, tmp));
  if (::fsync(fd.get()) != 0) return IoError(ErrnoText("cannot fsync key file", tmp));
  if (!fd.Close()) return IoError(ErrnoText("cannot close key file", tmp));

  if (overwrite == KeyFileOverwrite::kRefuse) {
    // link() fails with EEXIST instead of replacing: no check-then-act race.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      if (errno == EEXIST) {
        return AlreadyExists("key file " + path + " exists already; refusing to overwrite it");
      }
      return IoError(ErrnoText("cannot create key file", path));
    }
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return IoError(ErrnoText("cannot replace key file", path));
  } else {
    unlinker.path = nullptr;  // renamed away: nothing to remove
  }
  return SyncDirectory(DirectoryOf(path));
}

Result<SigningKey> LoadSigningKey(const std::string& path, std::string* name_out) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return NotFound("key file " + path + " does not exist");
    if (errno == EACCES) return PermissionDenied(ErrnoText("cannot open key file", path));
    return IoError(ErrnoText("cannot open key file", path));
  }
  // Check the file we opened, not the name, so a swap cannot slip through.
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return IoError(ErrnoText("cannot stat key file", path));
  if (!S_ISREG(st.st_mode)) return InvalidArgument("key file " + path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return PermissionDenied("key file " + path + " has mode " + mode +
                            ": it must not be readable or writable by group or others; run "
                            "`chmod 600 " + path + "`");
  }
  if (st.st_size > static_cast<off_t>(kMaxKeyFileSize)) {
    return InvalidArgument("key file " + path + " is too large (" +
                           std::to_string(st.st_size) + " bytes) to be a key file");
  }

  std::string text(kMaxKeyFileSize + 1, '\0');
  WipeOnExit wipe(text);
  size_t used = 0;
  while (used < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + used, text.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(ErrnoText("cannot read key file", path));
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  if (used > kMaxKeyFileSize) return InvalidArgument("key file " + path + " is too large");
  std::string_view line(text.data(), used);
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (line.empty()) return InvalidArgument("key file " + path + " is empty");

  Result<NoteSigner> signer = ParsePrivateKey(line);
  if (!signer.ok()) return signer.status().WithContext("key file " + path);
  if (name_out) *name_out = signer->name();
  return SigningKey::FromSeed(signer->key().Seed());
}

}  // namespace quipu::crypto
