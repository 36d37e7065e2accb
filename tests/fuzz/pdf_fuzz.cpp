// libFuzzer target: InspectPdf must return a value or a Status on any input,
// never crash, hang or throw; a success must be self-consistent. PoDoFo itself
// is not instrumented, so coverage guides through quipu's side only; seed the
// corpus with real PDFs (e.g. MakeSamplePdf output) to reach deep parsing.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "pdf/inspect.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  auto info = quipu::pdf::InspectPdf(input);
  if (!info.ok()) {
    if (info.status().message().empty()) std::abort();  // errors must say why
    return 0;
  }
  if (!quipu::pdf::LooksLikePdf(input) || info->revisions.empty() || info->pages < 0) {
    std::fprintf(stderr, "inconsistent success\n");
    std::abort();
  }
  uint64_t previous = 0;
  for (const auto& revision : info->revisions) {
    if (revision.length <= previous || revision.length > size) std::abort();
    previous = revision.length;
  }
  return 0;
}
