#include "node/commands.h"

namespace quipu::node {

extern const Command kHashCommand;
extern const Command kJcsCommand;
extern const Command kLogCommand;
extern const Command kAuditCommand;
extern const Command kClientCommand;
extern const Command kSubjectCommand;
extern const Command kQrCommand;
extern const Command kPdfWorkerCommand;

std::vector<Command> BuiltinCommands() {
  return {
      kHashCommand,
      kJcsCommand,
      kLogCommand,
      kAuditCommand,
      kClientCommand,
      kSubjectCommand,
      kQrCommand,
      kPdfWorkerCommand,
  };
}

}  // namespace quipu::node
