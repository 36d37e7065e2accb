// `quipu pdf-worker`: the sandboxed PDF parser process. Started by quipu
// itself (pdf/sandbox.h) with its socket as descriptor 3; not for people.
#include "cli/commands.h"
#include "cli/flags.h"
#include "pdf/sandbox.h"

namespace quipu::cli {
namespace {

int RunPdfWorkerCommand(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args, {{"memory-bytes", true}, {"max-pdf-bytes", true}, {"cpu-seconds", true}, {"parent", true}});
  if (!flags.ok()) return Fail("pdf-worker", flags.status().message(), kExitBadInput);
  pdf::WorkerLimits limits;
  auto memory = flags->GetUint("memory-bytes", limits.memory_bytes);
  auto max_pdf = flags->GetUint("max-pdf-bytes", limits.max_pdf_bytes);
  auto parent = flags->GetUint("parent", 0);
  auto cpu = flags->GetUint("cpu-seconds", 0);
  if (!memory.ok() || !max_pdf.ok() || !parent.ok() || !cpu.ok() || *parent > 0x7fffffff) {
    return Fail("pdf-worker", "--memory-bytes, --max-pdf-bytes, --cpu-seconds and --parent take numbers", kExitBadInput);
  }
  limits.cpu_seconds = *cpu;
  limits.memory_bytes = *memory;
  limits.max_pdf_bytes = *max_pdf;
  limits.parent = static_cast<int>(*parent);
  return pdf::RunPdfWorker(3, limits);
}

}  // namespace

extern const Command kPdfWorkerCommand{
    "pdf-worker", "(internal) a sandboxed PDF parser process, started by quipu itself",
    "usage: quipu pdf-worker --memory-bytes N --max-pdf-bytes N --cpu-seconds N --parent PID   (internal)\n"
    "\n"
    "Started by `quipu serve` and the other commands that read PDFs, with a socket as\n"
    "descriptor 3: parses and stamps PDFs under resource limits and a seccomp filter,\n"
    "one job at a time (see the README, \"PDF workers\"). Not meant to be run by hand.\n",
    RunPdfWorkerCommand};

}  // namespace quipu::cli
