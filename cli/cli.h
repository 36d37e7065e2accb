// The quipu command line: `quipu COMMAND [ARGS...]`. cli/ is the top layer:
// every command wires what it needs of api/, node/, ledger/, pdf/ and crypto/.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace quipu::cli {

// Exit statuses shared by every subcommand.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // the operation failed (I/O, corruption, ...)
constexpr int kExitBadInput = 2; // bad usage or bad input

// A subcommand, `quipu NAME ARGS...`.
struct Command {
  std::string_view name;
  std::string_view summary;  // one line, for `quipu --help`
  std::string_view usage;    // the full text for `quipu NAME --help`
  // Runs with the arguments after NAME; returns the exit status.
  int (*run)(const std::vector<std::string>& args);
};

// Dispatches argv to a command (cli/commands.h). Prints help for `--help`,
// for `COMMAND --help` and when no command is given.
int RunCli(int argc, char** argv);

// Prints "quipu NAME: message" on stderr and returns `status`.
int Fail(std::string_view command, std::string_view message, int status = kExitFailure);

}  // namespace quipu::cli
