// Ed25519 and signed-note throughput: what a checkpoint costs the sequencer
// to sign and an auditor to check.
//   build/bench/note_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <string>

#include "crypto/ed25519.h"
#include "crypto/encoding.h"
#include "crypto/note.h"

namespace {

using namespace quipu::crypto;

// A C2SP tlog-checkpoint body: origin, tree size, base64 root hash.
const std::string kCheckpoint =
    "quipu.example/log\n"
    "123456789\n"
    "q2ZG3QiZrk3ePd5N3bmvQYXlpXdOzsKFwVVSAspQsGk=\n";

void BM_Ed25519Sign(benchmark::State& state) {
  SigningKey key = SigningKey::Generate();
  for (auto _ : state) {
    Ed25519Signature sig = key.Sign(kCheckpoint);
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519Verify(benchmark::State& state) {
  SigningKey key = SigningKey::Generate();
  Ed25519PublicKey pk = key.PublicKey();
  Ed25519Signature sig = key.Sign(kCheckpoint);
  for (auto _ : state) {
    bool ok = VerifyEd25519(pk, AsBytes(kCheckpoint), sig);
    if (!ok) state.SkipWithError("signature did not verify");
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Verify);

void BM_SignNoteCheckpoint(benchmark::State& state) {
  auto signer = NoteSigner::Create("quipu.example/log", SigningKey::Generate());
  for (auto _ : state) {
    auto note = SignNote(kCheckpoint, *signer);
    benchmark::DoNotOptimize(note);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SignNoteCheckpoint);

void BM_OpenNoteCheckpoint(benchmark::State& state) {
  auto signer = NoteSigner::Create("quipu.example/log", SigningKey::Generate());
  auto verifier = NoteVerifier::Create(signer->name(), signer->public_key());
  std::string note = *SignNote(kCheckpoint, *signer);
  for (auto _ : state) {
    auto opened = OpenNote(note, {&*verifier, 1});
    if (!opened.ok()) state.SkipWithError("note did not open");
    benchmark::DoNotOptimize(opened);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OpenNoteCheckpoint);

}  // namespace

BENCHMARK_MAIN();
