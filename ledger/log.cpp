#include "ledger/log.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "crypto/encoding.h"
#include "crypto/jcs.h"
#include "crypto/note.h"
#include "ledger/checkpoint.h"
#include "ledger/entry.h"
#include "ledger/hash_rows.h"
#include "ledger/helper_thread.h"
#include "ledger/merkle.h"
#include "ledger/tiles.h"

namespace quipu::ledger {
namespace {

constexpr char kMetaOrigin[] = "origin";
constexpr char kMetaVerifierKey[] = "vkey";

struct Pending {
  std::vector<CanonicalFields> entries;  // checked on the caller's thread: the writer only splices and hashes
  std::function<Status(PrivateTxn&, uint64_t, const std::string&)> apply;
  size_t late_count = 0;
  std::function<Result<std::vector<nlohmann::json>>(uint64_t)> late_entries;
  std::promise<Result<AppendResult>> promise;
};

// The canonical fields of every entry type end with `"type":"<t>"}`, and
// "time" sorts just before "type" and "v" after it (docs/ledger.md), so the
// entry is the fields with `"time":"<t>",` inserted before the last
// `"type":` and `,"v":1` before the final brace. Inside canonical strings
// a quote is escaped, so the last `,"type":` is the key.
// Appends the entry to `out`, which holds a whole batch's entries.
void SpliceEntry(std::string_view fields, std::string_view time, std::string& out) {
  const size_t at = fields.rfind(",\"type\":") + 1;
  out.append(fields.substr(0, at));
  out += "\"time\":\"";
  out.append(time);
  out += "\",";
  out.append(fields.substr(at, fields.size() - at - 1));
  out += ",\"v\":1}";
}

// Private writes of one request, kept aside until its apply() succeeds so a
// failing request leaves nothing behind while the batch goes on.
class OverlayTxn final : public PrivateTxn {
 public:
  explicit OverlayTxn(WriteBatch& batch) : batch_(batch) {}

  Result<std::optional<std::string>> Get(const PrivateTable& table, std::string_view key) override {
    QUIPU_RETURN_IF_ERROR(Check(table, key));
    if (auto it = writes_.find({table, std::string(key)}); it != writes_.end()) return it->second;
    auto value = batch_.Get(table, crypto::AsBytes(key));
    if (value.ok()) return std::optional<std::string>(std::string(crypto::AsString(*value)));
    if (value.status().code() == StatusCode::kNotFound) return std::optional<std::string>();
    return value.status();
  }
  Status Put(const PrivateTable& table, std::string_view key, std::string_view value) override {
    QUIPU_RETURN_IF_ERROR(Check(table, key));
    writes_[{table, std::string(key)}] = std::string(value);
    return Status::Ok();
  }
  Status Delete(const PrivateTable& table, std::string_view key) override {
    QUIPU_RETURN_IF_ERROR(Check(table, key));
    writes_[{table, std::string(key)}] = std::nullopt;
    return Status::Ok();
  }
  Status Flush() {
    for (const auto& [k, v] : writes_) {
      if (v) {
        QUIPU_RETURN_IF_ERROR(batch_.Put(k.first, crypto::AsBytes(k.second), crypto::AsBytes(*v)));
      } else {
        Status s = batch_.Delete(k.first, crypto::AsBytes(k.second));
        if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
      }
    }
    return Status::Ok();
  }

 private:
  // What Flush would refuse is refused now, so that it fails this request
  // alone, not the batch.
  Status Check(const PrivateTable& table, std::string_view key) const {
    QUIPU_RETURN_IF_ERROR(batch_.CheckTable(table));
    if (key.empty() || key.size() > 511) return InvalidArgument("private key must have 1..511 bytes");
    return Status::Ok();
  }

