// The public, read-only HTTP API over the ledger: the C2SP tlog-tiles read
// API (/checkpoint, /tile/...) and quipu's JSON API (/v1/log, entries,
// proofs, blocks, documents, verify). docs/api.md lists every route.
#pragma once

#include <functional>
#include <optional>

#include "api/router.h"
#include "ledger/log.h"

namespace quipu::api {

struct LedgerRoutesOptions {
  // Largest document POST /v1/verify accepts (the server's body limit is
  // the hard cap; this one gives the 413 a precise message).
  size_t max_verify_bytes = size_t{64} << 20;
  // Names records' clients (institutions) in answers; empty when unknown.
  std::function<std::string(const std::string& client_id)> client_name;
  // Answers `?subject=ID` on /v1/documents/{sha256}: returns the problem to
  // send (unauthenticated, rate-limited, ...), or nullopt after adding
  // "subject_approved" to `answer`. Without it such queries get 400.
  std::function<std::optional<Response>(const Request&, nlohmann::json& answer)> subject_query;
};

// Adds the routes to `router`. `log` must outlive the router's use.
void AddLedgerRoutes(Router& router, const ledger::Log& log, const LedgerRoutesOptions& options = {});

}  // namespace quipu::api
