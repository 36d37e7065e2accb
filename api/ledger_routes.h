// The public, read-only HTTP API over the ledger: the C2SP tlog-tiles read
// API (/checkpoint, /tile/...) and quipu's JSON API (/v1/log, entries,
// proofs, blocks, documents, verify). docs/api.md lists every route.
#pragma once

#include "api/router.h"
#include "ledger/log.h"

namespace quipu::api {

struct LedgerRoutesOptions {
  // Largest document POST /v1/verify accepts (the server's body limit is
  // the hard cap; this one gives the 413 a precise message).
  size_t max_verify_bytes = size_t{64} << 20;
};

// Adds the routes to `router`. `log` must outlive the router's use.
void AddLedgerRoutes(Router& router, const ledger::Log& log, const LedgerRoutesOptions& options = {});

}  // namespace quipu::api
