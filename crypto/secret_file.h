// Files that hold a secret (the node's signing key, data key, admin token,
// QR Seguro data keys): the one place that writes and reads them, so every
// one is created atomically with mode 0600 and refused when others may read
// it or when it is a symbolic link.
//
// Writing: a new temporary file beside the target (O_CREAT|O_EXCL|
// O_NOFOLLOW, mode 0600 whatever the umask), the content, fsync, then link()
// (kRefuse: fails if the target exists, with no check-then-act race) or
// rename() (kReplace) onto the target, then fsync of the directory. A crash
// at any moment leaves either no file at the target or the whole content,
// never an empty or partial one (at worst a stray "<name>.tmp-*" file).
//
// Reading: O_NOFOLLOW, the mode checked on the open file (not the name),
// the size bounded, the text wiped from memory when the SecretText dies.
// Nothing here compares secrets; callers compare in constant time
// (sodium_memcmp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "crypto/status.h"

namespace quipu::crypto {

// What WriteSecretFile does when the target exists already.
enum class SecretFileOverwrite { kRefuse, kReplace };

// The text of a secret file, wiped (sodium_memzero) when destroyed. Its
// buffer is always on the heap, so a move leaves no copy behind. Move-only.
class SecretText {
 public:
  SecretText() = default;
  ~SecretText();
  SecretText(SecretText&& other) noexcept = default;
  SecretText& operator=(SecretText&& other) noexcept;
  SecretText(const SecretText&) = delete;
  SecretText& operator=(const SecretText&) = delete;

  // Borrowed; valid while this SecretText lives and is not moved from.
  std::string_view view() const { return text_; }
  // The text without one final "\n" (or "\r\n").
  std::string_view line() const;
  size_t size() const { return text_.size(); }

 private:
  friend Result<SecretText> ReadSecretFile(const std::string& path, size_t max_size);
  void Wipe();
  std::string text_;
};

// Writes `content` to `path` as described above. Errors: kAlreadyExists
// (`path` exists and `overwrite` is kRefuse; the file is left as it was),
// kIoError (the directory does not exist or refuses, a write or sync
// failed; no temporary file is left). The caller wipes its own copy of
// `content`.
Status WriteSecretFile(const std::string& path, std::string_view content, SecretFileOverwrite overwrite);

// Reads the secret file `path` of at most `max_size` bytes. Errors:
// kNotFound (no such file), kPermissionDenied (a symbolic link, a file that
// group or others may read or write: the message says `chmod 600 <path>`;
// or the system refused), kInvalidArgument (not a regular file),
// kCorruption (empty, or larger than `max_size`: a crash while it was
// written, or damage; the message names the file and says to restore it),
// kIoError.
Result<SecretText> ReadSecretFile(const std::string& path, size_t max_size);

// The error for a secret file whose content does not parse as what it
// should hold (`expected`, e.g. "64 hex digits"): kCorruption naming the
// file and its size, saying it is truncated or damaged and how to recover.
// Never quotes the content.
Status DamagedSecretFile(const std::string& path, size_t size, std::string_view expected);

}  // namespace quipu::crypto
