#include "ledger/audit.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <future>
#include <thread>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/note.h"
#include "ledger/checkpoint.h"
#include "ledger/entry.h"
#include "ledger/hash_rows.h"
#include "ledger/merkle.h"
#include "ledger/store.h"

namespace quipu::ledger {
namespace {

constexpr uint64_t kChunk = 1 << 16;

// A multiset hash of (document, index) pairs: the sum of per-pair digests.
// The entries and the docs table must give the same sum and count.
struct DocSum {
  uint64_t count = 0;
  uint64_t sum[4] = {0, 0, 0, 0};
  void Add(const crypto::Digest& sha, uint64_t index) {
    uint8_t buf[40];
    std::memcpy(buf, sha.data(), 32);
    for (int i = 0; i < 8; ++i) buf[32 + i] = static_cast<uint8_t>(index >> (56 - 8 * i));
    const crypto::Digest d = crypto::Sha256(std::span<const uint8_t>(buf, sizeof buf));
    for (int i = 0; i < 4; ++i) {
      uint64_t w;
      std::memcpy(&w, d.data() + 8 * i, 8);
      sum[i] += w;
    }
    ++count;
  }
  void Merge(const DocSum& o) {
    count += o.count;
    for (int i = 0; i < 4; ++i) sum[i] += o.sum[i];
  }
  bool operator==(const DocSum& o) const {
    return count == o.count && std::equal(sum, sum + 4, o.sum);
  }
};

// Checks the stored rows against hashes recomputed from the leaves, one
// complete subtree at a time in leaf order, keeping the right edge of
// complete subtrees (a compact range). A worker checks the subtrees inside
// its part of the entries; the main thread joins the parts' edges.
class TreeChecker {
 public:
  struct Node {
    int level;
    uint64_t index;
    crypto::Digest hash;
  };

  explicit TreeChecker(const HashRowReader& rows) : rows_(rows) {}

  // Adds the complete subtree (level, index), which must start where the
  // ones added before end; checks its stored hash and those of the subtrees
  // it completes together with them. Returns what differs.
  std::optional<std::string> Add(int level, uint64_t index, crypto::Digest h) {
    if (auto s = Compare(level, index, h)) return s;
    while ((index & 1) && !edge_.empty() && edge_.back().level == level) {
      h = NodeHash(edge_.back().hash, h);
      edge_.pop_back();
      ++level;
      index >>= 1;
      if (auto s = Compare(level, index, h)) return s;
    }
    edge_.push_back(Node{level, index, h});
    return std::nullopt;
  }
  // The subtrees not yet joined into larger ones, in leaf order.
  const std::vector<Node>& edge() const { return edge_; }

 private:
  std::optional<std::string> Compare(int level, uint64_t index, const crypto::Digest& want) const {
    auto stored = rows_.StoredHash(level, index);
    if (!stored.ok()) {
      return "tree hash (level " + std::to_string(level) + ", index " + std::to_string(index) +
             ") missing: " + stored.status().message();
    }
    if (*stored != want) {
      return "stored tree hash (level " + std::to_string(level) + ", index " + std::to_string(index) +
             ") differs from the one recomputed from the entries (tile " +
             std::to_string(level / 8) + "/" + std::to_string((index >> (level % 8)) / 256) + ")";
    }
    return std::nullopt;
  }

