// `quipu witness key`: the node's cosigning key as a witness (made when
// there is none), printed as its verifier key, so that operators can put it
// in each other's policies before the nodes first start (docs/witness.md).
#include <iostream>

#include "cli/commands.h"
#include "cli/flags.h"
#include "ledger/log.h"
#include "node/witness.h"

namespace quipu::cli {
namespace {

int RunWitness(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args, {{"data", true}, {"name", true}});
  if (!flags.ok()) return Fail("witness", flags.status().message(), kExitBadInput);
  const auto& pos = flags->positional();
  if (pos.size() != 1 || pos[0] != "key") return Fail("witness", "the subcommand is key", kExitBadInput);
  const std::string dir = flags->GetOr("data", "./quipu-data");
  std::string name = flags->GetOr("name", "");
  if (name.empty()) {
    // The default serve gives: the host part of the log's origin, /witness.
    auto log = ledger::Log::Open([&] {
      ledger::LogOptions o;
      o.dir = dir;
      o.create = false;
      o.read_only = true;
      return o;
    }());
    if (!log.ok()) return Fail("witness", log.status().message());
    name = (*log)->origin().substr(0, (*log)->origin().find('/')) + "/witness";
  }
  auto key = node::LoadOrCreateWitnessKey(dir + "/witness.key", name);
  if (!key.ok()) return Fail("witness", key.status().message());
  std::cout << crypto::CosignerVerifierKey(key->name, key->key.PublicKey()) << "\n";
  return kExitOk;
}

}  // namespace

extern const Command kWitnessCommand{
    "witness", "the node's witness cosigning key",
    "usage: quipu witness key [--data DIR] [--name NAME]\n"
    "\n"
    "Prints the verifier key of DIR/witness.key (./quipu-data), the key `quipu serve\n"
    "--witness-logs` cosigns with, making it first when there is none: named NAME (default:\n"
    "the host part of the ledger's origin followed by /witness). Once made, the file's name\n"
    "stays. Put the printed key in the policies (tlog-policy `witness` lines) of the logs\n"
    "this node witnesses.\n",
    RunWitness};

}  // namespace quipu::cli
