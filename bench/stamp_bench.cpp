// pdf/stamp: QR stamps per second (PoDoFo load for update, drawing, write of
// the incremental update) on a 1-page and a 50-page document, for a QR Seguro
// sized code ("QS1:" + 150 Base45 characters, version 6 at level M).
#include <benchmark/benchmark.h>
#include <qrencode.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "pdf/make.h"
#include "pdf/stamp.h"

namespace {

void BM_StampQr(benchmark::State& state) {
  auto pdf = quipu::pdf::MakeSamplePdf(static_cast<int>(state.range(0)), "quipu benchmark");
  if (!pdf.ok()) {
    state.SkipWithError(pdf.status().ToString().c_str());
    return;
  }
  static constexpr char kBase45[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  std::mt19937 rng(1);
  std::string text = "QS1:";
  for (int i = 0; i < 150; ++i) text += kBase45[rng() % 45];
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), &QRcode_free);
  if (code == nullptr) {
    state.SkipWithError("libqrencode failed");
    return;
  }
  const int size = code->width;
  std::vector<bool> modules(static_cast<size_t>(size) * size);
  for (size_t i = 0; i < modules.size(); ++i) modules[i] = (code->data[i] & 1) != 0;
  quipu::pdf::StampOptions options;
  options.caption = "Verify at verify.quipu.example";
  size_t out_size = 0;
  for (auto _ : state) {
    auto stamped = quipu::pdf::StampQr(*pdf, modules, size, options);
    if (!stamped.ok()) {
      state.SkipWithError(stamped.status().ToString().c_str());
      return;
    }
    out_size = stamped->size();
    benchmark::DoNotOptimize(stamped);
  }
  state.counters["stamps/s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate);
  state.counters["pdf_bytes"] = static_cast<double>(pdf->size());
  state.counters["added_bytes"] = static_cast<double>(out_size - pdf->size());
  state.counters["qr_version"] = code->version;
}
BENCHMARK(BM_StampQr)->Arg(1)->Arg(50)->Unit(benchmark::kMicrosecond);

}  // namespace
BENCHMARK_MAIN();
