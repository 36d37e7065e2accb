#include "crypto/secret_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "crypto/encoding.h"
#include "crypto/random.h"

namespace quipu::crypto {
namespace {

constexpr char kRestoreHint[] = "restore it from a backup (README, Operations)";

std::string ErrnoText(std::string_view what, const std::string& path, int err) {
  return std::string(what) + " " + path + ": " + std::strerror(err);
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
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(ErrnoText("cannot write", path, errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// The rename or link is durable only once the directory is synced.
Status SyncDirectory(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return IoError(ErrnoText("cannot open directory", dir, errno));
  if (::fsync(fd.get()) != 0) return IoError(ErrnoText("cannot fsync directory", dir, errno));
  return Status::Ok();
}

// Writes and syncs the temporary file `tmp`, created here (O_EXCL: never
// through a file or link someone else put there); `created` says whether
// there is a file to remove.
Status WriteTemporary(const std::string& tmp, std::string_view content, bool* created) {
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return IoError(ErrnoText("cannot create", tmp, errno));
  *created = true;
  // open() applies the umask, which can only remove bits; make it exact.
  if (::fchmod(fd.get(), 0600) != 0) return IoError(ErrnoText("cannot chmod", tmp, errno));
  QUIPU_RETURN_IF_ERROR(WriteAll(fd.get(), content, tmp));
  if (::fsync(fd.get()) != 0) return IoError(ErrnoText("cannot fsync", tmp, errno));
  if (!fd.Close()) return IoError(ErrnoText("cannot close", tmp, errno));
  return Status::Ok();
}

}  // namespace

SecretText::~SecretText() { Wipe(); }

SecretText& SecretText::operator=(SecretText&& other) noexcept {
  if (this != &other) {
    Wipe();
    text_ = std::move(other.text_);
  }
  return *this;
}

void SecretText::Wipe() { sodium_memzero(text_.data(), text_.size()); }

std::string_view SecretText::line() const {
  std::string_view s = text_;
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

Status WriteSecretFile(const std::string& path, std::string_view content, SecretFileOverwrite overwrite) {
  // Unique per process and attempt, so concurrent writers never share one.
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + HexEncode(RandomBytes(8));
  bool created = false;
  Status written = WriteTemporary(tmp, content, &created);
  if (written.ok()) {
    if (overwrite == SecretFileOverwrite::kRefuse) {
      if (::link(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        written = err == EEXIST ? AlreadyExists(path + " exists already; refusing to overwrite it")
                                : IoError(ErrnoText("cannot create", path, err));
      }
    } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
      written = IoError(ErrnoText("cannot replace", path, errno));
    }
  }
  // After link() or a failure; after rename() the name is gone already.
  if (created) ::unlink(tmp.c_str());
  QUIPU_RETURN_IF_ERROR(written);
  return SyncDirectory(DirectoryOf(path));
}

Result<SecretText> ReadSecretFile(const std::string& path, size_t max_size) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT) return NotFound(path + " does not exist");
    if (err == ELOOP) {
      return PermissionDenied(path + " is a symbolic link: a secret file must be the file itself");
    }
    if (err == EACCES) return PermissionDenied(ErrnoText("cannot open", path, err));
    return IoError(ErrnoText("cannot open", path, err));
  }
  // Check the file we opened, not the name, so a swap cannot slip through.
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return IoError(ErrnoText("cannot stat", path, errno));
  if (!S_ISREG(st.st_mode)) return InvalidArgument(path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return PermissionDenied(path + " has mode " + mode +
                            ": a secret file must not be readable or writable by group or others; run "
                            "`chmod 600 " + path + "`");
  }
  auto too_large = [&](uint64_t size) {
    return Corruption(path + " is " + std::to_string(size) + " bytes, more than the " +
                      std::to_string(max_size) + " it can hold: it is damaged; " + kRestoreHint);
  };
  if (static_cast<uint64_t>(st.st_size) > max_size) return too_large(static_cast<uint64_t>(st.st_size));

  SecretText secret;
  // Sized once, never grown: no reallocation leaves a copy of the secret,
  // and at 16 bytes or more the buffer is on the heap (a move takes it).
  secret.text_.assign(std::max<size_t>(max_size + 1, 16), '\0');
  size_t used = 0;
  while (used < max_size + 1) {
    const ssize_t n = ::read(fd.get(), secret.text_.data() + used, max_size + 1 - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(ErrnoText("cannot read", path, errno));
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  if (used > max_size) return too_large(used);
  if (used == 0) {
    return Corruption(path + " is empty (0 bytes): left by a crash while it was being written, or "
                      "damaged; " + kRestoreHint);
  }
  sodium_memzero(secret.text_.data() + used, secret.text_.size() - used);
  secret.text_.resize(used);  // shrinking keeps the buffer
  return secret;
}

Status DamagedSecretFile(const std::string& path, size_t size, std::string_view expected) {
  return Corruption(path + " (" + std::to_string(size) + " bytes) does not hold " + std::string(expected) +
                    ": it is truncated (a crash while it was being written) or damaged; " + kRestoreHint);
}

}  // namespace quipu::crypto
