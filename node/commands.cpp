#include "node/commands.h"

namespace quipu::node {

std::vector<Command> BuiltinCommands() {
  return {
  };
}

}  // namespace quipu::node
