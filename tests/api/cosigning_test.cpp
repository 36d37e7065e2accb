// The node collecting cosignatures (node/cosigning.h) from witnesses that
// are quipu's own (node::Witness behind its real HTTP handler, each over its
// own ledger), reached through a poster that can also hang, lie or be
// ahead: a quorum forms without the slow one, a witness's size survives a
// restart, and what does not verify is never stored.
#include "node/cosigning.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "api/witness_routes.h"
#include "ledger/tlog_proof.h"
#include "node/schema.h"
#include "node/witness.h"
#include "tests/common/process.h"

namespace quipu {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A quipu witness in this process, for the log `logged`.
struct LocalWitness {
  LocalWitness(const std::string& dir, const std::string& name, const ledger::Log& logged) {
    ledger = std::move(ledger::Log::Open(node::LogOptionsFor(dir))).value();
    auto key = node::LoadOrCreateWitnessKey(dir + "/witness.key", name);
    node::WitnessedLog wl;
    wl.origin = logged.origin();
    wl.keys.push_back(*crypto::ParseVerifierKey(logged.verifier_key()));
    witness = std::move(node::Witness::Create(*ledger, std::move(*key), {wl})).value();
  }
  std::unique_ptr<ledger::Log> ledger;
  std::unique_ptr<node::Witness> witness;
};

struct CosigningTest : ::testing::Test {
  void SetUp() override {
    log = std::move(ledger::Log::Open(node::LogOptionsFor(dir.File("log")))).value();
    for (const char* n : {"w1", "w2", "w3"}) {
      witnesses[n] = std::make_unique<LocalWitness>(dir.File(n), std::string(n) + ".example/witness", *log);
    }
  }
  void Grow(int n) {
    std::vector<json> e;
    for (int i = 0; i < n; ++i) e.push_back({{"type", "qr_revoke"}, {"client", "c_000000000001"}, {"target", i}, {"reason", "x"}});
    ASSERT_TRUE(log->Append(ledger::AppendRequest(std::move(e))).get().ok());
  }
  // The policy: the three witnesses at "https://<name>/", two make the quorum.
  ledger::TlogPolicy Policy(const std::string& quorum = "group two 2 w1 w2 w3\nquorum two\n") {
    std::string text;
    for (const auto& [n, w] : witnesses) text += "witness " + n + " " + w->witness->verifier_key() + " https://" + n + "/\n";
    return std::move(ledger::ParseTlogPolicy(text + quorum)).value();
  }
  // Sends the body to the named witness's handler, unless `behaviour` of it says otherwise.
  node::WitnessPoster Poster() {
    return [this](const std::string& url, const std::string& body) -> Result<node::WitnessReply> {
      const std::string name = url.substr(8, url.find('/', 8) - 8);
      EXPECT_EQ(url, "https://" + name + "/add-checkpoint");
      {
        std::lock_guard<std::mutex> lock(mu);
        ++requests[name];
        bodies[name].push_back(body);
      }
      const std::string b = behaviour.count(name) ? behaviour[name] : "";
      if (b == "hang") {
        std::this_thread::sleep_for(3s);
        return Unavailable("timed out");
      }
      if (b == "down") return Unavailable("connection refused");
      if (b == "ahead") return node::WitnessReply{409, "999999\n"};
      if (b == "forged") return node::WitnessReply{200, "\xe2\x80\x94 " + name + ".example/witness AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"};
      api::WitnessRoutes routes;
      routes.witness = witnesses[name]->witness.get();
      api::Request req;
      req.method = api::http::verb::post;
      req.body = body;
      api::Response r = api::witness_handlers::AddCheckpoint(routes, req);
      return node::WitnessReply{r.status, r.body};
    };
  }
  std::unique_ptr<node::Cosigning> Start(ledger::TlogPolicy policy) {
    node::CosigningOptions o;
    o.policy = std::move(policy);
    o.post = Poster();
    o.interval = 20ms;
    o.retry = 200ms;
    o.on_event = [this](const node::CosigningEvent& e) {
      std::lock_guard<std::mutex> lock(mu);
      events.push_back(e);
    };
    auto c = node::Cosigning::Start(*log, std::move(o));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }
  bool Saw(node::CosigningEvent::Kind kind, const std::string& who) {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& e : events) {
      if (e.kind == kind && e.witness == who) return true;
    }
    return false;
  }

  testing::TempDir dir;
  std::unique_ptr<ledger::Log> log;
  std::map<std::string, std::unique_ptr<LocalWitness>> witnesses;
  std::map<std::string, std::string> behaviour;
  std::mutex mu;
  std::map<std::string, int> requests;
  std::map<std::string, std::vector<std::string>> bodies;
  std::vector<node::CosigningEvent> events;
};

