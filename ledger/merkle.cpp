#include "ledger/merkle.h"

#include <bit>

namespace quipu::ledger {
namespace {

// The largest power of two smaller than n (n >= 2): RFC 9162's k.
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

// MTH(D[begin:end]) for a range that RFC 9162's recursion produces: its
// left parts are always complete, aligned subtrees, read from storage.
Result<crypto::Digest> RangeHash(uint64_t begin, uint64_t end, const HashReader& reader) {
  const uint64_t n = end - begin;
  if (std::has_single_bit(n) && begin % n == 0) {
    return reader.StoredHash(std::countr_zero(n), begin / n);
  }
  if (const crypto::Digest* known = reader.RememberedRange(begin, end)) return *known;
  const uint64_t k = SplitPoint(n);
  QUIPU_ASSIGN_OR_RETURN(crypto::Digest left, RangeHash(begin, begin + k, reader));
  QUIPU_ASSIGN_OR_RETURN(crypto::Digest right, RangeHash(begin + k, end, reader));
  const crypto::Digest hash = NodeHash(left, right);
  reader.RememberRange(begin, end, hash);
  return hash;
}

Status Path(uint64_t index, uint64_t begin, uint64_t end, const HashReader& reader,
            std::vector<crypto::Digest>& out) {
  const uint64_t n = end - begin;
  if (n == 1) return Status::Ok();
  const uint64_t k = SplitPoint(n);
  if (index - begin < k) {
    QUIPU_RETURN_IF_ERROR(Path(index, begin, begin + k, reader, out));
    QUIPU_ASSIGN_OR_RETURN(crypto::Digest h, RangeHash(begin + k, end, reader));
    out.push_back(h);
  } else {
    QUIPU_RETURN_IF_ERROR(Path(index, begin + k, end, reader, out));
    QUIPU_ASSIGN_OR_RETURN(crypto::Digest h, RangeHash(begin, begin + k, reader));
    out.push_back(h);
  }
  return Status::Ok();
}

// SUBPROOF(m, D[begin:end], whole) with m counted from begin.
Status SubProof(uint64_t m, uint64_t begin, uint64_t end, bool whole, const HashReader& reader,
                std::vector<crypto::Digest>& out) {
  const uint64_t n = end - begin;
  if (m == n) {
    if (!whole) {
      QUIPU_ASSIGN_OR_RETURN(crypto::Digest h, RangeHash(begin, end, reader));
      out.push_back(h);
    }
    return Status::Ok();
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    QUIPU_RETURN_IF_ERROR(SubProof(m, begin, begin + k, whole, reader, out));
    QUIPU_ASSIGN_OR_RETURN(crypto::Digest h, RangeHash(begin + k, end, reader));
    out.push_back(h);
  } else {
    QUIPU_RETURN_IF_ERROR(SubProof(m - k, begin + k, end, false, reader, out));
    QUIPU_ASSIGN_OR_RETURN(crypto::Digest h, RangeHash(begin, begin + k, reader));
    out.push_back(h);
  }
  return Status::Ok();
}

}  // namespace

crypto::Digest LeafHash(std::span<const uint8_t> entry) {
  static constexpr uint8_t kLeafPrefix[1] = {0x00};
  return crypto::Sha256Concat(kLeafPrefix, entry);
}

crypto::Digest NodeHash(const crypto::Digest& left, const crypto::Digest& right) {
  uint8_t buf[65];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  return crypto::Sha256Concat(std::span<const uint8_t>(buf, sizeof buf), {});
}

Result<crypto::Digest> TreeRoot(uint64_t size, const HashReader& reader) {
  if (size == 0) return crypto::Sha256(std::string_view());
  return RangeHash(0, size, reader);
}

Result<std::vector<crypto::Digest>> ProveInclusion(uint64_t index, uint64_t size,
                                                   const HashReader& reader) {
  if (index >= size) {
    return InvalidArgument("index " + std::to_string(index) + " is not in a tree of size " +
                           std::to_string(size));
  }
  std::vector<crypto::Digest> out;
  out.reserve(64);
  QUIPU_RETURN_IF_ERROR(Path(index, 0, size, reader, out));
  return out;
}

Result<std::vector<crypto::Digest>> ProveConsistency(uint64_t old_size, uint64_t new_size,
                                                     const HashReader& reader) {
  if (old_size > new_size) {
    return InvalidArgument("old size " + std::to_string(old_size) + " is larger than new size " +
                           std::to_string(new_size));
  }
  std::vector<crypto::Digest> out;
  if (old_size == 0 || old_size == new_size) return out;
  out.reserve(64);
  QUIPU_RETURN_IF_ERROR(SubProof(old_size, 0, new_size, true, reader, out));
  return out;
}

bool VerifyInclusion(uint64_t index, uint64_t size, const crypto::Digest& leaf,
                     std::span<const crypto::Digest> proof, const crypto::Digest& root) {
  if (index >= size) return false;
  uint64_t fn = index, sn = size - 1;
  crypto::Digest r = leaf;
  for (const crypto::Digest& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(uint64_t old_size, uint64_t new_size, const crypto::Digest& old_root,
                       const crypto::Digest& new_root, std::span<const crypto::Digest> proof) {
  if (old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (old_size == 0) return proof.empty();
  if (proof.empty()) return false;
  // When old_size is a power of two its root is the first node of the path.
  std::vector<crypto::Digest> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  crypto::Digest fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const crypto::Digest& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

}  // namespace quipu::ledger
