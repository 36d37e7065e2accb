// Public verification: what the ledger says about a document, in the shape
// the HTTP API and the web page use (docs/api.md), with inclusion proofs to
// one signed checkpoint so the answer can be checked without trusting the
// node.
#pragma once

#include <span>

#include <nlohmann/json.hpp>

#include "crypto/sha256.h"
#include "crypto/status.h"
#include "ledger/log.h"
#include "node/document.h"

namespace quipu::node {

// Proof hashes as a JSON array of base64 strings.
nlohmann::json ProofJson(const std::vector<ledger::Hash>& proof);

// Records returned for one document at most; `truncated` says there are more.
inline constexpr size_t kMaxRecordsPerDocument = 100;

// {"sha256", "found", "records": [{index, type, time, client, entry,
//  leaf_hash, proof, tree_size}], "tree_size", "checkpoint", "truncated"}.
// Errors: the ledger's (I/O, corruption).
Result<nlohmann::json> LookupDocumentJson(const ledger::Log& log, const crypto::Digest& sha256);

// Hashes `bytes` as `type` (a PDF by its bytes, JSON by its RFC 8785 form)
// and looks it up; for a PDF also every earlier revision, so a document
// stamped or signed after approval still verifies:
// {... as above, "media_type", "revisions": [{length, sha256, found, records}]}.
// kInvalidArgument when the body is not a valid document of that type.
Result<nlohmann::json> VerifyDocumentJson(const ledger::Log& log, std::span<const uint8_t> bytes,
                                          DocType type);

}  // namespace quipu::node
