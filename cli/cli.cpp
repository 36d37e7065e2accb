#include "cli/cli.h"

#include <cstdio>
#include <iostream>

#include "ledger/map_fault.h"
#include "cli/commands.h"

namespace quipu::cli {
namespace {

constexpr std::string_view kOverview =
    "quipu — verifiable approvals and issued documents (Registro de Orden Cronológico)\n"
    "\n"
    "usage: quipu COMMAND [ARGS...]\n"
    "       quipu COMMAND --help\n"
    "\n"
    "commands:\n";

void PrintOverview(std::FILE* out, const std::vector<Command>& commands) {
  std::fputs(std::string(kOverview).c_str(), out);
  for (const Command& c : commands) {
    std::fprintf(out, "  %-12.*s %.*s\n", static_cast<int>(c.name.size()), c.name.data(),
                 static_cast<int>(c.summary.size()), c.summary.data());
  }
}

}  // namespace

int Fail(std::string_view command, std::string_view message, int status) {
  std::cerr << "quipu " << command << ": " << message << "\n";
  return status;
}

int RunCli(int argc, char** argv) {
  // Every command that opens a ledger (and serve) exits 1 with a reason,
  // not a signal, when LMDB faults on a damaged file.
  ledger::InstallMapFaultHandler(kExitFailure);
  const std::vector<Command> commands = BuiltinCommands();
  if (argc < 2) {
    PrintOverview(stdout, commands);
    return kExitOk;
  }
  std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    PrintOverview(stdout, commands);
    return kExitOk;
  }
  if (name == "--version") {
    std::cout << "quipu " << QUIPU_VERSION << "\n";
    return kExitOk;
  }
  for (const Command& c : commands) {
    if (c.name != name) continue;
    std::vector<std::string> args(argv + 2, argv + argc);
    for (const std::string& a : args) {
      if (a == "--") break;
      if (a == "--help" || a == "-h") {
        std::cout << c.usage;
        return kExitOk;
      }
    }
    return c.run(args);
  }
  std::cerr << "quipu: unknown command '" << name << "'\n\n";
  PrintOverview(stderr, commands);
  return kExitBadInput;
}

}  // namespace quipu::cli
