#include "cli/commands.h"

namespace quipu::cli {

extern const Command kHashCommand;
extern const Command kJcsCommand;
extern const Command kLogCommand;
extern const Command kAuditCommand;
extern const Command kClientCommand;
extern const Command kSubjectCommand;
extern const Command kQrCommand;
extern const Command kProofCommand;
extern const Command kWitnessCommand;
extern const Command kPdfWorkerCommand;
extern const Command kServeCommand;

std::vector<Command> BuiltinCommands() {
  return {
      kHashCommand,
      kJcsCommand,
      kLogCommand,
      kAuditCommand,
      kClientCommand,
      kSubjectCommand,
      kQrCommand,
      kProofCommand,
      kWitnessCommand,
      kServeCommand,
      kPdfWorkerCommand,
  };
}

}  // namespace quipu::cli
