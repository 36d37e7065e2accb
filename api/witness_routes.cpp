#include "api/witness_routes.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include <nlohmann/json.hpp>

#include "crypto/note.h"
#include "node/rate_limit.h"

namespace quipu::api {

namespace witness_handlers {

Response AddCheckpoint(const WitnessRoutes& routes, const Request& req) {
  using Kind = node::WitnessAnswer::Kind;
  auto answer = routes.witness->AddCheckpoint(req.body);
  if (!answer.ok()) return ProblemFromStatus(answer.status());
  const node::WitnessAnswer& a = *answer;
  if (a.kind != Kind::kCosigned && a.signed_by_log && routes.on_refused) routes.on_refused(a, req.body);
  switch (a.kind) {
    case Kind::kCosigned:
      return Text(a.cosignatures, 200);
    case Kind::kConflict: {
      Response r = Text(std::to_string(a.size) + "\n", 409);
      r.content_type = "text/x.tlog.size";
      return r;
    }
    case Kind::kUnknownLog:
      return Text(a.detail + "\n", 404);
    case Kind::kNotSigned:
      return Text(a.detail + "\n", 403);
    case Kind::kInconsistent:
      return Text(a.detail + "\n", 422);
    case Kind::kBadRequest:
      break;
  }
  return Text(a.detail + "\n", 400);
}

}  // namespace witness_handlers

void AddWitnessRoutes(Router& router, WitnessRoutes routes) {
  const node::Witness* w = routes.witness;
  auto limiter = std::make_shared<node::RateLimiter>(routes.per_address_per_hour, routes.per_address_burst, [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  });
  // Checked once the (bounded) body is read, before any signature is.
  router.Add(http::verb::post, "/add-checkpoint",
             [routes, limiter](const Request& req) {
               if (!limiter->Allow(req.remote)) {
                 Response r = Text("too many add-checkpoint requests from this address\n", 429);
                 const int64_t wait = limiter->WaitMicros(req.remote);
                 r.headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(1, (wait + 999999) / 1000000)));
                 return r;
               }
               return witness_handlers::AddCheckpoint(routes, req);
             },
             RouteOptions{Exec::kWorker, node::kMaxAddCheckpointBytes});
  router.Add(http::verb::get, "/witness/{}/checkpoint", [w](const Request& req) {
    const std::string& hash = req.params[0];
    if (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return Text("the origin hash is 64 lower-case hex digits\n", 404);
    }
    auto cp = w->LatestCheckpoint(hash);
    if (!cp.ok()) return ProblemFromStatus(cp.status());
    if (!*cp) return Text("no checkpoint cosigned for this log\n", 404);
    return Text(**cp, 200);
  });
  router.Add(http::verb::get, "/witness", [w](const Request&) {
    nlohmann::json logs = nlohmann::json::array();
    for (const node::WitnessedLog& l : w->logs()) {
      nlohmann::json keys = nlohmann::json::array();
      for (const crypto::NoteVerifier& k : l.keys) keys.push_back(crypto::VerifierKeyString(k));
      logs.push_back({{"origin", l.origin}, {"keys", keys}, {"url", l.url}});
    }
    return Json({{"name", w->name()}, {"vkey", w->verifier_key()}, {"logs", logs}});
  });
}

}  // namespace quipu::api
