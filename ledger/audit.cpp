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

// One audit of one snapshot, as phases that each record the first failure
// they find in the report (and stop there): the entries with their tree
// rows, time order and blocks; the rows end where the tree ends; the block
// chain; the checkpoints; the documents index.
class Auditor {
 public:
  Auditor(const AuditOptions& options, std::unique_ptr<Store> store, ReadView view)
      : options_(options), store_(std::move(store)), view_(std::move(view)), rows_(view_), tree_(rows_) {}

  AuditReport& report() { return report_; }
  uint64_t size() const { return n_; }

  // The origin and the key the checkpoints must verify under; the count.
  Status CheckKey() {
    auto origin_meta = view_.GetMeta("origin");
    if (!origin_meta.ok()) return NotFound("no quipu ledger in " + options_.dir);
    origin_ = std::string(crypto::AsString(*origin_meta));
    report_.vkey = options_.vkey;
    if (report_.vkey.empty()) {
      QUIPU_ASSIGN_OR_RETURN(ByteView stored, view_.GetMeta("vkey"));
      report_.vkey = std::string(crypto::AsString(stored));
      report_.vkey_from_ledger = true;
    }
    QUIPU_ASSIGN_OR_RETURN(verifier_, crypto::ParseVerifierKey(report_.vkey));
    if (verifier_.name != origin_) {
      Fail(std::nullopt, "verifier key names '" + verifier_.name + "' but the ledger's origin is '" + origin_ + "'");
    }
    QUIPU_ASSIGN_OR_RETURN(n_, view_.EntryCount());
    report_.entries = n_;
    return Status::Ok();
  }

  // The documents index summed from its own snapshot, meanwhile; used only
  // if that snapshot holds the same entries (the index changes only with
  // them), else summed again by CheckDocIndex.
  void StartIndexSum() {
    index_sum_ = std::async(std::launch::async, [store = store_.get(), n = n_]() -> Result<DocSum> {
      QUIPU_ASSIGN_OR_RETURN(ReadView own, store->Read());
      QUIPU_ASSIGN_OR_RETURN(uint64_t count, own.EntryCount());
      if (count != n) return Unavailable("a commit landed between the snapshots");
      return SumDocIndex(own, n);
    });
  }

  // Entries, leaves, tree rows, time order and block membership, in order.
  // Workers check chunk k+1 while this thread joins chunk k.
  void CheckEntries() {
    std::vector<std::future<PartResult>> next;
    if (n_ > 0) next = Launch(0);
    for (uint64_t chunk = 0; chunk < n_ && report_.ok; chunk += kChunk) {
      const uint64_t end = std::min(n_, chunk + kChunk);
      std::vector<std::future<PartResult>> parts = std::move(next);
      next.clear();
      if (end < n_ && report_.ok) next = Launch(end);
      uint64_t base = chunk;
      for (auto& f : parts) {
        PartResult part = f.get();
        if (report_.ok) base = Join(base, part);
      }
      if (options_.progress) options_.progress(end, n_);
    }
    // Stopped early: the futures of std::async wait for their workers when
    // destroyed, before the store they read closes.
  }

  // Nothing stored beyond the tree: each level's last row holds exactly
  // the complete subtrees of n leaves. Then the root.
  Status CheckRowsEndWithTheTree() {
    for (int level = 0; level < kMaxRowLevel && report_.ok; ++level) {
      const uint64_t count = n_ >> level;
      const uint64_t rows_needed = (count + kHashRowWidth - 1) / kHashRowWidth;
      if (count > 0) {
        auto last = view_.GetTile(static_cast<uint8_t>(level), rows_needed - 1);
        const size_t want = ((count - 1) % kHashRowWidth + 1) * 32;
        if (!last.ok() || last->size() != want) {
          Fail(std::nullopt, "hash row (" + std::to_string(level) + ", " + std::to_string(rows_needed - 1) +
                                 ") does not end where the tree of " + std::to_string(n_) + " ends");
        }
      }
      if (view_.GetTile(static_cast<uint8_t>(level), rows_needed).ok()) {
        Fail(std::nullopt, "hash row (" + std::to_string(level) + ", " + std::to_string(rows_needed) +
                               ") lies beyond the tree of " + std::to_string(n_));
      }
    }
    QUIPU_ASSIGN_OR_RETURN(report_.root, TreeRoot(n_, rows_));
    return Status::Ok();
  }

