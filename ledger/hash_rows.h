// How the ledger keeps its Merkle tree in LMDB: one "hash row" per 256
// consecutive hashes of each tree level. Row (l, r) holds the hashes at
// level l with indices 256·r … 256·r+255 (fewer while the tree grows), the
// hash at level l, index i being that of the complete subtree over leaves
// [i·2^l, (i+1)·2^l). The C2SP tile (L, N) is exactly row (8·L, N), so tiles
// are served without computing anything; the rows in between make every
// proof hash one lookup.
#pragma once

#include <cstdint>
#include <span>

#include "crypto/sha256.h"
#include "crypto/status.h"
#include "ledger/merkle.h"
#include "ledger/store.h"

namespace quipu::ledger {

inline constexpr int kHashRowWidth = 256;
inline constexpr int kMaxRowLevel = 64;  // levels 0..63: trees up to 2^63 leaves

// Reads stored hashes from the rows of one transaction (a ReadView or the
// sequencer's WriteBatch); lives no longer than it. Remembers the last row
// it read at each level, so a proof's lookups hit LMDB once per row.
// Thread-compatible.
class HashRowReader final : public HashReader {
 public:
  explicit HashRowReader(const Reader& reader) : reader_(reader) {}
  // kNotFound when the subtree is not complete in the stored tree.
  Result<crypto::Digest> StoredHash(int level, uint64_t index) const override;

 private:
  const Reader& reader_;
  struct Cached {
    uint64_t row = ~uint64_t{0};
    ByteView bytes;
  };
  mutable Cached cache_[kMaxRowLevel];
};

// Adds the leaf hashes of entries old_size … old_size+n-1 to the rows, and
// every complete-subtree hash they finish, writing each touched row once.
// O(n + log size) hashing. The rows must hold exactly the tree of old_size.
Status AppendHashRows(WriteBatch& batch, uint64_t old_size, std::span<const crypto::Digest> leaves);

}  // namespace quipu::ledger
