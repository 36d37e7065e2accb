// Thin RAII wrappers over LMDB (liblmdb 0.9.24), private to ledger/: only
// files in ledger/ (and ledger's tests) include this header, so no MDB_* type
// leaks into another layer. Every LMDB int error becomes a quipu Status here.
//
// Caveats from lmdb.h that these wrappers exist to respect:
//  - One MDB_env per database file per process: opening the same file twice
//    in one process breaks LMDB's fcntl() locks. Env::Open enforces it with a
//    process-wide registry keyed by (device, inode) of the data file.
//  - mdb_env_set_mapsize() only while no transaction is active in the
//    process; the caller (Store) guarantees it with a shared_mutex.
//  - Read transactions with MDB_NOTLS may be used by any thread, one at a
//    time; write transactions stay on the thread that began them.
#pragma once

#include <lmdb.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/status.h"

namespace quipu::ledger::lmdb {

// Returns Ok for rc == 0, otherwise a Status naming `what` and mdb_strerror:
// MDB_NOTFOUND → kNotFound; MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID,
// MDB_VERSION_MISMATCH → kCorruption; MDB_MAP_FULL → kUnavailable ("map
// full", callers that can grow the map test IsMapFull first); anything else
// (errno values, MDB_TXN_FULL, ...) → kIoError. MDB_CORRUPTED and
// MDB_PAGE_NOTFOUND (a page LMDB followed is not what it should be) also
// say that the file is damaged and what to do, naming it when the process
// has one environment open (as quipu's processes do).
Status FromMdb(int rc, std::string_view what);
inline bool IsMapFull(int rc) { return rc == MDB_MAP_FULL; }

// ---- Key and value encoding ----------------------------------------------
// LMDB compares keys with memcmp by default, so big-endian integers sort in
// numeric order and MDB_APPEND works for sequential indices.

// One load or store and a byte swap (sorting and merging index records
// calls these for every comparison).
inline uint64_t ToBigEndian(uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) return __builtin_bswap64(v);
  return v;
}
inline void StoreU64BE(uint64_t v, uint8_t* out) {
  v = ToBigEndian(v);
  std::memcpy(out, &v, sizeof v);
}
inline uint64_t LoadU64BE(const uint8_t* in) {
  uint64_t v;
  std::memcpy(&v, in, sizeof v);
  return ToBigEndian(v);
}

// An 8-byte big-endian key that owns its bytes; val() points into it, so the
// U64Key must outlive the LMDB call.
class U64Key {
 public:
  explicit U64Key(uint64_t v) { StoreU64BE(v, bytes_); }
  MDB_val val() { return MDB_val{sizeof bytes_, bytes_}; }

 private:
  uint8_t bytes_[8];
};

// A tile key: level (1 byte) then index (8 bytes big-endian), so tiles sort
// by level, then by index.
class TileKey {
 public:
  TileKey(uint8_t level, uint64_t index) {
    bytes_[0] = level;
    StoreU64BE(index, bytes_ + 1);
  }
  MDB_val val() { return MDB_val{sizeof bytes_, bytes_}; }

 private:
  uint8_t bytes_[9];
};

// Borrows `data` (LMDB never writes through a key or a put's data pointer).
inline MDB_val ToVal(std::span<const uint8_t> data) {
  return MDB_val{data.size(), const_cast<uint8_t*>(data.data())};
}
inline MDB_val ToVal(std::string_view data) {
  return MDB_val{data.size(), const_cast<char*>(data.data())};
}
// A view of LMDB-owned memory, valid until its transaction ends (or, in a
// write transaction, until the next write).
inline std::span<const uint8_t> FromVal(const MDB_val& v) {
  return {static_cast<const uint8_t*>(v.mv_data), v.mv_size};
}

// ---- Checks before mapping ------------------------------------------------
// LMDB maps its files and trusts them: a data file shorter than its meta
// page says, or a lock file cut short under a running process, makes the
// first read past the end fault (SIGBUS) instead of returning an error.
// Env::Open runs these checks first; they read with pread only, so a short
// file cannot fault them. The layouts are LMDB 0.9's (mdb.c: MDB_page,
// MDB_meta, MDB_txninfo) on a 64-bit little-endian machine.

