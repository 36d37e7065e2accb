// The documents index (document SHA-256 → entry indices) as sorted runs,
// private to ledger/ (it speaks LMDB). docs/ledger.md ("The documents
// index") is the format for auditors; this is the why.
//
// A B-tree keyed by document hash takes one random page write per entry:
// every commit dirties about as many 4 KiB pages as it has entries, and the
// pages it hits are cold once the index outgrows the cache. Instead each
// commit writes its (document, index) records as one sorted *run*, packed
// into chunks of 102 records (one LMDB overflow page each), so a commit of
// n entries writes about n/102 pages. Runs of similar size are merged, eight
// at a time, into one (a tiered log-structured merge), so a lookup searches
// a number of runs that grows with the logarithm of the ledger. A merge
// advances a bounded amount in each commit (work proportional to that
// commit's records), so no commit stalls on a large merge; it is resumable
// because its progress is part of the state written in the same
// transaction. Merged-away runs are deleted the same way, a bit each commit.
//
// The state (the live runs, merges in progress, runs waiting for deletion)
// is one small record in `meta`; it changes only inside the commit's write
// transaction, so a crash leaves the index exactly as of the last commit.
// Records of format version 1 (the `docs` B-tree) are still read.
#pragma once

#include <lmdb.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "crypto/sha256.h"
#include "crypto/status.h"
#include "ledger/lmdb_env.h"

namespace quipu::ledger::doc_index {

// One record: document SHA-256 (32 bytes) ‖ entry index (u64 BE); memcmp
// order is (document, index) order.
inline constexpr size_t kRecordSize = 40;
// Records in a full chunk: 4080 bytes, exactly one LMDB overflow page.
inline constexpr size_t kChunkRecords = 102;
// Runs merged at once (and runs of one size class before a merge starts).
inline constexpr size_t kFanIn = 8;
// Merge and deletion work (records moved or deleted) a commit may do per
// record it adds, and at least. Merging costs about twice the number of
// size classes per record over a record's life (ten to twenty), so the
// budget keeps ahead.
inline constexpr size_t kWorkPerRecord = 24;
inline constexpr size_t kMinWork = 4 * kChunkRecords;
// The key in `meta` holding the state.
inline constexpr std::string_view kStateKey = "docs_runs";

// Bloom filters of runs, so that a lookup reads only the runs that may hold
// the document: without them every run costs a cold chunk page (a few
// hundred ns each, with up to ~7 runs per size class). A run's filter is
// built from its records on the first lookup that needs it (runs never
// change once live, and run numbers are never reused) and is dropped once
// the run is merged away; about 10 bits per record. Thread-safe; one per
// Store.
class FilterCache;
std::shared_ptr<FilterCache> NewFilterCache();

// The tables the index lives in. `runs` may be 0 in a read-only open of a
// format-1 directory that never had it.
struct Tables {
  MDB_dbi meta = 0;
  MDB_dbi runs = 0;    // run id u64 BE ‖ last record of the chunk → records
  MDB_dbi legacy = 0;  // format 1: sha → u64 BE indices (MDB_DUPSORT|MDB_DUPFIXED)
  // Used by Lookup when set: only for committed snapshots (read
  // transactions), never inside a write transaction that may still abort.
  FilterCache* filters = nullptr;
};

// Adds one run holding `records` (kRecordSize bytes each, strictly
// ascending, none already indexed; may be empty) and advances merges and
// deletions by a budget proportional to its size. Inside a write
// transaction; on an LMDB error returns it as a Status and stores the rc in
// *mdb_rc (so the caller can tell a full map and grow it).
Status AddRun(const lmdb::Txn& txn, const Tables& tables, std::span<const uint8_t> records, int* mdb_rc);

// The entry indices recorded for `sha`, ascending.
Result<std::vector<uint64_t>> Lookup(const lmdb::Txn& txn, const Tables& tables, const crypto::Digest& sha);

// Calls fn(sha, index) for every record a lookup can find, run by run
// (each in (document, index) order), after checking the state record and
// each chunk's shape, order and key: kCorruption names what is wrong. For
// audits.
Status ForEach(const lmdb::Txn& txn, const Tables& tables,
               const std::function<Status(const crypto::Digest&, uint64_t)>& fn);

}  // namespace quipu::ledger::doc_index
