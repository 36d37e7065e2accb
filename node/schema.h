// quipu's schema in the ledger, declared here once: the entry types the
// domain writes and the private tables it keeps beside the log. Every Log
// opened on a quipu data directory is opened with both (LogOptionsFor), and
// the audit checks entries against the same types. docs/ledger.md has the
// entries' grammar; the tables' keys and values are node/records.h (and
// docs/records.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/entry.h"
#include "ledger/log.h"
#include "ledger/store.h"

namespace quipu::node {

// The private tables. Their names are their LMDB databases' names, so
// existing data directories open unchanged. Their keys and values:
// node/records.h.
namespace tables {
inline constexpr ledger::PrivateTable kSubjects{"subjects"};    // citizens, by document number
inline constexpr ledger::PrivateTable kClients{"clients"};      // institutions and their tokens' hashes
inline constexpr ledger::PrivateTable kApprovals{"approvals"};  // requests and the citizens' index
inline constexpr ledger::PrivateTable kOutbox{"outbox"};        // notifications and codes to send
// Issued QR Seguro codes and their revocations. Until this table, these
// records lived in `approvals` (node/upgrade.h moves them).
inline constexpr ledger::PrivateTable kQr{"qr"};
// Documents' contents, sealed, kept only while their request is pending.
inline constexpr ledger::PrivateTable kContents{"contents"};
// As a witness: the latest checkpoint cosigned for each log witnessed.
inline constexpr ledger::PrivateTable kWitness{"witness"};
// The cosignatures other witnesses gave this node's checkpoints.
inline constexpr ledger::PrivateTable kCosigned{"cosigned"};
}  // namespace tables

// Every table above, as LogOptions::private_tables takes them.
const std::vector<ledger::PrivateTable>& PrivateTables();

// quipu's entry types, each with exactly these fields besides `type`
// (docs/ledger.md):
//   approval, rejection  client, request (ids), subject (the subject
//                        commitment, SHA-256 hex), doc
//   qr_issue             client, doc, payload (SHA-256 hex of the code's
//                        nonce and ciphertext)
//   qr_revoke            client, target (the qr_issue's index), reason (text),
//                        and doc (optional: not in revocations before 0.2)
// where doc is {sha256 (the document, indexed), media_type (application/pdf
// or application/json)}. Thread-safe; built on first use.
const ledger::EntrySchema& EntryTypes();

// Options for a Log on the quipu data directory `dir`: its private tables
// and entry types set; the rest default.
ledger::LogOptions LogOptionsFor(std::string dir);

}  // namespace quipu::node