  WriteBatch& batch_;
  std::map<std::pair<PrivateTable, std::string>, std::optional<std::string>> writes_;
};

// Every Log gets its own number, so a thread's row cache (below) never
// answers for another ledger, even one opened at the same address later.
std::atomic<uint64_t> next_log_id{1};

// This thread's copies of the upper hash rows of log `id` (see HashRowCache).
HashRowCache* ThreadRowCache(uint64_t id) {
  thread_local struct {
    uint64_t id = 0;
    HashRowCache cache;
  } local;
  if (local.id != id) {
    local.cache = HashRowCache();
    local.id = id;
  }
  return &local.cache;
}

int64_t SystemMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Hashes a helper thread claims at a time.
constexpr size_t kHashChunk = 64;

// Validates and canonicalizes one entry's type fields for the writer.
Result<CanonicalFields> Prepare(const EntrySchema& schema, const nlohmann::json& fields, size_t i) {
  auto prepared = schema.CanonicalizeFields(fields);
  if (!prepared.ok()) return prepared.status().WithContext("entry " + std::to_string(i));
  return prepared;
}


// The answer when node.key exists but ledger.mdb does not hold a ledger.
Status LostLedger(const std::string& data_path, const std::string& key_path, std::string_view what) {
  return Corruption(data_path + " " + std::string(what) + " but " + key_path +
                    " does: the ledger's history is lost (the file was removed or truncated); restore "
                    "ledger.mdb from a backup (README, Operations). To start a new ledger on purpose, "
                    "move the whole directory away and run `quipu log init` (a new ledger needs a new key)");
}

}  // namespace

struct Log::Impl {
  const uint64_t id = next_log_id.fetch_add(1);
  LogOptions options;
  std::unique_ptr<Store> store;
  std::optional<crypto::NoteSigner> signer;  // absent when read-only
  std::string origin;
  std::string vkey;

  // The committed head, swapped after each commit; its size is also kept
  // apart for readers that need only that.
  mutable std::mutex head_mu;
  LogHead head;
  std::atomic<uint64_t> tree_size{0};

  // Sequencer state, owned by the writer thread once it runs.
  uint64_t next_height = 0;
  Hash prev_block{};
  int64_t last_time = 0;

  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<Pending> queue;
  size_t queued_entries = 0;
  bool stopping = false;
  std::thread writer;
  std::unique_ptr<HelperThread> helper;  // the writer thread's hashing helper
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> entries_committed{0};

