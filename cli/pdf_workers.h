// The PDF engine of quipu's own commands: sandboxed worker processes of this
// same program (`quipu pdf-worker`, pdf/sandbox.h), so a hostile PDF given to
// `quipu hash` or `quipu qr stamp` fails with a message, never a signal.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "crypto/status.h"
#include "pdf/sandbox.h"

namespace quipu::cli {

// How to start the running program again: /proc/self/exe (the same binary
// even after an upgrade replaced its file). Errors: kIoError without /proc.
Result<std::string> SelfProgram();

// Sandbox options for a command that reads PDFs of up to `max_pdf_bytes`
// from files: one worker, generous time (60 s) and room for the file.
pdf::SandboxOptions CommandSandboxOptions(uint64_t max_pdf_bytes);

// A PdfEngine that starts its sandbox at the first PDF, so commands that
// never see one start no process. Thread-safe.
class LazyPdfSandbox final : public pdf::PdfEngine {
 public:
  explicit LazyPdfSandbox(pdf::SandboxOptions options) : options_(std::move(options)) {}
  Result<pdf::PdfFacts> Parse(std::span<const uint8_t> pdf) override;
  Result<pdf::Bytes> StampPlaceholder(std::span<const uint8_t> pdf, const pdf::QrPlaceholder& qr,
                                      const pdf::StampOptions& options) override;

 private:
  Result<pdf::PdfSandbox*> Get();
  pdf::SandboxOptions options_;
  std::mutex mu_;
  std::unique_ptr<pdf::PdfSandbox> sandbox_;  // guarded by mu_ until set
};

}  // namespace quipu::cli
