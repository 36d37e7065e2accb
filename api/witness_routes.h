// The witness's HTTP face (C2SP tlog-witness; docs/witness.md): POST
// /add-checkpoint, GET /witness/<SHA-256 of an origin, hex>/checkpoint (the
// monitoring prefix is /witness), and GET /witness (its name, key and logs).
#pragma once

#include <functional>
#include <string_view>

#include "api/router.h"
#include "node/witness.h"

namespace quipu::api {

// A log submits about once a second (and again after a 409); many logs
// behind one address fit too: 10 a second, bursts of 100.
inline constexpr double kAddCheckpointsPerAddressHour = 36000;
inline constexpr double kAddCheckpointsPerAddressBurst = 100;

struct WitnessRoutes {
  node::Witness* witness = nullptr;  // required; outlives the router
  // Called for every refused checkpoint the log signed (as the spec allows:
  // evidence of a log's misbehaviour); never for unsigned noise.
  std::function<void(const node::WitnessAnswer& answer, std::string_view body)> on_refused;
  // add-checkpoint requests per client address: each costs signature checks
  // and (once the log's signature verifies) a write transaction. Beyond:
  // 429 with Retry-After, before any signature is checked. 0: no limit.
  double per_address_per_hour = kAddCheckpointsPerAddressHour;
  double per_address_burst = kAddCheckpointsPerAddressBurst;
};


void AddWitnessRoutes(Router& router, WitnessRoutes routes);

namespace witness_handlers {
// 200 text/plain cosignature lines; 400, 403, 404, 422 text/plain with the
// reason; 409 text/x.tlog.size "<size>\n".
Response AddCheckpoint(const WitnessRoutes& routes, const Request& req);
}  // namespace witness_handlers

}  // namespace quipu::api
