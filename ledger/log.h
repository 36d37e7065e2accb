// The Registro de Orden Cronológico: quipu's append-only, RFC 9162 Merkle
// log in LMDB, with one sequencer thread doing group commit. This is the
// ledger's one public entry point; everything else in ledger/ is its
// machinery (merkle.h and tiles.h are public for verifiers and the audit).
//
// Formats (entries, tiles, blocks, checkpoints, LMDB tables) are written
// down in docs/ledger.md.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/sha256.h"
#include "crypto/status.h"
#include "ledger/entry.h"
#include "ledger/store.h"

namespace quipu::ledger {

using Hash = crypto::Digest;

// SyncMode and PrivateTable come from ledger/store.h.

struct LogOptions {
  std::string dir;                       // the data directory
  // The log's origin (checkpoint first line, signer name). Used when creating
  // (empty: kDefaultOrigin); when opening, a non-empty origin must match.
  std::string origin;
  bool create = true;                    // create the directory and key on first use
  bool read_only = false;                // no writer lock, no sequencer: audit and CLI reads
  SyncMode sync = SyncMode::kFull;
  size_t max_batch_entries = 16384;      // entries in one commit at most
  // Requests in one commit at most; 1 turns group commit off (a commit
  // and fsync per request), for comparison in benchmarks.
  size_t max_batch_requests = SIZE_MAX;
  size_t queue_capacity_entries = 65536; // entries waiting at most; beyond, kUnavailable
  uint64_t initial_map_bytes = uint64_t{1} << 30;  // grows by itself when full
  // Microseconds since the Unix epoch; injectable for tests. Default: the
  // system clock.
  std::function<int64_t()> clock;
  // Called by the sequencer after each commit (entries in it, seconds it
  // took to write and sync); for metrics. Must be quick and not call Log.
  std::function<void(size_t entries, double seconds)> on_commit;
  // The caller's private tables (StoreOptions::private_tables): the only ones
  // PrivateTxn, ReadPrivate and ScanPrivate take.
  std::vector<PrivateTable> private_tables;
  // The entry types Append takes (entry.h). The default has none: enough for
  // a read-only log, which parses no entry.
  EntrySchema entry_schema;
};

inline constexpr char kDefaultOrigin[] = "quipu.localhost/log";
// The node's signing key inside the data directory (mode 0600; a Go
// signed-note private key string, see crypto/note.h).
inline constexpr char kNodeKeyFile[] = "node.key";

// Read and write access to the private tables inside the sequencer's write
// transaction (see AppendRequest::apply). Valid only during that call. Each
// call returns kInvalidArgument for a table the log was not opened with
// (LogOptions::private_tables) or a key outside 1..511 bytes.
class PrivateTxn {
 public:
  virtual ~PrivateTxn() = default;
  virtual Result<std::optional<std::string>> Get(const PrivateTable& table, std::string_view key) = 0;
  virtual Status Put(const PrivateTable& table, std::string_view key, std::string_view value) = 0;
  virtual Status Delete(const PrivateTable& table, std::string_view key) = 0;
};

// What a committed request got.
struct AppendResult {
  uint64_t first_index = 0;  // index of the request's first entry
  uint64_t count = 0;        // number of entries of the request
  uint64_t tree_size = 0;    // size of the tree committed with them
  std::string time;          // RFC 3339 UTC time with µs given to every entry of the batch
  std::string checkpoint;    // the signed checkpoint note for tree_size
};

// A group of entries that lands in one commit, or not at all.
struct AppendRequest {
  AppendRequest() = default;
  explicit AppendRequest(std::vector<nlohmann::json> e) : entries(std::move(e)) {}