TEST_F(CosigningTest, AQuorumFormsWithoutTheHangingWitnessAndIsPublished) {
  behaviour["w3"] = "hang";
  Grow(10);
  auto c = Start(Policy());
  ASSERT_TRUE(c);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c->WaitForQuorum(10, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);  // not held by w3's 3 s
  auto [size, note] = c->Published();
  EXPECT_EQ(size, 10u);
  auto checked = ledger::CheckCheckpoint(c->policy(), note);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString() << note;
  EXPECT_EQ(checked->cosigned.size(), 2u);
  // The policy as used names the log first.
  EXPECT_EQ(c->policy_text().rfind("log " + log->verifier_key() + "\n", 0), 0u) << c->policy_text();
  // More entries: the next round publishes the larger tree, and the
  // records of the smaller one are gone.
  Grow(5);
  ASSERT_TRUE(c->WaitForQuorum(15, 5s));
  int cosigned_records = 0;
  ASSERT_TRUE(log->ScanPrivate(node::tables::kCosigned, "c:", [&](std::string_view, std::string_view) {
    ++cosigned_records;
    return true;
  }).ok());
  EXPECT_EQ(cosigned_records, 1);
  // Each witness's size is updated after its answer commits: the quorum
  // may be seen a moment before the first of the two.
  auto both_at_15 = [&] {
    for (const auto& w : c->State().witnesses) {
      if (w.name != "w3" && w.size != 15u) return false;
    }
    return true;
  };
  EXPECT_TRUE(testing::WaitUntil(both_at_15, 5));
  const node::WitnessedState s = c->State();
  EXPECT_EQ(s.head, 15u);
  EXPECT_TRUE(s.quorum);
  for (const auto& w : s.witnesses) {
    if (w.name != "w3") {
      EXPECT_EQ(w.size, 15u) << w.name;
    }
  }
}

TEST_F(CosigningTest, AWitnessesSizeSurvivesARestartAndThe409IsFollowed) {
  Grow(7);
  {
    auto c = Start(Policy("quorum w1\n"));
    ASSERT_TRUE(c->WaitForQuorum(7, 5s));
  }
  Grow(3);
  requests.clear();
  bodies.clear();
  auto c = Start(Policy("quorum w1\n"));
  ASSERT_TRUE(c->WaitForQuorum(10, 5s));
  // The first request starts from the size stored for the witness.
  EXPECT_EQ(bodies["w1"][0].rfind("old 7\n", 0), 0u) << bodies["w1"][0];
  // A witness the node has no record of answers 409 first: it is told its size.
  ASSERT_TRUE(log->Append([&] {
    ledger::AppendRequest r;
    r.apply = [](ledger::PrivateTxn& txn, uint64_t, const std::string&) {
      return txn.Delete(node::tables::kCosigned, "p:w1");
    };
    return r;
  }()).get().ok());
  c.reset();
  Grow(2);
  bodies.clear();
  c = Start(Policy("quorum w1\n"));
  ASSERT_TRUE(c->WaitForQuorum(12, 5s));
  ASSERT_GE(bodies["w1"].size(), 2u);
  EXPECT_EQ(bodies["w1"][0].rfind("old 0\n", 0), 0u);
  EXPECT_EQ(bodies["w1"][1].rfind("old 10\n", 0), 0u) << bodies["w1"][1];
}