  const HashRowReader& rows_;
  std::vector<Node> edge_;
};

// What a worker learns from a part of the entries.
struct PartResult {
  std::vector<int64_t> times;             // of the entries checked
  std::vector<TreeChecker::Node> edge;    // the part's complete subtrees, checked
  DocSum docs;
  std::optional<uint64_t> bad_index;
  std::string failure;
};

// Parses and hashes entries [begin, end), checks them and every tree hash
// inside the part. Stops at the first failure.
PartResult CheckPart(const Store& store, const EntrySchema& schema, uint64_t begin, uint64_t end) {
  PartResult r;
  r.times.reserve(end - begin);
  auto view = store.Read();
  if (!view.ok()) {
    r.bad_index = begin;
    r.failure = view.status().message();
    return r;
  }
  HashRowReader rows(*view);
  TreeChecker tree(rows);
  uint64_t expected = begin;
  Status s = view->ForEachEntry(begin, end, [&](uint64_t index, ByteView bytes) -> Status {
    if (index != expected) {
      r.bad_index = expected;
      r.failure = "entry missing";
      return Corruption("stop");
    }
    ++expected;
    auto facts = schema.CheckEntry(crypto::AsString(bytes));
    if (!facts.ok()) {
      r.bad_index = index;
      r.failure = facts.status().message();
      return Corruption("stop");
    }
    if (auto bad = tree.Add(0, index, LeafHash(bytes))) {
      r.bad_index = index;
      r.failure = *bad;
      return Corruption("stop");
    }
    r.times.push_back(facts->time_micros);
    if (facts->doc_sha256) r.docs.Add(*facts->doc_sha256, index);
    return Status::Ok();
  });
  if (!s.ok() && !r.bad_index) {
    r.bad_index = begin;
    r.failure = s.message();
  } else if (s.ok() && expected != end && !r.bad_index) {
    r.bad_index = expected;
    r.failure = "entry missing";
  }
  r.edge = tree.edge();
  return r;
}

// The (document, index) pairs of the documents index of `view`'s snapshot,
// counting records for entries at or past n (damage) without summing them.
Result<DocSum> SumDocIndex(const Reader& view, uint64_t n) {
  DocSum sum;
  QUIPU_RETURN_IF_ERROR(view.ForEachDocIndex([&](const crypto::Digest& sha, uint64_t index) {
    if (index < n) sum.Add(sha, index);
    else ++sum.count;
    return Status::Ok();
  }));
  return sum;
}

}  // namespace

Result<AuditReport> Audit(const AuditOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  StoreOptions so;
  so.read_only = true;
  QUIPU_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(options.dir, so));
  QUIPU_ASSIGN_OR_RETURN(ReadView view, store->Read());

  AuditReport report;
  auto fail = [&](std::optional<uint64_t> index, std::string what) {
    if (report.ok) {
      report.ok = false;
      report.index = index;
      report.failure = std::move(what);
    }
  };

  auto origin_meta = view.GetMeta("origin");
  if (!origin_meta.ok()) return NotFound("no quipu ledger in " + options.dir);
  const std::string origin(crypto::AsString(*origin_meta));
  report.vkey = options.vkey;
  if (report.vkey.empty()) {
    QUIPU_ASSIGN_OR_RETURN(ByteView stored, view.GetMeta("vkey"));
    report.vkey = std::string(crypto::AsString(stored));
    report.vkey_from_ledger = true;
  }
  QUIPU_ASSIGN_OR_RETURN(crypto::NoteVerifier verifier, crypto::ParseVerifierKey(report.vkey));
  if (verifier.name != origin) {
    fail(std::nullopt, "verifier key names '" + verifier.name + "' but the ledger's origin is '" + origin + "'");
  }

  QUIPU_ASSIGN_OR_RETURN(const uint64_t n, view.EntryCount());
  report.entries = n;
  HashRowReader rows(view);
  TreeChecker tree(rows);
  DocSum entry_docs;
  const int threads = options.threads > 0 ? options.threads
                                          : std::max(1u, std::thread::hardware_concurrency());

  // The documents index is summed meanwhile, from its own snapshot; it is
  // used only if that snapshot holds the same entries as `view` (the index
  // changes only with them), else summed again below.
  auto index_sum = std::async(std::launch::async, [&store, n]() -> Result<DocSum> {
    QUIPU_ASSIGN_OR_RETURN(ReadView own, store->Read());
    QUIPU_ASSIGN_OR_RETURN(uint64_t count, own.EntryCount());
    if (count != n) return Unavailable("a commit landed between the snapshots");
    return SumDocIndex(own, n);
  });