  Status Init();
  void Run();
  void Commit(std::vector<Pending>& batch);
  Status CommitOnce(WriteBatch& b, std::vector<Pending>& batch, std::vector<Result<AppendResult>>& out,
                    Block& block, LogHead& new_head);
};

Status Log::Impl::Init() {
  StoreOptions so;
  so.read_only = options.read_only;
  so.sync = options.sync;
  so.initial_map_size = options.initial_map_bytes;
  so.private_tables = options.private_tables;
  const std::string data_path = options.dir + "/ledger.mdb";
  const std::string key_path = options.dir + "/" + kNodeKeyFile;
  std::error_code ec;
  const bool has_data = std::filesystem::exists(data_path, ec);
  // The key is made only after ledger.mdb holds its tables (below), so a
  // key beside a missing or empty ledger.mdb means the history was lost:
  // creating a new ledger would sign a second history with the same key.
  if (std::filesystem::exists(key_path, ec)) {
    if (!has_data) return LostLedger(data_path, key_path, "does not exist");
    if (std::filesystem::file_size(data_path, ec) == 0 && !ec) {
      return LostLedger(data_path, key_path, "is empty (0 bytes)");
    }
  }
  if ((options.read_only || !options.create) && !has_data) {
    return NotFound("no ledger in " + options.dir + " (create one with `quipu log init`)");
  }
  QUIPU_ASSIGN_OR_RETURN(store, Store::Open(options.dir, so));

  std::string stored_origin;
  {
    QUIPU_ASSIGN_OR_RETURN(ReadView view, store->Read());
    if (auto o = view.GetMeta(kMetaOrigin); o.ok()) {
      stored_origin = std::string(crypto::AsString(*o));
      QUIPU_ASSIGN_OR_RETURN(auto v, view.GetMeta(kMetaVerifierKey));
      vkey = std::string(crypto::AsString(v));
    } else if (o.status().code() != StatusCode::kNotFound) {
      return o.status();
    }
  }
  if (stored_origin.empty()) {
    if (options.read_only) return NotFound("no ledger in " + options.dir);
    origin = options.origin.empty() ? std::string(kDefaultOrigin) : options.origin;
    if (!crypto::IsValidKeyName(origin)) {
      return InvalidArgument("origin '" + origin + "' is not a valid signed-note key name");
    }
    // A key left by an interrupted init is reused; otherwise a new one.
    if (!std::filesystem::exists(key_path)) {
      QUIPU_RETURN_IF_ERROR(crypto::SaveSigningKey(key_path, crypto::SigningKey::Generate(), origin));
    }
    QUIPU_ASSIGN_OR_RETURN(crypto::NoteSigner s, crypto::LoadNoteSigner(key_path));
    if (s.name() != origin) {
      return InvalidArgument(key_path + " names '" + s.name() + "', not origin '" + origin + "'");
    }
    vkey = crypto::VerifierKeyString(s.name(), s.public_key());
    signer.emplace(std::move(s));
    QUIPU_RETURN_IF_ERROR(store->Write([&](WriteBatch& b) {
      QUIPU_RETURN_IF_ERROR(b.PutMeta(kMetaOrigin, crypto::AsBytes(origin)));
      return b.PutMeta(kMetaVerifierKey, crypto::AsBytes(vkey));
    }));
  } else {
    origin = stored_origin;
    if (!options.origin.empty() && options.origin != origin) {
      return InvalidArgument("the ledger in " + options.dir + " has origin '" + origin + "', not '" +
                             options.origin + "'");
    }
    if (!options.read_only) {
      QUIPU_ASSIGN_OR_RETURN(crypto::NoteSigner s, crypto::LoadNoteSigner(key_path));
      if (crypto::VerifierKeyString(s.name(), s.public_key()) != vkey) {
        return Corruption(key_path + " is not the key of this ledger (verifier key " + vkey + ")");
      }
      signer.emplace(std::move(s));
    }
  }

  // The head and the chain state from the last commit.
  QUIPU_ASSIGN_OR_RETURN(ReadView view, store->Read());
  QUIPU_ASSIGN_OR_RETURN(uint64_t size, view.EntryCount());
  head.tree_size = size;
  tree_size.store(size, std::memory_order_release);
  if (auto cp = view.LatestCheckpoint(); cp.ok()) {
    if (cp->tree_size != size) {
      return Corruption("latest checkpoint is for size " + std::to_string(cp->tree_size) + " but " +
                        std::to_string(size) + " entries are stored");
    }
    head.checkpoint = std::string(cp->note);
  } else if (cp.status().code() != StatusCode::kNotFound) {
    return cp.status();
  }
  HashRowReader rows(view);
  QUIPU_ASSIGN_OR_RETURN(head.root, TreeRoot(size, rows));
  if (head.checkpoint.empty() && size == 0 && signer) {
    // A new log publishes a signed checkpoint of the empty tree at once, so
    // /checkpoint always answers and every later size is consistent with it.
    QUIPU_ASSIGN_OR_RETURN(head.checkpoint,
                           crypto::SignNote(CheckpointBody(origin, 0, head.root), *signer));
    QUIPU_RETURN_IF_ERROR(store->Write([&](WriteBatch& b) { return b.PutCheckpoint(0, head.checkpoint); }));
  }
  if (auto latest = view.LatestBlock(); latest.ok()) {
    QUIPU_ASSIGN_OR_RETURN(Block b, ParseBlockHeader(crypto::AsString(latest->header)));
    next_height = latest->height + 1;
    prev_block = crypto::Sha256(latest->header);
    QUIPU_ASSIGN_OR_RETURN(last_time, ParseTime(b.time));
  } else if (latest.status().code() != StatusCode::kNotFound) {
    return latest.status();
  }
  if (!options.clock) options.clock = SystemMicros;
  return Status::Ok();
}

void Log::Impl::Run() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(queue_mu);
      queue_cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) return;  // stopping, and everything queued is committed
      size_t taken = 0;
      while (!queue.empty() &&
             (batch.empty() ||
              (taken + queue.front().entries.size() + queue.front().late_count <= options.max_batch_entries &&
               batch.size() < options.max_batch_requests))) {
        taken += queue.front().entries.size() + queue.front().late_count;
        batch.push_back(std::move(queue.front()));
        queue.pop_front();
      }
      queued_entries -= taken;
    }
    Commit(batch);
  }
}

