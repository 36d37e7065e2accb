#include "pdf/engine.h"

namespace quipu::pdf {
namespace {

class InProcessEngine final : public PdfEngine {
 public:
  Result<PdfFacts> Parse(std::span<const uint8_t> pdf) override { return ParsePdf(pdf); }
  Result<Bytes> StampPlaceholder(std::span<const uint8_t> pdf, const QrPlaceholder& qr,
                                 const StampOptions& options) override {
    return StampQrPlaceholder(pdf, qr, options);
  }
};

}  // namespace

PdfEngine& InProcessPdfEngine() {
  static InProcessEngine* engine = new InProcessEngine;  // never destroyed: used until exit
  return *engine;
}

Result<PdfInfo> InspectPdf(PdfEngine& engine, std::span<const uint8_t> pdf) {
  QUIPU_ASSIGN_OR_RETURN(std::vector<PdfRevision> revisions, CheckPdfBytes(pdf));
  QUIPU_ASSIGN_OR_RETURN(PdfFacts facts, engine.Parse(pdf));
  PdfInfo info;
  static_cast<PdfFacts&>(info) = std::move(facts);
  info.revisions = std::move(revisions);
  return info;
}

Result<Bytes> StampQr(PdfEngine& engine, std::span<const uint8_t> pdf, const std::vector<bool>& modules,
                      int size, const StampOptions& options) {
  QrPlaceholder qr;
  qr.size = size;
  qr.marker = NewPlaceholderMarker();
  QUIPU_ASSIGN_OR_RETURN(Bytes out, engine.StampPlaceholder(pdf, qr, options));
  // A worker's answer is checked like any outside bytes: the original must
  // be a prefix, and the fill finds the marker after it or refuses.
  if (out.size() < pdf.size() || !std::equal(pdf.begin(), pdf.end(), out.begin())) {
    return Unprocessable("the stamped PDF does not start with the original bytes");
  }
  QUIPU_RETURN_IF_ERROR(FillQrPlaceholder(out, pdf.size(), qr, modules, size));
  return out;
}

}  // namespace quipu::pdf