  // Entries, leaves, tree rows, time order and block membership, in order.
  uint64_t block_height = 0;
  std::optional<Block> block;  // the block the current entries belong to
  int64_t block_time = -1;
  uint64_t block_first = 0;
  auto load_block = [&](uint64_t height) -> bool {
    auto header = view.GetBlock(height);
    if (!header.ok()) {
      fail(block_first, "no block covers entry " + std::to_string(block_first));
      return false;
    }
    auto parsed = ParseBlockHeader(crypto::AsString(*header));
    if (!parsed.ok()) {
      fail(block_first, "block " + std::to_string(height) + ": " + parsed.status().message());
      return false;
    }
    block = *parsed;
    auto t = ParseTime(block->time);
    block_time = t.ok() ? *t : -1;
    return true;
  };
  int64_t last_time = 0;
  // Workers check chunk k+1 while this thread joins chunk k. Parts are
  // aligned powers of two when they can be, so that each worker checks whole
  // subtrees and this thread only joins their tops.
  auto launch = [&](uint64_t chunk) {
    std::vector<std::future<PartResult>> parts;
    const uint64_t end = std::min(n, chunk + kChunk);
    const uint64_t per = std::bit_ceil((end - chunk + threads - 1) / threads);
    for (uint64_t b = chunk; b < end; b += per) {
      const uint64_t e = std::min(end, b + per);
      parts.push_back(std::async(std::launch::async, [&store, &options, b, e] {
        return CheckPart(*store, options.entry_schema, b, e);
      }));
    }
    return parts;
  };
  std::vector<std::future<PartResult>> next;
  if (n > 0) next = launch(0);
  for (uint64_t chunk = 0; chunk < n && report.ok; chunk += kChunk) {
    const uint64_t end = std::min(n, chunk + kChunk);
    std::vector<std::future<PartResult>> parts = std::move(next);
    next.clear();
    if (end < n && report.ok) next = launch(end);
    uint64_t base = chunk;
    for (auto& f : parts) {
      PartResult part = f.get();
      if (!report.ok) continue;
      const uint64_t stop = base + part.times.size();
      for (uint64_t i = base; i < stop && report.ok; ++i) {
        const int64_t time = part.times[i - base];
        if (time < last_time) fail(i, "entry " + std::to_string(i) + ": time goes backwards");
        last_time = time;
        while (report.ok && (!block || i >= block->tree_size)) {
          if (block) block_first = block->tree_size;
          if (!load_block(block ? block->height + 1 : block_height)) break;
        }
        if (report.ok && block_time != time) {
          fail(i, "entry " + std::to_string(i) + ": time differs from its block " +
                      std::to_string(block->height) + "'s");
        }
      }
      if (part.bad_index && report.ok) {
        fail(part.bad_index, "entry " + std::to_string(*part.bad_index) + ": " + part.failure);
      }
      for (const TreeChecker::Node& node : part.edge) {
        if (!report.ok) break;
        if (auto bad = tree.Add(node.level, node.index, node.hash)) {
          const uint64_t last_leaf = ((node.index + 1) << node.level) - 1;
          fail(last_leaf, "entry " + std::to_string(last_leaf) + ": " + *bad);
        }
      }
      entry_docs.Merge(part.docs);
      base = stop;
    }
    if (options.progress) options.progress(end, n);
  }
  // Stopped early: the futures of std::async wait for their workers when
  // destroyed, before the store they read closes.
  if (!report.ok) {
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
  }

  // Nothing stored beyond the tree: each level's last row holds exactly
  // the complete subtrees of n leaves.
  for (int level = 0; level < kMaxRowLevel && report.ok; ++level) {
    const uint64_t count = n >> level;
    const uint64_t rows_needed = (count + kHashRowWidth - 1) / kHashRowWidth;
    if (count > 0) {
      auto last = view.GetTile(static_cast<uint8_t>(level), rows_needed - 1);
      const size_t want = ((count - 1) % kHashRowWidth + 1) * 32;
      if (!last.ok() || last->size() != want) {
        fail(std::nullopt, "hash row (" + std::to_string(level) + ", " + std::to_string(rows_needed - 1) +
                               ") does not end where the tree of " + std::to_string(n) + " ends");
      }
    }
    if (view.GetTile(static_cast<uint8_t>(level), rows_needed).ok()) {
      fail(std::nullopt, "hash row (" + std::to_string(level) + ", " + std::to_string(rows_needed) +
                             ") lies beyond the tree of " + std::to_string(n));
    }
  }
  QUIPU_ASSIGN_OR_RETURN(report.root, TreeRoot(n, rows));

  // Blocks: a chain from height 0, sizes increasing up to n, roots right.
  {
    Hash prev{};
    uint64_t expect_height = 0, last_size = 0;
    int64_t last_block_time = 0;
    Status s = view.ForEachBlock([&](uint64_t height, ByteView header) -> Status {
      const std::string where = "block " + std::to_string(height) + ": ";
      if (height != expect_height) {
        fail(std::nullopt, "block " + std::to_string(expect_height) + " is missing");
        return Corruption("stop");
      }
      auto b = ParseBlockHeader(crypto::AsString(header));
      if (!b.ok()) {
        fail(std::nullopt, where + b.status().message());
        return Corruption("stop");
      }
      std::optional<uint64_t> first = last_size < n ? std::optional<uint64_t>(last_size) : std::nullopt;
      if (b->height != height) fail(first, where + "header names height " + std::to_string(b->height));
      if (b->prev != prev) fail(first, where + "prev is not the hash of block " + std::to_string(height - 1));
      if (b->tree_size <= last_size || b->tree_size > n) fail(first, where + "tree size out of order");
      auto t = ParseTime(b->time);
      if (!t.ok() || *t < last_block_time) fail(first, where + "time goes backwards");
      if (report.ok) {
        auto root = TreeRoot(b->tree_size, rows);
        if (!root.ok() || *root != b->root) fail(first, where + "root differs from the tree's");
        if (!view.GetCheckpoint(b->tree_size).ok()) fail(first, where + "no checkpoint for its tree size");
      }
      if (!report.ok) return Corruption("stop");
      prev = crypto::Sha256(header);
      last_size = b->tree_size;
      last_block_time = t.ok() ? *t : last_block_time;
      ++expect_height;
      return Status::Ok();
    });
    if (!s.ok() && report.ok) return s;
    report.blocks = expect_height;
    if (report.ok && last_size != n) fail(std::nullopt, "the last block covers " + std::to_string(last_size) + " of " + std::to_string(n) + " entries");
  }

