// pdf/: InspectPdf on generated 1- and 100-page documents (PoDoFo parse,
// page count, signature walk), and the cheap byte-level checks
// (LooksLikePdf + ScanRevisions) over 10 MiB.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "pdf/inspect.h"
#include "pdf/make.h"

namespace {

void BM_InspectPdf(benchmark::State& state) {
  auto pdf = quipu::pdf::MakeSamplePdf(static_cast<int>(state.range(0)), "quipu benchmark");
  if (!pdf.ok()) {
    state.SkipWithError(pdf.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    auto info = quipu::pdf::InspectPdf(*pdf);
    benchmark::DoNotOptimize(info);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * pdf->size()));
  state.counters["bytes"] = static_cast<double>(pdf->size());
}
BENCHMARK(BM_InspectPdf)->Arg(1)->Arg(100);

void BM_LooksLikePdfAndScanRevisions(benchmark::State& state) {
  // 10 MiB of random bytes with a header and three revisions, like a large
  // scanned document that was updated twice.
  std::vector<uint8_t> bytes(10 << 20);
  std::mt19937_64 rng(1);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  const std::string header = "%PDF-1.7\n", marker = "\n%%EOF\n";
  std::copy(header.begin(), header.end(), bytes.begin());
  for (size_t at : {bytes.size() / 3, 2 * bytes.size() / 3, bytes.size() - marker.size()}) {
    std::copy(marker.begin(), marker.end(), bytes.begin() + at);
  }
  for (auto _ : state) {
    bool pdf = quipu::pdf::LooksLikePdf(bytes);
    auto revisions = quipu::pdf::ScanRevisions(bytes);
    benchmark::DoNotOptimize(pdf);
    benchmark::DoNotOptimize(revisions);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_LooksLikePdfAndScanRevisions)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
