#include "api/citizen_routes.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include <sodium.h>

#include "api/approvals_json.h"
#include "crypto/encoding.h"

namespace quipu::api {
namespace {

using nlohmann::json;

int64_t Now(const CitizenRoutes& routes) {
  if (routes.now_seconds) return routes.now_seconds();
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Request ids as Approvals makes them: "r_" + 20 hex digits.
bool IsRequestId(std::string_view id) {
  if (id.size() != 22 || id.substr(0, 2) != "r_") return false;
  for (char c : id.substr(2)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Response Redirect(const std::string& location) {
  Response r;
  r.status = 302;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "see " + location + "\n";
  r.headers.emplace_back("Location", location);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

std::string Cookies(const Request& req) { return std::string(req.header("Cookie")); }

Response NoStore(Response r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// The session of a POST (or of the page's own fetch of a content), checked
// against its CSRF token; or the problem.
std::optional<Response> SessionWithCsrf(const CitizenRoutes& routes, const Request& req,
                                        std::optional<CitizenSession>& session) {
  session = routes.sessions->Find(Cookies(req));
  if (!session) return Problem(401, "Unauthorized", "log in first (open the approval link again)");
  const std::string_view token = req.header("X-Quipu-CSRF");
  if (token.size() != session->csrf.size() ||
      sodium_memcmp(token.data(), session->csrf.data(), token.size()) != 0) {
    return Problem(403, "Forbidden", "this request does not come from the node's own page (X-Quipu-CSRF)");
  }
  return std::nullopt;
}

// A text field of a JSON body, or "" (the service refuses it).
std::string FieldOf(const Request& req, const char* field) {
  json body;
  if (ReadJsonBody(req, body)) return "";
  return TextField(body, field);
}

}  // namespace

namespace citizen_handlers {

namespace {

// A login at the provider, back to `return_to`.
Response Login(const CitizenRoutes& routes, const std::string& return_to, bool silent) {
  OidcLogin login = routes.oidc->Begin(silent);
  const std::string url = login.authorization_url;
  Response r = Redirect(url);
  r.headers.emplace_back("Set-Cookie", routes.sessions->AddLogin(std::move(login), return_to));
  return r;
}

// The page for a logged-in browser; otherwise the login, back to `return_to`.
Response PageOrLogin(const CitizenRoutes& routes, const Request& req, const std::string& return_to) {
  if (routes.sessions->Find(Cookies(req))) {
    Response r;
    r.content_type = "text/html; charset=utf-8";
    r.body = routes.page_html;
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    r.headers.emplace_back("X-Frame-Options", "DENY");
    return r;
  }
  // Silently first: a citizen who is logged in at the provider (an
  // institution sent them here after their login there) and consented to
  // quipu before sees no form but the page, and only needs their factor.
  return Login(routes, return_to, /*silent=*/true);
}

}  // namespace

Response ApprovalPage(const CitizenRoutes& routes, const Request& req) {
  const std::string& id = req.params[0];
  if (!IsRequestId(id)) return Problem(404, "Not found", "no approval request " + id.substr(0, 64));
  return PageOrLogin(routes, req, "/aprobar/" + id);
}

Response OwnPage(const CitizenRoutes& routes, const Request& req) { return PageOrLogin(routes, req, "/aprobar"); }

Response Callback(const CitizenRoutes& routes, const Request& req) {
  const auto state = req.query_param("state");
  if (!state) return Problem(400, "Bad request", "the identity provider's answer carries no state");
  auto pending = routes.sessions->TakeLogin(*state, Cookies(req));
  if (!pending) {
    return Problem(400, "Bad request",
                   "this login is unknown, used, expired or was started in another browser: open the link again");
  }
  if (auto error = req.query_param("error")) {
    // A silent login the provider cannot answer without the citizen: asked
    // again with its forms.
    if (pending->login.silent && NeedsInteraction(*error)) return Login(routes, pending->return_to, false);
    return Problem(403, "Forbidden", "the identity provider did not log you in (" + error->substr(0, 100) + ")");
  }
  const auto code = req.query_param("code");
  if (!code) return Problem(400, "Bad request", "the identity provider's answer carries no code");
  auto citizen = routes.oidc->Finish(*code, pending->login, Now(routes));
  if (!citizen.ok()) return ProblemFromStatus(citizen.status());
  Response r = Redirect(pending->return_to);
  r.headers.emplace_back("Set-Cookie", routes.sessions->Open(std::move(*citizen)));
  return r;
}

Response Me(const CitizenRoutes& routes, const Request& req) {
  auto session = routes.sessions->Find(Cookies(req));
  if (!session) return Problem(401, "Unauthorized", "log in first (open the approval link again)");
  return NoStore(Json({{"document_number", session->citizen.document_number},
                       {"name", session->citizen.name},
                       {"csrf", session->csrf}}));
}

namespace {

json CitizenRequestJson(const node::CitizenRequestView& view) {
  json docs = json::array();
  for (size_t i = 0; i < view.documents.size(); ++i) {
    const node::ApprovalDocument& d = view.documents[i];
    json doc = {{"sha256", crypto::HexEncode(d.sha256)}, {"media_type", node::MediaType(d.media)}, {"name", d.name}};
    if (i < view.entries.size()) doc["index"] = view.entries[i];
    // Its content can be read (DocumentContent) while the request is pending.
    if (d.content && view.status == "pending") doc["content"] = true;
    if (d.size) doc["size"] = *d.size;
    docs.push_back(std::move(doc));
  }
  json out = {{"id", view.id},
              {"institution", view.institution},
              {"status", view.status},
              {"factor", node::FactorName(view.factor)},
              {"created_at", view.created_at},
              {"expires_at", view.expires_at},
              {"documents", std::move(docs)}};
  if (!view.decided_at.empty()) out["decided_at"] = view.decided_at;
  if (!view.description.empty()) out["description"] = view.description;
  return out;
}

}  // namespace

Response Approval(const CitizenRoutes& routes, const Request& req) {
  auto session = routes.sessions->Find(Cookies(req));
  if (!session) return Problem(401, "Unauthorized", "log in first (open the approval link again)");
  auto view = routes.approvals->GetForCitizen(session->citizen.document_number, req.params[0]);
  if (!view.ok()) return ProblemFromStatus(view.status());
  return NoStore(Json(CitizenRequestJson(*view)));
}

Response DocumentContent(const CitizenRoutes& routes, const Request& req) {
  // The page's own fetch (with the CSRF token), never a navigation or an
  // embedding by another site.
  std::optional<CitizenSession> session;
  if (auto refused = SessionWithCsrf(routes, req, session)) return *refused;
  const std::string& i = req.params[1];
  if (i.empty() || i.size() > 3 || i.find_first_not_of("0123456789") != std::string::npos) {
    return Problem(404, "Not found", "no document " + i.substr(0, 8));
  }
  auto content = routes.approvals->ContentForCitizen(session->citizen.document_number, req.params[0],
                                                     static_cast<size_t>(std::stoi(i)));
  if (!content.ok()) return ProblemFromStatus(content.status());
  Response r;
  r.content_type = std::string(node::MediaType(content->media));
  r.body = std::move(content->bytes);
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"documento\"");
  r.headers.emplace_back("Content-Security-Policy", "sandbox; default-src 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

Response Approvals(const CitizenRoutes& routes, const Request& req) {
  auto session = routes.sessions->Find(Cookies(req));
  if (!session) return Problem(401, "Unauthorized", "log in first (open the approval link again)");
  auto list = routes.approvals->ListForCitizen(session->citizen.document_number);
  if (!list.ok()) return ProblemFromStatus(list.status());
  json out = json::array();
  for (const node::CitizenRequestView& v : *list) out.push_back(CitizenRequestJson(v));
  return NoStore(Json({{"approvals", std::move(out)}}));
}

Response Logout(const CitizenRoutes& routes, const Request& req) {
  Response r;
  r.status = 204;
  r.content_type.clear();
  r.headers.emplace_back("Set-Cookie", routes.sessions->Close(Cookies(req)));
  return r;
}

Response Factor(const CitizenRoutes& routes, const Request& req) {
  auto session = routes.sessions->Find(Cookies(req));
  if (!session) return Problem(401, "Unauthorized", "log in first (open the approval link again)");
  auto f = routes.approvals->FactorOf(session->citizen.document_number);
  if (!f.ok()) return ProblemFromStatus(f.status());
  json out = {{"enrolled", f->enrolled}, {"enrolling", f->enrolling}};
  if (!f->locked_until.empty()) out["locked_until"] = f->locked_until;
  return NoStore(Json(out));
}

Response BeginTotp(const CitizenRoutes& routes, const Request& req) {
  std::optional<CitizenSession> session;
  if (auto refused = SessionWithCsrf(routes, req, session)) return *refused;
  auto e = routes.approvals->BeginTotp(session->citizen.document_number, FieldOf(req, "current_code"));
  if (!e.ok()) return ProblemFromStatus(e.status());
  json out = {{"otpauth_uri", e->otpauth_uri}, {"secret", e->secret_base32}};
  if (routes.qr_svg) {
    std::string svg = routes.qr_svg(e->otpauth_uri);
    if (!svg.empty()) out["qr_svg"] = std::move(svg);
  }
  return NoStore(Json(out, 201));
}

Response ConfirmTotp(const CitizenRoutes& routes, const Request& req) {
  std::optional<CitizenSession> session;
  if (auto refused = SessionWithCsrf(routes, req, session)) return *refused;
  Status s = routes.approvals->ConfirmTotp(session->citizen.document_number, FieldOf(req, "code"));
  if (!s.ok()) return ProblemFromStatus(s);
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

Response Decide(const CitizenRoutes& routes, bool approve, const Request& req) {
  std::optional<CitizenSession> session;
  if (auto refused = SessionWithCsrf(routes, req, session)) return *refused;
  auto decided = routes.approvals->DecideAsCitizen(session->citizen.document_number, req.params[0],
                                                   FieldOf(req, "code"), approve);
  if (!decided.ok()) return ProblemFromStatus(decided.status());
  return NoStore(Json({{"status", decided->status}, {"redirect_url", RedirectUrl(*decided)}}));
}

Response SendCode(const CitizenRoutes& routes, const Request& req) {
  std::optional<CitizenSession> session;
  if (auto refused = SessionWithCsrf(routes, req, session)) return *refused;
  const node::CitizenContact contact{session->citizen.phone, session->citizen.email};
  auto sent = routes.approvals->SendCode(session->citizen.document_number, req.params[0], contact);
  if (!sent.ok()) return ProblemFromStatus(sent.status());
  return NoStore(Json({{"channel", node::ChannelName(sent->channel)}, {"sent_to", sent->to_masked}}, 202));
}

}  // namespace citizen_handlers

void AddCitizenRoutes(Router& router, const CitizenRoutes& routes) {
  namespace h = citizen_handlers;
  // The callback before the page: the first route that matches wins.
  router.Add(http::verb::get, "/aprobar/callback", [routes](const Request& req) { return h::Callback(routes, req); });
  router.Add(http::verb::get, "/aprobar/{}", [routes](const Request& req) { return h::ApprovalPage(routes, req); },
             RouteOptions{Exec::kInline, 0});
  router.Add(http::verb::get, "/aprobar", [routes](const Request& req) { return h::OwnPage(routes, req); },
             RouteOptions{Exec::kInline, 0});
  router.Add(http::verb::get, "/v1/citizen/me", [routes](const Request& req) { return h::Me(routes, req); },
             RouteOptions{Exec::kInline, 0});
  router.Add(http::verb::get, "/v1/citizen/approvals/{}", [routes](const Request& req) { return h::Approval(routes, req); });
  router.Add(http::verb::get, "/v1/citizen/approvals/{}/documents/{}",
             [routes](const Request& req) { return h::DocumentContent(routes, req); });
  router.Add(http::verb::get, "/v1/citizen/approvals", [routes](const Request& req) { return h::Approvals(routes, req); });
  router.Add(http::verb::post, "/v1/citizen/logout", [routes](const Request& req) { return h::Logout(routes, req); },
             RouteOptions{Exec::kInline, 0});
  router.Add(http::verb::get, "/v1/citizen/factor", [routes](const Request& req) { return h::Factor(routes, req); });
  router.Add(http::verb::post, "/v1/citizen/totp", [routes](const Request& req) { return h::BeginTotp(routes, req); },
             RouteOptions{Exec::kWorker, 1024});
  router.Add(http::verb::post, "/v1/citizen/totp/confirm",
             [routes](const Request& req) { return h::ConfirmTotp(routes, req); }, RouteOptions{Exec::kWorker, 1024});
  router.Add(http::verb::post, "/v1/citizen/approvals/{}/code",
             [routes](const Request& req) { return h::SendCode(routes, req); }, RouteOptions{Exec::kWorker, 1024});
  for (bool approve : {true, false}) {
    router.Add(http::verb::post, approve ? "/v1/citizen/approvals/{}/confirm" : "/v1/citizen/approvals/{}/reject",
               [routes, approve](const Request& req) { return h::Decide(routes, approve, req); },
               RouteOptions{Exec::kWorker, 1024});
  }
}

}  // namespace quipu::api
