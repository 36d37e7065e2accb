#include "crypto/sha256.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace quipu::crypto {
namespace {

// Reads this many bytes a call: large enough that syscalls are a rounding
// error next to the hash, small enough to stay in L2.
constexpr size_t kReadChunk = 256 * 1024;

const EVP_MD* Sha256Md() {
  // Fetched once: implicit fetching in EVP_DigestInit_ex costs a lock and a
  // lookup per call in OpenSSL 3.
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace

// One-shot hashes reuse a per-thread context (Sha256Concat): EVP_Digest
// allocates and frees one each call, which is most of the cost of hashing
// the short inputs the ledger hashes by the million.
Digest Sha256(std::span<const uint8_t> data) { return Sha256Concat(data, {}); }

Digest HmacSha256(std::span<const uint8_t> key, std::string_view message) {
  Digest out{};
  unsigned int len = 0;
  // HMAC() with a static buffer cannot fail for SHA-256 and these sizes.
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), out.data(), &len);
  return out;
}

Digest Sha256(std::string_view data) {
  return Sha256(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

Digest Sha256Concat(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  struct Ctx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Ctx t;
  Digest out;
  unsigned int len = 0;
  if (t.ctx == nullptr || EVP_DigestInit_ex(t.ctx, Sha256Md(), nullptr) != 1) std::abort();
  EVP_DigestUpdate(t.ctx, a.data(), a.size());
  EVP_DigestUpdate(t.ctx, b.data(), b.size());
  EVP_DigestFinal_ex(t.ctx, out.data(), &len);
  return out;
}

struct Sha256Hasher::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256Hasher::Sha256Hasher() : impl_(new Impl) {
  if (impl_->ctx == nullptr || EVP_DigestInit_ex(impl_->ctx, Sha256Md(), nullptr) != 1) {
    std::abort();  // out of memory: nothing sensible to do
  }
}

Sha256Hasher::~Sha256Hasher() { delete impl_; }

void Sha256Hasher::Update(std::span<const uint8_t> data) {
  EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
}

void Sha256Hasher::Update(std::string_view data) {
  EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
}

Digest Sha256Hasher::Finish() {
  Digest out;
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out.data(), &len);
  EVP_DigestInit_ex(impl_->ctx, Sha256Md(), nullptr);
  return out;
}

Result<std::vector<Digest>> Sha256Prefixes(std::span<const uint8_t> data, std::span<const uint64_t> ends) {
  std::vector<Digest> out;
  out.reserve(ends.size());
  uint64_t previous = 0;
  for (uint64_t end : ends) {
    if (end < previous || end > data.size()) {
      return InvalidArgument("SHA-256 prefixes: ends must be ascending and within the data");
    }
    previous = end;
  }
  struct Ctx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(ctx); }
  };
  Ctx running, copy;
  if (running.ctx == nullptr || copy.ctx == nullptr || EVP_DigestInit_ex(running.ctx, Sha256Md(), nullptr) != 1) {
    return Internal("SHA-256 prefixes: out of memory");
  }
  uint64_t at = 0;
  for (uint64_t end : ends) {
    EVP_DigestUpdate(running.ctx, data.data() + at, static_cast<size_t>(end - at));
    at = end;
    Digest d;
    unsigned int len = 0;
    if (EVP_MD_CTX_copy_ex(copy.ctx, running.ctx) != 1 || EVP_DigestFinal_ex(copy.ctx, d.data(), &len) != 1) {
      return Internal("SHA-256 prefixes: cannot copy the hash state");
    }
    out.push_back(d);
  }
  return out;
}

Result<Digest> Sha256File(const std::string& path, uint64_t* size_out) {
  int fd = 0;
  if (path != "-") {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      std::string why = path + ": " + std::strerror(err);
      return err == ENOENT ? NotFound(why) : IoError(why);
    }
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  std::unique_ptr<uint8_t[]> buf(new uint8_t[kReadChunk]);
  Sha256Hasher hasher;
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.get(), kReadChunk);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      if (fd != 0) ::close(fd);
      return IoError(path + ": " + std::strerror(err));
    }
    hasher.Update(std::span<const uint8_t>(buf.get(), static_cast<size_t>(n)));
    total += static_cast<uint64_t>(n);
  }
  if (fd != 0) ::close(fd);
  if (size_out != nullptr) *size_out = total;
  return hasher.Finish();
}

}  // namespace quipu::crypto
