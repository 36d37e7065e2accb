// How the ledger keeps its Merkle tree in LMDB: one "hash row" per 256
// consecutive hashes of each tree level. Row (l, r) holds the hashes at
// level l with indices 256·r … 256·r+255 (fewer while the tree grows), the
// hash at level l, index i being that of the complete subtree over leaves
// [i·2^l, (i+1)·2^l). The C2SP tile (L, N) is exactly row (8·L, N), so tiles
// are served without computing anything; the rows in between make every
// proof hash one lookup.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "crypto/sha256.h"
#include "crypto/status.h"
#include "ledger/merkle.h"
#include "ledger/store.h"

namespace quipu::ledger {

inline constexpr int kHashRowWidth = 256;
inline constexpr int kMaxRowLevel = 64;  // levels 0..63: trees up to 2^63 leaves

// Copies of the upper rows (levels kFirstLevel and up) that proofs read
// again and again: a tree of n leaves has about n/128 hashes there (n/4
// bytes), which fit in memory, while levels 0-7 (the bulk) stay in LMDB.
// A stored hash never changes once written (a row only grows at its end),
// so a copy answers for every index it holds, whatever snapshot asks; a
// lookup past its end reads the row again. At most kMaxBytes; past that it
// starts over. Thread-compatible: keep one per thread.
class HashRowCache {
 public:
  static constexpr int kFirstLevel = 8;
  static constexpr size_t kMaxBytes = size_t{32} << 20;

  // The copy of row (level, row); empty if none. level >= kFirstLevel.
  std::span<const uint8_t> Find(int level, uint64_t row) const;
  // Keeps a copy of row (level, row), replacing an older, shorter one.
  void Keep(int level, uint64_t row, std::span<const uint8_t> bytes);

  // The hashes of incomplete ranges [begin, end) (see HashReader), kept for
  // one `end` at a time: the tree size being proven against.
  const crypto::Digest* FindRange(uint64_t begin, uint64_t end) const;
  void KeepRange(uint64_t begin, uint64_t end, const crypto::Digest& hash);

 private:
  std::vector<std::vector<std::vector<uint8_t>>> levels_;  // [level - kFirstLevel][row]
  size_t bytes_ = 0;
  uint64_t range_end_ = 0;
  std::vector<std::pair<uint64_t, crypto::Digest>> ranges_;  // (begin, hash), at most 64
};

// Reads stored hashes from the rows of one transaction (a ReadView or the
// sequencer's WriteBatch); lives no longer than it. Remembers the last row
// it read at each level, so a proof's lookups hit LMDB once per row, and
// with a cache, reads the upper levels from it. Thread-compatible.
class HashRowReader final : public HashReader {
 public:
  explicit HashRowReader(const Reader& reader, HashRowCache* cache = nullptr)
      : reader_(reader), upper_(cache) {}
  // kNotFound when the subtree is not complete in the stored tree.
  Result<crypto::Digest> StoredHash(int level, uint64_t index) const override;
  // Looks up the rows of the complete siblings on the path of leaf `index`
  // in the tree of `size` at the levels below the cache, and asks the CPU to
  // fetch their hashes, so that the proof that follows overlaps its memory
  // misses instead of taking them one after another. Only a hint.
  void PrefetchPath(uint64_t index, uint64_t size) const;
  const crypto::Digest* RememberedRange(uint64_t begin, uint64_t end) const override {
    return upper_ != nullptr ? upper_->FindRange(begin, end) : nullptr;
  }
  void RememberRange(uint64_t begin, uint64_t end, const crypto::Digest& hash) const override {
    if (upper_ != nullptr) upper_->KeepRange(begin, end, hash);
  }

 private:
  Result<ByteView> Row(int level, uint64_t row) const;

  const Reader& reader_;
  HashRowCache* upper_;
  struct Cached {
    uint64_t row = ~uint64_t{0};
    ByteView bytes;
  };
  mutable Cached cache_[kMaxRowLevel];
};

// Adds the leaf hashes of entries old_size … old_size+n-1 to the rows, and
// every complete-subtree hash they finish, writing each touched row once.
// O(n + log size) hashing. The rows must hold exactly the tree of old_size.
// `parallel_for(n, body)`, if given, must run body(begin, end) over disjoint
// ranges covering [0, n) and return when all are done; each level's parent
// hashes are computed through it (the sequencer passes its helper thread).
using ParallelFor = std::function<void(size_t, const std::function<void(size_t, size_t)>&)>;
Status AppendHashRows(WriteBatch& batch, uint64_t old_size, std::span<const crypto::Digest> leaves,
                      const ParallelFor& parallel_for = {});

}  // namespace quipu::ledger
