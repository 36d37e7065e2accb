// Public verification: what the ledger says about a document, in the shape
// the HTTP API and the web page use (README, "Public API"), with inclusion
// proofs to one signed checkpoint so the answer can be checked without
// trusting the node.
#pragma once

#include <functional>
#include <optional>
#include <span>

#include <nlohmann/json.hpp>

#include "crypto/sha256.h"
#include "crypto/status.h"
#include "node/ledger_reader.h"
#include "node/document.h"
#include "pdf/engine.h"

namespace quipu::node {

// Proof hashes as a JSON array of base64 strings.
nlohmann::json ProofJson(const std::vector<Hash>& proof);

// Records returned for one document at most; `truncated` says there are more.
inline constexpr size_t kMaxRecordsPerDocument = 100;
// Earlier revisions of a PDF looked up at most: the latest ones (changes
// made after an approval, such as a stamp or a signature, are the last
// revisions of a file). `revisions_truncated` says some were not.
inline constexpr size_t kMaxRevisionLookups = 100;

// The index of the qr_revoke entry that revoked the code issued at an
// index, if any (QrService::RevocationOf). Lets a document's answer carry
// revocations recorded before qr_revoke entries named their document.
using RevocationLookup = std::function<Result<std::optional<uint64_t>>(uint64_t issue_index)>;

// {"sha256", "found", "records": [{index, type, time, client, entry,
//  leaf_hash, proof, tree_size}], "tree_size", "checkpoint", "truncated"}.
// Every qr_issue among the records is followed by the qr_revoke that
// withdrew it, when there is one in the same tree (found by document, or
// through `revocations` when given). Errors: the ledger's (I/O, corruption).
Result<nlohmann::json> LookupDocumentJson(const LedgerReader& ledger, const crypto::Digest& sha256,
                                          const RevocationLookup& revocations = nullptr);

// Hashes `bytes` as `type` (a PDF by its bytes, parsed by `engine`; JSON by
// its RFC 8785 form) and looks it up; for a PDF also its earlier revisions
// (at most kMaxRevisionLookups, the latest), so a document stamped or
// signed after approval still verifies:
// {... as above, "media_type", "revisions": [{length, sha256, found,
//  records}], "revisions_total", "revisions_truncated"}. A PDF the parser
// cannot read is still looked up by its bytes: when something is found the
// answer says so with "pdf_readable": false and "pdf_error"; otherwise the
// parse error is the answer (kUnprocessable). Errors: as HashDocument
// (kInvalidArgument, kUnprocessable, kUnavailable), and the ledger's.
Result<nlohmann::json> VerifyDocumentJson(const LedgerReader& ledger, pdf::PdfEngine& engine,
                                          std::span<const uint8_t> bytes, DocType type,
                                          const RevocationLookup& revocations = nullptr);

}  // namespace quipu::node