  // Each entry is a JSON object with `type` and its type's fields; the
  // sequencer adds `v` and `time`. Validated on Append against
  // LogOptions::entry_schema (see docs/ledger.md).
  std::vector<nlohmann::json> entries;
  // More entries, appended after `entries`, already checked and in
  // canonical form by the log's EntrySchema (or a copy: ParseFields or
  // CanonicalizeFields, the only makers of CanonicalFields): nothing is
  // redone on the caller's thread. ParseFields checks canonical text
  // without a JSON tree: the fast way to append many. Fields checked by
  // another schema are refused (kInvalidArgument).
  std::vector<CanonicalFields> checked;
  // Optional: runs inside the write transaction, before the entries are
  // added, with the indices they will get. A non-ok Status fails this
  // request alone (its entries are not appended, its private writes are
  // undone) and is the request's answer; other requests in the batch go on.
  std::function<Status(PrivateTxn&, uint64_t first_index, const std::string& time)> apply;
  // Optional: entries that depend on the index they get (e.g. an entry
  // sealed with its own index as associated data). Called in the
  // sequencer, after `apply`, with the first index; must return exactly
  // `late_count` entries, appended after `entries`. Validated there; an
  // error fails this request alone. May run more than once for one commit
  // (after a map growth): keep only what the last call produced.
  size_t late_count = 0;
  std::function<Result<std::vector<nlohmann::json>>(uint64_t first_index)> late_entries;
};

struct LogHead {
  uint64_t tree_size = 0;
  Hash root{};
  std::string checkpoint;  // signed note for tree_size
};

struct InclusionProof {
  uint64_t index = 0;
  uint64_t tree_size = 0;
  Hash leaf_hash{};
  std::vector<Hash> proof;  // RFC 9162 §2.1.3 audit path
  std::string checkpoint;   // the signed note for tree_size
};

// A block: the chain view of one commit. Canonical header bytes are the JCS
// form of {height, prev, root, time, tree_size} (docs/ledger.md).
struct Block {
  uint64_t height = 0;
  uint64_t tree_size = 0;
  Hash root{};
  std::string time;
  Hash prev{};  // SHA-256 of the previous block's canonical header; zeros for height 0
  std::string CanonicalHeader() const;
};

// A document's records, all proven against one tree size, read from one
// snapshot (so they agree with each other and with the checkpoint).
struct DocumentRecord {
  uint64_t index = 0;
  std::string entry;  // exact bytes
  Hash leaf_hash{};
  std::vector<Hash> proof;  // to the root of tree_size
};
struct DocumentLookup {
  uint64_t tree_size = 0;
  std::string checkpoint;  // the signed note for tree_size
  std::vector<DocumentRecord> records;  // ascending index; at most the limit asked
  bool truncated = false;               // more records exist than the limit
};

struct SequencerStats {
  uint64_t queue_depth_entries = 0;
  uint64_t batches = 0;
  uint64_t entries = 0;
};

// Thread-safe: any thread may call any method. Not copyable.
class Log {
 public:
  // Opens (and with create, initialises) the data directory. Errors: the
  // directory is held by another writer (kUnavailable), its format is newer
  // than this program (kUnavailable: "upgrade quipu"), I/O (kIoError), damage (kCorruption).
  static Result<std::unique_ptr<Log>> Open(const LogOptions& options);
  // Stops taking requests, commits what is queued, closes the store.
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Queues a request; the future resolves after its batch is committed
  // (fsynced with SyncMode::kFull). kInvalidArgument for an invalid entry
  // (at once), kUnavailable when the queue is full (at once) or the log is
  // closing. Never blocks on the disk.
  std::future<Result<AppendResult>> Append(AppendRequest request);

  const std::string& origin() const;
  // The C2SP signed-note verifier key "origin+hash+base64key".
  const std::string& verifier_key() const;

  LogHead Head() const;
  Result<std::string> Entry(uint64_t index) const;          // exact bytes
  Result<std::string> Checkpoint(uint64_t tree_size) const; // kNotFound if none was signed
  Result<InclusionProof> ProveInclusion(uint64_t index, uint64_t tree_size) const;
  Result<std::vector<Hash>> ProveConsistency(uint64_t old_size, uint64_t new_size) const;
  Result<Hash> Root(uint64_t tree_size) const;
  // Indices of the entries whose `doc.sha256` is `sha256`, ascending.
  Result<std::vector<uint64_t>> FindDocument(const crypto::Digest& sha256) const;
  // The entries concerning document `sha256` with their inclusion proofs to
  // the latest checkpoint, at most `limit` of them (the first ones).
  Result<DocumentLookup> LookupDocument(const crypto::Digest& sha256, size_t limit) const;
  Result<Block> GetBlock(uint64_t height) const;
  Result<Block> LatestBlock() const;
  // C2SP tlog-tiles: the hashes of tile (level, index) at width 1..256, and
  // the entry bundle of entries tile index at width; kNotFound beyond the tree.
  Result<std::string> Tile(int level, uint64_t index, int width) const;
  Result<std::string> EntryBundle(uint64_t index, int width) const;
  // A read of the private tables outside the sequencer (a snapshot).
  // kInvalidArgument for a table the log was not opened with.
  Result<std::optional<std::string>> ReadPrivate(const PrivateTable& table, std::string_view key) const;
  // Visits private rows with keys starting with prefix, in key order, until fn returns false.
  Status ScanPrivate(const PrivateTable& table, std::string_view prefix,
                     const std::function<bool(std::string_view key, std::string_view value)>& fn) const;
  // Hot backup of the whole environment into an empty directory.
  Status Backup(const std::string& dest_dir) const;
  SequencerStats stats() const;

 private:
  struct Impl;
  explicit Log(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace quipu::ledger