Status Log::Impl::CommitOnce(WriteBatch& b, std::vector<Pending>& batch,
                             std::vector<Result<AppendResult>>& out, Block& block, LogHead& new_head) {
  // Store::Write may run this again after growing the map: start clean.
  out.clear();
  const int64_t now = std::max(options.clock(), last_time);
  const std::string time = FormatTime(now);
  const uint64_t old_size = head.tree_size;
  uint64_t size = old_size;
  std::vector<WriteBatch::DocRecord> docs;
  std::string spliced;        // the batch's entries, back to back
  std::vector<size_t> ends;   // where each ends in `spliced`
  for (Pending& p : batch) {
    // The request's private writes wait in an overlay until its late
    // entries are made too: a failure of either leaves nothing behind.
    OverlayTxn txn(b);
    if (p.apply) {
      Status s = p.apply(txn, size, time);
      if (!s.ok()) {
        out.emplace_back(s);
        continue;
      }
    }
    std::vector<CanonicalFields> late;
    if (p.late_entries) {
      auto fields = p.late_entries(size + p.entries.size());
      Status bad = fields.ok() ? Status::Ok() : fields.status();
      if (bad.ok() && fields->size() != p.late_count) bad = Internal("late_entries returned the wrong count");
      for (size_t i = 0; bad.ok() && i < fields->size(); ++i) {
        auto e = Prepare(options.entry_schema, (*fields)[i], p.entries.size() + i);
        if (!e.ok()) bad = e.status();
        else late.push_back(std::move(*e));
      }
      if (!bad.ok()) {
        out.emplace_back(bad);
        continue;
      }
    }
    QUIPU_RETURN_IF_ERROR(txn.Flush());
    AppendResult r;
    r.first_index = size;
    r.count = p.entries.size() + late.size();
    r.time = time;
    std::vector<const CanonicalFields*> all;
    all.reserve(r.count);
    for (const CanonicalFields& e : p.entries) all.push_back(&e);
    for (const CanonicalFields& e : late) all.push_back(&e);
    for (const CanonicalFields* ep : all) {
      const CanonicalFields& e = *ep;
      SpliceEntry(e.text(), time, spliced);
      ends.push_back(spliced.size());
      if (e.doc_sha256()) docs.push_back({*e.doc_sha256(), size});
      ++size;
    }
    out.emplace_back(std::move(r));
  }
  new_head = head;
  if (size == old_size) return Status::Ok();  // private writes only: the tree is unchanged

  // The leaves are hashed (partly on the helper thread) while the entries
  // and the documents index are written.
  std::vector<std::string_view> entries(ends.size());
  for (size_t i = 0, start = 0; i < ends.size(); start = ends[i++]) {
    entries[i] = std::string_view(spliced).substr(start, ends[i] - start);
  }
  std::vector<Hash> leaves(entries.size());
  helper->Start(entries.size(), kHashChunk, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) leaves[i] = LeafHash(crypto::AsBytes(entries[i]));
  });
  Status written = [&]() -> Status {
    for (size_t i = 0; i < entries.size(); ++i) {
      QUIPU_RETURN_IF_ERROR(b.PutEntry(old_size + i, crypto::AsBytes(entries[i])));
    }
    return b.IndexDocuments(docs);
  }();
  helper->Finish();
  QUIPU_RETURN_IF_ERROR(written);
  QUIPU_RETURN_IF_ERROR(AppendHashRows(b, old_size, leaves, [&](size_t n, const HelperThread::Body& body) {
    helper->For(n, kHashChunk, body);
  }));
  HashRowReader rows(b);
  QUIPU_ASSIGN_OR_RETURN(Hash root, TreeRoot(size, rows));
  block = Block{next_height, size, root, time, prev_block};
  const std::string header = block.CanonicalHeader();
  QUIPU_RETURN_IF_ERROR(b.PutBlock(block.height, crypto::AsBytes(header)));
  QUIPU_ASSIGN_OR_RETURN(std::string note, crypto::SignNote(CheckpointBody(origin, size, root), *signer));
  QUIPU_RETURN_IF_ERROR(b.PutCheckpoint(size, note));
  new_head = LogHead{size, root, note};
  for (auto& r : out) {
    if (r.ok()) {
      r->tree_size = size;
      r->checkpoint = note;
    }
  }
  return Status::Ok();
}

