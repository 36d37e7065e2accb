// The ledger's durable storage: one LMDB environment in a data directory.
//
// On disk (format version kStoreFormatVersion; docs/ describes it for
// auditors):
//   <dir>/              created mode 0700 by the first writer
//   <dir>/ledger.mdb    the LMDB data file (MDB_NOSUBDIR)
//   <dir>/ledger.mdb-lock   LMDB's reader table (recreated at need)
//   <dir>/quipu.lock    flock()ed by the one writer Store; holds its PID
// Named databases (keys compare as bytes; integers are big-endian so byte
// order is numeric order):
//   meta         UTF-8 name → value; "format_version" → u64 BE;
//                "docs_runs" → the documents index's runs (reserved)
//   entries      index u64 BE → entry bytes (append-only)
//   tiles        level u8 ‖ index u64 BE → concatenated 32-byte hashes
//                (a partial tile is overwritten as it grows)
//   docruns      the documents index as sorted runs (ledger/doc_index.h):
//                run id u64 BE ‖ document SHA-256 ‖ entry index u64 BE of
//                the chunk's last record → up to 102 such 40-byte records
//   docs         format 1's documents index, still read: document SHA-256
//                → entry index u64 BE (MDB_DUPSORT|MDB_DUPFIXED)
//   checkpoints  tree size u64 BE → signed note text
//   blocks       height u64 BE → block header bytes (append-only)
//   <private>    the caller's private tables (StoreOptions::private_tables):
//                named by the caller, its byte keys and values, never
//                published
//
// LMDB flags: MDB_NOSUBDIR (our own file names), MDB_NOTLS (a ReadView is
// tied to its transaction, not its thread, so it may move between threads),
// MDB_RDONLY for read-only opens. MDB_NORDAHEAD is not set: the audit scans
// entries sequentially and benefits from the kernel's read-ahead.
//
// Concurrency: one writer process per directory (quipu.lock), any number of
// read-only processes (audit while a node runs). Inside a process, Write
// calls are serialised; ReadViews run concurrently with them and each other.
#pragma once

#include <atomic>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/sha256.h"
#include "crypto/status.h"

namespace quipu::ledger {

namespace lmdb {
class Env;
class Txn;
class ReadTxn;
}  // namespace lmdb

// Bytes borrowed from the store: valid until the ReadView (or, inside a
// Write, the next put of that batch) ends.
using ByteView = std::span<const uint8_t>;

// The on-disk format this build writes and reads. A directory written by a
// newer format is refused; older formats would be migrated here.
// Version 2 keeps the documents index as sorted runs; a version 1 directory
// opened for writing is upgraded in place (its `docs` records stay valid).
// Version 3 changes nothing in the store's own tables: from it on, the
// private tables are the writer's (StoreOptions::private_tables), so a
// directory may hold tables, and records in them, that an earlier version
// would not read; that version must refuse it rather than miss them.
inline constexpr uint64_t kStoreFormatVersion = 3;

// Durability of each committed Write.
enum class SyncMode {
  kFull,  // fsync on every commit (LMDB's default): a committed Write
          // survives a crash or kill -9. The only mode for a real node.
  kNone,  // MDB_NOSYNC | MDB_NOMETASYNC: the OS flushes when it likes; a
          // crash may lose or corrupt recent commits. Benchmarks only.
};

// A private table: named by the caller, its keys and values the caller's
// bytes, never published. A value type holding the name, so that a caller
// declares its tables as constants and opens the store with them:
//   inline constexpr ledger::PrivateTable kNotes{"notes"};
//   options.private_tables = {kNotes};
// A valid name is 1 to kMaxName of [a-z_] and none of the store's own tables
// (meta, entries, tiles, docruns, docs, checkpoints, blocks); the name is
// also the LMDB database's. Making a handle cannot fail: Store::Open refuses
// a bad name, and a table the store was not opened with is refused where it
// is used.
class PrivateTable {
 public:
  static constexpr size_t kMaxName = 32;
  constexpr explicit PrivateTable(std::string_view name)
      : size_(name.size() <= kMaxName ? static_cast<uint8_t>(name.size()) : kTooLong) {
    for (size_t i = 0; i < name.size() && i < kMaxName; ++i) name_[i] = name[i];
  }
  // The name (its first kMaxName characters if it was longer).
  constexpr std::string_view name() const { return {name_, size_ == kTooLong ? kMaxName : size_}; }
  constexpr bool too_long() const { return size_ == kTooLong; }
  friend constexpr bool operator==(const PrivateTable& a, const PrivateTable& b) {
    return a.size_ == b.size_ && a.name() == b.name();
  }
  friend constexpr std::strong_ordering operator<=>(const PrivateTable& a, const PrivateTable& b) {
    if (auto c = a.name() <=> b.name(); c != 0) return c;
    return a.size_ <=> b.size_;
  }

