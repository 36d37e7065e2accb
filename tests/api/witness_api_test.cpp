// quipu serve --witness-logs: the C2SP tlog-witness routes through curl, as
// a log (here a second quipu ledger) submits its checkpoints: every status
// and content type the spec gives, the monitoring checkpoint, the key the
// node announces and the refusals it keeps as evidence in its log.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "crypto/cosignature.h"
#include "crypto/encoding.h"
#include "crypto/sha256.h"
#include "ledger/log.h"
#include "node/schema.h"
#include "tests/common/node.h"
#include "tests/common/process.h"

namespace quipu {
namespace {

using nlohmann::json;
using testing::Curl;
using testing::Http;
using testing::ShellQuote;

TEST(WitnessApi, ALogGetsItsCheckpointsCosignedAndRefusedAsTheSpecSays) {
  testing::TempDir dir;
  // The witnessed log.
  ledger::LogOptions lo = node::LogOptionsFor(dir.File("log"));
  lo.origin = "log.example/quipu";
  auto log = std::move(ledger::Log::Open(lo)).value();
  auto grow = [&](int n) {
    std::vector<json> e;
    for (int i = 0; i < n; ++i) e.push_back({{"type", "qr_revoke"}, {"client", "c_000000000001"}, {"target", i}, {"reason", "x"}});
    ASSERT_TRUE(log->Append(ledger::AppendRequest(std::move(e))).get().ok());
  };
  std::ofstream(dir.File("logs")) << "log " << log->verifier_key() << " https://log.example/\n";
  ASSERT_EQ(testing::RunQuipu("log init --data " + ShellQuote(dir.File("w"))).exit_code, 0);
  testing::Node node(dir.File("w"), "--witness-logs " + ShellQuote(dir.File("logs")) +
                                        " --witness-name witness.example/w1");
  ASSERT_FALSE(node.url().empty());
  auto post = [&](const std::string& body) {
    return Curl("-X POST --data-binary @- " + ShellQuote(node.url() + "/add-checkpoint"), body);
  };

  // The witness's identity, as it publishes it.
  Http info = Curl(ShellQuote(node.url() + "/witness"));
  ASSERT_EQ(info.status, 200) << info.body;
  EXPECT_EQ(info.Json()["name"], "witness.example/w1");
  auto cosigner = crypto::ParseCosignerVerifierKey(info.Json()["vkey"].get<std::string>());
  ASSERT_TRUE(cosigner.ok()) << info.body;
  EXPECT_EQ(info.Json()["logs"][0]["origin"], "log.example/quipu");
  struct stat st {};
  ASSERT_EQ(::stat(dir.File("w/witness.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  grow(5);
  const std::string cp5 = log->Head().checkpoint;
  Http first = post("old 0\n\n" + cp5);
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string body5 = cp5.substr(0, cp5.find("\n\n") + 1);
  auto t = crypto::VerifyCosignature(first.body, *cosigner, body5);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(t->has_value());

  grow(3);
  std::string proof;
  auto hashes = log->ProveConsistency(5, 8);
  ASSERT_TRUE(hashes.ok());
  for (const auto& h : *hashes) proof += crypto::Base64Encode(h) + "\n";
  const std::string cp8 = log->Head().checkpoint;
  // Stale: 409, text/x.tlog.size, the size it holds.
  Http stale = post("old 0\n\n" + cp8);
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(stale.body, "5\n");
  EXPECT_NE(stale.headers.find("Content-Type: text/x.tlog.size"), std::string::npos) << stale.headers;
  // A proof that does not verify: 422, and the node's log keeps it as evidence.
  std::string wrong = proof;
  wrong[2] = wrong[2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(post("old 5\n" + wrong + "\n" + cp8).status, 422);
  EXPECT_EQ(post("old 9\n\n" + cp8).status, 400);
  EXPECT_EQ(post("nonsense").status, 400);
  EXPECT_EQ(post("old 5\n" + proof + "\n" + cp8.substr(0, cp8.find("\n\n") + 2) + "\xe2\x80\x94 log.example/quipu AAAAAAAA\n").status, 403);
  EXPECT_EQ(post("old 0\n\nother.example/log\n1\n" + std::string(43, 'A') + "=\n\n\xe2\x80\x94 other.example/log AAAAAAAA\n").status,
            404);
  Http grown = post("old 5\n" + proof + "\n" + cp8);
  ASSERT_EQ(grown.status, 200) << grown.body;

  // The monitoring view: the latest cosigned checkpoint, both signatures.
  const std::string hash = crypto::HexEncode(crypto::Sha256(std::string("log.example/quipu")));
  Http latest = Curl(ShellQuote(node.url() + "/witness/" + hash + "/checkpoint"));
  ASSERT_EQ(latest.status, 200);
  EXPECT_EQ(latest.body, cp8 + grown.body);
  EXPECT_EQ(Curl(ShellQuote(node.url() + "/witness/" + std::string(64, 'a') + "/checkpoint")).status, 404);
  // A body over the limit: 413 before it is read.
  EXPECT_EQ(post(std::string(140000, 'x')).status, 413);
  EXPECT_NE(testing::ReadFile(dir.File("w") + ".stderr").find("witness_refused"), std::string::npos);
}

// One address sending add-checkpoint requests without end is cut off at
// 429 (with Retry-After) before any signature is checked; the limit is per
// address, so the witness stays open to the logs it serves.
TEST(WitnessApi, AnAddressFloodingAddCheckpointGets429) {
  testing::TempDir dir;
  std::ofstream(dir.File("logs")) << "# none yet\n";
  ASSERT_EQ(testing::RunQuipu("log init --data " + ShellQuote(dir.File("w"))).exit_code, 0);
  testing::Node node(dir.File("w"), "--witness-logs " + ShellQuote(dir.File("logs")));
  ASSERT_FALSE(node.url().empty());
  // One curl, 140 requests on one kept connection: the burst arrives far
  // faster than the 10 a second that refill it, however busy the machine.
  std::string urls;
  for (int i = 0; i < 140; ++i) urls += " " + ShellQuote(node.url() + "/add-checkpoint");
  auto r = testing::RunShell("curl -s -o /dev/null -D - -X POST --data-binary 'old 0'" + urls);
  int refused = 0, limited = 0;
  bool retry_after = false;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("HTTP/1.1 429", 0) == 0) ++limited;
    if (line.rfind("HTTP/1.1 400", 0) == 0) ++refused;
    if (line.rfind("Retry-After: ", 0) == 0) retry_after = true;
  }
  EXPECT_GE(refused, 100) << r.out;  // the burst: read, and refused for what they are
  EXPECT_GE(limited, 10) << r.out;
  EXPECT_TRUE(retry_after) << r.out;
}

}  // namespace
}  // namespace quipu
