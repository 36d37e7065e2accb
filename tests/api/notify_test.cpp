// Notifications and code deliveries, end to end: the node POSTs to a
// receiver this test runs (quipu's own HTTP server in process, as a
// stand-in for an institution's endpoint and an SMS gateway). Failures are
// retried with backoff across a kill -9 and restart; every notification
// arrives as recorded.
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/server.h"
#include "crypto/encoding.h"
#include "crypto/otp.h"
#include "crypto/sha256.h"
#include "tests/common/node.h"
#include "tests/common/process.h"

namespace quipu {
namespace {

using nlohmann::json;
using testing::Curl;
using testing::Http;
using testing::Node;
using testing::RunQuipu;
using testing::ShellQuote;
using testing::TempDir;

constexpr int64_t kStart = 1795000000;

// Records every POST; answers 500 while `failing`.
class Receiver {
 public:
  Receiver() {
    router_.Add(api::http::verb::post, "/*", [this](const api::Request& req) {
      std::lock_guard lock(mu_);
      got_.push_back({req.path, std::string(req.header("Authorization")), req.body});
      if (failing_) return api::Problem(500, "down", "the receiver is down");
      return api::Json({{"ok", true}});
    });
    api::ServerOptions o;
    o.port = 0;
    o.threads = 2;
    auto s = api::Server::Start(o, router_, metrics_, log_);
    EXPECT_TRUE(s.ok());
    server_ = std::move(*s);
  }
  std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(server_->port()) + path; }
  void SetFailing(bool f) {
    std::lock_guard lock(mu_);
    failing_ = f;
  }
  struct Got {
    std::string path, authorization, body;
  };
  std::vector<Got> Received() {
    std::lock_guard lock(mu_);
    return got_;
  }
  // Waits until `pred` holds on what was received (or `secs` pass).
  bool WaitFor(const std::function<bool(const std::vector<Got>&)>& pred, double secs = 10) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(secs);
    while (std::chrono::steady_clock::now() < end) {
      if (pred(Received())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  api::Router router_;
  api::Metrics metrics_;
  api::AccessLog log_{std::fopen("/dev/null", "w")};
  std::unique_ptr<api::Server> server_;
  std::mutex mu_;
  std::vector<Got> got_;
  bool failing_ = false;
};

class NotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.File("data");
    clock_ = dir_.File("clock");
    SetClock(kStart);
    ASSERT_EQ(RunQuipu("log init --data " + ShellQuote(data_)).exit_code, 0);
    auto r = RunQuipu("client add --data " + ShellQuote(data_) +
                      " --name Notificada --redirect-uri https://n.example/r --notify-uri " +
                      ShellQuote(receiver_.Url("/notify")) + " --notify-token nt-secret");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    client_ = json::parse(r.out);
  }
  void Start() {
    node_ = std::make_unique<Node>(data_, "--test-clock-file " + ShellQuote(clock_) + " --delivery-webhook " +
                                              ShellQuote(receiver_.Url("/deliver")));
  }
  void SetClock(int64_t s) {
    now_ = s;
    std::ofstream(clock_) << s * 1000000 << "\n";
  }
  std::string Url(const std::string& p) const { return ShellQuote(node_->url() + p); }
  std::string Auth() const { return "-H " + ShellQuote("Authorization: Bearer " + client_["token"].get<std::string>()) + " "; }
  Http Post(const std::string& path, const json& body) {
    return Curl("-X POST " + Auth() + "--data-binary @- " + Url(path), body.dump());
  }
  crypto::Bytes Enroll(const std::string& subject) {
    const std::string uri = Post("/v1/subjects/" + subject + "/totp", json::object()).Json()["otpauth_uri"];
    const size_t at = uri.find("secret=") + 7;
    return *crypto::Base32Decode(uri.substr(at, uri.find('&', at) - at));
  }
  static json Doc(const std::string& s) {
    return {{"sha256", crypto::HexEncode(crypto::Sha256(s))}, {"media_type", "application/pdf"}};
  }

