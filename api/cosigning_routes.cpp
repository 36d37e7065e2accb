#include "api/cosigning_routes.h"

#include <nlohmann/json.hpp>

namespace quipu::api {

namespace cosigning_handlers {

Response Policy(const node::LedgerReader& ledger, const node::Cosigning* cosigning) {
  // Without witnesses the policy is the log's key alone.
  Response r = Text(cosigning ? cosigning->policy_text() : "log " + ledger.verifier_key() + "\nquorum none\n");
  r.headers.emplace_back("Cache-Control", "public, max-age=60");
  return r;
}

Response Witnessed(const node::Cosigning* cosigning) {
  if (!cosigning) return Problem(404, "No witnesses", "this node asks no witness to cosign its checkpoints");
  const node::WitnessedState s = cosigning->State();
  nlohmann::json witnesses = nlohmann::json::array();
  for (const node::CosignerStatus& w : s.witnesses) {
    nlohmann::json j = {{"name", w.name}, {"url", w.url}, {"size", w.size}, {"failures", w.failures}};
    j["last_cosigned"] = w.last_cosigned.empty() ? nlohmann::json(nullptr) : nlohmann::json(w.last_cosigned);
    j["last_error"] = w.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(w.last_error);
    witnesses.push_back(std::move(j));
  }
  Response r = Json({{"tree_size", s.tree_size},
                     {"quorum", s.quorum},
                     {"witnessed_tree_size", s.witnessed_size},
                     {"head", s.head},
                     {"checkpoint", s.checkpoint},
                     {"witnesses", witnesses}});
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace cosigning_handlers

void AddCosigningRoutes(Router& router, const node::LedgerReader& ledger, const node::Cosigning* cosigning) {
  const RouteOptions inline_read{Exec::kInline, 0};
  router.Add(http::verb::get, "/v1/policy",
             [&ledger, cosigning](const Request&) { return cosigning_handlers::Policy(ledger, cosigning); }, inline_read);
  router.Add(http::verb::get, "/v1/witnessed",
             [cosigning](const Request&) { return cosigning_handlers::Witnessed(cosigning); }, inline_read);
}

}  // namespace quipu::api
