// The approval service's HTTP API for institutions and the administrator:
// clients and citizens' factor resets (admin), approval requests (clients),
// and the authenticated `?subject=` question on /v1/documents. No route
// here enrols, shows or checks a citizen's factor: the citizen decides on
// the node's own page (api/citizen_routes.h). README "Approvals".
#pragma once

#include <functional>
#include <optional>

#include "api/receipts.h"
#include "api/router.h"
#include "node/approvals.h"
#include "node/clients.h"
#include "node/secrets.h"
#include "node/verify.h"

namespace quipu::api {

// Adds the routes; `clients`, `approvals` and `secrets` must outlive the
// router's use. The admin routes need the admin token, the others a
// client's token; creating runs on the worker pool. `page_base` is the
// node's public URL when it serves the citizens' approval pages (an
// identity provider is configured): a created request's answer carries its
// `link` there; without it requests are refused (503), as nobody could
// decide them.
// `on_subject_changed` runs after an admin forgot a citizen or reset their
// factor (the node ends the citizen's sessions there). `receipts`
// (optional) adds each decided entry's receipt to GET's answer.
void AddApprovalRoutes(Router& router, node::Clients& clients, node::Approvals& approvals,
                       const node::NodeSecrets& secrets, std::string page_base,
                       std::function<void(const std::string& subject)> on_subject_changed = {},
                       ReceiptSource receipts = {});

// The handlers, each a plain function (for tests without a socket). The
// admin ones run behind the admin token check, those that take a client
// behind AsClient (api/client_auth.h).
namespace approval_handlers {
// POST /v1/admin/clients {name, redirect_uri, notify_uri, notify_token}:
// 201 with the client and its token (shown once); 400 naming the field.
Response AddClient(node::Clients& clients, const Request& req);
// GET /v1/admin/clients: {clients: [...]}, never a secret.
Response ListClients(const node::Clients& clients);
// POST /v1/admin/clients/{id}/disable, /rotate: 404 for an unknown id.
Response DisableClient(node::Clients& clients, const Request& req);
Response RotateClient(node::Clients& clients, const Request& req);
// DELETE /v1/admin/subjects/{id}: 404 for an unknown subject.
Response ForgetSubject(node::Approvals& approvals, const Request& req);
// POST /v1/admin/subjects/{id}/factor/reset {by, reason}: the citizen
// enrols again at their next login (Approvals::ResetFactor); 404 unknown.
Response ResetFactor(node::Approvals& approvals, const Request& req);
// POST /v1/approvals: 201 with Location and `link` (the page on
// `page_base` where the citizen approves); 400 naming the field; 409 when
// the message factor is unavailable; 429 at a rate limit; 503 without a
// `page_base`.
Response Create(node::Approvals& approvals, const node::ClientInfo& client, const Request& req,
                const std::string& page_base);
// GET /v1/approvals/{id}: 404 for another client's request (as for none);
// once decided, each entry with its receipt (given `receipts`).
Response Get(const node::Approvals& approvals, const node::ClientInfo& client, const Request& req,
             const ReceiptSource& receipts = {});
}  // namespace approval_handlers

// The handler for `GET /v1/documents/{sha256}?subject=ID` (see
// LedgerRoutesOptions::subject_query): an authenticated client, at most
// `per_minute` such questions a minute per client.
using SubjectQuery =
    std::function<std::optional<Response>(const Request&, const node::DocumentAnswer&, bool& approved)>;
SubjectQuery MakeSubjectQuery(node::Clients& clients, node::Approvals& approvals, int per_minute = 30);

}  // namespace quipu::api
