// The crypto core's hot paths: SHA-256 at 64 B .. 64 MiB (bytes/s), the
// Merkle leaf and node hashes, Base45, XChaCha20-Poly1305, TOTP.
//
//   build/bench/crypto_bench
#include <benchmark/benchmark.h>

#include "crypto/aead.h"
#include "crypto/base45.h"
#include "crypto/otp.h"
#include "crypto/random.h"
#include "crypto/sha256.h"
#include "ledger/merkle.h"

namespace {

using namespace quipu;

void BM_Sha256(benchmark::State& state) {
  const crypto::Bytes data = crypto::RandomBytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(crypto::Sha256(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Sha256)->Arg(64)->Arg(1024)->Arg(1 << 20)->Arg(64 << 20);

void BM_Sha256Streaming(benchmark::State& state) {
  const crypto::Bytes chunk = crypto::RandomBytes(256 * 1024);
  for (auto _ : state) {
    crypto::Sha256Hasher h;
    for (int i = 0; i < 256; ++i) h.Update(chunk);  // 64 MiB in 256 KiB reads
    benchmark::DoNotOptimize(h.Finish());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk.size() * 256));
}
BENCHMARK(BM_Sha256Streaming);

void BM_LeafHash300(benchmark::State& state) {
  const crypto::Bytes entry = crypto::RandomBytes(300);
  for (auto _ : state) benchmark::DoNotOptimize(ledger::LeafHash(entry));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LeafHash300);

void BM_NodeHash(benchmark::State& state) {
  crypto::Digest a{}, b{};
  a[0] = 1;
  for (auto _ : state) {
    a = ledger::NodeHash(a, b);
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NodeHash);

void BM_Base45Encode(benchmark::State& state) {
  const crypto::Bytes data = crypto::RandomBytes(200);
  for (auto _ : state) benchmark::DoNotOptimize(crypto::Base45Encode(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Base45Encode);

void BM_Base45Decode(benchmark::State& state) {
  const std::string text = crypto::Base45Encode(crypto::RandomBytes(200));
  for (auto _ : state) benchmark::DoNotOptimize(crypto::Base45Decode(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * 200));
}
BENCHMARK(BM_Base45Decode);

void BM_AeadSeal256(benchmark::State& state) {
  const crypto::Bytes key = crypto::RandomBytes(32), nonce = crypto::RandomBytes(24), pt = crypto::RandomBytes(256);
  for (auto _ : state) benchmark::DoNotOptimize(crypto::AeadSeal(key, nonce, pt, {}));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AeadSeal256);

void BM_Totp(benchmark::State& state) {
  const crypto::Bytes key = crypto::RandomBytes(20);
  uint64_t t = 1795000000;
  for (auto _ : state) benchmark::DoNotOptimize(crypto::Totp(key, t++, 6, crypto::OtpHash::kSha1));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Totp);

}  // namespace

BENCHMARK_MAIN();