// What CheckDataFile read from a data file: its size and the meta page LMDB
// will use (the valid one with the higher transaction id).
struct DataFileInfo {
  uint64_t file_size = 0;
  uint32_t page_size = 0;
  uint64_t last_page = 0;  // the last page of the committed state
  uint64_t txnid = 0;
  int meta = 0;            // 0 or 1: the meta page LMDB will use
};

// Checks the data file `path` before LMDB maps it: both meta pages are meta
// pages with LMDB's magic and data version 1, one plausible page size, map
// size and transaction ids that fit together (meta page i is written by
// transactions whose id has parity i, and the two differ by one, or are both
// 0), the database roots lie inside the committed pages and are tree pages,
// and the file is at least (last_page + 1) × page size long.
// Errors: kCorruption naming `path` and what is wrong (an empty file
// included: the caller decides whether empty means new; then the message
// says "is empty"), kNotFound if it does not exist, kIoError if it cannot
// be read. A check that fails is read again a few times first, since a
// writer in another process may be rewriting a meta page as we read it.
Result<DataFileInfo> CheckDataFile(const std::string& path);

// Checks the lock file `lock_path` (the reader table) when another process
// holds it: LMDB then maps it as it is, trusting its size and reader count.
// When no process holds it, LMDB rebuilds it at open whatever it contains,
// so nothing is checked. Ok if the file does not exist. Errors:
// kCorruption naming the file, the damage and the pid that holds it (the
// way out is to stop that process: LMDB then rebuilds the file); kIoError.
Status CheckLockFile(const std::string& lock_path);

// ---- Map ranges, for the fault handler --------------------------------------
// Env records the address ranges of the maps LMDB made for it (the data
// file's and the lock file's) in a fixed table that a signal handler may
// read (ledger/map_fault.h).

// Returns the path of the open LMDB file whose map holds `addr`, or nullptr.
// Async-signal-safe: reads only lock-free atomics and fixed buffers.
const char* MappedFileAt(const void* addr);

// ---- Environment ----------------------------------------------------------

struct EnvOptions {
  size_t map_size = size_t{1} << 30;  // ignored for read_only (file's size)
  unsigned max_dbs = 32;
  unsigned max_readers = 126;
  bool read_only = false;   // MDB_RDONLY
  bool no_sync = false;     // MDB_NOSYNC | MDB_NOMETASYNC: benchmarks only
};

// An open LMDB environment on one file (MDB_NOSUBDIR: `path` is the data
// file, the lock file is `path` + "-lock"). Always opened with MDB_NOTLS so a
// read transaction is tied to its MDB_txn, not its thread: a ReadView may be
// handed between threads (async handlers hop threads) and reader slots are
// not leaked by short-lived threads. Not copyable; mdb_env functions used
// here are thread-safe except SetMapSize (see there).
class Env {
 public:
  // Opens (creating for a writer) the environment at `path`, after
  // CheckDataFile and CheckLockFile (an empty file is a new environment for
  // a writer and kCorruption for a reader). Records the maps' ranges for
  // MappedFileAt until the Env is destroyed. Errors: kUnavailable if this
  // process already has `path` open; kCorruption if the file is not an LMDB
  // file or is damaged (the message names the file and the damage);
  // kNotFound if a read-only open finds no file; kIoError otherwise.
  static Result<std::unique_ptr<Env>> Open(const std::string& path,
                                           const EnvOptions& options);
  ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  MDB_env* get() const { return env_; }
  const std::string& path() const { return path_; }
  bool read_only() const { return read_only_; }
  // The current map size in bytes.
  size_t MapSize() const;
  // Sets the map size; 0 adopts the size another process committed.
  // Precondition: no transaction of this environment is active in this
  // process (LMDB does not check; Store's resize lock guarantees it).
  Status SetMapSize(size_t bytes);
  // Writes a compacted copy of the environment to the new file `dest_file`
  // (created with O_EXCL: kAlreadyExists if it exists) and fsyncs it
  // (mdb_env_copyfd2 with MDB_CP_COMPACT; runs its own read transaction, so
  // the caller must keep SetMapSize out while it runs). A failed copy is
  // removed.
  Status CopyCompact(const std::string& dest_file);