  // Checkpoints: each signed by the key, for its size, with that root.
  if (report.ok) {
    const crypto::NoteVerifier verifiers[] = {verifier};
    Status s = view.ForEachCheckpoint([&](uint64_t size, std::string_view note) -> Status {
      const std::string where = "checkpoint " + std::to_string(size) + ": ";
      auto opened = crypto::OpenNote(note, verifiers);
      if (!opened.ok() || opened->verified.empty()) {
        fail(std::nullopt, where + "signature does not verify" +
                               (opened.ok() ? std::string() : " (" + opened.status().message() + ")"));
        return Corruption("stop");
      }
      auto body = ParseCheckpointBody(opened->text);
      if (!body.ok()) {
        fail(std::nullopt, where + body.status().message());
      } else if (body->origin != origin || body->tree_size != size) {
        fail(std::nullopt, where + "body names another origin or size");
      } else if (size > n) {
        fail(std::nullopt, where + "beyond the tree");
      } else {
        auto root = TreeRoot(size, rows);
        if (!root.ok() || *root != body->root) fail(std::nullopt, where + "root differs from the tree's");
      }
      if (!report.ok) return Corruption("stop");
      ++report.checkpoints;
      return Status::Ok();
    });
    if (!s.ok() && report.ok) return s;
  }

  // The documents index: the same (document, index) pairs as the entries.
  // Records for indices past the snapshot are counted: damage.
  auto summed = index_sum.get();
  if (report.ok && !summed.ok() && summed.status().code() == StatusCode::kUnavailable) {
    summed = SumDocIndex(view, n);
  }
  if (report.ok && !summed.ok()) {
    // A malformed index (a chunk out of order, a run short of records, a
    // bad state record) is damage to report, not a failure to audit.
    if (summed.status().code() != StatusCode::kCorruption) return summed.status();
    fail(std::nullopt, summed.status().message());
  }
  if (report.ok) {
    const DocSum& index_docs = *summed;
    report.doc_records = index_docs.count;
    if (!(index_docs == entry_docs)) {
      // Find the first culprit the slow way.
      std::optional<uint64_t> culprit;
      std::string what = "documents index differs from the entries";
      Status scan = view.ForEachDocIndex([&](const crypto::Digest& sha, uint64_t index) -> Status {
        auto bytes = view.GetEntry(index);
        std::optional<crypto::Digest> doc;
        if (bytes.ok()) {
          auto e = options.entry_schema.ParseEntry(crypto::AsString(*bytes));
          if (e.ok()) doc = e->doc_sha256;
        }
        if (index < n && (!doc || *doc != sha)) {
          culprit = index;
          what = "documents index lists entry " + std::to_string(index) + " under " +
                 crypto::HexEncode(sha) + ", which it does not concern";
          return Corruption("stop");
        }
        return Status::Ok();
      });
      (void)scan;
      if (!culprit) {
        Status missing = view.ForEachEntry(0, n, [&](uint64_t index, ByteView bytes) -> Status {
          auto e = options.entry_schema.ParseEntry(crypto::AsString(bytes));
          if (!e.ok() || !e->doc_sha256) return Status::Ok();
          auto listed = view.DocIndices(*e->doc_sha256);
          if (!listed.ok() || !std::binary_search(listed->begin(), listed->end(), index)) {
            culprit = index;
            what = "entry " + std::to_string(index) + " is missing from the documents index";
            return Corruption("stop");
          }
          return Status::Ok();
        });
        (void)missing;
      }
      // Records beyond the snapshot belong to a writer's later commit only
      // if such entries exist now; a plain count difference is damage.
      if (culprit || index_docs.count != entry_docs.count) fail(culprit, what);
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace quipu::ledger
