#include "api/citizen_routes.h"

#include <chrono>

#include <nlohmann/json.hpp>

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

}  // namespace

namespace citizen_handlers {

Response ApprovalPage(const CitizenRoutes& routes, const Request& req) {
  const std::string& id = req.params[0];
  if (!IsRequestId(id)) return Problem(404, "Not found", "no approval request " + id.substr(0, 64));
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
  OidcLogin login = routes.oidc->Begin();
  const std::string url = login.authorization_url;
  Response r = Redirect(url);
  r.headers.emplace_back("Set-Cookie", routes.sessions->AddLogin(std::move(login), "/aprobar/" + id));
  return r;
}

Response Callback(const CitizenRoutes& routes, const Request& req) {
  const auto state = req.query_param("state");
  if (!state) return Problem(400, "Bad request", "the identity provider's answer carries no state");
  auto pending = routes.sessions->TakeLogin(*state, Cookies(req));
  if (!pending) {
    return Problem(400, "Bad request",
                   "this login is unknown, used, expired or was started in another browser: open the link again");
  }
  if (auto error = req.query_param("error")) {
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

Response Approval(const CitizenRoutes& routes, const Request& req) {
  auto session = routes.sessions->Find(Cookies(req));
  if (!session) return Problem(401, "Unauthorized", "log in first (open the approval link again)");
  auto view = routes.approvals->GetForCitizen(session->citizen.document_number, req.params[0]);
  if (!view.ok()) return ProblemFromStatus(view.status());
  json docs = json::array();
  for (const node::ApprovalDocument& d : view->documents) {
    docs.push_back({{"sha256", crypto::HexEncode(d.sha256)}, {"media_type", node::MediaType(d.media)}, {"name", d.name}});
  }
  return NoStore(Json({{"id", view->id},
                       {"institution", view->institution},
                       {"status", view->status},
                       {"factor", node::FactorName(view->factor)},
                       {"created_at", view->created_at},
                       {"expires_at", view->expires_at},
                       {"documents", std::move(docs)}}));
}

Response Logout(const CitizenRoutes& routes, const Request& req) {
  Response r;
  r.status = 204;
  r.content_type.clear();
  r.headers.emplace_back("Set-Cookie", routes.sessions->Close(Cookies(req)));
  return r;
}

}  // namespace citizen_handlers

void AddCitizenRoutes(Router& router, const CitizenRoutes& routes) {
  namespace h = citizen_handlers;
  // The callback before the page: the first route that matches wins.
  router.Add(http::verb::get, "/aprobar/callback", [routes](const Request& req) { return h::Callback(routes, req); });
  router.Add(http::verb::get, "/aprobar/{}", [routes](const Request& req) { return h::ApprovalPage(routes, req); },
             RouteOptions{Exec::kInline, 0});
  router.Add(http::verb::get, "/v1/citizen/me", [routes](const Request& req) { return h::Me(routes, req); },
             RouteOptions{Exec::kInline, 0});
  router.Add(http::verb::get, "/v1/citizen/approvals/{}", [routes](const Request& req) { return h::Approval(routes, req); });
  router.Add(http::verb::post, "/v1/citizen/logout", [routes](const Request& req) { return h::Logout(routes, req); },
             RouteOptions{Exec::kInline, 0});
}

}  // namespace quipu::api