 private:
  Env(MDB_env* env, std::string path, bool read_only, uint64_t dev, uint64_t ino)
      : env_(env), path_(std::move(path)), read_only_(read_only), dev_(dev), ino_(ino) {}
  // (Re)records the ranges LMDB mapped the data and lock files at (after
  // open and after a resize, which maps the data file anew).
  void RecordMaps();
  MDB_env* env_;
  std::string path_;
  bool read_only_;
  uint64_t dev_, ino_;  // the registry key
  std::vector<int> map_slots_;  // this Env's entries in the map-range table
};

// ---- Transactions ---------------------------------------------------------

// A transaction handle that aborts in its destructor unless committed.
// Movable, not copyable.
class Txn {
 public:
  Txn() = default;
  ~Txn() { Abort(); }
  Txn(Txn&& other) noexcept : txn_(other.txn_) { other.txn_ = nullptr; }
  Txn& operator=(Txn&& other) noexcept {
    if (this != &other) {
      Abort();
      txn_ = other.txn_;
      other.txn_ = nullptr;
    }
    return *this;
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  MDB_txn* get() const { return txn_; }
  bool active() const { return txn_ != nullptr; }
  // Commits (for a read transaction this keeps the database handles it
  // opened); the handle is released whatever the outcome. `rc_out` receives
  // the raw rc, since MDB_MAP_FULL can happen at commit.
  Status Commit(int* rc_out = nullptr);
  void Abort() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
    txn_ = nullptr;
  }

 protected:
  explicit Txn(MDB_txn* txn) : txn_(txn) {}
  MDB_txn* txn_ = nullptr;
};

// A read-only snapshot. With MDB_NOTLS, usable from any one thread at a time.
class ReadTxn : public Txn {
 public:
  ReadTxn() = default;
  // Returns the raw rc on failure as well, so the caller can react to
  // MDB_MAP_RESIZED (another process grew the map).
  static Result<ReadTxn> Begin(const Env& env, int* rc_out = nullptr);

 private:
  explicit ReadTxn(MDB_txn* txn) : Txn(txn) {}
};

// A write transaction; stays on the thread that began it.
class WriteTxn : public Txn {
 public:
  WriteTxn() = default;
  static Result<WriteTxn> Begin(const Env& env);

 private:
  explicit WriteTxn(MDB_txn* txn) : Txn(txn) {}
};

// Opens (with MDB_CREATE when `create`) the named database `name` in `txn`.
// The handle stays valid for the environment's life once `txn` commits.
Result<MDB_dbi> OpenDb(const Txn& txn, const char* name, unsigned flags, bool create);

// ---- Cursors --------------------------------------------------------------

// A cursor closed in its destructor. LMDB does not free read-only cursors
// when their transaction ends, so this must not outlive its transaction.
class Cursor {
 public:
  static Result<Cursor> Open(const Txn& txn, MDB_dbi dbi);
  ~Cursor() {
    if (cursor_ != nullptr) mdb_cursor_close(cursor_);
  }
  Cursor(Cursor&& other) noexcept : cursor_(other.cursor_) { other.cursor_ = nullptr; }
  Cursor& operator=(Cursor&&) = delete;
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;

  MDB_cursor* get() const { return cursor_; }
  // mdb_cursor_get; returns the raw rc (0, MDB_NOTFOUND or an error).
  int Get(MDB_val* key, MDB_val* data, MDB_cursor_op op) {
    return mdb_cursor_get(cursor_, key, data, op);
  }

 private:
  explicit Cursor(MDB_cursor* c) : cursor_(c) {}
  MDB_cursor* cursor_ = nullptr;
};

}  // namespace quipu::ledger::lmdb