void Log::Impl::Commit(std::vector<Pending>& batch) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<Result<AppendResult>> out;
  Block block;
  LogHead new_head;
  Status s = store->Write([&](WriteBatch& b) { return CommitOnce(b, batch, out, block, new_head); });
  if (!s.ok()) {
    for (Pending& p : batch) p.promise.set_value(s);
    return;
  }
  size_t entries = 0;
  if (new_head.tree_size != head.tree_size) {
    entries = new_head.tree_size - head.tree_size;
    next_height = block.height + 1;
    prev_block = crypto::Sha256(block.CanonicalHeader());
    auto t = ParseTime(block.time);
    if (t.ok()) last_time = *t;
    std::lock_guard lock(head_mu);
    head = new_head;
    tree_size.store(head.tree_size, std::memory_order_release);
  }
  batches.fetch_add(1, std::memory_order_relaxed);
  entries_committed.fetch_add(entries, std::memory_order_relaxed);
  if (options.on_commit) {
    options.on_commit(entries, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  for (size_t i = 0; i < batch.size(); ++i) batch[i].promise.set_value(std::move(out[i]));
}

Log::Log(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Log>> Log::Open(const LogOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  QUIPU_RETURN_IF_ERROR(impl->Init());
  Impl* raw = impl.get();
  if (!options.read_only) {
    raw->helper = std::make_unique<HelperThread>();
    raw->writer = std::thread([raw] { raw->Run(); });
  }
  return std::unique_ptr<Log>(new Log(std::move(impl)));
}

Log::~Log() {
  {
    std::lock_guard lock(impl_->queue_mu);
    impl_->stopping = true;
  }
  impl_->queue_cv.notify_all();
  if (impl_->writer.joinable()) impl_->writer.join();
}

std::future<Result<AppendResult>> Log::Append(AppendRequest request) {
  std::promise<Result<AppendResult>> promise;
  auto future = promise.get_future();
  auto fail = [&](Status s) {
    promise.set_value(std::move(s));
    return std::move(future);
  };
  if (impl_->options.read_only) return fail(Unavailable("the ledger is open read-only"));
  const size_t given = request.entries.size() + request.checked.size();
  if (given + request.late_count > impl_->options.max_batch_entries) {
    return fail(InvalidArgument("a request may hold at most " +
                                std::to_string(impl_->options.max_batch_entries) + " entries"));
  }
  if (request.late_count > 0 && !request.late_entries) {
    return fail(InvalidArgument("late_count without late_entries"));
  }
  Pending p;
  p.entries.reserve(given);
  for (size_t i = 0; i < request.entries.size(); ++i) {
    auto e = Prepare(impl_->options.entry_schema, request.entries[i], i);
    if (!e.ok()) return fail(e.status());
    p.entries.push_back(std::move(*e));
  }
  for (size_t i = 0; i < request.checked.size(); ++i) {
    if (!impl_->options.entry_schema.Checked(request.checked[i])) {
      return fail(InvalidArgument("entry " + std::to_string(request.entries.size() + i) +
                                  ": checked against another entry schema than the log's"));
    }
    p.entries.push_back(std::move(request.checked[i]));
  }
  p.apply = std::move(request.apply);
  p.late_count = request.late_count;
  p.late_entries = std::move(request.late_entries);
  p.promise = std::move(promise);
  {
    std::lock_guard lock(impl_->queue_mu);
    if (impl_->stopping) {
      p.promise.set_value(Unavailable("the ledger is closing"));
      return future;
    }
    const size_t n = p.entries.size() + p.late_count;
    if (impl_->queued_entries + n > impl_->options.queue_capacity_entries) {
      p.promise.set_value(Unavailable("the sequencer queue is full; retry shortly"));
      return future;
    }
    impl_->queued_entries += n;
    impl_->queue.push_back(std::move(p));
  }
  impl_->queue_cv.notify_one();
  return future;
}

const std::string& Log::origin() const { return impl_->origin; }
const std::string& Log::verifier_key() const { return impl_->vkey; }

LogHead Log::Head() const {
  std::lock_guard lock(impl_->head_mu);
  return impl_->head;
}

Result<std::string> Log::Entry(uint64_t index) const {
  QUIPU_ASSIGN_OR_RETURN(ReadView view, impl_->store->Read());
  QUIPU_ASSIGN_OR_RETURN(ByteView bytes, view.GetEntry(index));
  return std::string(crypto::AsString(bytes));
}

Result<std::string> Log::Checkpoint(uint64_t tree_size) const {
  QUIPU_ASSIGN_OR_RETURN(ReadView view, impl_->store->Read());
  auto note = view.GetCheckpoint(tree_size);
  if (!note.ok()) {
    if (note.status().code() == StatusCode::kNotFound) {
      return NotFound("no checkpoint was signed for tree size " + std::to_string(tree_size));
    }
    return note.status();
  }
  return std::string(*note);
}

Result<InclusionProof> Log::ProveInclusion(uint64_t index, uint64_t tree_size) const {
  const uint64_t current = impl_->tree_size.load(std::memory_order_acquire);
  if (tree_size > current) {
    return NotFound("tree size " + std::to_string(tree_size) + " is beyond the log's " +
                    std::to_string(current));
  }
  if (index >= tree_size) {
    return NotFound("index " + std::to_string(index) + " is not in a tree of size " +
                    std::to_string(tree_size));
  }
  QUIPU_ASSIGN_OR_RETURN(ReadView view, impl_->store->Read());
  HashRowReader rows(view, ThreadRowCache(impl_->id));
  InclusionProof p;
  p.index = index;
  p.tree_size = tree_size;
  rows.PrefetchPath(index, tree_size);
  QUIPU_ASSIGN_OR_RETURN(p.leaf_hash, rows.StoredHash(0, index));
  QUIPU_ASSIGN_OR_RETURN(p.proof, ledger::ProveInclusion(index, tree_size, rows));
  if (auto note = view.GetCheckpoint(tree_size); note.ok()) p.checkpoint = std::string(*note);
  return p;
}

Result<std::vector<Hash>> Log::ProveConsistency(uint64_t old_size, uint64_t new_size) const {
  const uint64_t current = impl_->tree_size.load(std::memory_order_acquire);
  if (new_size > current) {
    return NotFound("tree size " + std::to_string(new_size) + " is beyond the log's " +
                    std::to_string(current));
  }
  if (old_size > new_size) return InvalidArgument("old size is larger than new size");
  QUIPU_ASSIGN_OR_RETURN(ReadView view, impl_->store->Read());
  HashRowReader rows(view, ThreadRowCache(impl_->id));
  return ledger::ProveConsistency(old_size, new_size, rows);
}

Result<Hash> Log::Root(uint64_t tree_size) const {
  if (tree_size > impl_->tree_size.load(std::memory_order_acquire)) {
    return NotFound("tree size beyond the log");
  }
  QUIPU_ASSIGN_OR_RETURN(ReadView view, impl_->store->Read());
  HashRowReader rows(view, ThreadRowCache(impl_->id));
  return TreeRoot(tree_size, rows);
}

Result<std::vector<uint64_t>> Log::FindDocument(const crypto::Digest& sha256) const {
  QUIPU_ASSIGN_OR_RETURN(ReadView view, impl_->store->Read());
  return view.DocIndices(sha256);
}

Result<DocumentLookup> Log::LookupDocument(const crypto::Digest& sha256, size_t limit) const {
  QUIPU_ASSIGN_OR_RETURN(ReadView view, impl_->store->Read());
  DocumentLookup out;
  QUIPU_ASSIGN_OR_RETURN(auto cp, view.LatestCheckpoint());
  out.tree_size = cp.tree_size;
  out.checkpoint = std::string(cp.note);
  QUIPU_ASSIGN_OR_RETURN(std::vector<uint64_t> indices, view.DocIndices(sha256));
  HashRowReader rows(view, ThreadRowCache(impl_->id));
  for (uint64_t index : indices) {
    if (index >= out.tree_size) break;
    if (out.records.size() == limit) {
      out.truncated = true;
      break;
    }
    DocumentRecord r;
    r.index = index;
    QUIPU_ASSIGN_OR_RETURN(ByteView bytes, view.GetEntry(index));
    r.entry = std::string(crypto::AsString(bytes));
    rows.PrefetchPath(index, out.tree_size);
    QUIPU_ASSIGN_OR_RETURN(r.leaf_hash, rows.StoredHash(0, index));
    QUIPU_ASSIGN_OR_RETURN(r.proof, ledger::ProveInclusion(index, out.tree_size, rows));
    out.records.push_back(std::move(r));
  }
  return out;
}

Result<Block> Log::GetBlock(uint64_t height) const {
  QUIPU_ASSIGN_OR_RETURN(ReadView view, impl_->store->Read());
  QUIPU_ASSIGN_OR_RETURN(ByteView header, view.GetBlock(height));
  return ParseBlockHeader(crypto::AsString(header));
}

Result<Block> Log::LatestBlock() const {
  QUIPU_ASSIGN_OR_RETURN(ReadView view, impl_->store->Read());
  QUIPU_ASSIGN_OR_RETURN(auto latest, view.LatestBlock());
  return ParseBlockHeader(crypto::AsString(latest.header));
}

Result<std::string> Log::Tile(int level, uint64_t index, int width) const {
  if (level < 0 || level > kMaxTileLevel || width < 1 || width > kHashRowWidth) {
    return NotFound("no such tile");
  }
  QUIPU_ASSIGN_OR_RETURN(ReadView view, impl_->store->Read());
  auto row = view.GetTile(static_cast<uint8_t>(level * kTileHeight), index);
  if (!row.ok()) {
    if (row.status().code() == StatusCode::kNotFound) return NotFound("tile beyond the tree");
    return row.status();
  }
  const size_t want = static_cast<size_t>(width) * 32;
  if (row->size() < want) return NotFound("tile beyond the tree");
  return std::string(crypto::AsString(row->first(want)));
}

Result<std::string> Log::EntryBundle(uint64_t index, int width) const {
  if (width < 1 || width > kHashRowWidth) return NotFound("no such tile");
  QUIPU_ASSIGN_OR_RETURN(ReadView view, impl_->store->Read());
  const uint64_t first = index * kHashRowWidth;
  if (index > (uint64_t{1} << 55)) return NotFound("tile beyond the tree");
  std::string bundle;
  bundle.reserve(static_cast<size_t>(width) * 320);
  Status s = view.ForEachEntry(first, first + width, [&](uint64_t, ByteView bytes) {
    bundle += static_cast<char>(bytes.size() >> 8);
    bundle += static_cast<char>(bytes.size() & 0xff);
    bundle.append(crypto::AsString(bytes));
    return Status::Ok();
  });
  QUIPU_RETURN_IF_ERROR(s);
  QUIPU_ASSIGN_OR_RETURN(uint64_t count, view.EntryCount());
  if (first + width > count) return NotFound("tile beyond the tree");
  return bundle;
}

Result<std::optional<std::string>> Log::ReadPrivate(const PrivateTable& table, std::string_view key) const {
  QUIPU_ASSIGN_OR_RETURN(ReadView view, impl_->store->Read());
  auto value = view.Get(table, crypto::AsBytes(key));
  if (value.ok()) return std::optional<std::string>(std::string(crypto::AsString(*value)));
  if (value.status().code() == StatusCode::kNotFound) return std::optional<std::string>();
  return value.status();
}

Status Log::ScanPrivate(const PrivateTable& table, std::string_view prefix,
                        const std::function<bool(std::string_view, std::string_view)>& fn) const {
  QUIPU_ASSIGN_OR_RETURN(ReadView view, impl_->store->Read());
  // A sentinel status ends the scan early; it never leaves this function.
  const Status stop(StatusCode::kAlreadyExists, "scan stopped");
  Status s = view.ForEach(table, crypto::AsBytes(prefix), [&](ByteView k, ByteView v) {
    std::string_view key = crypto::AsString(k);
    if (key.substr(0, prefix.size()) != prefix || !fn(key, crypto::AsString(v))) return stop;
    return Status::Ok();
  });
  if (!s.ok() && s.message() == stop.message() && s.code() == stop.code()) return Status::Ok();
  return s;
}

Status Log::Backup(const std::string& dest_dir) const { return impl_->store->Backup(dest_dir); }

SequencerStats Log::stats() const {
  SequencerStats s;
  {
    std::lock_guard lock(impl_->queue_mu);
    s.queue_depth_entries = impl_->queued_entries;
  }
  s.batches = impl_->batches.load(std::memory_order_relaxed);
  s.entries = impl_->entries_committed.load(std::memory_order_relaxed);
  return s;
}

}  // namespace quipu::ledger
