// Durable approvals per second, end to end at the service (a client
// creates a request, then the citizen confirms it with their TOTP code, as
// the node's page does after the login: two commits, fsynced), with 1, 16 and 64 concurrent clients, with group commit and
// with a commit per request; prints the rates and the ratio.
//
//   build/bench/approvals_bench [approvals per scenario, default 3000]
// Also durable QR Seguro issues/s (1 and 64 clients) and verifications/s.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/otp.h"
#include "crypto/random.h"
#include "ledger/log.h"
#include "pdf/engine.h"
#include "node/approvals.h"
#include "node/clients.h"
#include "node/qr_service.h"
#include "node/schema.h"

namespace {

using namespace quipu;
using nlohmann::json;

// Runs `total` approvals with `concurrency` threads; approvals per second.
double Scenario(int concurrency, bool group_commit, int total) {
  const std::string dir = std::string(std::getenv("BENCH_DIR") ? std::getenv("BENCH_DIR") : "build/bench-data") +
                          "/approvals";
  std::filesystem::remove_all(dir);
  ledger::LogOptions lo = node::LogOptionsFor(dir);
  lo.sync = ledger::SyncMode::kFull;
  if (!group_commit) lo.max_batch_requests = 1;
  auto log = ledger::Log::Open(lo);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.status().ToString().c_str());
    std::exit(1);
  }
  std::array<uint8_t, 32> key{};
  crypto::RandomBytes(key);
  node::Clients clients(**log, key);
  auto added = clients.Add("Bench", "https://b.example/r", "https://b.example/n", "t");
  node::ApprovalsOptions options;
  options.requests_per_client_hour = 0;  // one institution at full speed: what is measured
  node::Approvals approvals(**log, clients, pdf::InProcessPdfEngine(), key, options);
  // Every approval uses its own subject (a code is accepted once per
  // subject and time step), enrolled before the clock starts.
  std::vector<crypto::Bytes> keys(static_cast<size_t>(total));
  {
    std::vector<std::thread> t;
    std::atomic<int> next{0};
    for (int w = 0; w < 64; ++w) {
      t.emplace_back([&] {
        for (int i; (i = next++) < total;) {
          // As the citizen does on their page: a new key, confirmed with a
          // code of the step before (the current one stays fresh).
          const std::string subject = "B" + std::to_string(100000 + i);
          auto e = approvals.BeginTotp(subject, "");
          keys[static_cast<size_t>(i)] = *crypto::Base32Decode(e->secret_base32);
          const uint64_t before = static_cast<uint64_t>(approvals.NowMicros() / 1000000) - 30;
          auto first = crypto::Totp(keys[static_cast<size_t>(i)], before, 6, crypto::OtpHash::kSha1);
          if (!approvals.ConfirmTotp(subject, *first).ok()) std::fprintf(stderr, "enrolment failed\n");
        }
      });
    }
    for (auto& th : t) th.join();
  }
  std::atomic<int> next{0}, failures{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < concurrency; ++w) {
    threads.emplace_back([&] {
      for (int i; (i = next++) < total;) {
        const std::string subject = "B" + std::to_string(100000 + i);
        node::ApprovalRequest request;
        request.subject = subject;
        request.documents.push_back({node::DocumentRef{node::DocType::kPdf, crypto::Sha256("doc " + std::to_string(i)),
                                                       std::nullopt},
                                     std::nullopt});
        auto created = approvals.Create(added->client, request);
        if (!created.ok()) {
          ++failures;
          continue;
        }
        const uint64_t now = static_cast<uint64_t>(approvals.NowMicros() / 1000000);
        auto code = crypto::Totp(keys[static_cast<size_t>(i)], now, 6, crypto::OtpHash::kSha1);
        auto decided = approvals.DecideAsCitizen(subject, created->id, *code, true);
        if (!decided.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failures > 0) std::fprintf(stderr, "%d approvals failed\n", failures.load());
  log->reset();
  std::filesystem::remove_all(dir);
  return (total - failures) / secs;
}

// Durable QR Seguro issues per second with `concurrency` clients, then
// verifications per second (signature, ledger record, decryption).
void QrScenario(int concurrency, int total) {
  const std::string dir = std::string(std::getenv("BENCH_DIR") ? std::getenv("BENCH_DIR") : "build/bench-data") + "/qr";
  std::filesystem::remove_all(dir);
  ledger::LogOptions lo = node::LogOptionsFor(dir);
  auto log = ledger::Log::Open(lo);
  std::array<uint8_t, 32> key{};
  crypto::RandomBytes(key);
  node::Clients clients(**log, key);
  auto added = clients.Add("Bench", "https://b.example/r", "https://b.example/n", "t");
  auto signer = crypto::LoadNoteSigner(dir + "/" + ledger::kNodeKeyFile);
  auto keys = node::LoadQrKeys(dir, true);
  node::QrService qr(**log, clients, pdf::InProcessPdfEngine(), std::move(*signer), std::move(*keys));
  const std::string fields = json{{"tipo", "Certificado"}, {"numero", "CN-2026-0048213"},
                                  {"titular", "María Quispe Mamani"}, {"fecha", "2026-11-23"},
                                  {"oficina", "SERECI La Paz"}}
                                 .dump();
  std::vector<std::string> texts(static_cast<size_t>(total));
  std::atomic<int> next{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < concurrency; ++w) {
    threads.emplace_back([&] {
      for (int i; (i = next++) < total;) {
        node::QrIssueRequest request;
        request.document.sha256 = crypto::Sha256(std::to_string(i));
        request.plain.fields = fields;
        auto r = qr.Issue(added->client, request);
        if (r.ok()) texts[static_cast<size_t>(i)] = r->text;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double issue_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  start = std::chrono::steady_clock::now();
  int valid = 0;
  for (const auto& t : texts) valid += qr.Verify(t)->valid;
  const double verify_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("QR Seguro, %d clients: %.0f durable issues/s; %.0f verifications/s on one thread (%d/%d valid)\n",
              concurrency, total / issue_s, total / verify_s, valid, total);
  log->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  const int total = argc > 1 ? std::atoi(argv[1]) : 3000;
  std::printf("durable approvals/s (create + confirm, sync full), %d approvals per run\n", total);
  std::printf("%-8s %16s %20s %8s\n", "clients", "group commit", "commit per request", "ratio");
  for (int c : {1, 16, 64}) {
    const double group = Scenario(c, true, total);
    const double single = Scenario(c, false, total);
    std::printf("%-8d %16.0f %20.0f %8.2f\n", c, group, single, group / single);
  }
  for (int c : {1, 64}) QrScenario(c, total);
  return 0;
}
