// Internal to pdf/: what every PoDoFo call site shares. PoDoFo 0.9.8 keeps
// process-wide state (logging switches, font-config and encoding singletons,
// the encryption algorithm table), so all use of it is serialised here.
#pragma once

#include <istream>
#include <mutex>
#include <span>
#include <streambuf>
#include <string>
#include <string_view>

namespace quipu::pdf::internal {

// Returns the lock every PoDoFo call must hold. The first call also turns
// PoDoFo's stdout logging off (quipu's stdout carries hashes and JSON).
std::unique_lock<std::mutex> LockPodofo();

// PoDoFo 0.9.8 parses nested arrays and dictionaries recursively and
// overflows the stack at a few thousand levels; real documents nest a few
// levels deep. Callers check NestingDepthWithin before PoDoFo sees bytes.
// (Objects inside compressed object streams escape this byte-level check.)
inline constexpr int kMaxNesting = 256;

// Returns false if `<<`/`[` nest deeper than `limit` anywhere outside
// comments, strings and stream data. A byte scan, not a parse: it only has
// to be exact for well-formed input and safe (linear, no recursion) for any.
bool NestingDepthWithin(std::string_view text, int limit);

// A read-only seekable istream over borrowed bytes, so PoDoFo can parse a
// buffer without the copy its (buffer, length) constructors make.
// Thread-compatible; the bytes must outlive it.
class SpanStreamBuf : public std::streambuf {
 public:
  explicit SpanStreamBuf(std::span<const char> bytes);

 protected:
  pos_type seekoff(off_type off, std::ios_base::seekdir dir,
                   std::ios_base::openmode which) override;
  pos_type seekpos(pos_type pos, std::ios_base::openmode which) override;
};

}  // namespace quipu::pdf::internal
