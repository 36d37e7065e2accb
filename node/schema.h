// quipu's schema in the ledger: the private tables the domain keeps beside
// the log, declared here once. Every Log (or Store) opened on a quipu data
// directory is opened with them (LogOptionsFor); docs/ledger.md lists their
// keys.
#pragma once

#include <string>
#include <vector>

#include "ledger/log.h"
#include "ledger/store.h"

namespace quipu::node {

// The private tables. Their names are their LMDB databases' names, so
// existing data directories open unchanged.
namespace tables {
// s:<subject id> → the subject's salt and second factors (JSON)
inline constexpr ledger::PrivateTable kSubjects{"subjects"};
// c:<client id> → the client (JSON); t:<SHA-256 of its token, hex> → client id
inline constexpr ledger::PrivateTable kClients{"clients"};
// r:<request id> → the approval request and its decision (JSON)
inline constexpr ledger::PrivateTable kApprovals{"approvals"};
// o:<created µs, 20 digits>:<request id>:<kind> → a notification or code to send (JSON)
inline constexpr ledger::PrivateTable kOutbox{"outbox"};
}  // namespace tables

// Every table above, as LogOptions::private_tables takes them.
const std::vector<ledger::PrivateTable>& PrivateTables();

// Options for a Log on the quipu data directory `dir`: its private tables
// set; the rest default.
ledger::LogOptions LogOptionsFor(std::string dir);

}  // namespace quipu::node
