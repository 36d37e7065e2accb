#include "cli/pdf_workers.h"

#include <filesystem>

namespace quipu::cli {

Result<std::string> SelfProgram() {
  // The magic link itself, not the path it names: it runs the very program
  // that runs now, even after a package upgrade replaced the file.
  std::error_code ec;
  if (!std::filesystem::exists("/proc/self/exe", ec)) {
    return IoError("cannot find this program (/proc/self/exe): is /proc mounted?");
  }
  return std::string("/proc/self/exe");
}

pdf::SandboxOptions CommandSandboxOptions(uint64_t max_pdf_bytes) {
  pdf::SandboxOptions o;
  o.workers = 1;
  o.max_pdf_bytes = max_pdf_bytes;
  o.job_timeout = std::chrono::seconds(60);
  o.cpu_seconds = 60;
  // The file, PoDoFo's copy of it when stamping, the output, and the parse.
  o.memory_bytes = std::max<uint64_t>(uint64_t{1} << 30, 3 * max_pdf_bytes + (uint64_t{512} << 20));
  if (auto self = SelfProgram(); self.ok()) o.program = *self;
  return o;
}

Result<pdf::PdfSandbox*> LazyPdfSandbox::Get() {
  std::lock_guard lock(mu_);
  if (!sandbox_) {
    if (options_.program.empty()) {
      QUIPU_ASSIGN_OR_RETURN(options_.program, SelfProgram());
    }
    QUIPU_ASSIGN_OR_RETURN(sandbox_, pdf::PdfSandbox::Start(options_));
  }
  return sandbox_.get();
}

Result<pdf::PdfFacts> LazyPdfSandbox::Parse(std::span<const uint8_t> pdf) {
  QUIPU_ASSIGN_OR_RETURN(pdf::PdfSandbox * sandbox, Get());
  return sandbox->Parse(pdf);
}

Result<pdf::Bytes> LazyPdfSandbox::StampPlaceholder(std::span<const uint8_t> pdf, const pdf::QrPlaceholder& qr,
                                                    const pdf::StampOptions& options) {
  QUIPU_ASSIGN_OR_RETURN(pdf::PdfSandbox * sandbox, Get());
  return sandbox->StampPlaceholder(pdf, qr, options);
}

}  // namespace quipu::cli