TEST_F(CosigningTest, ForgedAheadAndDownWitnessesAreReportedAndNothingOfThemIsStored) {
  behaviour["w1"] = "forged";
  behaviour["w2"] = "ahead";
  behaviour["w3"] = "down";
  Grow(4);
  auto c = Start(Policy("group any 1 w1 w2 w3\nquorum any\n"));
  ASSERT_TRUE(c);
  for (int i = 0; i < 100 && !(Saw(node::CosigningEvent::Kind::kBadAnswer, "w1") &&
                               Saw(node::CosigningEvent::Kind::kAhead, "w2") &&
                               Saw(node::CosigningEvent::Kind::kUnreachable, "w3"));
       ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(Saw(node::CosigningEvent::Kind::kBadAnswer, "w1"));
  EXPECT_TRUE(Saw(node::CosigningEvent::Kind::kAhead, "w2"));
  EXPECT_TRUE(Saw(node::CosigningEvent::Kind::kUnreachable, "w3"));
  EXPECT_FALSE(c->WaitForQuorum(4, 300ms));
  const node::WitnessedState s = c->State();
  EXPECT_FALSE(s.quorum);
  EXPECT_EQ(s.tree_size, 4u);  // the log's checkpoint at start, unwitnessed
  for (const auto& w : s.witnesses) {
    EXPECT_FALSE(w.last_error.empty()) << w.name;
    EXPECT_EQ(w.size, 0u);
  }
  int records = 0;
  ASSERT_TRUE(log->ScanPrivate(node::tables::kCosigned, "", [&](std::string_view, std::string_view) {
    ++records;
    return true;
  }).ok());
  EXPECT_EQ(records, 0);
  // A failed witness waits `retry` before it is asked again: a few requests, not hundreds.
  std::this_thread::sleep_for(300ms);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_LE(requests["w3"], 4);
}

TEST_F(CosigningTest, AQuorumNeverMetCostsABoundedTable) {
  behaviour["w2"] = "down";
  behaviour["w3"] = "down";
  auto c = Start(Policy());  // two of three: w1 alone never makes it
  ASSERT_TRUE(c);
  for (int round = 0; round < 30; ++round) {
    Grow(1);
    const uint64_t size = log->Head().tree_size;
    for (int i = 0; i < 100 && c->State().witnesses[0].size != size; ++i) std::this_thread::sleep_for(10ms);
    ASSERT_EQ(c->State().witnesses[0].size, size) << round;
  }
  int records = 0;
  ASSERT_TRUE(log->ScanPrivate(node::tables::kCosigned, "c:", [&](std::string_view, std::string_view) {
    ++records;
    return true;
  }).ok());
  EXPECT_LE(records, 9);
  EXPECT_FALSE(c->State().quorum);
}

TEST_F(CosigningTest, AWitnessHoldingAnotherTreeOfTheSameSizeIsAFork) {
  // w1 holds another history of 5 entries: a second log under the same key.
  testing::TempDir other;
  ASSERT_EQ(std::system(("cp -r " + testing::ShellQuote(dir.File("log")) + " " + testing::ShellQuote(other.File("log"))).c_str()), 0);
  log.reset();
  log = std::move(ledger::Log::Open(node::LogOptionsFor(other.File("log")))).value();
  Grow(5);
  {
    auto c = Start(Policy("quorum w1\n"));
    ASSERT_TRUE(c->WaitForQuorum(5, 5s));
  }
  log.reset();
  log = std::move(ledger::Log::Open(node::LogOptionsFor(dir.File("log")))).value();
  std::vector<json> e;
  for (int i = 0; i < 5; ++i) e.push_back({{"type", "qr_revoke"}, {"client", "c_000000000001"}, {"target", 100 + i}, {"reason", "y"}});
  ASSERT_TRUE(log->Append(ledger::AppendRequest(std::move(e))).get().ok());
  auto c = Start(Policy("quorum w1\n"));
  for (int i = 0; i < 200 && !Saw(node::CosigningEvent::Kind::kInconsistent, "w1"); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(Saw(node::CosigningEvent::Kind::kInconsistent, "w1"));
  EXPECT_FALSE(c->State().quorum);
}

TEST_F(CosigningTest, AStoredQuorumThatTodaysPolicyRefusesIsNotPublished) {
  behaviour["w2"] = "down";
  behaviour["w3"] = "down";
  Grow(6);
  {
    auto c = Start(Policy("group any 1 w1 w2 w3\nquorum any\n"));
    ASSERT_TRUE(c->WaitForQuorum(6, 5s));
  }
  // Now all three are needed, and w2 and w3 are still away: the checkpoint
  // of size 6 is not witnessed under this policy; the published one is the
  // log's own, and no receipt may say otherwise.
  auto c = Start(Policy("group all3 all w1 w2 w3\nquorum all3\n"));
  const node::WitnessedState s = c->State();
  EXPECT_FALSE(s.quorum);
  EXPECT_EQ(s.witnessed_size, 0u);
  EXPECT_EQ(s.tree_size, 6u);
  EXPECT_FALSE(c->WaitForQuorum(6, 300ms));
}

TEST(CosigningStart, RefusesAPolicyWithoutAWitnessToAsk) {
  testing::TempDir dir;
  auto log = std::move(ledger::Log::Open(node::LogOptionsFor(dir.File("log")))).value();
  node::CosigningOptions o;
  o.policy = std::move(ledger::ParseTlogPolicy("quorum none\n")).value();
  o.post = [](const std::string&, const std::string&) -> Result<node::WitnessReply> { return node::WitnessReply{}; };
  auto c = node::Cosigning::Start(*log, std::move(o));
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  o.policy = std::move(ledger::ParseTlogPolicy("quorum none\n")).value();
  o.post = nullptr;
  EXPECT_EQ(node::Cosigning::Start(*log, std::move(o)).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace quipu
