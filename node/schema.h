// quipu's schema in the ledger, declared here once: the entry types the
// domain writes and the private tables it keeps beside the log. Every Log
// opened on a quipu data directory is opened with both (LogOptionsFor), and
// the audit checks entries against the same types. docs/ledger.md has the
// entries' grammar and the tables' keys.
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
// existing data directories open unchanged.
namespace tables {
// s:<subject id> → the subject's salt and second factors (JSON)
inline constexpr ledger::PrivateTable kSubjects{"subjects"};
// c:<client id> → the client (JSON); t:<SHA-256 of its token, hex> → client id
inline constexpr ledger::PrivateTable kClients{"clients"};
// r:<request id> → the approval request and its decision (JSON);
// c:<subject id>:<newest-first time>:<request id> → "" (the citizens' index,
// CitizenIndexKey); m:citizen-index → "1" (every request is indexed)
inline constexpr ledger::PrivateTable kApprovals{"approvals"};
// o:<created µs, 20 digits>:<request id>:<kind> → a notification or code to send (JSON)
inline constexpr ledger::PrivateTable kOutbox{"outbox"};
// q:<index of a qr_issue entry> → the QR Seguro code's text, client and time (JSON);
// qrev:<index of a qr_issue entry> → the index of its qr_revoke entry (decimal).
// Until this table, these records lived in `approvals` (node/upgrade.h moves them).
inline constexpr ledger::PrivateTable kQr{"qr"};
// k:<expires µs, 20 digits>:<request id>:<document, 3 digits> → the content a
// client sent with a request, sealed (bytes), kept only while the request is
// pending, for the citizen's page (ContentKey).
inline constexpr ledger::PrivateTable kContents{"contents"};
}  // namespace tables

// The key of document `i`'s content of request `request_id`, which expires
// at `expires_us`: keys sort by expiry, so the expired ones come first.
std::string ContentKey(int64_t expires_us, std::string_view request_id, size_t i);
// The expiry (µs) a content key names; -1 if `key` is not one.
int64_t ExpiryOfContentKey(std::string_view key);

// The citizens' index in `approvals`: one key per request that names
// `subject`, created at `created_us`; keys of one subject sort newest
// first (the time is written as 16 hex digits of INT64_MAX - created_us).
std::string CitizenIndexPrefix(std::string_view subject);
std::string CitizenIndexKey(std::string_view subject, int64_t created_us, std::string_view request_id);
// The request id of an index key ("" if `key` is not one).
std::string RequestIdOfIndexKey(std::string_view key);
// Present (value "1") once every request of the table is in the index.
inline constexpr std::string_view kCitizenIndexMark = "m:citizen-index";

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
