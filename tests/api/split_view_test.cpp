// A split view: one operator, one key, two histories (a data directory
// copied, then grown differently), each shown at its own address. The
// witness cosigns the first and refuses the second; an auditor who audited
// the first catches the second over HTTP; a receipt from the second passes
// the log's key alone but fails the policy. And `quipu audit URL` itself: a
// clean audit of a node over HTTP, resumed fetching only what is new.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/common/node.h"
#include "tests/common/process.h"

namespace quipu {
namespace {

using nlohmann::json;
using testing::Curl;
using testing::Http;
using testing::ShellQuote;
using testing::WaitUntil;

// `count` qr_revoke entries (a valid quipu type) appended to `data` offline.
void Append(const std::string& data, int count, const std::string& reason) {
  std::string lines;
  for (int i = 0; i < count; ++i) {
    lines += json{{"type", "qr_revoke"}, {"client", "c_000000000001"}, {"target", i}, {"reason", reason}}.dump() + "\n";
  }
  auto r = testing::RunQuipu("log append --quiet --data " + ShellQuote(data), lines);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

json Witnessed(const testing::Node& node) { return Curl(ShellQuote(node.url() + "/v1/witnessed")).Json(); }

TEST(SplitView, TheWitnessTheAuditorAndThePolicyEachCatchASecondHistory) {
  testing::TempDir dir;
  const std::string x = dir.File("x"), y = dir.File("y"), w = dir.File("w");
  auto init = testing::RunQuipu("log init --data " + ShellQuote(x) + " --origin split.example/log");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  const std::string vkey = init.out.substr(0, init.out.find('\n'));
  Append(x, 300, "shared");
  ASSERT_EQ(std::system(("cp -r " + ShellQuote(x) + " " + ShellQuote(y)).c_str()), 0);
  Append(x, 20, "first history");
  Append(y, 25, "second history");

  // The witness, for that one log.
  ASSERT_EQ(testing::RunQuipu("log init --data " + ShellQuote(w)).exit_code, 0);
  auto wkey = testing::RunQuipu("witness key --data " + ShellQuote(w) + " --name w.example/witness");
  ASSERT_EQ(wkey.exit_code, 0) << wkey.err;
  testing::WriteFile(dir.File("logs"), "log " + vkey + "\n");
  testing::Node witness(w, "--witness-logs " + ShellQuote(dir.File("logs")));
  ASSERT_FALSE(witness.url().empty());
  testing::WriteFile(dir.File("policy"), "witness w " + wkey.out.substr(0, wkey.out.find('\n')) + " " +
                                             witness.url() + "\nquorum w\n");
  const std::string flags = "--policy " + ShellQuote(dir.File("policy")) + " --cosign-interval-ms 100 --allow-local-callbacks";

  // The first history is witnessed and audited.
  testing::Node first(x, flags);
  ASSERT_FALSE(first.url().empty());
  ASSERT_TRUE(WaitUntil([&] { return Witnessed(first).value("quorum", false) && Witnessed(first)["tree_size"] == 320; }, 20))
      << Witnessed(first).dump();
  const std::string state = dir.File("audit-state.json");
  auto audited = testing::RunQuipu("audit " + ShellQuote(first.url()) + " --vkey " + ShellQuote(vkey) + " --state " +
                                   ShellQuote(state) + " --json");
  ASSERT_EQ(audited.exit_code, 0) << audited.out << audited.err;
  EXPECT_EQ(json::parse(audited.out)["tree_size"], 320);

  // The second, shown elsewhere: the witness refuses it (it holds the first).
  testing::Node second(y, flags);
  ASSERT_FALSE(second.url().empty());
  json seen;
  ASSERT_TRUE(WaitUntil([&] {
    seen = Witnessed(second);
    return seen["witnesses"][0]["last_error"].is_string();
  }, 20)) << seen.dump();
  EXPECT_NE(seen["witnesses"][0]["last_error"].get<std::string>().find("422"), std::string::npos) << seen.dump();
  EXPECT_FALSE(seen["quorum"].get<bool>());
  EXPECT_TRUE(WaitUntil([&] { return witness.Stderr().find("witness_refused") != std::string::npos; }, 5));
  EXPECT_NE(second.Stderr().find("\"inconsistent\""), std::string::npos);

  // The auditor of the first catches the second.
  auto caught = testing::RunQuipu("audit " + ShellQuote(second.url()) + " --vkey " + ShellQuote(vkey) + " --state " +
                                  ShellQuote(state));
  EXPECT_EQ(caught.exit_code, 1) << caught.out << caught.err;
  EXPECT_NE(caught.out.find("FAILED at entry 300"), std::string::npos) << caught.out;
  EXPECT_NE(caught.out.find("not the one audited before"), std::string::npos) << caught.out;

  // A receipt from the second: the log's key alone says yes, the policy no.
  Http receipt = Curl(ShellQuote(second.url() + "/v1/entries/310/receipt"));
  ASSERT_EQ(receipt.status, 200);
  EXPECT_NE(receipt.headers.find("Quipu-Witnessed: no"), std::string::npos);
  testing::WriteFile(dir.File("receipt"), receipt.body);
  testing::WriteFile(dir.File("published-policy"), Curl(ShellQuote(first.url() + "/v1/policy")).body);
  auto by_key = testing::RunQuipu("proof check " + ShellQuote(dir.File("receipt")) + " --vkey " + ShellQuote(vkey));
  EXPECT_EQ(by_key.exit_code, 0) << by_key.err;
  auto by_policy = testing::RunQuipu("proof check " + ShellQuote(dir.File("receipt")) + " --policy " +
                                     ShellQuote(dir.File("published-policy")));
  EXPECT_EQ(by_policy.exit_code, 1);
  EXPECT_NE(by_policy.err.find("quorum"), std::string::npos) << by_policy.err;
}

TEST(RemoteAudit, ANodeIsAuditedOverHttpAndTheNextAuditFetchesOnlyWhatIsNew) {
  testing::TempDir dir;
  const std::string data = dir.File("data");
  auto init = testing::RunQuipu("log init --data " + ShellQuote(data));
  ASSERT_EQ(init.exit_code, 0);
  const std::string vkey = init.out.substr(0, init.out.find('\n'));
  Append(data, 5000, "some");
  const std::string state = dir.File("state.json");
  json first;
  {
    testing::Node node(data);
    ASSERT_FALSE(node.url().empty());
    auto r = testing::RunQuipu("audit " + ShellQuote(node.url() + "/") + " --state " + ShellQuote(state) + " --json");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    first = json::parse(r.out);
    EXPECT_EQ(first["tree_size"], 5000);
    EXPECT_EQ(first["entries"], "quipu");
    EXPECT_EQ(first["vkey_from_log"], true);  // no --vkey: the node's, said so
    EXPECT_EQ(first["fetches"], 20 + 20 + 1 + 1);
  }
  Append(data, 100, "more");
  testing::Node node(data);
  // A node without --policy: its policy is its key alone; no witnesses to report.
  Http policy = Curl(ShellQuote(node.url() + "/v1/policy"));
  EXPECT_EQ(policy.status, 200);
  EXPECT_EQ(policy.body, "log " + vkey + "\nquorum none\n");
  Http witnessed = Curl(ShellQuote(node.url() + "/v1/witnessed"));
  EXPECT_EQ(witnessed.status, 404);
  EXPECT_NE(witnessed.headers.find("application/problem+json"), std::string::npos) << witnessed.headers;
  auto r = testing::RunQuipu("audit " + ShellQuote(node.url()) + " --state " + ShellQuote(state) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json second = json::parse(r.out);
  EXPECT_EQ(second["tree_size"], 5100);
  EXPECT_EQ(second["resumed_from"], 5000);
  EXPECT_EQ(second["vkey_from_log"], false);  // the state's key, trusted since the first audit
  EXPECT_EQ(second["fetches"], 2 + 1 + 1) << r.out;  // bundle 19 (grown), its tile, tile/1, checkpoint
  EXPECT_LT(second["bytes"].get<uint64_t>(), first["bytes"].get<uint64_t>() / 10);
  // A state file named relative to the working directory.
  auto relative = testing::RunShell("cd " + ShellQuote(dir.path().string()) + " && " + ShellQuote(QUIPU_BINARY) + " audit " +
                                    ShellQuote(node.url()) + " --state here.json");
  EXPECT_EQ(relative.exit_code, 0) << relative.out << relative.err;
  EXPECT_FALSE(testing::ReadFile(dir.File("here.json")).empty());
  // Bad input is named; so is a node that is not there.
  auto away = testing::RunQuipu("audit http://127.0.0.1:9/ --state " + ShellQuote(dir.File("away.json")));
  EXPECT_EQ(away.exit_code, 1);
  EXPECT_NE(away.err.find("cannot reach http://127.0.0.1:9"), std::string::npos) << away.err;
  auto bad = testing::RunQuipu("audit ftp://example.org/");
  EXPECT_EQ(bad.exit_code, 2);
  auto unreachable = testing::RunQuipu("audit http://127.0.0.1:9/ --vkey " + ShellQuote(vkey) + " --state " +
                                       ShellQuote(dir.File("none.json")));
  EXPECT_EQ(unreachable.exit_code, 1) << unreachable.out;
  EXPECT_NE(unreachable.err.find("127.0.0.1:9"), std::string::npos) << unreachable.err;
}

}  // namespace
}  // namespace quipu
