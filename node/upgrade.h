// Upgrades of a data directory's private tables: what an earlier quipu wrote
// is moved to where this one reads it, once, by the first writer that opens
// the directory (docs/ledger.md lists the tables and their keys).
//
// The steps: QR Seguro records (q:<index>, qrev:<index>) lived in the
// `approvals` table until they got the `qr` table (same keys); approval
// requests get the citizens' index (c:<subject>:<request id>, then the mark
// m:citizen-index), which the citizen's own page reads.
#pragma once

#include <cstddef>

#include "crypto/status.h"

namespace quipu::ledger {
class Log;
}

namespace quipu::node {

// Brings `log`'s private tables to this version's layout in one commit of
// the sequencer: all of a step's records move, or none (the moving records
// are held in memory until that commit). Idempotent: returns
// how many records moved or were written (0 when there was nothing to do). `log` must be
// open for writing with node::PrivateTables(). Call it before the node's
// services use the log. Errors: those of the read and of the commit.
Result<size_t> UpgradeDataDirectory(ledger::Log& log);

// True if `log` (perhaps open read-only) holds records that
// UpgradeDataDirectory would move: a reader of such a directory would miss
// them where this version looks.
Result<bool> UpgradePending(const ledger::Log& log);

}  // namespace quipu::node