 private:
  static constexpr uint8_t kTooLong = kMaxName + 1;
  char name_[kMaxName] = {};
  uint8_t size_;
};

// The most private tables a store opens (LMDB's named databases are fixed at
// 32 per environment; the store's own take 7).
inline constexpr size_t kMaxPrivateTables = 16;

struct StoreOptions {
  // MDB_RDONLY, no writer lock: for audits while a node writes. The
  // directory must exist and hold a quipu ledger.
  bool read_only = false;
  // Initial map size (the most the file may grow to before the next
  // automatic doubling). A larger size recorded by an earlier run wins.
  size_t initial_map_size = size_t{1} << 30;
  // Writes fail with kUnavailable once the map would have to grow past this.
  size_t max_map_size = size_t{1} << 40;
  SyncMode sync = SyncMode::kFull;
  // How long a map growth waits for this process's open ReadViews to end
  // before the Write fails with kUnavailable (a ReadView held by the writing
  // thread across Write would otherwise deadlock it).
  std::chrono::milliseconds grow_wait{10000};
  // The private tables this store reads and writes, opened by Open. A writer
  // creates the ones a directory lacks; a read-only open of a directory
  // without one reads it as empty (Get: kNotFound, ForEach: no records)
  // for as long as the store is open.
  // Open refuses (kInvalidArgument) a bad or repeated name, or more than
  // kMaxPrivateTables.
  std::vector<PrivateTable> private_tables;
};

struct StoreTables;  // the database handles, defined in store.cpp

// Read access to one LMDB transaction; the base of ReadView and WriteBatch.
// Views it returns borrow LMDB's memory (zero copy) and die with the
// transaction. Thread-compatible: one thread at a time.
class Reader {
 public:
  // The entry at `index`. kNotFound if absent.
  Result<ByteView> GetEntry(uint64_t index) const;
  // The number of entries if they are 0..n-1 (last index + 1; 0 if none).
  Result<uint64_t> EntryCount() const;
  // Calls fn(index, bytes) for each entry with begin <= index < end in
  // index order, stopping at (and returning) the first non-ok Status.
  Status ForEachEntry(uint64_t begin, uint64_t end,
                      const std::function<Status(uint64_t, ByteView)>& fn) const;

  // The hashes of tile (level, index). kNotFound if absent.
  Result<ByteView> GetTile(uint8_t level, uint64_t index) const;

  // The entry indices recorded for document `sha`, ascending; empty if none.
  Result<std::vector<uint64_t>> DocIndices(const crypto::Digest& sha) const;

  // Calls fn(sha, index) for every document index record (no particular
  // order), stopping at (and returning) the first non-ok Status, after
  // checking the index's structure (kCorruption names what is wrong). For
  // audits.
  Status ForEachDocIndex(const std::function<Status(const crypto::Digest&, uint64_t)>& fn) const;
  // Calls fn(tree_size, note) for every stored checkpoint in size order.
  Status ForEachCheckpoint(const std::function<Status(uint64_t, std::string_view)>& fn) const;
  // Calls fn(height, header) for every stored block in height order.
  Status ForEachBlock(const std::function<Status(uint64_t, ByteView)>& fn) const;

