// Where PDFs are parsed. A PDF from outside may be crafted to crash the
// parser (PoDoFo 0.9.8 dereferences NULL on some /Encrypt dictionaries), to
// exhaust memory (a 335-byte file with /Size 8388607 takes ~475 MB) or time:
// such bytes are parsed through a PdfEngine backed by sandboxed worker
// processes (pdf/sandbox.h); the in-process engine is for quipu's own
// documents and for tests. What needs no parser (the byte checks, the
// revisions, filling a stamp's code) always runs in the caller's process.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "crypto/status.h"
#include "pdf/inspect.h"
#include "pdf/stamp.h"

namespace quipu::pdf {

// The two operations that run a PDF parser. Implementations are thread-safe.
class PdfEngine {
 public:
  virtual ~PdfEngine() = default;
  // As ParsePdf (pdf/inspect.h). An engine that could not finish (its
  // worker crashed, ran out of memory or time) answers kUnprocessable
  // saying so; kUnavailable when it is saturated (retry later).
  virtual Result<PdfFacts> Parse(std::span<const uint8_t> pdf) = 0;
  // As StampQrPlaceholder (pdf/stamp.h), with the same extra errors as Parse.
  virtual Result<Bytes> StampPlaceholder(std::span<const uint8_t> pdf, const QrPlaceholder& qr,
                                         const StampOptions& options) = 0;
};

// The engine that runs PoDoFo in this process (serialised). For trusted
// bytes only. Lives for the whole process.
PdfEngine& InProcessPdfEngine();

// InspectPdf through `engine`: the byte checks and the revisions here, the
// parse there. Errors: as CheckPdfBytes and PdfEngine::Parse.
Result<PdfInfo> InspectPdf(PdfEngine& engine, std::span<const uint8_t> pdf);

// StampQr through `engine`: the placeholder there, filled in here. Errors:
// as StampQr and PdfEngine::StampPlaceholder.
Result<Bytes> StampQr(PdfEngine& engine, std::span<const uint8_t> pdf, const std::vector<bool>& modules,
                      int size, const StampOptions& options);

}  // namespace quipu::pdf
