// Raw Store write throughput: 300-byte entries appended in batches of 1, 64
// and 1024 per Write (one transaction each), with SyncMode::kFull (fsync per
// commit) and kNone. items_per_second is entries per second.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "crypto/encoding.h"
#include "ledger/store.h"

namespace {

using quipu::Status;
using quipu::ledger::Store;
using quipu::ledger::StoreOptions;
using quipu::ledger::SyncMode;
using quipu::ledger::WriteBatch;

void BM_StorePutEntries(benchmark::State& state) {
  const int64_t batch = state.range(0);
  const bool sync = state.range(1) != 0;
  // Under the build directory (a real disk), not /tmp (may be tmpfs).
  std::string tmpl = std::filesystem::current_path().string() + "/store_bench_XXXXXX";
  std::string dir = mkdtemp(tmpl.data());
  {
    StoreOptions options;
    options.sync = sync ? SyncMode::kFull : SyncMode::kNone;
    auto store = Store::Open(dir + "/data", options);
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
      std::filesystem::remove_all(dir);
      return;
    }
    const std::string entry(300, 'e');
    uint64_t next = 0;
    for (auto _ : state) {
      Status s = (*store)->Write([&](WriteBatch& b) -> Status {
        for (int64_t i = 0; i < batch; ++i) {
          QUIPU_RETURN_IF_ERROR(b.PutEntry(next + i, quipu::crypto::AsBytes(entry)));
        }
        return Status::Ok();
      });
      if (!s.ok()) {
        state.SkipWithError(s.ToString().c_str());
        break;
      }
      next += batch;
    }
    state.SetItemsProcessed(static_cast<int64_t>(next));
    state.SetBytesProcessed(static_cast<int64_t>(next) * 300);
  }
  std::filesystem::remove_all(dir);
}

// Short runs: the machine is shared.
BENCHMARK(BM_StorePutEntries)
    ->ArgNames({"batch", "sync"})
    ->ArgsProduct({{1, 64, 1024}, {1, 0}})
    ->MinTime(0.3)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
