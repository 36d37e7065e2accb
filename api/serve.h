// `quipu serve`: the node. Composition root of the HTTP layer: opens the
// ledger, builds the routes, runs the server until SIGINT or SIGTERM.
#pragma once

#include "node/cli.h"

namespace quipu::api {

extern const node::Command kServeCommand;

}  // namespace quipu::api
