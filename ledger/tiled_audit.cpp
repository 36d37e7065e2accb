#include "ledger/tiled_audit.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/note.h"
#include "ledger/checkpoint.h"
#include "ledger/merkle.h"
#include "ledger/tiles.h"

namespace quipu::ledger {
namespace {

using nlohmann::json;
constexpr uint64_t kWidth = kTileWidth;

// What a worker finds in one entry bundle and its level-0 tile.
struct BlockResult {
  bool done = false;
  std::string failure;  // "" when fine
  uint64_t bad_index = 0;
  Hash hash{};                 // MTH of the 256 leaves, for a full block
  std::vector<Hash> leaves;    // a partial block's leaf hashes
  int64_t first_time = -1, last_time = -1;
  uint64_t bytes = 0;
  uint64_t fetches = 0;
};

// MTH of 2^k hashes, in place.
Hash PerfectRoot(std::vector<Hash> level) {
  while (level.size() > 1) {
    for (size_t i = 0; i < level.size() / 2; ++i) level[i] = NodeHash(level[2 * i], level[2 * i + 1]);
    level.resize(level.size() / 2);
  }
  return level.empty() ? crypto::Sha256("") : level[0];
}

// MTH of leaves [lo, hi) from the complete blocks' hashes and the tail.
Hash RangeRoot(const std::vector<Hash>& blocks, const std::vector<Hash>& tail, uint64_t lo, uint64_t hi) {
  const uint64_t n = hi - lo;
  if (n == kWidth && lo % kWidth == 0 && lo / kWidth < blocks.size()) return blocks[lo / kWidth];
  if (n == 1) return tail[lo - blocks.size() * kWidth];
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return NodeHash(RangeRoot(blocks, tail, lo, lo + k), RangeRoot(blocks, tail, lo + k, hi));
}

Hash TreeRootOf(const std::vector<Hash>& blocks, const std::vector<Hash>& tail) {
  const uint64_t n = blocks.size() * kWidth + tail.size();
  if (n == 0) return crypto::Sha256("");
  return RangeRoot(blocks, tail, 0, n);
}

std::string HashBytes(const Hash* h, size_t count) {
  return std::string(reinterpret_cast<const char*>(h), count * sizeof(Hash));
}

// Runs fn(i) for i in [0, count) on up to `threads` threads, in rising
// order of i as they are taken; stops taking new ones once `stop` is set.
template <typename F>
void ParallelFor(uint64_t count, int threads, const std::atomic<bool>& stop, F fn) {
  std::atomic<uint64_t> next{0};
  auto run = [&] {
    for (;;) {
      const uint64_t i = next.fetch_add(1);
      if (i >= count || stop.load()) return;
      fn(i);
    }
  };
  const int n = static_cast<int>(std::min<uint64_t>(std::max(1, threads), std::max<uint64_t>(count, 1)));
  std::vector<std::thread> pool;
  for (int t = 1; t < n; ++t) pool.emplace_back(run);
  run();
  for (auto& t : pool) t.join();
}

// Fetches a tile or bundle. A log may delete a partial tile once the full
// one exists (C2SP tlog-tiles): then the full one is fetched and cut to the
// width asked.
Result<std::string> FetchTile(const std::function<Result<std::string>(const std::string&)>& fetch, const TileAddr& a) {
  auto got = fetch(TilePath(a));
  if (got.ok() || got.status().code() != StatusCode::kNotFound || a.width == static_cast<int>(kWidth)) return got;
  QUIPU_ASSIGN_OR_RETURN(std::string full, fetch(TilePath({a.level, a.index, static_cast<int>(kWidth)})));
  if (a.level >= 0) {
    if (full.size() < static_cast<size_t>(a.width) * sizeof(Hash)) return Corruption("the full tile is too short");
    full.resize(static_cast<size_t>(a.width) * sizeof(Hash));
    return full;
  }
  size_t at = 0;
  for (int k = 0; k < a.width; ++k) {
    if (full.size() < at + 2) return Corruption("the full entry bundle is too short");
    at += 2 + (static_cast<size_t>(static_cast<uint8_t>(full[at])) << 8 | static_cast<uint8_t>(full[at + 1]));
  }
  if (at > full.size()) return Corruption("the full entry bundle is too short");
  full.resize(at);
  return full;
}

}  // namespace

std::string EncodeTiledAuditState(const TiledAuditState& s) {
  std::string blocks, tail;
  blocks.reserve(s.blocks.size() * sizeof(Hash));
  for (const Hash& h : s.blocks) blocks.append(reinterpret_cast<const char*>(h.data()), h.size());
  for (const Hash& h : s.tail) tail.append(reinterpret_cast<const char*>(h.data()), h.size());
  return json{{"format", "quipu-tiled-audit/1"},
              {"origin", s.origin},
              {"vkey", s.vkey},
              {"tree_size", s.tree_size},
              {"root", crypto::Base64Encode(s.root)},
              {"checkpoint", s.checkpoint},
              {"blocks", crypto::Base64Encode(crypto::AsBytes(blocks))},
              {"tail", crypto::Base64Encode(crypto::AsBytes(tail))},
              {"last_time_us", s.last_time_us},
              {"entries", s.opaque ? "opaque" : "checked"}}
             .dump();
}

Result<TiledAuditState> DecodeTiledAuditState(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  const auto format = j.is_object() ? j.find("format") : j.end();
  if (format == j.end() || !format->is_string() || format->get<std::string>() != "quipu-tiled-audit/1") {
    return Corruption("the saved audit state is not a quipu-tiled-audit/1 file");
  }
  try {
    TiledAuditState s;
    s.origin = j.at("origin").get<std::string>();
    s.vkey = j.at("vkey").get<std::string>();
    // Numbers beyond 64 bits parse as doubles, which nlohmann would cast.
    if (!j.at("tree_size").is_number_unsigned() || !j.at("last_time_us").is_number_integer()) {
      return Corruption("the saved audit state has a field of the wrong type");
    }
    s.tree_size = j.at("tree_size").get<uint64_t>();
    s.checkpoint = j.at("checkpoint").get<std::string>();
    s.last_time_us = j.at("last_time_us").get<int64_t>();
    s.opaque = j.value("entries", "checked") == "opaque";
    auto root = crypto::Base64Decode(j.at("root").get<std::string>());
    auto blocks = crypto::Base64Decode(j.at("blocks").get<std::string>());
    auto tail = crypto::Base64Decode(j.at("tail").get<std::string>());
    if (!root.ok() || root->size() != sizeof(Hash) || !blocks.ok() || blocks->size() % sizeof(Hash) != 0 ||
        !tail.ok() || tail->size() % sizeof(Hash) != 0 || tail->size() / sizeof(Hash) >= kWidth) {
      return Corruption("the saved audit state has a damaged hash");
    }
    std::copy(root->begin(), root->end(), s.root.begin());
    s.blocks.resize(blocks->size() / sizeof(Hash));
    std::copy(blocks->begin(), blocks->end(), reinterpret_cast<uint8_t*>(s.blocks.data()));
    s.tail.resize(tail->size() / sizeof(Hash));
    std::copy(tail->begin(), tail->end(), reinterpret_cast<uint8_t*>(s.tail.data()));
    if (s.blocks.size() * kWidth + s.tail.size() != s.tree_size || TreeRootOf(s.blocks, s.tail) != s.root) {
      return Corruption("the saved audit state does not add up to its own root");
    }
    return s;
  } catch (const json::exception&) {
    return Corruption("the saved audit state has a field of the wrong type");
  }
}

Result<TiledAuditReport> AuditTiledLog(const TiledAuditOptions& o) {
  const auto started = std::chrono::steady_clock::now();
  QUIPU_ASSIGN_OR_RETURN(const crypto::NoteVerifier verifier, crypto::ParseVerifierKey(o.vkey));
  TiledAuditReport report;
  std::atomic<uint64_t> fetches{0}, bytes{0};
  auto fetch = [&](const std::string& path) -> Result<std::string> {
    auto got = o.fetch(path);
    fetches.fetch_add(1);
    if (got.ok()) bytes.fetch_add(got->size());
    return got;
  };
  auto finish = [&](std::string failure, std::optional<uint64_t> index = std::nullopt) {
    report.ok = failure.empty();
    report.failure = std::move(failure);
    report.index = index;
    report.fetches = fetches.load();
    report.bytes = bytes.load();
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
  };

  // 1. The checkpoint: signed by the key, for the key's origin.
  QUIPU_ASSIGN_OR_RETURN(const std::string note, fetch("checkpoint"));
  auto opened = crypto::OpenNote(note, std::span<const crypto::NoteVerifier>(&verifier, 1));
  if (!opened.ok()) return finish("the checkpoint: " + opened.status().message());
  auto fields = ParseCheckpointBody(opened->text);
  if (!fields.ok()) return finish("the checkpoint: " + fields.status().message());
  if (fields->origin != verifier.name) {
    return finish("the checkpoint's origin " + fields->origin + " is not the key's name " + verifier.name);
  }
  const uint64_t n = fields->tree_size;
  if (n > kMaxTiledAuditSize) {
    return finish("the checkpoint claims " + std::to_string(n) + " entries, more than any log can serve (2^56)");
  }
  report.tree_size = n;
  report.root = fields->root;
  report.checkpoint = note;

  // 2. Against what an earlier audit saw.
  const TiledAuditState* prev = o.previous ? &*o.previous : nullptr;
  if (prev) {
    if (prev->origin != fields->origin) return finish("the saved state is of another log, " + prev->origin);
    if (prev->opaque != !o.schema) {
      return finish(prev->opaque ? "the saved state was audited with entries as opaque bytes, this audit checks them"
                                 : "the saved state was audited checking the entries, this audit would not");
    }
    if (n < prev->tree_size) {
      return finish("the log shrank: its checkpoint has " + std::to_string(n) + " entries, an earlier one (audited) had " +
                    std::to_string(prev->tree_size) + ": it is not the same history");
    }
    if (n == prev->tree_size && fields->root != prev->root) {
      return finish("the checkpoint has the same size as the one audited before, and another root: two histories");
    }
  }
  const uint64_t first_block = prev ? prev->blocks.size() : 0;
  report.first_checked = prev ? prev->tree_size : 0;
  const uint64_t block_count = n / kWidth + (n % kWidth != 0);
  const uint64_t to_check = block_count > first_block ? block_count - first_block : 0;
  const uint64_t entries_to_check = n - first_block * kWidth;

  // 3. The entry bundles and level-0 tiles, many at a time, a window of
  // them at once (memory stays bounded whatever size the checkpoint claims),
  // each window joined in order: the first failure, time order between
  // bundles, the tree's edge. The last bundle first: a size the log does
  // not really serve fails before anything else is fetched.
  TiledAuditState state;
  state.origin = fields->origin;
  state.vkey = o.vkey;
  state.opaque = !o.schema;
  state.blocks = prev ? prev->blocks : std::vector<Hash>();
  state.last_time_us = prev ? prev->last_time_us : -1;
  if (prev) state.tail = prev->tail;
  int64_t last_time = state.last_time_us;
  std::atomic<uint64_t> checked{0};
  std::mutex progress_mu;
  auto check_block = [&](uint64_t b, BlockResult& r, std::atomic<bool>& stop) {
    const int width = static_cast<int>(std::min<uint64_t>(kWidth, n - b * kWidth));
    auto fail = [&](uint64_t index, std::string why) {
      r.failure = std::move(why);
      r.bad_index = index;
      r.done = true;
      stop = true;
    };
    auto bundle = FetchTile(fetch, {-1, b, width});
    if (!bundle.ok()) return fail(b * kWidth, "entry bundle " + TilePath({-1, b, width}) + ": " + bundle.status().message());
    auto tile = FetchTile(fetch, {0, b, width});
    if (!tile.ok()) return fail(b * kWidth, "tile " + TilePath({0, b, width}) + ": " + tile.status().message());
    if (tile->size() != static_cast<size_t>(width) * sizeof(Hash)) {
      return fail(b * kWidth, "tile " + TilePath({0, b, width}) + " has " + std::to_string(tile->size()) +
                                  " bytes, not " + std::to_string(width * sizeof(Hash)));
    }
    std::vector<Hash> leaves;
    leaves.reserve(static_cast<size_t>(width));
    std::string_view rest = *bundle;
    int64_t last = -1;
    for (int k = 0; k < width; ++k) {
      const uint64_t index = b * kWidth + static_cast<uint64_t>(k);
      if (rest.size() < 2) return fail(index, "the entry bundle ends before entry " + std::to_string(index));
      const size_t len = static_cast<size_t>(static_cast<uint8_t>(rest[0])) << 8 | static_cast<uint8_t>(rest[1]);
      if (rest.size() < 2 + len) return fail(index, "the entry bundle ends inside entry " + std::to_string(index));
      const std::string_view entry = rest.substr(2, len);
      rest.remove_prefix(2 + len);
      const Hash leaf = LeafHash(crypto::AsBytes(entry));
      if (std::memcmp(leaf.data(), tile->data() + static_cast<size_t>(k) * sizeof(Hash), sizeof(Hash)) != 0) {
        return fail(index, "the level-0 tile's hash of entry " + std::to_string(index) + " is not its leaf hash");
      }
      if (o.schema) {
        auto facts = o.schema->CheckEntry(entry);
        if (!facts.ok()) return fail(index, "entry " + std::to_string(index) + ": " + facts.status().message());
        if (facts->time_micros < last) return fail(index, "entry " + std::to_string(index) + " is older than the one before");
        if (prev && index == prev->tree_size && facts->time_micros < prev->last_time_us) {
          return fail(index, "entry " + std::to_string(index) + " is older than the last one audited before");
        }
        last = facts->time_micros;
        if (r.first_time < 0) r.first_time = last;
        r.last_time = last;
      }
      leaves.push_back(leaf);
    }
    if (!rest.empty()) return fail(b * kWidth + static_cast<uint64_t>(width) - 1, "the entry bundle has bytes after its last entry");
    if (prev && b == first_block) {
      for (size_t k = 0; k < prev->tail.size(); ++k) {
        if (k >= leaves.size() || leaves[k] != prev->tail[k]) {
          return fail(b * kWidth + k, "entry " + std::to_string(b * kWidth + k) + " is not the one audited before");
        }
      }
    }
    if (width == static_cast<int>(kWidth)) {
      r.hash = PerfectRoot(std::move(leaves));
    } else {
      r.leaves = std::move(leaves);
    }
    r.done = true;
    const uint64_t c = checked.fetch_add(static_cast<uint64_t>(width)) + static_cast<uint64_t>(width);
    if (o.progress) {
      std::lock_guard<std::mutex> lock(progress_mu);
      o.progress(std::min(c, entries_to_check), entries_to_check);
    }
  };
  std::optional<BlockResult> last_block;
  if (to_check > 1) {
    last_block.emplace();
    std::atomic<bool> ignored{false};
    check_block(block_count - 1, *last_block, ignored);
    if (!last_block->failure.empty()) return finish(last_block->failure, last_block->bad_index);
  }
  constexpr uint64_t kWindow = 4096;  // bundles: about a million entries
  for (uint64_t w0 = 0; w0 < to_check; w0 += kWindow) {
    const uint64_t count = std::min(kWindow, to_check - w0);
    std::vector<BlockResult> results(count);
    std::atomic<bool> stop{false};
    ParallelFor(count, o.threads, stop, [&](uint64_t i) {
      const uint64_t b = first_block + w0 + i;
      if (last_block && b == block_count - 1) {
        results[i] = std::move(*last_block);
      } else {
        check_block(b, results[i], stop);
      }
    });
    for (uint64_t i = 0; i < count; ++i) {
      const BlockResult& r = results[i];
      const uint64_t b = first_block + w0 + i;
      if (!r.done || !r.failure.empty()) {
        // Blocks are taken in order: one not checked comes after a failure.
        for (uint64_t j = i; j < count; ++j) {
          if (!results[j].failure.empty()) return finish(results[j].failure, results[j].bad_index);
        }
        return finish("entry bundle " + std::to_string(b) + " was not checked", b * kWidth);
      }
      if (o.schema && b > first_block && r.first_time < last_time) {
        return finish("entry " + std::to_string(b * kWidth) + " is older than the one before", b * kWidth);
      }
      if (r.last_time >= 0) last_time = r.last_time;
      if (r.leaves.empty()) {
        state.blocks.push_back(r.hash);
        state.tail.clear();
      } else {
        state.tail = r.leaves;
      }
    }
  }
  state.last_time_us = last_time;

  // 5. The root of everything audited, now and before, is the checkpoint's.
  const Hash root = TreeRootOf(state.blocks, state.tail);
  if (root != fields->root) {
    return finish(prev ? "the checkpoint's root is not the root of the entries audited now and before: "
                         "the log's history is not the one audited before, or its entries are not its tree"
                       : "the checkpoint's root is not the root of the log's entries");
  }

  // 6. The higher tiles: each level's nodes recomputed from the one below.
  std::vector<Hash> level = state.blocks;  // nodes of height 8
  for (int L = 1; L <= kMaxTileLevel && !level.empty(); ++L) {
    uint64_t width_below = 1;
    for (int k = 0; k < L; ++k) width_below *= kWidth;
    const uint64_t first_tile = prev ? (prev->tree_size / width_below) / kWidth : 0;
    const uint64_t tiles = (level.size() + kWidth - 1) / kWidth;
    std::vector<std::string> failures(tiles > first_tile ? tiles - first_tile : 0);
    std::atomic<bool> tile_stop{false};
    ParallelFor(failures.size(), o.threads, tile_stop, [&](uint64_t i) {
      const uint64_t t = first_tile + i;
      const size_t w = static_cast<size_t>(std::min<uint64_t>(kWidth, level.size() - t * kWidth));
      const std::string path = TilePath({L, t, static_cast<int>(w)});
      auto got = FetchTile(fetch, {L, t, static_cast<int>(w)});
      if (!got.ok()) {
        failures[i] = "tile " + path + ": " + got.status().message();
      } else if (*got != HashBytes(level.data() + t * kWidth, w)) {
        failures[i] = "tile " + path + " does not hold the hashes of the subtrees below it";
      }
      if (!failures[i].empty()) tile_stop = true;
    });
    for (const std::string& f : failures) {
      if (!f.empty()) return finish(f);
    }
    std::vector<Hash> up;
    for (size_t k = 0; k + kWidth <= level.size(); k += kWidth) {
      up.push_back(PerfectRoot(std::vector<Hash>(level.begin() + static_cast<ptrdiff_t>(k),
                                                 level.begin() + static_cast<ptrdiff_t>(k + kWidth))));
    }
    level = std::move(up);
  }

  state.tree_size = n;
  state.root = root;
  state.checkpoint = note;
  report.state = std::move(state);
  return finish("");
}

}  // namespace quipu::ledger
