#include "api/approval_routes.h"

#include "api/approvals_json.h"
#include "api/client_auth.h"

#include <chrono>
#include <map>
#include <mutex>


namespace quipu::api {
namespace {

using nlohmann::json;

// The client behind the request's bearer token, or the 401 to send.
Result<node::ClientInfo> Authenticate(node::Clients& clients, const Request& req) {
  return AuthenticateClient(clients, req.headers);
}

#define QUIPU_CLIENT_OR_401(var)                                        \
  auto var = Authenticate(clients, req);                                \
  if (!var.ok()) return Unauthorized(var.status().message());

// A token bucket per key.
class RateLimiter {
 public:
  explicit RateLimiter(int per_minute) : per_minute_(per_minute) {}
  bool Allow(const std::string& key) {
    const double now = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    std::lock_guard lock(mu_);
    Bucket& b = buckets_[key];
    if (b.last == 0) b.tokens = per_minute_;
    b.tokens = std::min<double>(per_minute_, b.tokens + (now - b.last) * per_minute_ / 60.0);
    b.last = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

 private:
  struct Bucket {
    double tokens = 0;
    double last = 0;
  };
  const int per_minute_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace

void AddApprovalRoutes(Router& router, node::Clients& clients, node::Approvals& approvals,
                       const node::NodeSecrets& secrets, std::function<std::string(const std::string&)> qr_svg) {
  const node::NodeSecrets* sp = &secrets;
  auto admin = [sp](const Request& req) -> std::optional<Response> {
    std::string_view token = BearerToken(req);
    if (token.empty() || !node::CheckAdminToken(*sp, token)) {
      return Unauthorized("send Authorization: Bearer <admin token> (the data directory's admin.token)");
    }
    return std::nullopt;
  };

  // --- admin: clients and subjects ---
  router.Add(http::verb::post, "/v1/admin/clients", [&clients, admin](const Request& req) {
    if (auto refused = admin(req)) return *refused;
    json body;
    if (auto bad = ReadJsonBody(req, body)) return *bad;
    if (!body.is_object()) return Problem(400, "Bad request", "send a JSON object");
    auto text = [&](const char* k) {
      auto it = body.find(k);
      return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    auto added = clients.Add(text("name"), text("redirect_uri"), text("notify_uri"), text("notify_token"));
    if (!added.ok()) return ProblemFromStatus(added.status());
    json out = ClientJson(added->client);
    out["token"] = added->token;
    return Json(out, 201);
  });
  router.Add(http::verb::get, "/v1/admin/clients", [&clients, admin](const Request& req) {
    if (auto refused = admin(req)) return *refused;
    auto list = clients.List();
    if (!list.ok()) return ProblemFromStatus(list.status());
    json out = json::array();
    for (const auto& c : *list) out.push_back(ClientJson(c));
    return Json({{"clients", out}});
  });
  router.Add(http::verb::post, "/v1/admin/clients/{}/disable", [&clients, admin](const Request& req) {
    if (auto refused = admin(req)) return *refused;
    Status s = clients.Disable(req.params[0]);
    if (!s.ok()) return ProblemFromStatus(s);
    return Json({{"client_id", req.params[0]}, {"disabled", true}});
  });
  router.Add(http::verb::post, "/v1/admin/clients/{}/rotate", [&clients, admin](const Request& req) {
    if (auto refused = admin(req)) return *refused;
    auto token = clients.Rotate(req.params[0]);
    if (!token.ok()) return ProblemFromStatus(token.status());
    return Json({{"client_id", req.params[0]}, {"token", *token}});
  });
  router.Add(http::verb::delete_, "/v1/admin/subjects/{}", [&approvals, admin](const Request& req) {
    if (auto refused = admin(req)) return *refused;
    Status s = approvals.ForgetSubject(req.params[0]);
    if (!s.ok()) return ProblemFromStatus(s);
    return Json({{"forgotten", true}});
  });

  // --- clients: subjects and approvals ---
  router.Add(http::verb::post, "/v1/subjects/{}/totp", [&clients, &approvals, qr_svg](const Request& req) {
    QUIPU_CLIENT_OR_401(client);
    auto e = approvals.EnrollTotp(*client, req.params[0]);
    if (!e.ok()) return ProblemFromStatus(e.status());
    json out = {{"otpauth_uri", e->otpauth_uri}};
    if (qr_svg) {
      std::string svg = qr_svg(e->otpauth_uri);
      if (!svg.empty()) out["qr_svg"] = svg;
    }
    Response r = Json(out, 201);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  });
  router.Add(http::verb::post, "/v1/approvals", [&clients, &approvals](const Request& req) {
    QUIPU_CLIENT_OR_401(client);
    json body;
    if (auto bad = ReadJsonBody(req, body)) return *bad;
    auto request = ApprovalRequestFromJson(body);
    if (!request.ok()) return ProblemFromStatus(request.status());
    auto created = approvals.Create(*client, *request);
    if (!created.ok()) return ProblemFromStatus(created.status());
    Response r = Json(ApprovalCreatedJson(*created), 201);
    r.headers.emplace_back("Location", "/v1/approvals/" + created->id);
    return r;
  }, ForClients(clients, {Exec::kWorker, kDocumentBody}));
  router.Add(http::verb::get, "/v1/approvals/{}", [&clients, &approvals](const Request& req) {
    QUIPU_CLIENT_OR_401(client);
    auto got = approvals.Get(*client, req.params[0]);
    if (!got.ok()) return ProblemFromStatus(got.status());
    return Json(ApprovalJson(*got));
  });
  for (bool approve : {true, false}) {
    router.Add(http::verb::post, approve ? "/v1/approvals/{}/confirm" : "/v1/approvals/{}/reject",
               [&clients, &approvals, approve](const Request& req) {
                 QUIPU_CLIENT_OR_401(client);
                 json body;
                 if (auto bad = ReadJsonBody(req, body)) return *bad;
                 if (!body.is_object() || !body.contains("code") || !body["code"].is_string()) {
                   return Problem(400, "Bad request", "send {\"code\": \"123456\"}");
                 }
                 auto decided = approvals.Decide(*client, req.params[0], body["code"].get<std::string>(), approve);
                 if (!decided.ok()) return ProblemFromStatus(decided.status());
                 return Json(DecisionJson(*decided));
               },
               ForClients(clients, {Exec::kWorker, 16 * 1024}));
  }
}

SubjectQuery MakeSubjectQuery(node::Clients& clients, node::Approvals& approvals, int per_minute) {
  auto limiter = std::make_shared<RateLimiter>(per_minute);
  return [&clients, &approvals, limiter](const Request& req, const node::DocumentAnswer& answer,
                                         bool& approved) -> std::optional<Response> {
    QUIPU_CLIENT_OR_401(client);
    if (!limiter->Allow(client->id)) {
      Response r = Problem(429, "Too many requests", "subject questions are limited per client and minute");
      r.headers.emplace_back("Retry-After", "60");
      return r;
    }
    auto yes = approvals.SubjectApproved(*req.query_param("subject"), answer);
    if (!yes.ok()) return ProblemFromStatus(yes.status());
    approved = *yes;
    return std::nullopt;
  };
}

}  // namespace quipu::api
