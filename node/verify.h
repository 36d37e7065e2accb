// Public verification: what the ledger says about a document, with RFC 9162
// inclusion proofs to one signed checkpoint so that the answer can be
// checked without trusting the node. The answers are the domain's types;
// api/verify_wire.h writes them as the JSON of README "Public API".
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "crypto/sha256.h"
#include "crypto/status.h"
#include "node/document.h"
#include "node/ledger_reader.h"
#include "pdf/engine.h"

namespace quipu::node {

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

// One entry about a document, proven against the answer's tree.
struct DocumentRecord {
  uint64_t index = 0;
  std::string type;    // the entry's type: approval, rejection, qr_issue, qr_revoke
  std::string time;    // the entry's time (RFC 3339)
  std::string client;  // the client that recorded it
  std::string entry;   // the entry's canonical bytes (RFC 8785 JSON)
  Hash leaf_hash{};
  std::vector<Hash> proof;  // to the root of the answer's tree_size
};

// What the ledger holds about one document (its SHA-256), as of one tree.
struct DocumentAnswer {
  crypto::Digest sha256{};
  // Ascending index (at most kMaxRecordsPerDocument), then the qr_revoke
  // entries found only through the revocation lookup.
  std::vector<DocumentRecord> records;
  bool truncated = false;  // more records exist than were returned
  uint64_t tree_size = 0;
  std::string checkpoint;  // the signed note for tree_size
  bool found() const { return !records.empty(); }
};

// An earlier revision of a PDF: its first `length` bytes.
struct RevisionAnswer {
  uint64_t length = 0;
  DocumentAnswer answer;  // its lookup, in the same tree
};

// What the ledger says about a document given whole.
struct Verification {
  DocumentAnswer document;  // the whole file (as hashed: a JSON document canonically)
  DocType media = DocType::kPdf;
  // PDF only: the earlier revisions looked up (the latest
  // kMaxRevisionLookups of revisions_total, in file order).
  std::vector<RevisionAnswer> revisions;
  size_t revisions_total = 0;
  bool revisions_truncated = false;
  // False for a PDF the parser could not read that was still found by its
  // bytes (or a revision's); pdf_error says why it could not be read.
  bool pdf_readable = true;
  std::string pdf_error;
  bool found() const;  // the file or any revision looked up
};

// The records of document `sha256`. Every qr_issue among them is followed
// by the qr_revoke that withdrew it when there is one in the same tree
// (found by document, or through `revocations` when given). Errors: the
// ledger's (I/O, kCorruption for an entry that is not JSON).
Result<DocumentAnswer> LookupDocument(const LedgerReader& ledger, const crypto::Digest& sha256,
                                      const RevocationLookup& revocations = nullptr);

// Hashes `bytes` as `type` (a PDF by its bytes, parsed by `engine`; JSON by
// its RFC 8785 form) and looks it up; for a PDF also its earlier revisions,
// so that a document stamped or signed after approval still verifies. A
// PDF the parser cannot read is still looked up by its bytes: when
// something is found the answer says so (pdf_readable false); otherwise
// the parse error is the answer (kUnprocessable). Errors: kInvalidArgument
// for kRaw, as HashDocument (kInvalidArgument, kUnprocessable,
// kUnavailable), and the ledger's.
Result<Verification> VerifyDocument(const LedgerReader& ledger, pdf::PdfEngine& engine,
                                    std::span<const uint8_t> bytes, DocType type,
                                    const RevocationLookup& revocations = nullptr);

}  // namespace quipu::node
