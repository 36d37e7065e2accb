// The AGETIC-compatible API under /api/ (docs/agetic-api.md): a second
// face on the node's services for the institutions already integrated
// with Ciudadanía Digital's approval service. Each handler reads the
// original's shape (api/agetic_json.h), asks the service quipu's own /v1
// routes ask (node::Approvals::Create, node::VerifyDocument), and answers
// in the original's envelope: no rule is implemented here.
#pragma once

#include <functional>
#include <string>

#include "api/documents_json.h"
#include "api/router.h"
#include "node/approvals.h"
#include "node/clients.h"
#include "node/id_token.h"
#include "node/ledger_reader.h"
#include "node/qr_service.h"
#include "node/rate_limit.h"
#include "node/verify.h"
#include "pdf/engine.h"

namespace quipu::api {

struct AgeticRoutes {
  node::Clients* clients = nullptr;
  node::Approvals* approvals = nullptr;
  node::QrService* qr = nullptr;
  const node::LedgerReader* ledger = nullptr;
  pdf::PdfEngine* pdf = nullptr;
  node::RevocationLookup revocations;
  ClientNamer client_name;
  // The citizen an access token names (AccessTokenCache::Check over
  // OidcClient::CitizenOfAccessToken); unset when the node has no identity
  // provider: approval requests are then 503.
  std::function<Result<node::Citizen>(const std::string& access_token)> citizen_of_token;
  // Where browsers reach the node: approval links are <page_base>/aprobar/<id>.
  std::string page_base;
  // The node's public URL: a QR code's link is <public_url>/?qr=<text>.
  std::string public_url;
  // Approval requests (each checks its access token) a client may make
  // per hour, and at once, before the node's own limits. Beyond: 429.
  double token_checks_per_client_hour = 36000;
  double token_checks_burst = 600;
  std::function<int64_t()> clock;  // unix µs, for the limit; default the system clock
};

// POST /api/solicitudes, /api/solicitudes/multiples,
// /api/documentos/verificar, /api/qr/generar, /api/qr/confirmacion and
// /api/qr/anulacion, each for clients only (the institution's token,
// checked before the body is read), on the worker pool, with the node's
// document body limit (the QR routes: 64 KiB). `routes`' pointers must
// outlive the router.
void AddAgeticRoutes(Router& router, AgeticRoutes routes);

// The handlers, callable without a socket (tests/api/agetic_test.cpp).
namespace agetic_handlers {
// `token_checks` limits the provider lookups per client (null: no limit).
Response Solicitud(const AgeticRoutes& routes, const node::ClientInfo& client, const Request& req, bool multiple,
                   node::RateLimiter* token_checks = nullptr);
Response Verificar(const AgeticRoutes& routes, const Request& req);
Response QrGenerar(const AgeticRoutes& routes, const node::ClientInfo& client, const Request& req,
                   node::RateLimiter* token_checks = nullptr);
Response QrConfirmacion(const AgeticRoutes& routes, const node::ClientInfo& client, const Request& req);
Response QrAnulacion(const AgeticRoutes& routes, const node::ClientInfo& client, const Request& req);
}  // namespace agetic_handlers

}  // namespace quipu::api
