// The RFC 9162 §2.1 Merkle tree: leaf and node hashes, roots of any size,
// inclusion and consistency proofs, and their verification, exactly as the
// RFC defines them (so Go's sumdb/tlog and other verifiers accept them).
//
// The tree is read through a HashReader that knows the hashes of complete,
// aligned subtrees; everything else is computed from O(log n) of them.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "crypto/sha256.h"
#include "crypto/status.h"

namespace quipu::ledger {

// SHA-256(0x00 || entry).
crypto::Digest LeafHash(std::span<const uint8_t> entry);
// SHA-256(0x01 || left || right).
crypto::Digest NodeHash(const crypto::Digest& left, const crypto::Digest& right);

// The stored hashes of a tree: StoredHash(level, index) is the hash of the
// complete subtree over leaves [index·2^level, (index+1)·2^level). Errors
// (kNotFound) when that subtree is not complete in the stored tree.
class HashReader {
 public:
  virtual ~HashReader() = default;
  virtual Result<crypto::Digest> StoredHash(int level, uint64_t index) const = 0;
  // Optional memo for MTH(D[begin:end]) of incomplete ranges (the right edge
  // of a tree, which every proof against that size recomputes): a reader
  // may return a hash it was given before by RememberRange, or nullptr.
  virtual const crypto::Digest* RememberedRange(uint64_t /*begin*/, uint64_t /*end*/) const {
    return nullptr;
  }
  virtual void RememberRange(uint64_t /*begin*/, uint64_t /*end*/, const crypto::Digest& /*hash*/) const {}
};

// The root of the tree of the first `size` leaves (SHA-256 of the empty
// string for 0). Errors: the reader's.
Result<crypto::Digest> TreeRoot(uint64_t size, const HashReader& reader);

// RFC 9162 §2.1.3.1 PATH(index, D[0:size]), the deepest hash first.
// kInvalidArgument unless index < size.
Result<std::vector<crypto::Digest>> ProveInclusion(uint64_t index, uint64_t size,
                                                   const HashReader& reader);

// RFC 9162 §2.1.4.1 PROOF(old_size, D[0:new_size]). Empty when old_size is
// 0 or equal to new_size. kInvalidArgument if old_size > new_size.
Result<std::vector<crypto::Digest>> ProveConsistency(uint64_t old_size, uint64_t new_size,
                                                     const HashReader& reader);

// RFC 9162 §2.1.3.2: does `proof` show `leaf` at `index` in the tree of
// `size` with `root`?
bool VerifyInclusion(uint64_t index, uint64_t size, const crypto::Digest& leaf,
                     std::span<const crypto::Digest> proof, const crypto::Digest& root);

// RFC 9162 §2.1.4.2: does `proof` show the tree of old_size (old_root) is a
// prefix of the tree of new_size (new_root)? A tree of size 0 is a prefix
// of every tree (with an empty proof).
bool VerifyConsistency(uint64_t old_size, uint64_t new_size, const crypto::Digest& old_root,
                       const crypto::Digest& new_root, std::span<const crypto::Digest> proof);

}  // namespace quipu::ledger
