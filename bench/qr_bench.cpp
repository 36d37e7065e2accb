// QR Seguro: seal + text, parse + verify + open, PNG rendering per second,
// and the size of a five-field code against an EU DCC-style encoding of the
// same fields (COSE_Sign1-like signed CBOR, zlib, Base45, "HC1:").
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include <cstdio>

#include "crypto/base45.h"
#include "crypto/note.h"
#include "node/qr_format.h"
#include "node/qr_render.h"

namespace {

using namespace quipu;
using crypto::Bytes;
using nlohmann::json;

struct Fixture {
  crypto::SigningKey node = crypto::SigningKey::FromSeed(Bytes(32, 7)).value();
  uint32_t key_id = crypto::KeyHash("quipu.bench/node", node.PublicKey());
  Bytes data_key = Bytes(32, 9);
  node::QrPlain plain;
  Fixture() {
    plain.fields = json{{"tipo", "Bachiller"},
                        {"nro", "TB-2024-0012345"},
                        {"nombre", "Ana Quispe Mamani"},
                        {"fecha", "2024-03-15"},
                        {"oficina", "SEDUCA La Paz"}}
                       .dump();
    plain.expires_at = 1893456000;
  }
};

Fixture& F() {
  static Fixture f;
  return f;
}

void BM_SealAndText(benchmark::State& state) {
  auto& f = F();
  uint64_t index = 123456;
  for (auto _ : state) {
    auto s = node::SealQr(f.plain, index++, f.key_id, f.data_key, f.node);
    benchmark::DoNotOptimize(node::QrText(*s));
  }
  state.counters["codes/s"] = benchmark::Counter(state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SealAndText);

void BM_ParseVerifyOpen(benchmark::State& state) {
  auto& f = F();
  const std::string text = node::QrText(*node::SealQr(f.plain, 123456, f.key_id, f.data_key, f.node));
  const auto pub = f.node.PublicKey();
  for (auto _ : state) {
    auto s = node::ParseQrText(text);
    if (!s.ok() || !node::VerifyQrSignature(*s, pub)) state.SkipWithError("verify failed");
    auto p = node::OpenQr(*s, f.data_key);
    if (!p.ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(p);
  }
  state.counters["codes/s"] = benchmark::Counter(state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ParseVerifyOpen);

void BM_RenderPng(benchmark::State& state) {
  auto& f = F();
  const std::string text = node::QrText(*node::SealQr(f.plain, 123456, f.key_id, f.data_key, f.node));
  size_t bytes = 0;
  for (auto _ : state) {
    auto m = node::EncodeQr(text, 'M');
    auto png = node::QrPng(*m, 4, 4);
    bytes = png->size();
    benchmark::DoNotOptimize(png);
  }
  state.counters["png_bytes"] = static_cast<double>(bytes);
  state.counters["pngs/s"] = benchmark::Counter(state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RenderPng);

// ---- the DCC-style comparison encoding ----

void Head(Bytes& out, uint8_t major, uint64_t v) {
  const uint8_t m = static_cast<uint8_t>(major << 5);
  if (v < 24) {
    out.push_back(m | static_cast<uint8_t>(v));
    return;
  }
  int n = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffffULL ? 4 : 8;
  out.push_back(m | static_cast<uint8_t>(n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27));
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void Bstr(Bytes& out, const Bytes& b) {
  Head(out, 2, b.size());
  out.insert(out.end(), b.begin(), b.end());
}
void Tstr(Bytes& out, std::string_view s) {
  Head(out, 3, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

// COSE_Sign1 as the EU DCC uses it: tag 18, [protected {1: -8 (EdDSA), 4:
// kid}, {}, payload CWT {1: iss, 4: exp, 6: iat, -260: {1: fields}},
// signature over Sig_structure], then zlib, Base45, "HC1:".
std::string DccStyleText(const Fixture& f) {
  Bytes prot;
  Head(prot, 5, 2);
  Head(prot, 0, 1);
  Head(prot, 1, 7);  // -8
  Head(prot, 0, 4);
  Bstr(prot, Bytes{uint8_t(f.key_id >> 24), uint8_t(f.key_id >> 16), uint8_t(f.key_id >> 8),
                   uint8_t(f.key_id)});
  Bytes payload;
  Head(payload, 5, 4);
  Head(payload, 0, 1);
  Tstr(payload, "BO");
  Head(payload, 0, 4);
  Head(payload, 0, 1893456000);
  Head(payload, 0, 6);
  Head(payload, 0, 1710460800);
  Head(payload, 1, 259);  // -260: hcert
  Head(payload, 5, 1);
  Head(payload, 0, 1);
  const Bytes fields = json::to_cbor(json::parse(f.plain.fields));
  payload.insert(payload.end(), fields.begin(), fields.end());
  Bytes sig_structure;
  Head(sig_structure, 4, 4);
  Tstr(sig_structure, "Signature1");
  Bstr(sig_structure, prot);
  Bstr(sig_structure, {});
  Bstr(sig_structure, payload);
  const auto sig = f.node.Sign(sig_structure);
  Bytes cose = {0xd2};
  Head(cose, 4, 4);
  Bstr(cose, prot);
  Head(cose, 5, 0);
  Bstr(cose, payload);
  Bstr(cose, Bytes(sig.begin(), sig.end()));
  uLongf zsize = compressBound(static_cast<uLong>(cose.size()));
  Bytes z(zsize);
  compress2(z.data(), &zsize, cose.data(), static_cast<uLong>(cose.size()), 9);
  z.resize(zsize);
  return "HC1:" + crypto::Base45Encode(z);
}

void BM_SizeComparison(benchmark::State& state) {
  auto& f = F();
  const std::string qs = node::QrText(*node::SealQr(f.plain, 123456, f.key_id, f.data_key, f.node));
  const std::string hc = DccStyleText(f);
  const int qs_v = node::EncodeQr(qs, 'M')->version;
  const int hc_v = node::EncodeQr(hc, 'M')->version;
  for (auto _ : state) benchmark::DoNotOptimize(qs.size());
  state.counters["qs1_chars"] = static_cast<double>(qs.size());
  state.counters["qs1_version_M"] = qs_v;
  state.counters["hc1_chars"] = static_cast<double>(hc.size());
  state.counters["hc1_version_M"] = hc_v;
  static bool printed = false;
  if (!printed) {
    printed = true;
    std::fprintf(stderr,
                 "five-field document (%zu bytes JSON): QS1 %zu chars, version %d at M (fields "
                 "encrypted) | DCC-style HC1 %zu chars, version %d at M (fields readable)\n",
                 f.plain.fields.size(), qs.size(), qs_v, hc.size(), hc_v);
  }
}
BENCHMARK(BM_SizeComparison)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
