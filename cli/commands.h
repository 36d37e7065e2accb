// The built-in subcommands. Each lives in its own node/cmd_*.cpp.
#pragma once

#include <vector>

#include "cli/cli.h"

namespace quipu::cli {

// Returns the built-in commands in the order `quipu --help` lists them.
std::vector<Command> BuiltinCommands();

}  // namespace quipu::cli
