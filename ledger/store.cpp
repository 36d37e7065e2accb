#include "ledger/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "crypto/encoding.h"
#include "ledger/doc_index.h"
#include "ledger/lmdb_env.h"

namespace quipu::ledger {

struct StoreTables {
  MDB_dbi meta = 0, entries = 0, tiles = 0, docs = 0, docruns = 0, checkpoints = 0, blocks = 0;
  struct Private {
    PrivateTable table;
    MDB_dbi dbi = 0;
    bool exists = false;  // false: absent from a directory opened read-only
  };
  std::vector<Private> private_tables;  // as StoreOptions lists them

  // The table's database. kInvalidArgument if the store was not opened with it.
  Result<const Private*> Find(const PrivateTable& t) const {
    for (const Private& p : private_tables) {
      if (p.table == t) return &p;
    }
    return InvalidArgument("private table '" + std::string(t.name()) +
                           "' is not one this store was opened with (StoreOptions::private_tables)");
  }
  // The documents index's run filters, shared by this store's read views.
  std::shared_ptr<doc_index::FilterCache> doc_filters = doc_index::NewFilterCache();
};

namespace {

constexpr std::string_view kFormatVersionKey = "format_version";
constexpr size_t kMaxKeySize = 511;  // LMDB's default mdb_env_get_maxkeysize
constexpr size_t kHashSize = 32;
constexpr size_t kMaxTileHashes = 256;  // C2SP tlog-tiles, height 8

// The store's own tables: no private table may take their names.
constexpr std::string_view kStoreTableNames[] = {"meta", "entries", "tiles", "docruns", "docs", "checkpoints",
                                                 "blocks"};

Status CheckPrivateTables(const std::vector<PrivateTable>& tables) {
  if (tables.size() > kMaxPrivateTables) {
    return InvalidArgument("at most " + std::to_string(kMaxPrivateTables) + " private tables, got " +
                           std::to_string(tables.size()));
  }
  for (size_t i = 0; i < tables.size(); ++i) {
    const std::string name(tables[i].name());
    if (tables[i].too_long()) {
      return InvalidArgument("private table name '" + name + "...' is longer than " +
                             std::to_string(PrivateTable::kMaxName) + " characters");
    }
    const bool lower = std::all_of(name.begin(), name.end(),
                                   [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
    if (name.empty() || !lower) {
      return InvalidArgument("private table name '" + name + "' must be 1 to " +
                             std::to_string(PrivateTable::kMaxName) + " of a-z and _");
    }
    for (std::string_view own : kStoreTableNames) {
      if (name == own) return InvalidArgument("private table name '" + name + "' is one of the store's own tables");
    }
    for (size_t j = 0; j < i; ++j) {
      if (tables[j] == tables[i]) return InvalidArgument("private table '" + name + "' is listed twice");
    }
  }
  return Status::Ok();
}

doc_index::Tables DocTables(const StoreTables& t) { return {t.meta, t.docruns, t.docs}; }

std::string ErrnoText(int err) { return std::strerror(err); }

Status CheckKeySize(size_t size, std::string_view what) {
  if (size == 0 || size > kMaxKeySize) {
    return InvalidArgument(std::string(what) + " key must be 1 to 511 bytes, got " +
                           std::to_string(size));
  }
  return Status::Ok();
}

// mdb_get with a NotFound message naming `what`.
// `describe()` names the record; it runs only on an error, so that the hot
// reads (proofs, audits) build no strings.
template <typename Describe>
Result<ByteView> GetValue(const lmdb::Txn* txn, MDB_dbi dbi, MDB_val key, const Describe& describe) {
  MDB_val data;
  int rc = mdb_get(txn->get(), dbi, &key, &data);
  if (rc == 0) return lmdb::FromVal(data);
  if (rc == MDB_NOTFOUND) return NotFound(std::string(describe()) + " not found");
  return lmdb::FromMdb(rc, "read " + std::string(describe()));
}

// The last record of `dbi`, whose key must be a u64 BE.
Status LastU64Record(const lmdb::Txn* txn, MDB_dbi dbi, std::string_view what, uint64_t* key_out,
                     MDB_val* data_out) {
  QUIPU_ASSIGN_OR_RETURN(lmdb::Cursor cursor, lmdb::Cursor::Open(*txn, dbi));
  MDB_val key;
  int rc = cursor.Get(&key, data_out, MDB_LAST);
  if (rc == MDB_NOTFOUND) return NotFound(std::string("no ") + std::string(what) + " stored");
  if (rc != 0) return lmdb::FromMdb(rc, "read last " + std::string(what));
  if (key.mv_size != 8) {
    return Corruption(std::string(what) + " key has " + std::to_string(key.mv_size) +
                      " bytes, expected 8");
  }
  *key_out = lmdb::LoadU64BE(static_cast<const uint8_t*>(key.mv_data));
  return Status::Ok();
}

}  // namespace

// ---- Reader ---------------------------------------------------------------

Result<ByteView> Reader::GetEntry(uint64_t index) const {
  lmdb::U64Key key(index);
  return GetValue(txn_, tables_->entries, key.val(), [&] { return "entry " + std::to_string(index); });
}

Result<uint64_t> Reader::EntryCount() const {
  uint64_t last;
  MDB_val data;
  Status status = LastU64Record(txn_, tables_->entries, "entry", &last, &data);
  if (status.code() == StatusCode::kNotFound) return uint64_t{0};
  QUIPU_RETURN_IF_ERROR(status);
  return last + 1;
}

Status Reader::ForEachEntry(uint64_t begin, uint64_t end,
                            const std::function<Status(uint64_t, ByteView)>& fn) const {
  if (begin >= end) return Status::Ok();
  QUIPU_ASSIGN_OR_RETURN(lmdb::Cursor cursor, lmdb::Cursor::Open(*txn_, tables_->entries));
  lmdb::U64Key start(begin);
  MDB_val key = start.val(), data;
  int rc = cursor.Get(&key, &data, MDB_SET_RANGE);
  while (rc == 0) {
    if (key.mv_size != 8) return Corruption("entry key is not 8 bytes");
    uint64_t index = lmdb::LoadU64BE(static_cast<const uint8_t*>(key.mv_data));
    if (index >= end) return Status::Ok();
    QUIPU_RETURN_IF_ERROR(fn(index, lmdb::FromVal(data)));
    rc = cursor.Get(&key, &data, MDB_NEXT);
  }
  if (rc == MDB_NOTFOUND) return Status::Ok();
  return lmdb::FromMdb(rc, "iterate entries");
}

Result<ByteView> Reader::GetTile(uint8_t level, uint64_t index) const {
  lmdb::TileKey key(level, index);
  return GetValue(txn_, tables_->tiles, key.val(),
                  [&] { return "tile " + std::to_string(level) + "/" + std::to_string(index); });
}

Result<std::vector<uint64_t>> Reader::DocIndices(const crypto::Digest& sha) const {
  doc_index::Tables t = DocTables(*tables_);
  if (snapshot_) t.filters = tables_->doc_filters.get();  // not in a write that may abort
  return doc_index::Lookup(*txn_, t, sha);
}

Status Reader::ForEachDocIndex(
    const std::function<Status(const crypto::Digest&, uint64_t)>& fn) const {
  return doc_index::ForEach(*txn_, DocTables(*tables_), fn);
}

namespace {
// Visits a table keyed by big-endian u64 in key order.
Status ForEachU64Keyed(lmdb::Txn* txn, MDB_dbi dbi, const char* what,
                       const std::function<Status(uint64_t, ByteView)>& fn) {
  QUIPU_ASSIGN_OR_RETURN(lmdb::Cursor cursor, lmdb::Cursor::Open(*txn, dbi));
  MDB_val key, data;
  int rc = cursor.Get(&key, &data, MDB_FIRST);
  while (rc == 0) {
    if (key.mv_size != 8) return Corruption(std::string(what) + " key is not 8 bytes");
    QUIPU_RETURN_IF_ERROR(fn(lmdb::LoadU64BE(static_cast<const uint8_t*>(key.mv_data)), lmdb::FromVal(data)));
    rc = cursor.Get(&key, &data, MDB_NEXT);
  }
  if (rc == MDB_NOTFOUND) return Status::Ok();
  return lmdb::FromMdb(rc, std::string("iterate ") + what);
}
}  // namespace

Status Reader::ForEachCheckpoint(const std::function<Status(uint64_t, std::string_view)>& fn) const {
  return ForEachU64Keyed(txn_, tables_->checkpoints, "checkpoints",
                         [&](uint64_t size, ByteView note) { return fn(size, crypto::AsString(note)); });
}

Status Reader::ForEachBlock(const std::function<Status(uint64_t, ByteView)>& fn) const {
  return ForEachU64Keyed(txn_, tables_->blocks, "blocks", fn);
}

Result<std::string_view> Reader::GetCheckpoint(uint64_t tree_size) const {
  lmdb::U64Key key(tree_size);
  QUIPU_ASSIGN_OR_RETURN(ByteView note, GetValue(txn_, tables_->checkpoints, key.val(), [&] {
                           return "checkpoint " + std::to_string(tree_size);
                         }));
  return crypto::AsString(note);
}

Result<Reader::Checkpoint> Reader::LatestCheckpoint() const {
  Checkpoint cp;
  MDB_val data;
  QUIPU_RETURN_IF_ERROR(LastU64Record(txn_, tables_->checkpoints, "checkpoint", &cp.tree_size, &data));
  cp.note = crypto::AsString(lmdb::FromVal(data));
  return cp;
}

Result<ByteView> Reader::GetBlock(uint64_t height) const {
  lmdb::U64Key key(height);
  return GetValue(txn_, tables_->blocks, key.val(), [&] { return "block " + std::to_string(height); });
}

Result<Reader::Block> Reader::LatestBlock() const {
  Block block;
  MDB_val data;
  QUIPU_RETURN_IF_ERROR(LastU64Record(txn_, tables_->blocks, "block", &block.height, &data));
  block.header = lmdb::FromVal(data);
  return block;
}

Result<ByteView> Reader::GetMeta(std::string_view key) const {
  QUIPU_RETURN_IF_ERROR(CheckKeySize(key.size(), "meta"));
  return GetValue(txn_, tables_->meta, lmdb::ToVal(key), [&] { return "meta " + std::string(key); });
}

Result<uint64_t> Reader::GetMetaU64(std::string_view key) const {
  QUIPU_ASSIGN_OR_RETURN(ByteView value, GetMeta(key));
  if (value.size() != 8) {
    return Corruption("meta " + std::string(key) + " has " + std::to_string(value.size()) +
                      " bytes, expected an 8-byte integer");
  }
  return lmdb::LoadU64BE(value.data());
}

Status Reader::CheckTable(const PrivateTable& table) const { return tables_->Find(table).status(); }

Result<ByteView> Reader::Get(const PrivateTable& table, ByteView key) const {
  QUIPU_ASSIGN_OR_RETURN(const StoreTables::Private* db, tables_->Find(table));
  QUIPU_RETURN_IF_ERROR(CheckKeySize(key.size(), table.name()));
  if (!db->exists) return NotFound(std::string(table.name()) + " record not found");
  return GetValue(txn_, db->dbi, lmdb::ToVal(key), [&] { return std::string(table.name()) + " record"; });
}

Status Reader::ForEach(const PrivateTable& table, ByteView from,
                       const std::function<Status(ByteView, ByteView)>& fn) const {
  QUIPU_ASSIGN_OR_RETURN(const StoreTables::Private* db, tables_->Find(table));
  if (!db->exists) return Status::Ok();
  QUIPU_ASSIGN_OR_RETURN(lmdb::Cursor cursor, lmdb::Cursor::Open(*txn_, db->dbi));
  MDB_val key = lmdb::ToVal(from), data;
  int rc = from.empty() ? cursor.Get(&key, &data, MDB_FIRST)
                        : cursor.Get(&key, &data, MDB_SET_RANGE);
  while (rc == 0) {
    QUIPU_RETURN_IF_ERROR(fn(lmdb::FromVal(key), lmdb::FromVal(data)));
    rc = cursor.Get(&key, &data, MDB_NEXT);
  }
  if (rc == MDB_NOTFOUND) return Status::Ok();
  return lmdb::FromMdb(rc, "iterate " + std::string(table.name()));
}

// ---- WriteBatch -----------------------------------------------------------

Status WriteBatch::Failed(int rc, std::string_view what) {
  if (lmdb::IsMapFull(rc)) map_full_ = true;
  return lmdb::FromMdb(rc, what);
}

Status WriteBatch::PutEntry(uint64_t index, ByteView bytes) {
  lmdb::U64Key key(index);
  MDB_val k = key.val(), v = lmdb::ToVal(bytes);
  int rc = mdb_put(txn_->get(), tables_->entries, &k, &v, MDB_APPEND);
  if (rc == MDB_KEYEXIST) {
    return InvalidArgument("entry index " + std::to_string(index) +
                           " is not after the last stored entry (entries are append-only)");
  }
  return Check(rc, [&] { return "put entry " + std::to_string(index); });
}

Status WriteBatch::PutTile(uint8_t level, uint64_t index, ByteView hashes) {
  if (hashes.empty() || hashes.size() % kHashSize != 0 ||
      hashes.size() > kMaxTileHashes * kHashSize) {
    return InvalidArgument("tile " + std::to_string(level) + "/" + std::to_string(index) +
                           " must hold 1 to 256 hashes of 32 bytes, got " +
                           std::to_string(hashes.size()) + " bytes");
  }
  lmdb::TileKey key(level, index);
  MDB_val k = key.val(), v = lmdb::ToVal(hashes);
  return Check(mdb_put(txn_->get(), tables_->tiles, &k, &v, 0),
               [&] { return "put tile " + std::to_string(level) + "/" + std::to_string(index); });
}

Status WriteBatch::IndexDocuments(std::span<const DocRecord> records) {
  // Sorted as (first 8 bytes, position) pairs: one integer compare for
  // nearly every pair and 16-byte moves instead of 40. Document hashes are
  // uniform, so the pairs are first spread over 256 buckets by their first
  // byte (one pass) and each small bucket is sorted alone.
  struct Order {
    uint64_t prefix;
    size_t at;
  };
  std::array<size_t, 257> start{};
  for (const DocRecord& r : records) ++start[r.sha[0] + 1];
  for (size_t b = 1; b < start.size(); ++b) start[b] += start[b - 1];
  std::vector<Order> order(records.size());
  std::array<size_t, 256> fill;
  std::copy(start.begin(), start.end() - 1, fill.begin());
  for (size_t i = 0; i < records.size(); ++i) {
    order[fill[records[i].sha[0]]++] = {lmdb::LoadU64BE(records[i].sha.data()), i};
  }
  auto less = [&](const Order& x, const Order& y) {
    if (x.prefix != y.prefix) return x.prefix < y.prefix;
    const DocRecord &a = records[x.at], &b = records[y.at];
    const int c = std::memcmp(a.sha.data() + 8, b.sha.data() + 8, kHashSize - 8);
    return c != 0 ? c < 0 : a.index < b.index;
  };
  for (size_t b = 0; b < 256; ++b) std::sort(order.begin() + start[b], order.begin() + start[b + 1], less);
  std::vector<uint8_t> packed(records.size() * doc_index::kRecordSize);
  uint8_t* out = packed.data();
  for (const Order& o : order) {
    std::memcpy(out, records[o.at].sha.data(), kHashSize);
    lmdb::StoreU64BE(records[o.at].index, out + kHashSize);
    out += doc_index::kRecordSize;
  }
  int rc = 0;
  Status s = doc_index::AddRun(*txn_, DocTables(*tables_), packed, &rc);
  if (lmdb::IsMapFull(rc)) map_full_ = true;
  return s;
}

Status WriteBatch::PutCheckpoint(uint64_t tree_size, std::string_view note) {
  lmdb::U64Key key(tree_size);
  MDB_val k = key.val(), v = lmdb::ToVal(note);
  return Check(mdb_put(txn_->get(), tables_->checkpoints, &k, &v, 0),
               [&] { return "put checkpoint " + std::to_string(tree_size); });
}

Status WriteBatch::PutBlock(uint64_t height, ByteView header) {
  lmdb::U64Key key(height);
  MDB_val k = key.val(), v = lmdb::ToVal(header);
  int rc = mdb_put(txn_->get(), tables_->blocks, &k, &v, MDB_APPEND);
  if (rc == MDB_KEYEXIST) {
    return InvalidArgument("block height " + std::to_string(height) +
                           " is not after the last stored block (blocks are append-only)");
  }
  return Check(rc, [&] { return "put block " + std::to_string(height); });
}

Status WriteBatch::PutMeta(std::string_view key, ByteView value) {
  QUIPU_RETURN_IF_ERROR(CheckKeySize(key.size(), "meta"));
  if (key == kFormatVersionKey || key == doc_index::kStateKey) {
    return InvalidArgument("meta " + std::string(key) + " is reserved to the store");
  }
  MDB_val k = lmdb::ToVal(key), v = lmdb::ToVal(value);
  return Check(mdb_put(txn_->get(), tables_->meta, &k, &v, 0), [&] { return "put meta " + std::string(key); });
}

Status WriteBatch::PutMetaU64(std::string_view key, uint64_t value) {
  lmdb::U64Key v(value);
  MDB_val val = v.val();
  return PutMeta(key, lmdb::FromVal(val));
}

// A writer opened (creating) every table it lists, so each exists here.
Status WriteBatch::Put(const PrivateTable& table, ByteView key, ByteView value) {
  QUIPU_ASSIGN_OR_RETURN(const StoreTables::Private* db, tables_->Find(table));
  QUIPU_RETURN_IF_ERROR(CheckKeySize(key.size(), table.name()));
  MDB_val k = lmdb::ToVal(key), v = lmdb::ToVal(value);
  return Check(mdb_put(txn_->get(), db->dbi, &k, &v, 0),
               [&] { return "put " + std::string(table.name()) + " record"; });
}

Status WriteBatch::Delete(const PrivateTable& table, ByteView key) {
  QUIPU_ASSIGN_OR_RETURN(const StoreTables::Private* db, tables_->Find(table));
  QUIPU_RETURN_IF_ERROR(CheckKeySize(key.size(), table.name()));
  MDB_val k = lmdb::ToVal(key);
  int rc = mdb_del(txn_->get(), db->dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) {
    return NotFound(std::string(table.name()) + " record to delete not found");
  }
  return Check(rc, [&] { return "delete " + std::string(table.name()) + " record"; });
}

// ---- ReadView -------------------------------------------------------------

ReadView::ReadView(const StoreTables* tables, std::unique_ptr<lmdb::ReadTxn> txn,
                   std::shared_lock<std::shared_timed_mutex> lock)
    : Reader(tables, txn.get()), owned_txn_(std::move(txn)), resize_lock_(std::move(lock)) {
  snapshot_ = true;
}
ReadView::ReadView(ReadView&&) noexcept = default;
ReadView& ReadView::operator=(ReadView&& other) noexcept {
  if (this != &other) {
    owned_txn_.reset();  // end our transaction before releasing our lock
    Reader::operator=(std::move(other));
    owned_txn_ = std::move(other.owned_txn_);
    resize_lock_ = std::move(other.resize_lock_);
  }
  return *this;
}
ReadView::~ReadView() { owned_txn_.reset(); }  // the txn ends before the lock is released

// ---- Store ----------------------------------------------------------------

namespace {

struct TableSpec {
  const char* name;
  unsigned flags;
  MDB_dbi StoreTables::*member;
};

// The store's own tables, always all there once the meta table is.
const TableSpec kTables[] = {
    {"meta", 0, &StoreTables::meta},
    {"entries", 0, &StoreTables::entries},
    {"tiles", 0, &StoreTables::tiles},
    {"docs", MDB_DUPSORT | MDB_DUPFIXED, &StoreTables::docs},
    {"checkpoints", 0, &StoreTables::checkpoints},
    {"blocks", 0, &StoreTables::blocks},
};

// The data directory exists (a writer creates it) and is a directory.
Status CheckDataDirectory(const std::string& dir, bool read_only) {
  if (!read_only && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return IoError("cannot create data directory " + dir + ": " + ErrnoText(errno));
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT) return NotFound("data directory " + dir + " does not exist");
    return IoError("cannot stat data directory " + dir + ": " + ErrnoText(err));
  }
  if (!S_ISDIR(st.st_mode)) return IoError("data directory " + dir + " is not a directory");
  return Status::Ok();
}

// The writer lock, taken into `*fd` (quipu.lock, holding the writer's pid).
// flock() locks belong to an open file description, so a second open in
// this process conflicts just as another process does.
Status TakeWriterLock(const std::string& dir, int* fd) {
  const std::string lock_path = dir + "/quipu.lock";
  *fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (*fd < 0) return IoError("cannot open writer lock file " + lock_path + ": " + ErrnoText(errno));
  if (::flock(*fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err != EWOULDBLOCK) return IoError("cannot lock " + lock_path + ": " + ErrnoText(err));
    char buf[32] = {0};
    ssize_t n = ::pread(*fd, buf, sizeof buf - 1, 0);
    long pid = n > 0 ? std::strtol(buf, nullptr, 10) : 0;
    std::string holder = pid <= 0 ? std::string("another process")
                         : pid == ::getpid() ? "this process (pid " + std::to_string(pid) + ")"
                                             : "pid " + std::to_string(pid);
    return Unavailable("data directory " + dir + " is in use by another writer: " + holder + " holds " + lock_path);
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(*fd, 0) != 0 || ::pwrite(*fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return IoError("cannot write pid to " + lock_path + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

// The transaction the tables are opened in: a reader's (after the map a
// writer grew meanwhile) or the writer's.
Result<lmdb::Txn> BeginOpening(lmdb::Env& env, bool read_only) {
  if (!read_only) {
    QUIPU_ASSIGN_OR_RETURN(lmdb::WriteTxn w, lmdb::WriteTxn::Begin(env));
    return lmdb::Txn(std::move(w));
  }
  int rc = 0;
  auto read_txn = lmdb::ReadTxn::Begin(env, &rc);
  if (rc == MDB_MAP_RESIZED) {  // the writer grew the map as we opened
    QUIPU_RETURN_IF_ERROR(env.SetMapSize(0));
    read_txn = lmdb::ReadTxn::Begin(env);
  }
  if (!read_txn.ok()) return read_txn.status();
  return lmdb::Txn(std::move(*read_txn));
}

// Whether the file is new (no meta table, no table at all). Tables without
// meta mean a damaged main tree, not a new file: every table is created
// with meta in one commit, and making them anew would start a second
// history beside the lost one.
Result<bool> IsFresh(lmdb::Txn& txn, const std::string& dir, const std::string& data_path, bool read_only) {
  auto meta = lmdb::OpenDb(txn, "meta", 0, /*create=*/false);
  if (meta.ok()) return false;
  if (meta.status().code() != StatusCode::kNotFound) return meta.status().WithContext(data_path);
  MDB_dbi main_dbi = 0;
  MDB_stat main_stat;
  int rc = mdb_dbi_open(txn.get(), nullptr, 0, &main_dbi);
  if (rc == 0) rc = mdb_stat(txn.get(), main_dbi, &main_stat);
  QUIPU_RETURN_IF_ERROR(lmdb::FromMdb(rc, "read the table list of " + data_path));
  if (main_stat.ms_entries != 0) {
    return Corruption(data_path + " lists " + std::to_string(main_stat.ms_entries) +
                      " tables but no meta table: the file is damaged; restore it from a backup "
                      "(README, Operations)");
  }
  if (read_only) {
    return NotFound("data directory " + dir + " holds no quipu ledger (no meta table in " + data_path + ")");
  }
  return true;
}

// Every table's handle into `tables`; a writer creates what is missing. A
// private table may be newer than the directory, and format 1 had no runs
// table: a reader goes without them (their handles stay 0).
Status OpenTables(lmdb::Txn& txn, const StoreOptions& options, const std::string& data_path, StoreTables& tables) {
  const bool create = !options.read_only;
  for (const TableSpec& spec : kTables) {
    QUIPU_ASSIGN_OR_RETURN(tables.*spec.member, lmdb::OpenDb(txn, spec.name, spec.flags, create));
  }
  auto docruns = lmdb::OpenDb(txn, "docruns", 0, create);
  if (docruns.ok()) tables.docruns = *docruns;
  else if (!(options.read_only && docruns.status().code() == StatusCode::kNotFound)) return docruns.status();
  for (const PrivateTable& t : options.private_tables) {
    StoreTables::Private p{t};
    const std::string name(t.name());
    auto dbi = lmdb::OpenDb(txn, name.c_str(), 0, create);
    if (dbi.ok()) {
      p.dbi = *dbi;
      p.exists = true;
    } else if (!(options.read_only && dbi.status().code() == StatusCode::kNotFound)) {
      return dbi.status().WithContext(data_path);
    }
    tables.private_tables.push_back(p);
  }
  return Status::Ok();
}

// Records the format version in a fresh file; otherwise checks it (refusing
// a newer format) and, for a writer, raises an older one: 1 → 2, new
// documents-index records go to `docruns` (a format-1 quipu must not write
// `docs` alone any more); 2 → 3, the private tables may be ones a format-2
// quipu does not open.
Status CheckFormatVersion(lmdb::Txn& txn, MDB_dbi meta, bool fresh, bool read_only, const std::string& dir,
                          const std::string& data_path) {
  MDB_val version_key = lmdb::ToVal(kFormatVersionKey);
  if (fresh) {
    lmdb::U64Key version(kStoreFormatVersion);
    MDB_val v = version.val();
    return lmdb::FromMdb(mdb_put(txn.get(), meta, &version_key, &v, 0), "record format version in " + data_path);
  }
  MDB_val v;
  int rc = mdb_get(txn.get(), meta, &version_key, &v);
  if (rc == MDB_NOTFOUND) return Corruption("data directory " + dir + " has no format version in its meta table");
  QUIPU_RETURN_IF_ERROR(lmdb::FromMdb(rc, "read format version of " + data_path));
  if (v.mv_size != 8) return Corruption("data directory " + dir + " has a malformed format version");
  uint64_t version = lmdb::LoadU64BE(static_cast<const uint8_t*>(v.mv_data));
  if (version > kStoreFormatVersion) {
    return Unavailable("data directory " + dir + " format version " + std::to_string(version) +
                       " is newer than this quipu (" + std::to_string(kStoreFormatVersion) + "); upgrade quipu");
  }
  if (version == 0) return Corruption("data directory " + dir + " has format version 0");
  if (version < kStoreFormatVersion && !read_only) {
    lmdb::U64Key current(kStoreFormatVersion);
    MDB_val cv = current.val();
    return lmdb::FromMdb(mdb_put(txn.get(), meta, &version_key, &cv, 0), "upgrade format version of " + data_path);
  }
  return Status::Ok();
}

}  // namespace

Store::Store(std::string dir, const StoreOptions& options)
    : dir_(std::move(dir)), options_(options), tables_(std::make_unique<StoreTables>()) {}

Store::~Store() {
  env_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

size_t Store::MapSize() const { return env_->MapSize(); }

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, const StoreOptions& options) {
  if (dir.empty()) return InvalidArgument("data directory path is empty");
  if (options.initial_map_size < 4096 || options.max_map_size < options.initial_map_size) {
    return InvalidArgument("store map sizes must satisfy 4096 <= initial_map_size <= max_map_size");
  }
  QUIPU_RETURN_IF_ERROR(CheckPrivateTables(options.private_tables));
  std::unique_ptr<Store> store(new Store(dir, options));
  QUIPU_RETURN_IF_ERROR(CheckDataDirectory(dir, options.read_only));
  if (!options.read_only) QUIPU_RETURN_IF_ERROR(TakeWriterLock(dir, &store->lock_fd_));

  lmdb::EnvOptions env_options;
  env_options.map_size = options.initial_map_size;
  env_options.read_only = options.read_only;
  env_options.no_sync = options.sync == SyncMode::kNone;
  const std::string data_path = dir + "/ledger.mdb";
  auto env = lmdb::Env::Open(data_path, env_options);
  if (!env.ok()) {
    if (env.status().code() == StatusCode::kNotFound) {
      return NotFound("data directory " + dir + " holds no ledger (no ledger.mdb)");
    }
    return env.status();
  }
  store->env_ = std::move(*env);

  // Every table in one transaction; a writer creates them (and records the
  // format version) on first use.
  QUIPU_ASSIGN_OR_RETURN(lmdb::Txn txn, BeginOpening(*store->env_, options.read_only));
  QUIPU_ASSIGN_OR_RETURN(const bool fresh, IsFresh(txn, dir, data_path, options.read_only));
  QUIPU_RETURN_IF_ERROR(OpenTables(txn, options, data_path, *store->tables_));
  QUIPU_RETURN_IF_ERROR(CheckFormatVersion(txn, store->tables_->meta, fresh, options.read_only, dir, data_path));
  // Committing (a read transaction too) keeps the table handles for the
  // life of the environment.
  QUIPU_RETURN_IF_ERROR(txn.Commit().WithContext("open tables of " + data_path));
  return store;
}

std::shared_lock<std::shared_timed_mutex> Store::LockForRead() const {
  if (growing_.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> wait_for_growth(grow_gate_);
  }
  return std::shared_lock<std::shared_timed_mutex>(resize_mu_);
}

Result<ReadView> Store::Read() const {
  for (int attempt = 0;; ++attempt) {
    auto lock = LockForRead();
    int rc = 0;
    auto txn = lmdb::ReadTxn::Begin(*env_, &rc);
    if (rc == MDB_MAP_RESIZED && attempt < 3) {
      // The writer (another process) grew the file past our map.
      lock.unlock();
      QUIPU_RETURN_IF_ERROR(AdoptOtherProcessMapSize());
      continue;
    }
    if (!txn.ok()) return txn.status();
    return ReadView(tables_.get(), std::make_unique<lmdb::ReadTxn>(std::move(*txn)),
                    std::move(lock));
  }
}

Status Store::AdoptOtherProcessMapSize() const {
  std::lock_guard<std::mutex> gate(grow_gate_);
  growing_.store(true, std::memory_order_release);
  std::unique_lock<std::shared_timed_mutex> lock(resize_mu_, std::defer_lock);
  bool locked = lock.try_lock_for(options_.grow_wait);
  growing_.store(false, std::memory_order_release);
  if (!locked) {
    return Unavailable("data directory " + dir_ +
                       ": cannot adopt the grown map while ReadViews stay open");
  }
  return env_->SetMapSize(0);
}

Status Store::GrowMap() {
  size_t current = env_->MapSize();
  if (current >= options_.max_map_size) {
    return Unavailable("data directory " + dir_ + " is full: map size " +
                       std::to_string(current) + " bytes reached max_map_size");
  }
  size_t target = current > options_.max_map_size / 2 ? options_.max_map_size : current * 2;
  std::lock_guard<std::mutex> gate(grow_gate_);
  growing_.store(true, std::memory_order_release);
  std::unique_lock<std::shared_timed_mutex> lock(resize_mu_, std::defer_lock);
  bool locked = lock.try_lock_for(options_.grow_wait);
  growing_.store(false, std::memory_order_release);
  if (!locked) {
    return Unavailable("data directory " + dir_ +
                       ": map full and cannot grow while ReadViews stay open (is one held "
                       "by the thread calling Write?)");
  }
  return env_->SetMapSize(target);
}

Status Store::Write(const std::function<Status(WriteBatch&)>& fn) {
  if (options_.read_only) {
    return InvalidArgument("data directory " + dir_ + " was opened read-only");
  }
  std::lock_guard<std::mutex> serialise(write_mu_);
  for (;;) {
    QUIPU_ASSIGN_OR_RETURN(lmdb::WriteTxn txn, lmdb::WriteTxn::Begin(*env_));
    WriteBatch batch(tables_.get(), &txn);
    Status status = fn(batch);
    if (batch.map_full_) {
      txn.Abort();  // no transaction may be active while the map grows
      QUIPU_RETURN_IF_ERROR(GrowMap());
      continue;
    }
    if (!status.ok()) return status;  // txn aborts: nothing of fn is written
    int rc = 0;
    status = txn.Commit(&rc);
    if (lmdb::IsMapFull(rc)) {
      QUIPU_RETURN_IF_ERROR(GrowMap());
      continue;
    }
    return status.WithContext("commit to " + dir_);
  }
}

Status Store::Backup(const std::string& dest_dir) const {
  if (::mkdir(dest_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return IoError("cannot create backup directory " + dest_dir + ": " + ErrnoText(errno));
  }
  struct stat st;
  if (::stat(dest_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return IoError("backup destination " + dest_dir + " is not a directory");
  }
  auto lock = LockForRead();  // the copy runs a read transaction
  return env_->CopyCompact(dest_dir + "/ledger.mdb");
}

}  // namespace quipu::ledger
