// The public, read-only HTTP API over the ledger: the C2SP tlog-tiles read
// API (/checkpoint, /tile/...) and quipu's JSON API (/v1/log, entries,
// proofs, blocks, documents, verify). README "Public API" lists every route.
// It reads through node::LedgerReader: nothing here knows ledger/.
#pragma once

#include <functional>
#include <optional>

#include "api/documents_json.h"
#include "api/router.h"
#include "node/ledger_reader.h"
#include "node/verify.h"
#include "pdf/engine.h"

namespace quipu::api {

struct LedgerRoutesOptions {
  // Parses the PDFs POST /v1/verify receives: the sandbox in a node.
  // Required for that route (without it, PDFs get 503).
  pdf::PdfEngine* pdf = nullptr;
  // Asked before a /v1/verify body is read: true when the PDF workers would
  // refuse it anyway (PdfSandbox::Saturated). Then a body that may be a PDF
  // gets 503 without being read. Optional.
  std::function<bool()> pdf_saturated;
  // Finds revocations of QR Seguro codes in documents' answers
  // (QrService::RevocationOf); optional.
  node::RevocationLookup revocations;
  // Names records' clients (institutions) in answers; optional.
  ClientNamer client_name;
  // Answers `?subject=ID` on /v1/documents/{sha256}: returns the problem to
  // send (unauthenticated, rate-limited, ...), or nullopt after setting
  // `approved` (the answer's "subject_approved"). Without it such queries
  // get 400.
  std::function<std::optional<Response>(const Request&, const node::DocumentAnswer& answer, bool& approved)>
      subject_query;
};

// Adds the routes to `router`. `ledger` (and options.pdf) must outlive the
// router's use. The reads (checkpoint, tiles, entries, proofs, blocks,
// documents) run inline on the I/O threads; POST /v1/verify (a hash of up
// to the server's document limit, a PDF parse) on the worker pool.
void AddLedgerRoutes(Router& router, const node::LedgerReader& ledger, const LedgerRoutesOptions& options = {});

// The handlers, each a plain function from a request to a response (for
// tests without a socket). `params` are what the route's {} and * matched.
namespace ledger_handlers {
Response Checkpoint(const node::LedgerReader& ledger);
Response Tile(const node::LedgerReader& ledger, const Request& req);
Response Log(const node::LedgerReader& ledger);
Response SignedCheckpoint(const node::LedgerReader& ledger, const Request& req);
Response Entry(const node::LedgerReader& ledger, const Request& req);
// GET /v1/entries/{n}/receipt: the C2SP tlog-proof@v1 text of entry n (the
// entry as extra data, its proof to the latest checkpoint), text/plain.
Response Receipt(const node::LedgerReader& ledger, const Request& req);
Response Consistency(const node::LedgerReader& ledger, const Request& req);
Response Block(const node::LedgerReader& ledger, const Request& req);
// GET /v1/documents/{sha256}[?subject=ID]: 400 for a malformed hash; with
// ?subject=, what options.subject_query answers (400 without one). Sets
// *tree_size (when given) to the tree the answer is for.
Response Document(const node::LedgerReader& ledger, const LedgerRoutesOptions& options, const Request& req,
                  uint64_t* tree_size = nullptr);
// POST /v1/verify (a PDF or JSON body): 415 for another type or a body
// that is neither, 422 for a PDF that cannot be read and is not found by
// its bytes, 503 without a PDF engine.
Response Verify(const node::LedgerReader& ledger, const LedgerRoutesOptions& options, const Request& req);
// /v1/verify's admit check: 503 with Retry-After before the body is read
// while `saturated()` says every PDF worker is busy, unless the body is
// declared JSON.
std::optional<Response> RefuseWhilePdfWorkersBusy(const std::function<bool()>& saturated,
                                                  const http::fields& headers);
}  // namespace ledger_handlers

}  // namespace quipu::api
