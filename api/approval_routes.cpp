#include "api/approval_routes.h"

#include <chrono>

#include "api/approvals_json.h"
#include "api/client_auth.h"
#include "node/rate_limit.h"

namespace quipu::api {

using nlohmann::json;

namespace approval_handlers {

Response AddClient(node::Clients& clients, const Request& req) {
  json body;
  if (auto bad = ReadJsonBody(req, body)) return *bad;
  if (!body.is_object()) return Problem(400, "Bad request", "send a JSON object");
  auto added = clients.Add(TextField(body, "name"), TextField(body, "redirect_uri"), TextField(body, "notify_uri"),
                           TextField(body, "notify_token"));
  if (!added.ok()) return ProblemFromStatus(added.status());
  json out = ClientJson(added->client);
  out["token"] = added->token;
  return Json(out, 201);
}

Response ListClients(const node::Clients& clients) {
  auto list = clients.List();
  if (!list.ok()) return ProblemFromStatus(list.status());
  json out = json::array();
  for (const auto& c : *list) out.push_back(ClientJson(c));
  return Json({{"clients", out}});
}

Response DisableClient(node::Clients& clients, const Request& req) {
  Status s = clients.Disable(req.params[0]);
  if (!s.ok()) return ProblemFromStatus(s);
  return Json({{"client_id", req.params[0]}, {"disabled", true}});
}

Response RotateClient(node::Clients& clients, const Request& req) {
  auto token = clients.Rotate(req.params[0]);
  if (!token.ok()) return ProblemFromStatus(token.status());
  return Json({{"client_id", req.params[0]}, {"token", *token}});
}

Response ForgetSubject(node::Approvals& approvals, const Request& req) {
  Status s = approvals.ForgetSubject(req.params[0]);
  if (!s.ok()) return ProblemFromStatus(s);
  return Json({{"forgotten", true}});
}

Response ResetFactor(node::Approvals& approvals, const Request& req) {
  json body;
  if (auto bad = ReadJsonBody(req, body)) return *bad;
  Status s = approvals.ResetFactor(req.params[0], TextField(body, "by"), TextField(body, "reason"));
  if (!s.ok()) return ProblemFromStatus(s);
  return Json({{"subject", req.params[0]}, {"factor", "reset"}});
}

Response Create(node::Approvals& approvals, const node::ClientInfo& client, const Request& req,
                const std::string& page_base) {
  json body;
  if (auto bad = ReadJsonBody(req, body)) return *bad;
  if (page_base.empty()) {
    return Problem(503, "Service unavailable",
                   "approvals need the citizens' login: start the node with --oidc-issuer (README, \"The citizen's approval\")");
  }
  auto request = ApprovalRequestFromJson(body);
  if (!request.ok()) return ProblemFromStatus(request.status());
  auto created = approvals.Create(client, *request);
  if (!created.ok()) return ProblemFromStatus(created.status());
  json out = ApprovalCreatedJson(*created);
  out["link"] = page_base + "/aprobar/" + created->id;
  Response r = Json(out, 201);
  r.headers.emplace_back("Location", "/v1/approvals/" + created->id);
  return r;
}

Response Get(const node::Approvals& approvals, const node::ClientInfo& client, const Request& req,
             const ReceiptSource& receipts) {
  auto got = approvals.Get(client, req.params[0]);
  if (!got.ok()) return ProblemFromStatus(got.status());
  json out = ApprovalJson(*got);
  if (out.contains("entries")) {
    for (size_t i = 0; i < got->entries.size(); ++i) AddReceipt(out["entries"][i], got->entries[i].index, receipts);
  }
  return Json(out);
}

}  // namespace approval_handlers

void AddApprovalRoutes(Router& router, node::Clients& clients, node::Approvals& approvals,
                       const node::NodeSecrets& secrets, std::string page_base,
                       std::function<void(const std::string& subject)> on_subject_changed, ReceiptSource receipts) {
  namespace h = approval_handlers;
  using node::ClientInfo;
  // The admin routes: the data directory's admin token.
  auto as_admin = [sp = &secrets](Handler handler) -> Handler {
    return [sp, handler = std::move(handler)](const Request& req) {
      std::string_view token = BearerToken(req);
      if (token.empty() || !node::CheckAdminToken(*sp, token)) {
        return Unauthorized("send Authorization: Bearer <admin token> (the data directory's admin.token)");
      }
      return handler(req);
    };
  };
  router.Add(http::verb::post, "/v1/admin/clients",
             as_admin([&clients](const Request& req) { return h::AddClient(clients, req); }));
  router.Add(http::verb::get, "/v1/admin/clients",
             as_admin([&clients](const Request&) { return h::ListClients(clients); }));
  router.Add(http::verb::post, "/v1/admin/clients/{}/disable",
             as_admin([&clients](const Request& req) { return h::DisableClient(clients, req); }));
  router.Add(http::verb::post, "/v1/admin/clients/{}/rotate",
             as_admin([&clients](const Request& req) { return h::RotateClient(clients, req); }));
  // After a success the citizen's sessions end: a session opened before a
  // reset must not enrol a new factor and decide what was pending.
  auto then_changed = [on_subject_changed](Handler handler) -> Handler {
    return [on_subject_changed, handler = std::move(handler)](const Request& req) {
      Response r = handler(req);
      if (r.status == 200 && on_subject_changed) on_subject_changed(req.params[0]);
      return r;
    };
  };
  router.Add(http::verb::delete_, "/v1/admin/subjects/{}",
             as_admin(then_changed([&approvals](const Request& req) { return h::ForgetSubject(approvals, req); })));

  router.Add(http::verb::post, "/v1/admin/subjects/{}/factor/reset",
             as_admin(then_changed([&approvals](const Request& req) { return h::ResetFactor(approvals, req); })));

  // The clients' routes: asking and reading, never a factor (the citizen
  // decides on the node's page, api/citizen_routes.h).
  router.Add(http::verb::post, "/v1/approvals",
             AsClient(clients, [&approvals, page_base](const ClientInfo& c, const Request& req) {
               return h::Create(approvals, c, req, page_base);
             }),
             ForClients(clients, {Exec::kWorker, kDocumentBody}));
  router.Add(http::verb::get, "/v1/approvals/{}",
             AsClient(clients, [&approvals, receipts](const ClientInfo& c, const Request& req) {
               return h::Get(approvals, c, req, receipts);
             }));
}

SubjectQuery MakeSubjectQuery(node::Clients& clients, node::Approvals& approvals, int per_minute) {
  auto limiter = std::make_shared<node::RateLimiter>(per_minute * 60.0, per_minute, [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  });
  return [&clients, &approvals, limiter](const Request& req, const node::DocumentAnswer& answer,
                                         bool& approved) -> std::optional<Response> {
    auto client = AuthenticateClient(clients, req.headers);
    if (!client.ok()) return Unauthorized(client.status().message());
    if (!limiter->Allow(client->id)) {
      Response r = Problem(429, "Too many requests", "subject questions are limited per client and minute");
      r.headers.emplace_back("Retry-After", "60");
      return r;
    }
    auto yes = approvals.SubjectApproved(*client, *req.query_param("subject"), answer);
    if (!yes.ok()) return ProblemFromStatus(yes.status());
    approved = *yes;
    return std::nullopt;
  };
}

}  // namespace quipu::api
