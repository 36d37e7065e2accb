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
  // Renders the otpauth URI as an SVG QR code ("" when unavailable).
  std::function<std::string(const std::string&)> qr_svg;
};

// Adds GET /aprobar/callback, GET /aprobar/{id}, GET /v1/citizen/me,
// GET /aprobar, GET /v1/citizen/approvals, /{id} and /{id}/documents/{i}, POST /v1/citizen/logout, GET
// /v1/citizen/factor, POST /v1/citizen/totp and /totp/confirm, POST
// /v1/citizen/approvals/{id}/code, /confirm and /reject. `routes`'
// pointers must outlive the router's use.
void AddCitizenRoutes(Router& router, const CitizenRoutes& routes);

namespace citizen_handlers {
// GET /aprobar/{id}: the page for a logged-in citizen; otherwise a new
// login and 302 to the provider (with the login cookie).
Response ApprovalPage(const CitizenRoutes& routes, const Request& req);
// GET /aprobar: the citizen's own page (their authenticator), the same way.
Response OwnPage(const CitizenRoutes& routes, const Request& req);
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
// GET /v1/citizen/approvals/{id}/documents/{i}: the content the client sent
// for document i (its media type; attachment, sandboxed, no-store), for the
// request's citizen while it is pending; needs the session's X-Quipu-CSRF
// like a POST (only the page's own fetch reads it). 404 for a document sent
// by its hash only, 403 another citizen's, 409 once decided, 410 expired (the
// content is deleted).
Response DocumentContent(const CitizenRoutes& routes, const Request& req);
// GET /v1/citizen/approvals: {approvals: [...]}, every request that names
// the logged-in citizen, at every institution, newest first (at most 200),
// each document with the `index` of its entry once decided; 401 without a
// session.
Response Approvals(const CitizenRoutes& routes, const Request& req);
// POST /v1/citizen/logout: ends the session (204, cookie cleared).
Response Logout(const CitizenRoutes& routes, const Request& req);
// GET /v1/citizen/factor: {enrolled, enrolling, locked_until?}.
Response Factor(const CitizenRoutes& routes, const Request& req);
// POST /v1/citizen/totp {current_code?}: 201 {otpauth_uri, secret, qr_svg?}
// (no-store), a new key waiting for its first code; 403 without a current
// code when a key is enrolled; 429 while locked out.
Response BeginTotp(const CitizenRoutes& routes, const Request& req);
// POST /v1/citizen/totp/confirm {code}: 204 once the new key is the factor.
Response ConfirmTotp(const CitizenRoutes& routes, const Request& req);
// POST /v1/citizen/approvals/{id}/confirm (approve) or /reject {code}:
// {status, redirect_url} (the client's redirect URI with the request, the
// outcome and its state); 403 for another citizen's request or a wrong
// code; 409 decided or locked; 410 expired; 429 locked out.
Response Decide(const CitizenRoutes& routes, bool approve, const Request& req);
// POST /v1/citizen/approvals/{id}/code: for a request of the message
// factor, a new code sent to the contact the citizen's login gives (phone
// for sms, e-mail for email): 202 {channel, sent_to (masked)}; 409 for a
// TOTP request, a decided one or no contact; 429 beyond the hourly codes.
Response SendCode(const CitizenRoutes& routes, const Request& req);
// Every POST of a session carries its CSRF token (X-Quipu-CSRF): 403
// otherwise.
}  // namespace citizen_handlers

}  // namespace quipu::api