  // The note stored for `tree_size`. kNotFound if absent.
  Result<std::string_view> GetCheckpoint(uint64_t tree_size) const;
  struct Checkpoint {
    uint64_t tree_size;
    std::string_view note;
  };
  // The checkpoint with the largest tree size. kNotFound if none.
  Result<Checkpoint> LatestCheckpoint() const;

  // The header of block `height`. kNotFound if absent.
  Result<ByteView> GetBlock(uint64_t height) const;
  struct Block {
    uint64_t height;
    ByteView header;
  };
  // The block with the largest height. kNotFound if none.
  Result<Block> LatestBlock() const;

  // A meta value. kNotFound if absent.
  Result<ByteView> GetMeta(std::string_view key) const;
  // A meta value stored by PutMetaU64. kNotFound if absent, kCorruption if
  // not 8 bytes.
  Result<uint64_t> GetMetaU64(std::string_view key) const;

  // Private tables: each call below returns kInvalidArgument for a table
  // the store was not opened with (StoreOptions::private_tables).
  Status CheckTable(const PrivateTable& table) const;
  // The value of `key` in a private table. kNotFound if absent.
  Result<ByteView> Get(const PrivateTable& table, ByteView key) const;
  // Calls fn(key, value) for each record of `table` with key >= `from` in
  // key order, stopping at (and returning) the first non-ok Status.
  Status ForEach(const PrivateTable& table, ByteView from,
                 const std::function<Status(ByteView, ByteView)>& fn) const;

 protected:
  Reader(const StoreTables* tables, lmdb::Txn* txn) : tables_(tables), txn_(txn) {}
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  Reader(Reader&&) = default;
  Reader& operator=(Reader&&) = default;
  ~Reader() = default;

  const StoreTables* tables_;
  lmdb::Txn* txn_;
  bool snapshot_ = false;  // a committed snapshot (ReadView), not a write in progress
};

// A write transaction handed to the function given to Store::Write; it sees
// its own writes. Lives only during that call; thread-compatible.
// Each put returns kInvalidArgument for bad input, or the LMDB error; after
// any failed put, return a non-ok Status from the function.
class WriteBatch : public Reader {
 public:
  // Appends entry `index` (MDB_APPEND): kInvalidArgument unless `index` is
  // greater than every stored index. The sequencer gives 0, 1, 2, ...
  Status PutEntry(uint64_t index, ByteView bytes);
  // Stores (or replaces, as a partial tile grows) tile (level, index):
  // 1 to 256 hashes of 32 bytes, else kInvalidArgument.
  Status PutTile(uint8_t level, uint64_t index, ByteView hashes);
  // Records that each entry (index) concerns its document (sha): one call per
  // commit with all of its entries, any order, each index not recorded
  // before (a repeated pair is kInvalidArgument). Also moves the index's
  // background merges forward by an amount proportional to `records`.
  struct DocRecord {
    crypto::Digest sha;
    uint64_t index;
  };
  Status IndexDocuments(std::span<const DocRecord> records);
  // Stores (or replaces, e.g. with more cosignatures) the note for
  // `tree_size`.
  Status PutCheckpoint(uint64_t tree_size, std::string_view note);
  // Appends block `height` (MDB_APPEND): kInvalidArgument unless `height`
  // is greater than every stored height.
  Status PutBlock(uint64_t height, ByteView header);
  // Stores a meta value; "format_version" is reserved (kInvalidArgument).
  Status PutMeta(std::string_view key, ByteView value);
  Status PutMetaU64(std::string_view key, uint64_t value);
  // Private tables: keys of 1..511 bytes (LMDB's limit), else
  // kInvalidArgument. Delete returns kNotFound if `key` is absent.
  Status Put(const PrivateTable& table, ByteView key, ByteView value);
  Status Delete(const PrivateTable& table, ByteView key);

