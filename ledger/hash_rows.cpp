#include "ledger/hash_rows.h"

#include <cstring>
#include <string>
#include <vector>

namespace quipu::ledger {

Result<crypto::Digest> HashRowReader::StoredHash(int level, uint64_t index) const {
  if (level < 0 || level >= kMaxRowLevel) return NotFound("no tree level " + std::to_string(level));
  const uint64_t row = index / kHashRowWidth;
  Cached& c = cache_[level];
  if (c.row != row) {
    auto bytes = reader_.GetTile(static_cast<uint8_t>(level), row);
    if (!bytes.ok()) {
      if (bytes.status().code() == StatusCode::kNotFound) {
        return NotFound("no stored hash at level " + std::to_string(level) + ", index " +
                        std::to_string(index));
      }
      return bytes.status();
    }
    c.row = row;
    c.bytes = *bytes;
  }
  const size_t offset = (index % kHashRowWidth) * 32;
  if (offset + 32 > c.bytes.size()) {
    return NotFound("no stored hash at level " + std::to_string(level) + ", index " +
                    std::to_string(index));
  }
  crypto::Digest d;
  std::memcpy(d.data(), c.bytes.data() + offset, d.size());
  return d;
}

Status AppendHashRows(WriteBatch& batch, uint64_t old_size, std::span<const crypto::Digest> leaves) {
  // `level_hashes` are the new hashes of the current level, the first one at
  // index `start`; the existing hashes of that level end just before it.
  std::vector<crypto::Digest> level_hashes(leaves.begin(), leaves.end());
  std::vector<crypto::Digest> parents;
  std::vector<uint8_t> row;
  uint64_t start = old_size;
  for (int level = 0; !level_hashes.empty(); ++level) {
    if (level >= kMaxRowLevel) return InvalidArgument("tree too large");
    const uint64_t end = start + level_hashes.size();

    // The left sibling of the first new hash, when it is a right child.
    crypto::Digest left_of_start{};
    // Write the rows: the first may already hold a prefix of this level.
    uint64_t i = start;
    while (i < end) {
      const uint64_t r = i / kHashRowWidth;
      const size_t kept = i % kHashRowWidth;
      row.clear();
      if (kept > 0) {
        auto existing = batch.GetTile(static_cast<uint8_t>(level), r);
        if (!existing.ok() || existing->size() < kept * 32) {
          return Corruption("hash row (" + std::to_string(level) + ", " + std::to_string(r) +
                            ") is shorter than the tree");
        }
        row.assign(existing->begin(), existing->begin() + kept * 32);
        if (i == start && (start & 1)) {
          std::memcpy(left_of_start.data(), row.data() + (kept - 1) * 32, 32);
        }
      }
      const uint64_t row_end = std::min<uint64_t>(end, (r + 1) * kHashRowWidth);
      for (uint64_t j = i; j < row_end; ++j) {
        const auto& h = level_hashes[j - start];
        row.insert(row.end(), h.begin(), h.end());
      }
      QUIPU_RETURN_IF_ERROR(batch.PutTile(static_cast<uint8_t>(level), r, row));
      i = row_end;
    }

    // Parents finished by the new hashes: p with 2p+1 in [start, end).
    parents.clear();
    for (uint64_t p = start >> 1; p < (end >> 1); ++p) {
      const uint64_t l = 2 * p;
      const crypto::Digest& left = l < start ? left_of_start : level_hashes[l - start];
      parents.push_back(NodeHash(left, level_hashes[l + 1 - start]));
    }
    level_hashes.swap(parents);
    start >>= 1;
  }
  return Status::Ok();
}

}  // namespace quipu::ledger