  Receiver receiver_;
  TempDir dir_;
  std::string data_, clock_;
  int64_t now_ = kStart;
  json client_;
  std::unique_ptr<Node> node_;
};

TEST_F(NotifyTest, TheClientIsNotifiedWithItsTokenAfterTheCommit) {
  Start();
  const crypto::Bytes key = Enroll("1111111");
  const std::string id = Post("/v1/approvals", {{"subject", "1111111"}, {"documents", {Doc("a"), Doc("b")}}}).Json()["id"];
  json decided = Post("/v1/approvals/" + id + "/confirm", {{"code", *crypto::Totp(key, now_, 6, crypto::OtpHash::kSha1)}}).Json();
  ASSERT_EQ(decided["status"], "approved");
  ASSERT_TRUE(receiver_.WaitFor([](const auto& got) { return !got.empty(); }));
  auto got = receiver_.Received()[0];
  EXPECT_EQ(got.path, "/notify");
  EXPECT_EQ(got.authorization, "Bearer nt-secret");
  json note = json::parse(got.body);
  EXPECT_EQ(note["request"], id);
  EXPECT_EQ(note["status"], "approved");
  ASSERT_EQ(note["documents"].size(), 2u);
  EXPECT_EQ(note["documents"][0]["index"], decided["entries"][0]["index"]);
  EXPECT_EQ(note["documents"][1]["sha256"], Doc("b")["sha256"]);
  EXPECT_NE(note["checkpoint"].get<std::string>().find("quipu.localhost/log"), std::string::npos);
  // The request shows the delivery.
  EXPECT_TRUE(receiver_.WaitFor([&](const auto&) {
    return Curl(Auth() + Url("/v1/approvals/" + id)).Json()["notification"]["state"] == "delivered";
  }));
  // The node's log never shows the notification token.
  EXPECT_EQ(node_->Stderr().find("nt-secret"), std::string::npos);
}

TEST_F(NotifyTest, FailuresAreRetriedAcrossAKillAndRestartAndAllArriveAsRecorded) {
  receiver_.SetFailing(true);
  Start();
  std::vector<std::string> ids;
  std::vector<json> decided;
  for (int i = 0; i < 3; ++i) {
    const std::string subject = "222222" + std::to_string(i);
    const crypto::Bytes key = Enroll(subject);
    ids.push_back(Post("/v1/approvals", {{"subject", subject}, {"documents", {Doc("r" + std::to_string(i))}}}).Json()["id"]);
    decided.push_back(Post("/v1/approvals/" + ids.back() + "/confirm",
                           {{"code", *crypto::Totp(key, now_, 6, crypto::OtpHash::kSha1)}}).Json());
    ASSERT_EQ(decided.back()["status"], "approved");
  }
  // Each notification fails once (then backs off: the node's clock stands still).
  ASSERT_TRUE(receiver_.WaitFor([](const auto& got) { return got.size() >= 3; }));
  EXPECT_TRUE(receiver_.WaitFor([&](const auto&) {
    return Curl(Auth() + Url("/v1/approvals/" + ids[0])).Json()["notification"]["state"] == "retrying";
  }));
  json shown = Curl(Auth() + Url("/v1/approvals/" + ids[0])).Json()["notification"];
  EXPECT_EQ(shown["attempts"], 1);
  EXPECT_EQ(shown["last_error"], "HTTP 500");

  // kill -9; the outbox survives; the receiver comes back; time passes.
  node_->Kill9();
  receiver_.SetFailing(false);
  const size_t before = receiver_.Received().size();
  SetClock(kStart + 10);
  node_ = std::make_unique<Node>(data_, "--test-clock-file " + ShellQuote(clock_) + " --delivery-webhook " +
                                            ShellQuote(receiver_.Url("/deliver")));
  ASSERT_TRUE(receiver_.WaitFor([&](const auto& got) { return got.size() >= before + 3; }));
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_TRUE(receiver_.WaitFor([&](const auto&) {
      return Curl(Auth() + Url("/v1/approvals/" + ids[i])).Json()["notification"]["state"] == "delivered";
    }));
  }
  // Every request was notified exactly as its decision recorded, and once
  // successfully (the receiver saw failures before).
  std::map<std::string, int> delivered;
  auto got = receiver_.Received();
  for (size_t k = before; k < got.size(); ++k) {
    json note = json::parse(got[k].body);
    const std::string rid = note["request"];
    ++delivered[rid];
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] != rid) continue;
      EXPECT_EQ(note["status"], "approved");
      EXPECT_EQ(note["documents"][0]["index"], decided[i]["entries"][0]["index"]);
    }
  }
  for (const std::string& id : ids) EXPECT_EQ(delivered[id], 1) << id;
  EXPECT_EQ(RunQuipu("audit --data " + ShellQuote(data_)).exit_code, 0);
}

TEST_F(NotifyTest, TheMessageFactorDeliversACodeThatConfirms) {
  Start();
  Http created = Post("/v1/approvals", {{"subject", "3333333"}, {"documents", {Doc("m")}}, {"factor", "message"},
                                        {"channel", "email"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.Json()["id"];
  ASSERT_TRUE(receiver_.WaitFor([](const auto& got) { return !got.empty(); }));
  auto got = receiver_.Received()[0];
  EXPECT_EQ(got.path, "/deliver");
  json d = json::parse(got.body);
  EXPECT_EQ(d["request"], id);
  EXPECT_EQ(d["subject"], "3333333");
  EXPECT_EQ(d["channel"], "email");
  const std::string code = d["code"];
  ASSERT_EQ(code.size(), 6u);
  const std::string wrong = code == "000000" ? "111111" : "000000";
  EXPECT_EQ(Post("/v1/approvals/" + id + "/confirm", {{"code", wrong}}).status, 403);
  Http ok = Post("/v1/approvals/" + id + "/confirm", {{"code", code}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.Json()["status"], "approved");
  EXPECT_EQ(Post("/v1/approvals/" + id + "/confirm", {{"code", code}}).status, 409);  // once only
  // The code is kept nowhere in the clear: not in the data, not in the log.
  EXPECT_EQ(node_->Stderr().find("\"" + code + "\""), std::string::npos);
  // Expiry holds for this factor too.
  const std::string late = Post("/v1/approvals", {{"subject", "3333333"}, {"documents", {Doc("late")}},
                                                   {"factor", "message"}}).Json()["id"];
  ASSERT_TRUE(receiver_.WaitFor([](const auto& g) { return g.size() >= 3; }));
  std::string late_code;
  for (const auto& g : receiver_.Received()) {
    json j = json::parse(g.body, nullptr, false);
    if (j.value("request", "") == late) late_code = j["code"];
  }
  SetClock(kStart + 601);
  EXPECT_EQ(Post("/v1/approvals/" + late + "/confirm", {{"code", late_code}}).status, 410);
}

}  // namespace
}  // namespace quipu
