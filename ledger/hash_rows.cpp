#include "ledger/hash_rows.h"

#include <cstring>
#include <string>
#include <vector>

namespace quipu::ledger {

std::span<const uint8_t> HashRowCache::Find(int level, uint64_t row) const {
  const size_t l = static_cast<size_t>(level - kFirstLevel);
  if (l >= levels_.size() || row >= levels_[l].size()) return {};
  return levels_[l][row];
}

void HashRowCache::Keep(int level, uint64_t row, std::span<const uint8_t> bytes) {
  const size_t l = static_cast<size_t>(level - kFirstLevel);
  // Rows of a level are few (n / 2^16 at level 8), so they are indexed
  // directly; trees past 2^32 leaves keep their far rows in LMDB only.
  if (row >= (uint64_t{1} << 16)) return;
  if (bytes_ + bytes.size() > kMaxBytes) {
    levels_.clear();
    bytes_ = 0;
  }
  if (l >= levels_.size()) levels_.resize(l + 1);
  if (row >= levels_[l].size()) levels_[l].resize(row + 1);
  std::vector<uint8_t>& copy = levels_[l][row];
  bytes_ += bytes.size() - copy.size();
  copy.assign(bytes.begin(), bytes.end());
}

const crypto::Digest* HashRowCache::FindRange(uint64_t begin, uint64_t end) const {
  if (end != range_end_) return nullptr;
  for (const auto& [b, hash] : ranges_) {
    if (b == begin) return &hash;
  }
  return nullptr;
}

void HashRowCache::KeepRange(uint64_t begin, uint64_t end, const crypto::Digest& hash) {
  if (end != range_end_) {
    ranges_.clear();
    range_end_ = end;
  }
  if (ranges_.size() < 64) ranges_.emplace_back(begin, hash);
}

Result<ByteView> HashRowReader::Row(int level, uint64_t row) const {
  Cached& c = cache_[level];
  if (c.row == row) return c.bytes;
  auto bytes = reader_.GetTile(static_cast<uint8_t>(level), row);
  if (!bytes.ok()) return bytes.status();
  c.row = row;
  c.bytes = *bytes;
  return c.bytes;
}

void HashRowReader::PrefetchPath(uint64_t index, uint64_t size) const {
  for (int level = 0; level < HashRowCache::kFirstLevel; ++level) {
    const uint64_t sibling = (index >> level) ^ 1;
    if ((sibling + 1) << level > size) continue;  // not complete: computed, not stored
    auto row = Row(level, sibling / kHashRowWidth);
    const size_t offset = (sibling % kHashRowWidth) * 32;
    if (row.ok() && offset + 32 <= row->size()) __builtin_prefetch(row->data() + offset);
  }
}

Result<crypto::Digest> HashRowReader::StoredHash(int level, uint64_t index) const {
  if (level < 0 || level >= kMaxRowLevel) return NotFound("no tree level " + std::to_string(level));
  const uint64_t row = index / kHashRowWidth;
  const size_t offset = (index % kHashRowWidth) * 32;
  crypto::Digest d;
  if (upper_ != nullptr && level >= HashRowCache::kFirstLevel) {
    if (auto copy = upper_->Find(level, row); offset + 32 <= copy.size()) {
      std::memcpy(d.data(), copy.data() + offset, d.size());
      return d;
    }
  }
  auto bytes = Row(level, row);
  if (!bytes.ok() && bytes.status().code() != StatusCode::kNotFound) return bytes.status();
  if (!bytes.ok() || offset + 32 > bytes->size()) {
    return NotFound("no stored hash at level " + std::to_string(level) + ", index " +
                    std::to_string(index));
  }
  if (upper_ != nullptr && level >= HashRowCache::kFirstLevel) upper_->Keep(level, row, *bytes);
  std::memcpy(d.data(), bytes->data() + offset, d.size());
  return d;
}

Status AppendHashRows(WriteBatch& batch, uint64_t old_size, std::span<const crypto::Digest> leaves,
                      const ParallelFor& parallel_for) {
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
    const uint64_t first = start >> 1;
    parents.resize((end >> 1) - first);
    auto hash_parents = [&](size_t begin, size_t stop) {
      for (size_t k = begin; k < stop; ++k) {
        const uint64_t l = 2 * (first + k);
        const crypto::Digest& left = l < start ? left_of_start : level_hashes[l - start];
        parents[k] = NodeHash(left, level_hashes[l + 1 - start]);
      }
    };
    if (parallel_for) parallel_for(parents.size(), hash_parents);
    else hash_parents(0, parents.size());
    level_hashes.swap(parents);
    start >>= 1;
  }
  return Status::Ok();
}

}  // namespace quipu::ledger
