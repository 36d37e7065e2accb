// The citizen's side of an approval, on the node's own pages: the link a
// client sends the citizen to (/aprobar/{request id}), the login through
// the identity provider (OpenID Connect, api/oidc_client.h) and its
// callback, and the JSON the page reads once the citizen is logged in.
// Only the citizen a request names sees it. README "Approvals".
#pragma once

#include <functional>
#include <string>

#include "api/citizen_sessions.h"
#include "api/oidc_client.h"
#include "api/router.h"
#include "node/approvals.h"

namespace quipu::api {

struct CitizenRoutes {
  OidcClient* oidc = nullptr;         // required
  CitizenSessions* sessions = nullptr;  // required
  node::Approvals* approvals = nullptr; // required
  std::function<int64_t()> now_seconds;  // unix seconds; default: the system clock
  // The approval page (HTML): served at /aprobar/{id} once logged in.
  std::string page_html;
};

// Adds GET /aprobar/callback, GET /aprobar/{id}, GET /v1/citizen/me,
// GET /v1/citizen/approvals/{id} and POST /v1/citizen/logout. `routes`'
// pointers must outlive the router's use.
void AddCitizenRoutes(Router& router, const CitizenRoutes& routes);

namespace citizen_handlers {
// GET /aprobar/{id}: the page for a logged-in citizen; otherwise a new
// login and 302 to the provider (with the login cookie).
Response ApprovalPage(const CitizenRoutes& routes, const Request& req);
// GET /aprobar/callback?code&state (or ?error): the login completed and
// 302 back to the page it started from with the session cookie; 400 for a
// state that is unknown, used, expired or from another browser; 403 when
// the provider or the token check refuses.
Response Callback(const CitizenRoutes& routes, const Request& req);
// GET /v1/citizen/me: {document_number, name} of the session; 401 without.
Response Me(const CitizenRoutes& routes, const Request& req);
// GET /v1/citizen/approvals/{id}: the request for its citizen; 401 without
// a session, 403 for another citizen's request, 404 for none.
Response Approval(const CitizenRoutes& routes, const Request& req);
// POST /v1/citizen/logout: ends the session (204, cookie cleared).
Response Logout(const CitizenRoutes& routes, const Request& req);
}  // namespace citizen_handlers

}  // namespace quipu::api