  // Blocks: a chain from height 0, sizes increasing up to n, roots right,
  // a checkpoint for each.
  Status CheckBlocks() {
    Hash prev{};
    uint64_t expect_height = 0, last_size = 0;
    int64_t last_block_time = 0;
    Status s = view_.ForEachBlock([&](uint64_t height, ByteView header) -> Status {
      const std::string where = "block " + std::to_string(height) + ": ";
      if (height != expect_height) {
        Fail(std::nullopt, "block " + std::to_string(expect_height) + " is missing");
        return Corruption("stop");
      }
      auto b = ParseBlockHeader(crypto::AsString(header));
      if (!b.ok()) {
        Fail(std::nullopt, where + b.status().message());
        return Corruption("stop");
      }
      std::optional<uint64_t> first = last_size < n_ ? std::optional<uint64_t>(last_size) : std::nullopt;
      if (b->height != height) Fail(first, where + "header names height " + std::to_string(b->height));
      if (b->prev != prev) Fail(first, where + "prev is not the hash of block " + std::to_string(height - 1));
      if (b->tree_size <= last_size || b->tree_size > n_) Fail(first, where + "tree size out of order");
      auto t = ParseTime(b->time);
      if (!t.ok() || *t < last_block_time) Fail(first, where + "time goes backwards");
      if (report_.ok) {
        auto root = TreeRoot(b->tree_size, rows_);
        if (!root.ok() || *root != b->root) Fail(first, where + "root differs from the tree's");
        if (!view_.GetCheckpoint(b->tree_size).ok()) Fail(first, where + "no checkpoint for its tree size");
      }
      if (!report_.ok) return Corruption("stop");
      prev = crypto::Sha256(header);
      last_size = b->tree_size;
      last_block_time = t.ok() ? *t : last_block_time;
      ++expect_height;
      return Status::Ok();
    });
    if (!s.ok() && report_.ok) return s;
    report_.blocks = expect_height;
    if (report_.ok && last_size != n_) {
      Fail(std::nullopt, "the last block covers " + std::to_string(last_size) + " of " + std::to_string(n_) +
                             " entries");
    }
    return Status::Ok();
  }

  // Checkpoints: each signed by the key, for its size, with that root.
  Status CheckCheckpoints() {
    const crypto::NoteVerifier verifiers[] = {verifier_};
    Status s = view_.ForEachCheckpoint([&](uint64_t size, std::string_view note) -> Status {
      const std::string where = "checkpoint " + std::to_string(size) + ": ";
      auto opened = crypto::OpenNote(note, verifiers);
      if (!opened.ok() || opened->verified.empty()) {
        Fail(std::nullopt, where + "signature does not verify" +
                               (opened.ok() ? std::string() : " (" + opened.status().message() + ")"));
        return Corruption("stop");
      }
      auto body = ParseCheckpointBody(opened->text);
      if (!body.ok()) {
        Fail(std::nullopt, where + body.status().message());
      } else if (body->origin != origin_ || body->tree_size != size) {
        Fail(std::nullopt, where + "body names another origin or size");
      } else if (size > n_) {
        Fail(std::nullopt, where + "beyond the tree");
      } else {
        auto root = TreeRoot(size, rows_);
        if (!root.ok() || *root != body->root) Fail(std::nullopt, where + "root differs from the tree's");
      }
      if (!report_.ok) return Corruption("stop");
      ++report_.checkpoints;
      return Status::Ok();
    });
    if (!s.ok() && report_.ok) return s;
    return Status::Ok();
  }

  // The documents index: the same (document, index) pairs as the entries.
  // Records for indices past the snapshot are counted: damage.
  Status CheckDocIndex() {
    auto summed = index_sum_.get();
    if (!summed.ok() && summed.status().code() == StatusCode::kUnavailable) summed = SumDocIndex(view_, n_);
    if (!summed.ok()) {
      // A malformed index (a chunk out of order, a run short of records, a
      // bad state record) is damage to report, not a failure to audit.
      if (summed.status().code() != StatusCode::kCorruption) return summed.status();
      Fail(std::nullopt, summed.status().message());
      return Status::Ok();
    }
    report_.doc_records = summed->count;
    if (*summed == entry_docs_) return Status::Ok();
    std::optional<uint64_t> culprit;
    std::string what = "documents index differs from the entries";
    FindIndexCulprit(culprit, what);
    // Records beyond the snapshot belong to a writer's later commit only
    // if such entries exist now; a plain count difference is damage.
    if (culprit || summed->count != entry_docs_.count) Fail(culprit, what);
    return Status::Ok();
  }

  // Waits for the index sum (if started): its worker reads the store.
  void Finish() {
    if (index_sum_.valid()) index_sum_.wait();
  }

 private:
  void Fail(std::optional<uint64_t> index, std::string what) {
    if (!report_.ok) return;
    report_.ok = false;
    report_.index = index;
    report_.failure = std::move(what);
  }

  // The parts of chunk [chunk, chunk + kChunk), on worker threads. Parts are
  // aligned powers of two when they can be, so that each worker checks
  // whole subtrees and this thread only joins their tops.
  std::vector<std::future<PartResult>> Launch(uint64_t chunk) {
    const int threads = options_.threads > 0 ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::future<PartResult>> parts;
    const uint64_t end = std::min(n_, chunk + kChunk);
    const uint64_t per = std::bit_ceil((end - chunk + threads - 1) / threads);
    for (uint64_t b = chunk; b < end; b += per) {
      const uint64_t e = std::min(end, b + per);
      parts.push_back(std::async(std::launch::async, [store = store_.get(), &schema = options_.entry_schema, b, e] {
        return CheckPart(*store, schema, b, e);
      }));
    }
    return parts;
  }

