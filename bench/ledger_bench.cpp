// The ledger's hot paths: durable batched append, inclusion and consistency
// proofs from LMDB, the entry checks, and the audit replay. Ledgers live under
// ${BENCH_DIR:-build/bench-data}; the 1M-entry one is built once and reused.
//
//   build/bench/ledger_bench --benchmark_filter=Append
//   build/bench/ledger_bench --benchmark_filter='Prove|Find|Audit'
//   build/bench/ledger_bench --benchmark_filter='CheckEntry|ParseEntryFields'
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "crypto/encoding.h"
#include "crypto/jcs.h"
#include "ledger/audit.h"
#include "ledger/log.h"
#include "node/schema.h"

namespace {

using namespace quipu;
using nlohmann::json;

std::string BenchDir() {
  const char* d = std::getenv("BENCH_DIR");
  const std::string dir = d ? d : "build/bench-data";
  std::filesystem::create_directories(dir);
  return dir;
}

json Approval(uint64_t n) {
  return {{"type", "approval"},
          {"client", "c_bench"},
          {"request", "r_" + std::to_string(n)},
          {"subject", crypto::HexEncode(crypto::Sha256("s" + std::to_string(n)))},
          {"doc", {{"sha256", crypto::HexEncode(crypto::Sha256(std::to_string(n)))},
                   {"media_type", "application/pdf"}}}};
}

// Appends batches of state.range(0) entries; range(1) is 1 for sync full.
void BM_Append(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  const std::string dir = BenchDir() + "/append";
  std::filesystem::remove_all(dir);
  ledger::LogOptions o = node::LogOptionsFor(dir);
  o.sync = state.range(1) ? ledger::SyncMode::kFull : ledger::SyncMode::kNone;
  auto log = ledger::Log::Open(o);
  if (!log.ok()) {
    state.SkipWithError(log.status().ToString().c_str());
    return;
  }
  std::vector<json> entries;
  for (size_t i = 0; i < batch; ++i) entries.push_back(Approval(i));
  for (auto _ : state) {
    auto r = (*log)->Append(ledger::AppendRequest(entries)).get();
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
  log->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_Append)
    ->ArgNames({"batch", "sync_full"})
    ->ArgsProduct({{1, 64, 1024, 16384}, {1, 0}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

constexpr uint64_t kBig = 1000000;

// The 1M-entry ledger, built on first use (sync none, batches of 16384).
const std::string& BigLedger() {
  static const std::string dir = [] {
    const std::string d = BenchDir() + "/ledger-1m";
    ledger::LogOptions o = node::LogOptionsFor(d);
    o.sync = ledger::SyncMode::kNone;
    auto log = ledger::Log::Open(o);
    if (!log.ok()) std::abort();
    for (uint64_t i = (*log)->Head().tree_size; i < kBig;) {
      std::vector<json> entries;
      for (; entries.size() < 16384 && i < kBig; ++i) entries.push_back(Approval(i));
      if (!(*log)->Append(ledger::AppendRequest(std::move(entries))).get().ok()) std::abort();
    }
    return d;
  }();
  return dir;
}

std::unique_ptr<ledger::Log> OpenBig() {
  ledger::LogOptions o = node::LogOptionsFor(BigLedger());
  o.read_only = true;
  auto log = ledger::Log::Open(o);
  if (!log.ok()) std::abort();
  return std::move(*log);
}

void BM_ProveInclusion(benchmark::State& state) {
  auto log = OpenBig();
  std::mt19937_64 rng(1);
  const uint64_t size = log->Head().tree_size;
  for (auto _ : state) {
    auto p = log->ProveInclusion(rng() % size, size);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ProveInclusion);

void BM_ProveConsistency(benchmark::State& state) {
  auto log = OpenBig();
  std::mt19937_64 rng(2);
  const uint64_t size = log->Head().tree_size;
  for (auto _ : state) {
    auto p = log->ProveConsistency(1 + rng() % (size - 1), size);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ProveConsistency);

// The documents index: which entries concern a document (every lookup of
// the verify path starts here). Documents of random entries, all present.
void BM_FindDocument(benchmark::State& state) {
  auto log = OpenBig();
  std::mt19937_64 rng(3);
  for (auto _ : state) {
    auto found = log->FindDocument(crypto::Sha256(std::to_string(rng() % kBig)));
    if (!found.ok() || found->size() != 1) state.SkipWithError("document not found");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FindDocument);

// The first lookup of a process: it reads every live run once to build the
// runs' filters (docs/ledger.md). Each iteration opens the ledger afresh.
void BM_FindDocumentFirst(benchmark::State& state) {
  OpenBig().reset();  // built before timing
  for (auto _ : state) {
    auto log = OpenBig();
    auto found = log->FindDocument(crypto::Sha256(std::to_string(kBig / 2)));
    if (!found.ok() || found->size() != 1) state.SkipWithError("document not found");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FindDocumentFirst)->Unit(benchmark::kMillisecond)->Iterations(5);

// The entry checks alone, without LMDB or hashing: the audit's CheckEntry
// over stored entries and `log append`'s EntrySchema::ParseFields over canonical
// lines (both take the fast scanner for quipu's own shapes).
std::vector<std::string> SampleEntries(bool fields_only) {
  std::vector<std::string> out;
  for (uint64_t i = 0; i < 1024; ++i) {
    json f = Approval(i);
    if (i % 4 == 1) {
      f = {{"type", "qr_issue"}, {"client", "c_bench"}, {"doc", f["doc"]}, {"payload", f["subject"]}};
    } else if (i % 4 == 3) {
      f = {{"type", "qr_revoke"}, {"client", "c_bench"}, {"target", i}, {"reason", "reemplazado"}, {"doc", f["doc"]}};
    }
    out.push_back(fields_only ? *crypto::CanonicalDump(f) : *ledger::BuildEntry(f, "2026-11-23T04:05:06.123456Z"));
  }
  return out;
}

void BM_CheckEntry(benchmark::State& state) {
  const std::vector<std::string> entries = SampleEntries(false);
  size_t i = 0;
  for (auto _ : state) {
    auto facts = node::EntryTypes().CheckEntry(entries[i++ % entries.size()]);
    if (!facts.ok()) state.SkipWithError("entry refused");
    benchmark::DoNotOptimize(facts);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CheckEntry);

void BM_ParseEntryFields(benchmark::State& state) {
  const std::vector<std::string> lines = SampleEntries(true);
  size_t i = 0;
  for (auto _ : state) {
    auto fields = node::EntryTypes().ParseFields(lines[i++ % lines.size()]);
    if (!fields.ok()) state.SkipWithError("fields refused");
    benchmark::DoNotOptimize(fields);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseEntryFields);

void BM_Audit(benchmark::State& state) {
  ledger::AuditOptions o;
  o.dir = BigLedger();
  o.entry_schema = node::EntryTypes();
  for (auto _ : state) {
    auto r = ledger::Audit(o);
    if (!r.ok() || !r->ok) state.SkipWithError("audit failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBig));
}
BENCHMARK(BM_Audit)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