 private:
  friend class Store;
  WriteBatch(const StoreTables* tables, lmdb::Txn* txn) : Reader(tables, txn) {}
  // Converts a put's rc; remembers MDB_MAP_FULL so Store::Write can grow
  // the map and run the batch again. `describe()` names what was written; it
  // runs only on failure, so the sequencer's puts build no strings.
  template <typename Describe>
  Status Check(int rc, const Describe& describe) {
    return rc == 0 ? Status::Ok() : Failed(rc, describe());
  }
  Status Failed(int rc, std::string_view what);
  bool map_full_ = false;
};

// A consistent snapshot of the store (an LMDB read transaction). Keep it
// short: it pins the pages it sees, and a map growth in this process waits
// for it. Movable; may be used by any one thread at a time (MDB_NOTLS).
// Must not outlive its Store.
class ReadView : public Reader {
 public:
  ReadView(ReadView&&) noexcept;
  ReadView& operator=(ReadView&&) noexcept;
  ~ReadView();

 private:
  friend class Store;
  ReadView(const StoreTables* tables, std::unique_ptr<lmdb::ReadTxn> txn,
           std::shared_lock<std::shared_timed_mutex> lock);
  std::unique_ptr<lmdb::ReadTxn> owned_txn_;
  std::shared_lock<std::shared_timed_mutex> resize_lock_;
};

// An open data directory. Thread-safe: Write may be called from any thread
// (calls are serialised), Read from any number of threads concurrently.
// Not copyable. One Store per directory per process: a second open in the
// same process is refused (LMDB forbids opening a file twice in a process).
class Store {
 public:
  // Opens the data directory `dir`, creating it (mode 0700) and the
  // environment on a writer's first use. Errors: kUnavailable if another
  // writer holds the directory (the message names its PID) or this process
  // has it open, or its format version is newer than kStoreFormatVersion;
  // kNotFound for a read-only open of a missing or empty directory;
  // kCorruption if ledger.mdb is not a quipu LMDB file; kIoError for an
  // operating-system refusal (permissions, not a directory, ...).
  static Result<std::unique_ptr<Store>> Open(const std::string& dir,
                                             const StoreOptions& options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Runs fn in one write transaction and commits it if fn returns Ok:
  // all of fn's writes become durable (SyncMode::kFull) or none does. If the
  // map fills, the transaction is aborted, the map doubled (waiting for this
  // process's ReadViews to end) and fn run again from the start, so fn must
  // act only through the batch (no side effects outside it). Returns fn's
  // error, kInvalidArgument on a read-only store, kUnavailable if the map
  // cannot grow (max_map_size, or ReadViews held past grow_wait), or the
  // commit's error.
  Status Write(const std::function<Status(WriteBatch&)>& fn);

  // Opens a snapshot of the last committed state. Errors: kIoError from
  // LMDB (e.g. the reader table is full: max 126 open ReadViews).
  Result<ReadView> Read() const;

  // Writes a compacted, consistent copy of the store into `dest_dir`
  // (created 0700 if missing) as dest_dir/ledger.mdb, openable as a data
  // directory. Runs alongside writes. kAlreadyExists if dest_dir already
  // holds a ledger.mdb.
  Status Backup(const std::string& dest_dir) const;

  const std::string& dir() const { return dir_; }
  bool read_only() const { return options_.read_only; }
  // The current map size in bytes (grows by doubling).
  size_t MapSize() const;

 private:
  Store(std::string dir, const StoreOptions& options);
  Status GrowMap();
  Status AdoptOtherProcessMapSize() const;
  std::shared_lock<std::shared_timed_mutex> LockForRead() const;

  const std::string dir_;
  const StoreOptions options_;
  int lock_fd_ = -1;  // quipu.lock, flock()ed while a writer Store lives
  std::unique_ptr<lmdb::Env> env_;
  std::unique_ptr<StoreTables> tables_;
  std::mutex write_mu_;  // serialises Write (one write transaction at a time)
  // Shared by every live ReadView (and Backup), exclusive while the map
  // size changes: LMDB allows mdb_env_set_mapsize only with no transaction
  // active in the process.
  mutable std::shared_timed_mutex resize_mu_;
  // Set while a growth waits, so new ReadViews queue behind it instead of
  // starving it (pthread rwlocks prefer readers).
  mutable std::atomic<bool> growing_{false};
  mutable std::mutex grow_gate_;  // held by the growing thread
};

}  // namespace quipu::ledger