  // A checked part joined to what came before it (entries from `base`):
  // time order, block membership, the tree's edge, the documents' sum.
  // Returns where the next part starts.
  uint64_t Join(uint64_t base, const PartResult& part) {
    const uint64_t stop = base + part.times.size();
    for (uint64_t i = base; i < stop && report_.ok; ++i) {
      const int64_t time = part.times[i - base];
      if (time < last_time_) Fail(i, "entry " + std::to_string(i) + ": time goes backwards");
      last_time_ = time;
      while (report_.ok && (!block_ || i >= block_->tree_size)) {
        if (block_) block_first_ = block_->tree_size;
        if (!LoadBlock(block_ ? block_->height + 1 : 0)) break;
      }
      if (report_.ok && block_time_ != time) {
        Fail(i, "entry " + std::to_string(i) + ": time differs from its block " + std::to_string(block_->height) +
                    "'s");
      }
    }
    if (part.bad_index && report_.ok) {
      Fail(part.bad_index, "entry " + std::to_string(*part.bad_index) + ": " + part.failure);
    }
    for (const TreeChecker::Node& node : part.edge) {
      if (!report_.ok) break;
      if (auto bad = tree_.Add(node.level, node.index, node.hash)) {
        const uint64_t last_leaf = ((node.index + 1) << node.level) - 1;
        Fail(last_leaf, "entry " + std::to_string(last_leaf) + ": " + *bad);
      }
    }
    entry_docs_.Merge(part.docs);
    return stop;
  }

  // The block the entries from block_first_ belong to.
  bool LoadBlock(uint64_t height) {
    auto header = view_.GetBlock(height);
    if (!header.ok()) {
      Fail(block_first_, "no block covers entry " + std::to_string(block_first_));
      return false;
    }
    auto parsed = ParseBlockHeader(crypto::AsString(*header));
    if (!parsed.ok()) {
      Fail(block_first_, "block " + std::to_string(height) + ": " + parsed.status().message());
      return false;
    }
    block_ = *parsed;
    auto t = ParseTime(block_->time);
    block_time_ = t.ok() ? *t : -1;
    return true;
  }

  // The first index record or entry the index and the entries disagree on, the slow way.
  void FindIndexCulprit(std::optional<uint64_t>& culprit, std::string& what) {
    Status scan = view_.ForEachDocIndex([&](const crypto::Digest& sha, uint64_t index) -> Status {
      auto bytes = view_.GetEntry(index);
      std::optional<crypto::Digest> doc;
      if (bytes.ok()) {
        auto e = options_.entry_schema.ParseEntry(crypto::AsString(*bytes));
        if (e.ok()) doc = e->doc_sha256;
      }
      if (index < n_ && (!doc || *doc != sha)) {
        culprit = index;
        what = "documents index lists entry " + std::to_string(index) + " under " + crypto::HexEncode(sha) +
               ", which it does not concern";
        return Corruption("stop");
      }
      return Status::Ok();
    });
    (void)scan;
    if (culprit) return;
    Status missing = view_.ForEachEntry(0, n_, [&](uint64_t index, ByteView bytes) -> Status {
      auto e = options_.entry_schema.ParseEntry(crypto::AsString(bytes));
      if (!e.ok() || !e->doc_sha256) return Status::Ok();
      auto listed = view_.DocIndices(*e->doc_sha256);
      if (!listed.ok() || !std::binary_search(listed->begin(), listed->end(), index)) {
        culprit = index;
        what = "entry " + std::to_string(index) + " is missing from the documents index";
        return Corruption("stop");
      }
      return Status::Ok();
    });
    (void)missing;
  }

  const AuditOptions& options_;
  std::unique_ptr<Store> store_;
  ReadView view_;
  HashRowReader rows_;
  TreeChecker tree_;
  AuditReport report_;
  std::string origin_;
  crypto::NoteVerifier verifier_;
  uint64_t n_ = 0;
  DocSum entry_docs_;
  std::future<Result<DocSum>> index_sum_;
  // CheckEntries' place in the blocks and in time.
  std::optional<Block> block_;  // the block the current entries belong to
  int64_t block_time_ = -1;
  uint64_t block_first_ = 0;
  int64_t last_time_ = 0;
};

}  // namespace

Result<AuditReport> Audit(const AuditOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  StoreOptions so;
  so.read_only = true;
  QUIPU_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(options.dir, so));
  QUIPU_ASSIGN_OR_RETURN(ReadView view, store->Read());
  Auditor audit(options, std::move(store), std::move(view));
  AuditReport& report = audit.report();
  QUIPU_RETURN_IF_ERROR(audit.CheckKey());
  audit.StartIndexSum();
  Status s = Status::Ok();
  audit.CheckEntries();
  if (report.ok) s = audit.CheckRowsEndWithTheTree();
  if (s.ok() && report.ok) s = audit.CheckBlocks();
  if (s.ok() && report.ok) s = audit.CheckCheckpoints();
  if (s.ok() && report.ok) s = audit.CheckDocIndex();
  audit.Finish();
  QUIPU_RETURN_IF_ERROR(s);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace quipu::ledger
