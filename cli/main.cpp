// The quipu program: parses the command line and dispatches to node/cli.
// `serve` comes from api/ (which depends on node/), added here.
#include "api/serve.h"
#include "node/cli.h"

int main(int argc, char** argv) {
  const quipu::node::Command extra[] = {quipu::api::kServeCommand};
  return quipu::node::RunCli(argc, argv, extra);
}
