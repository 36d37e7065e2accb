// `quipu audit`: replays a whole ledger from its bytes and checks everything
// the node ever signed or chained: every entry (canonical, valid, time
// order), every leaf and tree hash in the stored rows, every block link and
// root, every checkpoint signature and root, and the documents index. Runs
// on a read-only snapshot, so a node may keep writing meanwhile.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "crypto/status.h"
#include "ledger/log.h"

namespace quipu::ledger {

struct AuditOptions {
  std::string dir;
  // The verifier key checkpoints must be signed with. Empty: the key the
  // ledger records about itself (weaker: say so in reports).
  std::string vkey;
  // The entry types the ledger holds: every entry must be one of them.
  EntrySchema entry_schema;
  int threads = 0;  // entry parsing and hashing threads; 0: one per core
  // Called after each chunk of entries with (entries checked, total).
  std::function<void(uint64_t, uint64_t)> progress;
};

struct AuditReport {
  bool ok = true;
  uint64_t entries = 0;      // entries in the audited snapshot
  uint64_t blocks = 0;
  uint64_t checkpoints = 0;
  uint64_t doc_records = 0;
  Hash root{};               // root of the audited tree
  std::string vkey;          // the key checkpoints were checked against
  bool vkey_from_ledger = false;
  // When not ok: the first failure found. `index` is the entry index it
  // concerns, when it concerns one.
  std::optional<uint64_t> index;
  std::string failure;
  double seconds = 0;
};

// Audits the ledger in options.dir. A non-ok Status means the audit could
// not run (no ledger, I/O error, bad vkey); a damaged ledger is an ok
// Result whose report has ok == false.
Result<AuditReport> Audit(const AuditOptions& options);

}  // namespace quipu::ledger
