// An audit of a transparency log from its public read API alone (C2SP
// tlog-tiles): the checkpoint, every entry bundle and every hash tile,
// fetched through the caller's function (HTTP in `quipu audit URL`). It
// recomputes each leaf hash from the entries, compares it with the level-0
// tiles, each higher tile with the subtrees it recomputes, and the tree's
// root with the checkpoint's, whose signature it checks; with a schema it
// checks each entry as the local audit does (canonical, valid, in time
// order). A state saved by one audit lets the next fetch only what is new
// and proves the new checkpoint consistent with the old one: the new root is
// recomputed from the old tree's own subtrees.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/status.h"
#include "ledger/entry.h"
#include "ledger/log.h"

namespace quipu::ledger {

// What one audit leaves for the next: the checkpoint it verified and the
// tree's right edge as subtrees of 256 leaves and the leaves after them.
struct TiledAuditState {
  std::string origin;
  std::string vkey;
  uint64_t tree_size = 0;
  Hash root{};
  std::string checkpoint;      // the note verified
  std::vector<Hash> blocks;    // MTH of leaves [256k, 256k+256) for every complete k
  std::vector<Hash> tail;      // leaf hashes after them (fewer than 256)
  int64_t last_time_us = -1;   // with a schema: the newest entry's time
  bool opaque = false;         // audited without a schema: entries as bytes
};

// The largest tree an audit takes (a checkpoint claiming more is refused
// before anything else is fetched): 2^56 entries, seven tile levels.
inline constexpr uint64_t kMaxTiledAuditSize = uint64_t{1} << 56;
// A text form (JSON, base64 hashes) and back; kCorruption for a damaged one.
std::string EncodeTiledAuditState(const TiledAuditState& state);
Result<TiledAuditState> DecodeTiledAuditState(std::string_view text);

// GETs `path` ("checkpoint", "tile/0/x001/234.p/5", "tile/entries/...")
// from the log's prefix and returns the body: kNotFound for a 404, another
// error for anything else. Called from several threads at once.
using TileFetch = std::function<Result<std::string>(const std::string& path)>;

struct TiledAuditOptions {
  TileFetch fetch;
  std::string vkey;  // the log's verifier key (C2SP signed-note); required
  // Entries are checked as entries of this schema (quipu's); without one
  // they are opaque bytes.
  std::optional<EntrySchema> schema;
  // The state a previous audit of the same log saved: only what is new is
  // fetched, and the new checkpoint must extend that tree. A state saved
  // with a schema needs one now, and one saved without needs none.
  std::optional<TiledAuditState> previous;
  int threads = 8;  // fetches in flight at most
  // After each entry bundle joined: (entries checked, entries to check).
  std::function<void(uint64_t, uint64_t)> progress;
};

struct TiledAuditReport {
  bool ok = true;
  uint64_t tree_size = 0;
  uint64_t first_checked = 0;  // entries below were audited before (previous)
  Hash root{};
  std::string checkpoint;
  uint64_t fetches = 0;
  uint64_t bytes = 0;  // fetched
  // When not ok: the first failure; `index` the entry it concerns, if one.
  std::optional<uint64_t> index;
  std::string failure;
  double seconds = 0;
  TiledAuditState state;  // to save when ok
};

// Runs the audit. A non-ok Status means it could not run (a bad vkey, the
// checkpoint unreachable); what it finds wrong with the log is an ok Result
// whose report has ok == false.
Result<TiledAuditReport> AuditTiledLog(const TiledAuditOptions& options);

}  // namespace quipu::ledger
