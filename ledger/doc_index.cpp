#include "ledger/doc_index.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <string>
#include <utility>

#include "crypto/encoding.h"
#include "ledger/lmdb_env.h"

namespace quipu::ledger::doc_index {
namespace {

using Record = std::array<uint8_t, kRecordSize>;
constexpr size_t kChunkBytes = kChunkRecords * kRecordSize;
constexpr size_t kKeySize = 8 + kRecordSize;  // run id ‖ last record

struct Run {
  uint64_t id;
  uint64_t count;
};

struct Merge {
  uint64_t output;
  uint64_t written;  // records in the output so far
  Record last;       // the last of them (meaningful when written > 0)
  std::vector<uint64_t> inputs;
};

// Everything a lookup or the next commit needs to know about the runs.
struct State {
  uint64_t next_id = 0;
  std::vector<Run> live;           // searched by lookups, in id order
  std::vector<Merge> merges;       // inputs are live runs; outputs are not yet
  std::vector<uint64_t> dead;      // merged away, their chunks being deleted
};

// Size class of a run: runs of one class are merged together.
int Level(uint64_t count) { return count == 0 ? 0 : (std::bit_width(count) - 1) / 3; }

// ---- The state record: u64 BE fields (see docs/ledger.md) ------------------

void PutU64(std::string& out, uint64_t v) {
  uint8_t b[8];
  lmdb::StoreU64BE(v, b);
  out.append(reinterpret_cast<const char*>(b), 8);
}

std::string EncodeState(const State& s) {
  std::string out;
  PutU64(out, s.next_id);
  PutU64(out, s.live.size());
  for (const Run& r : s.live) {
    PutU64(out, r.id);
    PutU64(out, r.count);
  }
  PutU64(out, s.merges.size());
  for (const Merge& m : s.merges) {
    PutU64(out, m.output);
    PutU64(out, m.written);
    out.append(reinterpret_cast<const char*>(m.last.data()), m.last.size());
    PutU64(out, m.inputs.size());
    for (uint64_t id : m.inputs) PutU64(out, id);
  }
  PutU64(out, s.dead.size());
  for (uint64_t id : s.dead) PutU64(out, id);
  return out;
}

class StateReader {
 public:
  explicit StateReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  bool U64(uint64_t* v) {
    if (bytes_.size() - pos_ < 8) return false;
    *v = lmdb::LoadU64BE(bytes_.data() + pos_);
    pos_ += 8;
    return true;
  }
  bool Bytes(uint8_t* out, size_t n) {
    if (bytes_.size() - pos_ < n) return false;
    std::memcpy(out, bytes_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  // A count of items of at least `item_bytes` each that can still follow.
  bool Count(uint64_t* n, size_t item_bytes) { return U64(n) && *n <= (bytes_.size() - pos_) / item_bytes; }
  bool AtEnd() const { return pos_ == bytes_.size(); }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

Status BadState(const std::string& why) { return Corruption("documents index state (meta docs_runs): " + why); }

// `checked`: also check that the ids are consistent (writes and audits do;
// lookups need only the live runs and leave the rest to audits).
Result<State> DecodeState(std::span<const uint8_t> bytes, bool checked) {
  StateReader in(bytes);
  State s;
  uint64_t n;
  if (!in.U64(&s.next_id) || !in.Count(&n, 16)) return BadState("truncated");
  for (uint64_t i = 0; i < n; ++i) {
    Run r;
    if (!in.U64(&r.id) || !in.U64(&r.count)) return BadState("truncated");
    s.live.push_back(r);
  }
  if (!in.Count(&n, 8 + 8 + kRecordSize + 8)) return BadState("truncated");
  for (uint64_t i = 0; i < n; ++i) {
    Merge m;
    uint64_t inputs;
    if (!in.U64(&m.output) || !in.U64(&m.written) || !in.Bytes(m.last.data(), m.last.size()) ||
        !in.Count(&inputs, 8)) {
      return BadState("truncated");
    }
    m.inputs.resize(inputs);
    for (uint64_t& id : m.inputs) in.U64(&id);
    s.merges.push_back(std::move(m));
  }
  if (!in.Count(&n, 8)) return BadState("truncated");
  s.dead.resize(n);
  for (uint64_t& id : s.dead) in.U64(&id);
  if (!in.AtEnd()) return BadState("trailing bytes");
  if (!checked) return s;

  // Every id names one run, below next_id; merge inputs are live runs.
  std::vector<uint64_t> ids;
  for (const Run& r : s.live) {
    if (r.count == 0) return BadState("live run " + std::to_string(r.id) + " is empty");
    ids.push_back(r.id);
  }
  for (const Merge& m : s.merges) {
    ids.push_back(m.output);
    if (m.inputs.size() < 2) return BadState("merge into run " + std::to_string(m.output) + " has < 2 inputs");
    for (uint64_t id : m.inputs) {
      if (std::none_of(s.live.begin(), s.live.end(), [&](const Run& r) { return r.id == id; })) {
        return BadState("merge input " + std::to_string(id) + " is not a live run");
      }
    }
  }
  ids.insert(ids.end(), s.dead.begin(), s.dead.end());
  std::sort(ids.begin(), ids.end());
  if (std::adjacent_find(ids.begin(), ids.end()) != ids.end()) return BadState("a run id is listed twice");
  if (!ids.empty() && ids.back() >= s.next_id) return BadState("a run id is not below next_id");
  std::vector<uint64_t> inputs;
  for (const Merge& m : s.merges) inputs.insert(inputs.end(), m.inputs.begin(), m.inputs.end());
  std::sort(inputs.begin(), inputs.end());
  if (std::adjacent_find(inputs.begin(), inputs.end()) != inputs.end()) {
    return BadState("a run is the input of two merges");
  }
  return s;
}

Result<State> LoadState(const lmdb::Txn& txn, const Tables& t, bool checked = true) {
  MDB_val k = lmdb::ToVal(kStateKey), v;
  int rc = mdb_get(txn.get(), t.meta, &k, &v);
  if (rc == MDB_NOTFOUND) return State{};
  if (rc != 0) return lmdb::FromMdb(rc, "read documents index state");
  return DecodeState(lmdb::FromVal(v), checked);
}

// ---- Chunks -----------------------------------------------------------------

struct ChunkKey {
  uint8_t bytes[kKeySize];
  ChunkKey(uint64_t run, const uint8_t* record) {
    lmdb::StoreU64BE(run, bytes);
    if (record != nullptr) std::memcpy(bytes + 8, record, kRecordSize);
    else std::memset(bytes + 8, 0, kRecordSize);
  }
  MDB_val val() { return MDB_val{sizeof bytes, bytes}; }
};

bool InRun(const MDB_val& key, uint64_t run) {
  return key.mv_size == kKeySize && lmdb::LoadU64BE(static_cast<const uint8_t*>(key.mv_data)) == run;
}

Status BadChunk(uint64_t run, const std::string& why) {
  return Corruption("documents index run " + std::to_string(run) + ": " + why);
}

// A chunk's records, checked for shape (not order).
Result<std::span<const uint8_t>> ChunkRecords(uint64_t run, const MDB_val& data) {
  if (data.mv_size == 0 || data.mv_size % kRecordSize != 0 || data.mv_size > kChunkBytes) {
    return BadChunk(run, "a chunk of " + std::to_string(data.mv_size) + " bytes");
  }
  return lmdb::FromVal(data);
}

// Writes the chunk of `run` holding `records` (ascending; 1..kChunkRecords).
int PutChunk(const lmdb::Txn& txn, const Tables& t, uint64_t run, std::span<const uint8_t> records) {
  ChunkKey key(run, records.data() + records.size() - kRecordSize);
  MDB_val k = key.val(), v = lmdb::ToVal(records);
  return mdb_put(txn.get(), t.runs, &k, &v, 0);
}

// Reads one input run of a merge in order, a chunk at a time. The chunk is
// copied: the merge writes to the same table while it reads.
class RunReader {
 public:
  explicit RunReader(uint64_t run) : run_(run) {}

  // Positions at the first record greater than `after` (or the run's first
  // record when `after` is null).
  Status Seek(const lmdb::Txn& txn, const Tables& t, const uint8_t* after) {
    QUIPU_ASSIGN_OR_RETURN(lmdb::Cursor cursor, lmdb::Cursor::Open(txn, t.runs));
    ChunkKey key(run_, after);
    MDB_val k = key.val(), v;
    int rc = cursor.Get(&k, &v, MDB_SET_RANGE);
    for (int step = 0; step < 2; ++step) {
      if (rc == MDB_NOTFOUND || (rc == 0 && !InRun(k, run_))) {
        done_ = true;
        return Status::Ok();
      }
      if (rc != 0) return lmdb::FromMdb(rc, "read documents index run");
      QUIPU_ASSIGN_OR_RETURN(std::span<const uint8_t> records, ChunkRecords(run_, v));
      std::memcpy(chunk_.data(), records.data(), records.size());
      size_ = records.size() / kRecordSize;
      pos_ = 0;
      if (after != nullptr) {
        while (pos_ < size_ && std::memcmp(Current(), after, kRecordSize) <= 0) ++pos_;
      }
      if (pos_ < size_) return Status::Ok();
      rc = cursor.Get(&k, &v, MDB_NEXT);  // `after` ended this chunk
    }
    return BadChunk(run_, "a chunk's records are not above its predecessor's");
  }

  bool done() const { return done_; }
  const uint8_t* Current() const { return chunk_.data() + pos_ * kRecordSize; }

  // Moves to the next record, reading the next chunk when this one ends.
  Status Advance(const lmdb::Txn& txn, const Tables& t) {
    if (++pos_ < size_) return Status::Ok();
    Record last;
    std::memcpy(last.data(), chunk_.data() + (size_ - 1) * kRecordSize, kRecordSize);
    return Seek(txn, t, last.data());
  }

 private:
  uint64_t run_;
  std::array<uint8_t, kChunkBytes> chunk_;
  size_t size_ = 0, pos_ = 0;
  bool done_ = false;
};

// One commit's changes to the index: a new run, then merge and deletion
// work until the budget is spent.
class Writer {
 public:
  Writer(const lmdb::Txn& txn, const Tables& t, State& s, int* mdb_rc)
      : txn_(txn), t_(t), s_(s), mdb_rc_(mdb_rc) {}

  Status WriteRun(std::span<const uint8_t> records) {
    const uint64_t id = s_.next_id++;
    for (size_t at = 0; at < records.size(); at += kChunkBytes) {
      const auto chunk = records.subspan(at, std::min(kChunkBytes, records.size() - at));
      QUIPU_RETURN_IF_ERROR(Check(PutChunk(txn_, t_, id, chunk), "write documents index run"));
    }
    s_.live.push_back(Run{id, records.size() / kRecordSize});
    return Status::Ok();
  }

  // Starts a merge for each kFanIn runs of one size class that no merge
  // holds yet, the oldest first. Returns whether any started.
  bool StartMerges() {
    bool started = false;
    for (;;) {
      std::vector<std::vector<uint64_t>> idle;  // by size class, in id order
      for (const Run& r : s_.live) {
        if (Merging(r.id)) continue;
        const size_t level = static_cast<size_t>(Level(r.count));
        if (idle.size() <= level) idle.resize(level + 1);
        idle[level].push_back(r.id);
      }
      auto full = std::find_if(idle.begin(), idle.end(), [](const auto& ids) { return ids.size() >= kFanIn; });
      if (full == idle.end()) return started;
      Merge m{s_.next_id++, 0, Record{}, {}};
      m.inputs.assign(full->begin(), full->begin() + kFanIn);
      s_.merges.push_back(std::move(m));
      started = true;
    }
  }

  // Records the state in `meta`.
  Status SaveState() {
    const std::string encoded = EncodeState(s_);
    MDB_val k = lmdb::ToVal(kStateKey), v = lmdb::ToVal(encoded);
    return Check(mdb_put(txn_.get(), t_.meta, &k, &v, 0), "write documents index state");
  }

  // Deletes merged-away runs, then advances merges (the smallest first),
  // until `budget` records have been moved or deleted or nothing is left.
  // Returns whether anything changed.
  Result<bool> Work(size_t budget) {
    budget_ = budget;
    bool changed = false;
    while (budget_ > 0 && !s_.dead.empty()) {
      QUIPU_ASSIGN_OR_RETURN(bool gone, DeleteRun(s_.dead.front()));
      changed = true;
      if (gone) s_.dead.erase(s_.dead.begin());
    }
    while (budget_ > 0 && !s_.merges.empty()) {
      auto m = std::min_element(s_.merges.begin(), s_.merges.end(), [&](const Merge& a, const Merge& b) {
        return InputRecords(a) < InputRecords(b);
      });
      QUIPU_ASSIGN_OR_RETURN(bool complete, Step(*m));
      changed = true;
      if (complete) Finish(m);
    }
    return changed;
  }

 private:
  Status Check(int rc, const char* what) {
    if (rc == 0) return Status::Ok();
    *mdb_rc_ = rc;
    return lmdb::FromMdb(rc, what);
  }
  void Spend(size_t records) { budget_ -= std::min(budget_, std::max<size_t>(records, 1)); }

  bool Merging(uint64_t id) const {
    for (const Merge& m : s_.merges) {
      if (std::find(m.inputs.begin(), m.inputs.end(), id) != m.inputs.end()) return true;
    }
    return false;
  }
  uint64_t InputRecords(const Merge& m) const {
    uint64_t n = 0;
    for (const Run& r : s_.live) {
      if (std::find(m.inputs.begin(), m.inputs.end(), r.id) != m.inputs.end()) n += r.count;
    }
    return n;
  }

  // Deletes chunks of `run` within the budget; true once none is left.
  Result<bool> DeleteRun(uint64_t run) {
    QUIPU_ASSIGN_OR_RETURN(lmdb::Cursor cursor, lmdb::Cursor::Open(txn_, t_.runs));
    for (;;) {
      ChunkKey key(run, nullptr);
      MDB_val k = key.val(), v;
      int rc = cursor.Get(&k, &v, MDB_SET_RANGE);
      if (rc == MDB_NOTFOUND || (rc == 0 && !InRun(k, run))) return true;
      QUIPU_RETURN_IF_ERROR(Check(rc, "find a merged documents index run"));
      if (budget_ == 0) return false;
      Spend(v.mv_size / kRecordSize);
      QUIPU_RETURN_IF_ERROR(Check(mdb_cursor_del(cursor.get(), 0), "delete a merged documents index run"));
    }
  }

  // Moves records of merge `m` into its output, a chunk at a time, until the
  // budget is spent or the inputs are exhausted (then true).
  Result<bool> Step(Merge& m) {
    std::vector<RunReader> in;
    in.reserve(m.inputs.size());
    for (uint64_t id : m.inputs) {
      in.emplace_back(id);
      QUIPU_RETURN_IF_ERROR(in.back().Seek(txn_, t_, m.written > 0 ? m.last.data() : nullptr));
    }
    std::array<uint8_t, kChunkBytes> out;
    size_t n = 0;
    for (;;) {
      RunReader* next = nullptr;
      for (RunReader& r : in) {
        if (!r.done() && (next == nullptr || std::memcmp(r.Current(), next->Current(), kRecordSize) < 0)) {
          next = &r;
        }
      }
      if (next != nullptr) {
        const uint8_t* prev = n > 0 ? out.data() + (n - 1) * kRecordSize : m.written > 0 ? m.last.data() : nullptr;
        if (prev != nullptr && std::memcmp(next->Current(), prev, kRecordSize) <= 0) {
          return Corruption("documents index runs merged into run " + std::to_string(m.output) +
                            " hold a record twice or out of order");
        }
        std::memcpy(out.data() + n * kRecordSize, next->Current(), kRecordSize);
        ++n;
        QUIPU_RETURN_IF_ERROR(next->Advance(txn_, t_));
      }
      if (n == kChunkRecords || (next == nullptr && n > 0)) {
        const auto chunk = std::span<const uint8_t>(out.data(), n * kRecordSize);
        QUIPU_RETURN_IF_ERROR(Check(PutChunk(txn_, t_, m.output, chunk), "write merged documents index run"));
        m.written += n;
        std::memcpy(m.last.data(), chunk.data() + chunk.size() - kRecordSize, kRecordSize);
        Spend(n);
        n = 0;
      }
      if (next == nullptr) return true;
      if (n == 0 && budget_ == 0) return false;
    }
  }

  // The merge is complete: its output replaces its inputs for lookups.
  void Finish(std::vector<Merge>::iterator m) {
    auto is_input = [&](const Run& r) { return std::find(m->inputs.begin(), m->inputs.end(), r.id) != m->inputs.end(); };
    s_.live.erase(std::remove_if(s_.live.begin(), s_.live.end(), is_input), s_.live.end());
    s_.live.push_back(Run{m->output, m->written});
    std::sort(s_.live.begin(), s_.live.end(), [](const Run& a, const Run& b) { return a.id < b.id; });
    s_.dead.insert(s_.dead.end(), m->inputs.begin(), m->inputs.end());
    s_.merges.erase(m);
  }

  const lmdb::Txn& txn_;
  const Tables& t_;
  State& s_;
  int* mdb_rc_;
  size_t budget_ = 0;
};

// The position of the first record of a chunk not below `sha`. Document
// hashes are uniformly distributed, so the position is interpolated from the
// first and last records' leading 8 bytes and then corrected step by step:
// about two cache lines of a cold chunk instead of a binary search's seven.
// `last` is the chunk's last record (from its key, already in cache).
template <typename Below>
size_t FirstNotBelow(std::span<const uint8_t> records, const crypto::Digest& sha, const uint8_t* last,
                     const Below& below) {
  const size_t n = records.size() / kRecordSize;
  const uint64_t lo = lmdb::LoadU64BE(records.data()), hi = lmdb::LoadU64BE(last);
  const uint64_t t = lmdb::LoadU64BE(sha.data());
  size_t i = 0;
  if (t > lo && hi > lo) {
    const double f = static_cast<double>(t - lo) / static_cast<double>(hi - lo);
    i = std::min(n - 1, static_cast<size_t>(f * static_cast<double>(n - 1)));
  }
  while (i > 0 && !below(records.data() + (i - 1) * kRecordSize)) --i;
  while (i < n && below(records.data() + i * kRecordSize)) ++i;
  return i;
}

// A blocked Bloom filter: a record sets 6 bits in one 512-bit block (one
// cache line), chosen by bytes 8..31 of its document hash, which SHA-256
// makes uniform. About 10 bits per record: ~1% false positives.
class Filter {
 public:
  explicit Filter(uint64_t records) : blocks_(std::max<uint64_t>(1, (records * 10 + 511) / 512)) {}
  void Add(const uint8_t* sha) {
    Block& b = blocks_[lmdb::LoadU64BE(sha + 8) % blocks_.size()];
    const uint64_t bits = lmdb::LoadU64BE(sha + 16);
    for (int i = 0; i < 6; ++i) {
      const unsigned bit = (bits >> (9 * i)) & 511;
      b[bit / 64] |= uint64_t{1} << (bit % 64);
    }
  }
  bool MayContain(const uint8_t* sha) const {
    const Block& b = blocks_[lmdb::LoadU64BE(sha + 8) % blocks_.size()];
    const uint64_t bits = lmdb::LoadU64BE(sha + 16);
    for (int i = 0; i < 6; ++i) {
      const unsigned bit = (bits >> (9 * i)) & 511;
      if ((b[bit / 64] & (uint64_t{1} << (bit % 64))) == 0) return false;
    }
    return true;
  }

 private:
  using Block = std::array<uint64_t, 8>;
  std::vector<Block> blocks_;
};

// Appends the indices of `sha` from the format-1 table.
Status LegacyLookup(const lmdb::Txn& txn, const Tables& t, const crypto::Digest& sha, std::vector<uint64_t>& out) {
  if (t.legacy == 0) return Status::Ok();
  QUIPU_ASSIGN_OR_RETURN(lmdb::Cursor cursor, lmdb::Cursor::Open(txn, t.legacy));
  MDB_val key = lmdb::ToVal(std::span<const uint8_t>(sha)), data;
  int rc = cursor.Get(&key, &data, MDB_SET_KEY);
  if (rc == MDB_NOTFOUND) return Status::Ok();
  if (rc != 0) return lmdb::FromMdb(rc, "read document index");
  // MDB_DUPFIXED: each GET/NEXT_MULTIPLE returns a page's worth of values.
  rc = cursor.Get(&key, &data, MDB_GET_MULTIPLE);
  while (rc == 0) {
    if (data.mv_size % 8 != 0) return Corruption("document index value is not 8-byte aligned");
    const auto* p = static_cast<const uint8_t*>(data.mv_data);
    for (size_t i = 0; i < data.mv_size; i += 8) out.push_back(lmdb::LoadU64BE(p + i));
    rc = cursor.Get(&key, &data, MDB_NEXT_MULTIPLE);
  }
  if (rc != MDB_NOTFOUND) return lmdb::FromMdb(rc, "read document index");
  return Status::Ok();
}

}  // namespace

class FilterCache {
 public:
  // Sets `out` to the runs of `live` whose filters may hold `sha`, building
  // the filters it lacks from `txn`'s snapshot.
  Status Candidates(const lmdb::Txn& txn, const Tables& t, const std::vector<Run>& live,
                    const crypto::Digest& sha, std::vector<Run>& out) {
    out.clear();
    std::vector<const Run*> missing;
    {
      std::shared_lock lock(mu_);
      for (const Run& run : live) {
        auto it = filters_.find(run.id);
        if (it == filters_.end()) missing.push_back(&run);
        else if (it->second->MayContain(sha.data())) out.push_back(run);
      }
    }
    for (const Run* run : missing) {
      auto filter = std::make_unique<Filter>(run->count);
      QUIPU_RETURN_IF_ERROR(Fill(txn, t, run->id, *filter));
      if (filter->MayContain(sha.data())) out.push_back(*run);
      std::unique_lock lock(mu_);
      // Runs no longer live in this snapshot are merged away: forget them.
      std::erase_if(filters_, [&](const auto& f) {
        return std::none_of(live.begin(), live.end(), [&](const Run& r) { return r.id == f.first; });
      });
      filters_.emplace(run->id, std::move(filter));
    }
    return Status::Ok();
  }

 private:
  static Status Fill(const lmdb::Txn& txn, const Tables& t, uint64_t run, Filter& filter) {
    QUIPU_ASSIGN_OR_RETURN(lmdb::Cursor cursor, lmdb::Cursor::Open(txn, t.runs));
    ChunkKey key(run, nullptr);
    MDB_val k = key.val(), v;
    int rc = cursor.Get(&k, &v, MDB_SET_RANGE);
    for (; rc == 0 && InRun(k, run); rc = cursor.Get(&k, &v, MDB_NEXT)) {
      QUIPU_ASSIGN_OR_RETURN(std::span<const uint8_t> records, ChunkRecords(run, v));
      for (size_t at = 0; at < records.size(); at += kRecordSize) filter.Add(records.data() + at);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return lmdb::FromMdb(rc, "read documents index run");
    return Status::Ok();
  }

  std::shared_mutex mu_;
  std::unordered_map<uint64_t, std::unique_ptr<const Filter>> filters_;  // guarded by mu_
};

std::shared_ptr<FilterCache> NewFilterCache() { return std::make_shared<FilterCache>(); }

Status AddRun(const lmdb::Txn& txn, const Tables& tables, std::span<const uint8_t> records, int* mdb_rc) {
  if (tables.runs == 0) return Internal("the documents index table is not open for writing");
  if (records.size() % kRecordSize != 0) {
    return InvalidArgument("documents index records must be " + std::to_string(kRecordSize) + " bytes each");
  }
  for (size_t at = kRecordSize; at < records.size(); at += kRecordSize) {
    if (std::memcmp(records.data() + at - kRecordSize, records.data() + at, kRecordSize) >= 0) {
      return InvalidArgument("documents index records must be strictly ascending");
    }
  }
  QUIPU_ASSIGN_OR_RETURN(State state, LoadState(txn, tables));
  Writer w(txn, tables, state, mdb_rc);
  bool changed = !records.empty();
  if (changed) QUIPU_RETURN_IF_ERROR(w.WriteRun(records));
  changed |= w.StartMerges();
  QUIPU_ASSIGN_OR_RETURN(bool worked, w.Work(records.size() / kRecordSize * kWorkPerRecord + kMinWork));
  if (!changed && !worked) return Status::Ok();
  return w.SaveState();
}

Result<std::vector<uint64_t>> Lookup(const lmdb::Txn& txn, const Tables& tables, const crypto::Digest& sha) {
  std::vector<uint64_t> out;
  QUIPU_RETURN_IF_ERROR(LegacyLookup(txn, tables, sha, out));
  if (tables.runs == 0) return out;
  QUIPU_ASSIGN_OR_RETURN(State state, LoadState(txn, tables, /*checked=*/false));
  std::vector<Run> candidates;
  if (tables.filters != nullptr) {
    QUIPU_RETURN_IF_ERROR(tables.filters->Candidates(txn, tables, state.live, sha, candidates));
  } else {
    candidates = std::move(state.live);
  }
  QUIPU_ASSIGN_OR_RETURN(lmdb::Cursor cursor, lmdb::Cursor::Open(txn, tables.runs));
  Record probe{};
  std::memcpy(probe.data(), sha.data(), sha.size());
  auto below = [&](const uint8_t* record) { return std::memcmp(record, sha.data(), sha.size()) < 0; };
  for (const Run& run : candidates) {
    ChunkKey key(run.id, probe.data());
    MDB_val k = key.val(), v;
    int rc = cursor.Get(&k, &v, MDB_SET_RANGE);
    while (rc == 0 && InRun(k, run.id)) {
      QUIPU_ASSIGN_OR_RETURN(std::span<const uint8_t> records, ChunkRecords(run.id, v));
      size_t i = FirstNotBelow(records, sha, static_cast<const uint8_t*>(k.mv_data) + 8, below);
      for (; i < records.size() / kRecordSize; ++i) {
        const uint8_t* r = records.data() + i * kRecordSize;
        if (std::memcmp(r, sha.data(), sha.size()) != 0) break;
        out.push_back(lmdb::LoadU64BE(r + sha.size()));
      }
      if (i < records.size() / kRecordSize) break;  // the document's records end in this chunk
      rc = cursor.Get(&k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return lmdb::FromMdb(rc, "read documents index run");
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status ForEach(const lmdb::Txn& txn, const Tables& tables,
               const std::function<Status(const crypto::Digest&, uint64_t)>& fn) {
  crypto::Digest sha;
  if (tables.legacy != 0) {
    QUIPU_ASSIGN_OR_RETURN(lmdb::Cursor cursor, lmdb::Cursor::Open(txn, tables.legacy));
    MDB_val key, data;
    int rc = cursor.Get(&key, &data, MDB_FIRST);
    while (rc == 0) {
      if (key.mv_size != sha.size() || data.mv_size != 8) return Corruption("malformed document index record");
      std::memcpy(sha.data(), key.mv_data, sha.size());
      QUIPU_RETURN_IF_ERROR(fn(sha, lmdb::LoadU64BE(static_cast<const uint8_t*>(data.mv_data))));
      rc = cursor.Get(&key, &data, MDB_NEXT);
    }
    if (rc != MDB_NOTFOUND) return lmdb::FromMdb(rc, "iterate document index");
  }
  if (tables.runs == 0) return Status::Ok();
  QUIPU_ASSIGN_OR_RETURN(State state, LoadState(txn, tables));

  // Live runs and merge outputs are checked record by record; only live
  // runs are visited. Dead runs are being deleted; anything else is damage.
  struct Expected {
    uint64_t id;
    uint64_t count;
    bool live;
  };
  std::vector<Expected> expected;
  for (const Run& r : state.live) expected.push_back({r.id, r.count, true});
  for (const Merge& m : state.merges) expected.push_back({m.output, m.written, false});
  std::sort(expected.begin(), expected.end(), [](const Expected& a, const Expected& b) { return a.id < b.id; });
  std::vector<uint64_t> counted(expected.size(), 0);
  std::vector<uint64_t> dead = state.dead;
  std::sort(dead.begin(), dead.end());

  QUIPU_ASSIGN_OR_RETURN(lmdb::Cursor cursor, lmdb::Cursor::Open(txn, tables.runs));
  MDB_val k, v;
  int rc = cursor.Get(&k, &v, MDB_FIRST);
  Record prev{};
  uint64_t prev_run = 0;
  bool have_prev = false;
  for (; rc == 0; rc = cursor.Get(&k, &v, MDB_NEXT)) {
    if (k.mv_size != kKeySize) return Corruption("documents index chunk key of " + std::to_string(k.mv_size) + " bytes");
    const auto* key = static_cast<const uint8_t*>(k.mv_data);
    const uint64_t run = lmdb::LoadU64BE(key);
    auto e = std::lower_bound(expected.begin(), expected.end(), run,
                              [](const Expected& x, uint64_t id) { return x.id < id; });
    if (e == expected.end() || e->id != run) {
      if (std::binary_search(dead.begin(), dead.end(), run)) continue;
      return BadChunk(run, "holds chunks but the state lists no such run");
    }
    QUIPU_ASSIGN_OR_RETURN(std::span<const uint8_t> records, ChunkRecords(run, v));
    if (have_prev && prev_run != run) have_prev = false;
    for (size_t at = 0; at < records.size(); at += kRecordSize) {
      const uint8_t* r = records.data() + at;
      if (have_prev && std::memcmp(prev.data(), r, kRecordSize) >= 0) {
        return BadChunk(run, "records out of order near entry " + std::to_string(lmdb::LoadU64BE(r + 32)));
      }
      std::memcpy(prev.data(), r, kRecordSize);
      have_prev = true;
      prev_run = run;
      if (e->live) {
        std::memcpy(sha.data(), r, sha.size());
        QUIPU_RETURN_IF_ERROR(fn(sha, lmdb::LoadU64BE(r + sha.size())));
      }
    }
    if (std::memcmp(key + 8, prev.data(), kRecordSize) != 0) {
      return BadChunk(run, "a chunk's key is not its last record");
    }
    counted[e - expected.begin()] += records.size() / kRecordSize;
  }
  if (rc != MDB_NOTFOUND) return lmdb::FromMdb(rc, "iterate documents index runs");
  for (size_t i = 0; i < expected.size(); ++i) {
    if (counted[i] != expected[i].count) {
      return BadChunk(expected[i].id, "holds " + std::to_string(counted[i]) + " records, the state says " +
                                          std::to_string(expected[i].count));
    }
  }
  for (const Merge& m : state.merges) {
    // The merge resumes after `last`: it must be the output's last record.
    if (m.written == 0) continue;
    ChunkKey key(m.output, m.last.data());
    MDB_val mk = key.val(), mv;
    if (int got = cursor.Get(&mk, &mv, MDB_SET_KEY); got != 0) {
      return BadChunk(m.output, "the merge's last record is not the end of a chunk");
    }
    MDB_val nk = mk;
    if (cursor.Get(&nk, &mv, MDB_NEXT) == 0 && InRun(nk, m.output)) {
      return BadChunk(m.output, "the merge's output continues past its recorded last record");
    }
  }
  return Status::Ok();
}

}  // namespace quipu::ledger::doc_index
