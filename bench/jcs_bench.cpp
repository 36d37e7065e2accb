// Canonicalize throughput (bytes/s) on generated documents of three sizes,
// with nlohmann::json parse + dump on the same bytes as the reference line.
// Run: build/bench/jcs_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/jcs.h"

namespace {

std::string Key(std::mt19937_64& rng) {
  static const char* kWords[] = {"id", "type", "time", "subject", "doc_sha256", "client",
                                 "nombre", "descripci\xC3\xB3n", "monto", "\xE2\x82\xAC"};
  return kWords[rng() % 10] + std::to_string(rng() % 100);
}

std::string Text(std::mt19937_64& rng, size_t len) {
  static const char* kPieces[] = {"a", "b", "c", " ", "\xC3\xB1", "\xC3\xA9", "\xE2\x82\xAC",
                                  "\xF0\x9F\x98\x80", "\\n", "\\u00e1", "Bolivia", "La Paz"};
  std::string s = "\"";
  while (s.size() < len) s += kPieces[rng() % 12];
  return s + "\"";
}

std::string Number(std::mt19937_64& rng) {
  char buf[40];
  if (rng() % 2) return std::to_string(rng() % 1000000);
  std::snprintf(buf, sizeof buf, "%.*g", static_cast<int>(rng() % 17) + 1,
                static_cast<double>(rng() % 100000000) / 997.0);
  return buf;
}

// A ledger-entry-like object of about 300 bytes, keys unsorted.
std::string SmallEntry(std::mt19937_64& rng) {
  return "{\"type\": \"approval\", \"v\": 1, \"time\": \"2024-06-11T10:00:00.123456Z\", "
         "\"subject\": \"5f2b9c0e8d7a6b4c3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d\", "
         "\"doc\": {\"sha256\": \"" + std::string(64, 'a') + "\", \"pages\": " + Number(rng) +
         "}, \"client\": " + Text(rng, 20) + "}";
}

std::string Record(std::mt19937_64& rng, int depth, size_t target) {
  std::string s = "{";
  while (s.size() < target) {
    if (s.size() > 1) s += ", ";
    s += "\"" + Key(rng) + std::to_string(s.size()) + "\": ";
    switch (rng() % 4) {
      case 0: s += Number(rng); break;
      case 1: s += Text(rng, 8 + rng() % 40); break;
      case 2: {
        s += "[";
        for (int i = 0; i < 8; ++i) s += (i ? ", " : "") + Number(rng);
        s += "]";
        break;
      }
      default: s += depth < 3 ? Record(rng, depth + 1, target / 8) : "null";
    }
  }
  return s + "}";
}

// Kind 0: 1000 separate ~300 B entries; 1: 20 nested ~10 KB records;
// 2: one ~1 MB document. Each kind is canonicalized document by document.
const std::vector<std::string>& Corpus(int kind) {
  static const std::vector<std::string>* corpora = [] {
    std::mt19937_64 rng(42);
    auto* c = new std::vector<std::string>[3];
    for (int i = 0; i < 1000; ++i) c[0].push_back(SmallEntry(rng));
    for (int i = 0; i < 20; ++i) c[1].push_back(Record(rng, 0, 10000));
    c[2].push_back(Record(rng, 0, size_t{1} << 20));
    return c;
  }();
  return corpora[kind];
}

void BM_Canonicalize(benchmark::State& state) {
  const auto& docs = Corpus(static_cast<int>(state.range(0)));
  size_t bytes = 0;
  for (const auto& d : docs) {
    auto r = quipu::crypto::Canonicalize(d);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    bytes += d.size();
  }
  for (auto _ : state) {
    for (const auto& d : docs) {
      auto r = quipu::crypto::Canonicalize(d);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["doc_bytes"] = static_cast<double>(bytes / docs.size());
}

// Reference: nlohmann::json parse + compact dump (not canonical: byte-order
// keys, its own number format, keeps duplicate keys silently).
void BM_NlohmannParseDump(benchmark::State& state) {
  const auto& docs = Corpus(static_cast<int>(state.range(0)));
  size_t bytes = 0;
  for (const auto& d : docs) bytes += d.size();
  for (auto _ : state) {
    for (const auto& d : docs) {
      std::string out = nlohmann::json::parse(d).dump();
      benchmark::DoNotOptimize(out);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

// The DOM path, for callers that read fields.
void BM_ParseJsonStrict(benchmark::State& state) {
  const auto& docs = Corpus(static_cast<int>(state.range(0)));
  size_t bytes = 0;
  for (const auto& d : docs) bytes += d.size();
  for (auto _ : state) {
    for (const auto& d : docs) {
      auto r = quipu::crypto::ParseJsonStrict(d);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

}  // namespace

BENCHMARK(BM_Canonicalize)->ArgName("small300B_medium10K_large1M")->DenseRange(0, 2);
BENCHMARK(BM_NlohmannParseDump)->ArgName("small300B_medium10K_large1M")->DenseRange(0, 2);
BENCHMARK(BM_ParseJsonStrict)->ArgName("small300B_medium10K_large1M")->DenseRange(0, 2);
BENCHMARK_MAIN();
