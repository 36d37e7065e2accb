#include "node/commands.h"

namespace quipu::node {

extern const Command kHashCommand;
extern const Command kJcsCommand;
extern const Command kLogCommand;
extern const Command kAuditCommand;

std::vector<Command> BuiltinCommands() {
  return {
      kHashCommand,
      kJcsCommand,
      kLogCommand,
      kAuditCommand,
  };
}

}  // namespace quipu::node
