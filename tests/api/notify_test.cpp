// Notifications and code deliveries, end to end: the node POSTs to a
// receiver this test runs (quipu's own HTTP server in process, as a
// stand-in for an institution's endpoint and an SMS gateway). Failures are
// retried with backoff across a kill -9 and restart; every notification
// arrives as recorded. A destination that accepts and never answers delays
// no other one; a code is never sent once its request expired or was
// decided. The outbound policy: local and private URIs are refused at
// registration without --allow-local-callbacks, a name that resolves to
// loopback is refused when sending, and the client reads generic words
// while the node's log has the detail.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/server.h"
#include "crypto/encoding.h"
#include "crypto/otp.h"
#include "crypto/sha256.h"
#include "ledger/entry.h"
#include "tests/common/net.h"
#include "tests/common/receiver.h"
#include "tests/common/citizen.h"
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
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

constexpr int64_t kStart = 1795000000;
// The receivers listen on 127.0.0.1: the node and the CLI run as for development.
constexpr const char* kDev = " --allow-local-callbacks";
constexpr const char* kRetrying = "not delivered; the node will retry";

using testing::WaitUntil;

using testing::Receiver;

class NotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.File("data");
    clock_ = dir_.File("clock");
    SetClock(kStart);
    ASSERT_EQ(RunQuipu("log init --data " + ShellQuote(data_)).exit_code, 0);
    client_ = AddClient("Notificada", receiver_.Url("/notify"));
    // The citizens decide after logging in at the development provider;
    // the node keeps its address across restarts.
    base_ = "http://127.0.0.1:" + std::to_string(testing::FreePort());
    idp_ = std::make_unique<testing::IdentityProvider>(dir_.File("idp"), base_);
  }
  // `quipu client add` with `notify_uri` (and the development flag unless
  // `flags` says otherwise); the client with its token.
  json AddClient(const std::string& name, const std::string& notify_uri, const std::string& flags = kDev) {
    auto r = RunQuipu("client add --data " + ShellQuote(data_) + " --name " + ShellQuote(name) +
                      " --redirect-uri https://n.example/r --notify-uri " + ShellQuote(notify_uri) +
                      " --notify-token nt-secret" + flags);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  // A development node whose delivery webhook is the receiver.
  void Start() {
    node_ = std::make_unique<Node>(data_, "--listen " + base_.substr(7) + " " + idp_->ServeFlags() +
                                              " --test-clock-file " + ShellQuote(clock_) + " --delivery-webhook " +
                                              ShellQuote(receiver_.Url("/deliver")) + kDev);
    citizens_.clear();  // sessions live in the node's memory
  }
  void SetClock(int64_t s) {
    now_ = s;
    std::ofstream(clock_) << s * 1000000 << "\n";
  }
  std::string Url(const std::string& p) const { return ShellQuote(node_->url() + p); }
  std::string Auth(const json& client) const {
    return "-H " + ShellQuote("Authorization: Bearer " + client["token"].get<std::string>()) + " ";
  }
  std::string Auth() const { return Auth(client_); }
  Http Post(const std::string& path, const json& body) { return Post(client_, path, body); }
  Http Post(const json& client, const std::string& path, const json& body) {
    return Curl("-X POST " + Auth(client) + "--data-binary @- " + Url(path), body.dump());
  }
  // The citizen `subject`, logged in (once per node run) on their page;
  // with an authenticator when `totp`, confirmed with the step before now.
  struct Citizen {
    testing::CitizenSession session;
    crypto::Bytes key;
  };
  Citizen& Of(const std::string& subject, bool totp = true) {
    Citizen& c = citizens_[subject];
    if (c.session.cookie.empty()) c.session = testing::LogIn(base_ + "/aprobar", subject);
    if (totp && c.key.empty()) c.key = testing::EnrolTotp(base_, c.session, now_);
    return c;
  }
  static std::string Code(const Citizen& c, int64_t at) {
    return *crypto::Totp(c.key, static_cast<uint64_t>(at), 6, crypto::OtpHash::kSha1);
  }
  Http CitizenPost(const Citizen& c, const std::string& path, const json& body) {
    return Curl("-X POST " + c.session.Headers() + "-H 'Content-Type: application/json' --data-binary @- " + Url(path),
                body.dump());
  }
  // The citizen `subject` confirms request `id` with `code` (theirs now by
  // default).
  Http Confirm(const std::string& subject, const std::string& id, std::optional<std::string> code = std::nullopt,
               bool totp = true) {
    Citizen& c = Of(subject, totp);
    return CitizenPost(c, "/v1/citizen/approvals/" + id + "/confirm", {{"code", code ? *code : Code(c, now_)}});
  }
  // The citizen `subject`, on the page of request `id`, asks for a code
  // (the message factor): 202 when it is on its way.
  Http SendCode(const std::string& subject, const std::string& id) {
    return CitizenPost(Of(subject, false), "/v1/citizen/approvals/" + id + "/code", json::object());
  }
  // `client` asks `subject` to approve one document, which the subject
  // does at once (TOTP): a notification is queued. Returns the request id.
  std::string Approve(const json& client, const std::string& subject, const std::string& doc) {
    Of(subject);
    const std::string id = Post(client, "/v1/approvals", {{"subject", subject}, {"documents", {Doc(doc)}}}).Json()["id"];
    Http decided = Confirm(subject, id);
    EXPECT_EQ(decided.status, 200) << decided.body;
    return id;
  }
  // The request as `client` reads it.
  json Get(const json& client, const std::string& id) { return Curl(Auth(client) + Url("/v1/approvals/" + id)).Json(); }
  json Notification(const json& client, const std::string& id) {
    return Curl(Auth(client) + Url("/v1/approvals/" + id)).Json()["notification"];
  }
  // How many POSTs the receiver got at `path` for request `id`.
  size_t Received(const std::string& path, const std::string& id) {
    size_t n = 0;
    for (const auto& g : receiver_.Received()) {
      if (g.path == path && json::parse(g.body, nullptr, false).value("request", "") == id) ++n;
    }
    return n;
  }
  static json Doc(const std::string& s) {
    return {{"sha256", crypto::HexEncode(crypto::Sha256(s))}, {"media_type", "application/pdf"}};
  }

  Receiver receiver_;
  TempDir dir_;
  std::string data_, clock_;
  int64_t now_ = kStart;
  json client_;
  std::string base_;
  std::unique_ptr<testing::IdentityProvider> idp_;
  std::unique_ptr<Node> node_;
  std::map<std::string, Citizen> citizens_;
};

TEST_F(NotifyTest, TheClientIsNotifiedWithItsTokenAfterTheCommit) {
  Start();
  Of("1111111");
  const std::string id = Post("/v1/approvals", {{"subject", "1111111"}, {"documents", {Doc("a"), Doc("b")}}}).Json()["id"];
  ASSERT_EQ(Confirm("1111111", id).Json()["status"], "approved");
  const json decided = Get(client_, id);
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
    Of(subject);
    ids.push_back(Post("/v1/approvals", {{"subject", subject}, {"documents", {Doc("r" + std::to_string(i))}}}).Json()["id"]);
    ASSERT_EQ(Confirm(subject, ids.back()).Json()["status"], "approved");
    decided.push_back(Get(client_, ids.back()));
  }
  // Each notification fails once (then backs off: the node's clock stands still).
  ASSERT_TRUE(receiver_.WaitFor([](const auto& got) { return got.size() >= 3; }));
  EXPECT_TRUE(receiver_.WaitFor([&](const auto&) {
    return Curl(Auth() + Url("/v1/approvals/" + ids[0])).Json()["notification"]["state"] == "retrying";
  }));
  json shown = Curl(Auth() + Url("/v1/approvals/" + ids[0])).Json()["notification"];
  EXPECT_EQ(shown["attempts"], 1);
  EXPECT_EQ(shown["last_error"], kRetrying);
  EXPECT_EQ(shown["last_http_status"], 500);
  EXPECT_EQ(shown["next_attempt_at"], ledger::FormatTime((kStart + 1) * 1000000));

  // kill -9; the outbox survives; the receiver comes back; time passes.
  node_->Kill9();
  receiver_.SetFailing(false);
  const size_t before = receiver_.Received().size();
  SetClock(kStart + 10);
  Start();
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
  // Nothing goes out until the citizen, logged in, asks for it: creating
  // requests sends them nothing.
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(receiver_.Received().empty());
  EXPECT_EQ(SendCode("7654321", id).status, 403);  // not theirs
  Http sent = SendCode("3333333", id);
  ASSERT_EQ(sent.status, 202) << sent.body;
  EXPECT_EQ(sent.Json()["sent_to"], "3•••@ciudadano.example");
  ASSERT_TRUE(receiver_.WaitFor([](const auto& got) { return !got.empty(); }));
  auto got = receiver_.Received()[0];
  EXPECT_EQ(got.path, "/deliver");
  json d = json::parse(got.body);
  EXPECT_EQ(d["request"], id);
  EXPECT_FALSE(d.contains("subject"));  // the gateway needs where, not who
  EXPECT_EQ(d["channel"], "email");
  EXPECT_EQ(d["to"], "3333333@ciudadano.example");  // the identity provider's contact
  const std::string code = d["code"];
  ASSERT_EQ(code.size(), 6u);
  // The text names who asks and for how much, so the citizen does not
  // confirm blind.
  EXPECT_EQ(d["institution"], "Notificada");
  EXPECT_EQ(d["documents"], 1);
  const std::string text = d["text"];
  EXPECT_NE(text.find("Notificada le pide aprobar 1 documento en quipu"), std::string::npos) << text;
  EXPECT_NE(text.find(code), std::string::npos) << text;
  EXPECT_NE(text.find("10 minutos"), std::string::npos) << text;
  const std::string wrong = code == "000000" ? "111111" : "000000";
  // The citizen types it on the node's page (no authenticator needed).
  EXPECT_EQ(Confirm("3333333", id, wrong, false).status, 403);
  Http ok = Confirm("3333333", id, code, false);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.Json()["status"], "approved");
  EXPECT_EQ(Confirm("3333333", id, code, false).status, 409);  // once only
  // The code is kept nowhere in the clear: not in the data, not in the log.
  EXPECT_EQ(node_->Stderr().find("\"" + code + "\""), std::string::npos);
  // Expiry holds for this factor too.
  const std::string late = Post("/v1/approvals", {{"subject", "3333333"}, {"documents", {Doc("late")}},
                                                   {"factor", "message"}}).Json()["id"];
  // Asked twice: the second code replaces the first.
  ASSERT_EQ(SendCode("3333333", late).status, 202);
  ASSERT_TRUE(receiver_.WaitFor([](const auto& g) { return g.size() >= 3; }));
  std::string first_code;
  for (const auto& g : receiver_.Received()) {
    json j = json::parse(g.body, nullptr, false);
    if (j.value("request", "") == late) first_code = j["code"];
  }
  ASSERT_EQ(SendCode("3333333", late).status, 202);
  ASSERT_TRUE(receiver_.WaitFor([](const auto& g) { return g.size() >= 4; }));
  std::string late_code;
  for (const auto& g : receiver_.Received()) {
    json j = json::parse(g.body, nullptr, false);
    if (j.value("request", "") == late) late_code = j["code"];
  }
  ASSERT_FALSE(late_code.empty());
  if (late_code != first_code) {
    EXPECT_EQ(Confirm("3333333", late, first_code, false).status, 403);
  }
  SetClock(kStart + 601);
  EXPECT_EQ(Confirm("3333333", late, late_code, false).status, 410);
  EXPECT_EQ(SendCode("3333333", late).status, 410);
}

// ---- a destination that hangs ----

// Six notifications for a client whose endpoint accepts and never answers
// (each attempt lasts the full 10 s deadline), then a notification for
// another client and a code for the delivery webhook: those two arrive at
// once, and the hanging destination holds no more than its four slots.
TEST_F(NotifyTest, AHangingDestinationDelaysNoOtherClient) {
  testing::HangingServer hanging;
  ASSERT_TRUE(hanging.ok());
  const json stuck = AddClient("Colgada", "http://127.0.0.1:" + std::to_string(hanging.port()) + "/notify");
  Start();
  for (int i = 0; i < 6; ++i) Approve(stuck, "444444" + std::to_string(i), "hang" + std::to_string(i));
  ASSERT_TRUE(WaitUntil([&] { return hanging.accepted() >= 4; }, 3)) << hanging.accepted();
  // Later in the outbox's key order than the six: a single sender in key
  // order would reach them only after 60 s.
  SetClock(kStart + 1);
  Of("5555555");  // logged in beforehand: the logins are not what is timed
  Of("6666666", false);
  const auto started = steady_clock::now();
  const std::string id = Approve(client_, "5555555", "healthy");
  Http created = Post("/v1/approvals", {{"subject", "6666666"}, {"documents", {Doc("sms")}}, {"factor", "message"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string coded = created.Json()["id"];
  ASSERT_EQ(SendCode("6666666", coded).status, 202);
  ASSERT_TRUE(WaitUntil([&] { return Received("/notify", id) == 1 && Received("/deliver", coded) == 1; }, 3));
  EXPECT_LT(steady_clock::now() - started, seconds(2));
  EXPECT_EQ(hanging.accepted(), 4);  // kMaxDeliveriesPerDestination
  EXPECT_TRUE(WaitUntil([&] { return Notification(client_, id)["state"] == "delivered"; }, 2));
  // SIGTERM with four attempts hanging: the node ends within one attempt's
  // deadline, and cleanly.
  const auto stopping = steady_clock::now();
  EXPECT_EQ(node_->Stop(), 0);
  EXPECT_LT(steady_clock::now() - stopping, milliseconds(11500));
}

// A notification that failed waits in the outbox; the node is killed; on
// restart it is delivered at once, although six items due for a hanging
// destination come before it in the outbox.
TEST_F(NotifyTest, AQueuedItemIsDeliveredAfterARestartWhileAnotherDestinationHangs) {
  testing::HangingServer hanging;
  ASSERT_TRUE(hanging.ok());
  const json stuck = AddClient("Colgada", "http://127.0.0.1:" + std::to_string(hanging.port()) + "/notify");
  receiver_.SetFailing(true);
  Start();
  for (int i = 0; i < 6; ++i) Approve(stuck, "444444" + std::to_string(i), "hang" + std::to_string(i));
  SetClock(kStart + 1);
  const std::string id = Approve(client_, "5555555", "queued");
  ASSERT_TRUE(WaitUntil([&] { return Received("/notify", id) == 1; }, 3));
  ASSERT_TRUE(WaitUntil([&] { return Notification(client_, id)["state"] == "retrying"; }, 3));
  node_->Kill9();
  receiver_.SetFailing(false);
  SetClock(kStart + 20);  // every retry is due
  const int hung_before = hanging.accepted();
  const auto started = steady_clock::now();
  Start();
  ASSERT_TRUE(WaitUntil([&] { return Received("/notify", id) == 2; }, 3));
  EXPECT_LT(steady_clock::now() - started, seconds(2));
  EXPECT_TRUE(WaitUntil([&] { return Notification(client_, id)["state"] == "delivered"; }, 2));
  // Meanwhile the hanging destination was being tried again, four at a time.
  EXPECT_TRUE(WaitUntil([&] { return hanging.accepted() - hung_before == 4; }, 2)) << hanging.accepted();
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(hanging.accepted() - hung_before, 4);
}

// ---- codes that are too late ----

// The webhook fails at the first attempt at each of two codes (it answered
// 500, but it saw them). One request is then decided with its code, the
// other expires: neither code is POSTed again, not even after a restart,
// and the node's log says why each was dropped.
TEST_F(NotifyTest, ACodeIsNeverSentAfterItsRequestExpiredOrWasDecided) {
  receiver_.SetFailing(true);
  Start();
  auto create = [&](const std::string& subject) -> std::string {
    Http h = Post("/v1/approvals", {{"subject", subject}, {"documents", {Doc(subject)}}, {"factor", "message"}});
    EXPECT_EQ(h.status, 201) << h.body;
    const std::string id = h.Json().value("id", "");
    EXPECT_EQ(SendCode(subject, id).status, 202);
    return id;
  };
  const std::string decided = create("7777771"), expired = create("7777772");
  ASSERT_TRUE(WaitUntil([&] { return Received("/deliver", decided) == 1 && Received("/deliver", expired) == 1; }, 3));
  std::string code;
  for (const auto& g : receiver_.Received()) {
    json j = json::parse(g.body, nullptr, false);
    if (j.value("request", "") == decided) code = j["code"];
  }
  receiver_.SetFailing(false);
  ASSERT_EQ(Confirm("7777771", decided, code, false).status, 200);
  SetClock(kStart + 601);  // `expired` is past its 10 minutes; both retries are due
  EXPECT_TRUE(WaitUntil([&] { return node_->Stderr().find("the request expired") != std::string::npos; }, 3))
      << node_->Stderr();
  std::this_thread::sleep_for(seconds(1));
  EXPECT_EQ(Received("/deliver", decided), 1u);
  EXPECT_EQ(Received("/deliver", expired), 1u);
  const std::string log = node_->Stderr();
  EXPECT_NE(log.find("\"code_dropped\""), std::string::npos) << log;
  EXPECT_NE(log.find("the request is approved"), std::string::npos) << log;
  // Dropped durably: a new run has nothing to send.
  node_->Stop();
  SetClock(kStart + 700);
  Start();
  std::this_thread::sleep_for(milliseconds(1500));
  EXPECT_EQ(Received("/deliver", decided), 1u);
  EXPECT_EQ(Received("/deliver", expired), 1u);
  EXPECT_EQ(node_->Stderr().find("code_delivery"), std::string::npos);
}

// ---- the outbound policy ----

TEST_F(NotifyTest, LocalAndPrivateUrisAreRefusedAtRegistrationWithoutTheFlag) {
  auto add = [&](const std::string& notify_uri, const std::string& flags) {
    return RunQuipu("client add --data " + ShellQuote(data_) + " --name X --redirect-uri https://x.example/r " +
                    "--notify-uri " + ShellQuote(notify_uri) + " --notify-token t" + flags);
  };
  auto refused = add("http://127.0.0.1:9/n", "");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("notification URI"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--allow-local-callbacks"), std::string::npos) << refused.err;
  for (const char* uri : {"http://localhost/n", "https://169.254.169.254/latest/meta-data/", "https://10.0.0.7/n",
                          "https://[::ffff:10.0.0.1]/n", "https://[fe80::1]/n", "https://2130706433/n",
                          "https://0x7f.1/n", "https://user:pw@hooks.example.org/n", "https://hooks.example.org:99999/"}) {
    EXPECT_EQ(add(uri, "").exit_code, 2) << uri;
  }
  EXPECT_EQ(add("http://127.0.0.1:9/n", kDev).exit_code, 0);
  EXPECT_EQ(add("https://hooks.example.org/n", "").exit_code, 0);

  // The admin API of a node without the flag: a 400 that names the flag.
  node_ = std::make_unique<Node>(data_, "--test-clock-file " + ShellQuote(clock_));
  std::string admin = testing::ReadFile(data_ + "/admin.token");
  admin.erase(admin.find_last_not_of("\n") + 1);
  auto post = [&](const std::string& notify_uri) {
    const json body = {{"name", "Y"}, {"redirect_uri", "https://y.example/r"}, {"notify_uri", notify_uri},
                       {"notify_token", "t"}};
    return Curl("-X POST -H " + ShellQuote("Authorization: Bearer " + admin) + " --data-binary @- " +
                    Url("/v1/admin/clients"),
                body.dump());
  };
  Http local = post("http://127.0.0.1:9/n");
  EXPECT_EQ(local.status, 400) << local.body;
  EXPECT_NE(local.Json().value("detail", "").find("--allow-local-callbacks"), std::string::npos) << local.body;
  EXPECT_EQ(post("https://169.254.169.254/").status, 400);
  EXPECT_EQ(post("https://[::ffff:192.168.0.1]/n").status, 400);
  EXPECT_EQ(post("https://hooks.example.org/n").status, 201);
  // A development node takes it.
  node_.reset();
  Start();
  EXPECT_EQ(post("http://127.0.0.1:9/n").status, 201);
  node_.reset();
  // The delivery webhook obeys the same policy.
  auto serve = RunQuipu("serve --data " + ShellQuote(dir_.File("other")) +
                        " --listen 127.0.0.1:0 --delivery-webhook http://127.0.0.1:9/d");
  EXPECT_EQ(serve.exit_code, 2) << serve.err;
  EXPECT_NE(serve.err.find("--allow-local-callbacks"), std::string::npos) << serve.err;
}

// The name is registered (it is a name, not an IP literal), but it
// resolves to 127.0.0.1: a production node refuses to connect, the client
// reads only that the notification is not delivered yet, and the node's
// log says why.
TEST_F(NotifyTest, ANameThatResolvesToLoopbackIsRefusedWhenSending) {
  const std::string name = testing::LoopbackHostName();
  if (name.empty()) GTEST_SKIP() << "no name in /etc/hosts resolves to loopback only";
  testing::HangingServer hanging;
  ASSERT_TRUE(hanging.ok());
  const json client = AddClient("Rebind", "https://" + name + ":" + std::to_string(hanging.port()) + "/notify", "");
  node_ = std::make_unique<Node>(data_, "--listen " + base_.substr(7) + " " + idp_->ServeFlags() +
                                            " --test-clock-file " + ShellQuote(clock_));
  const std::string id = Approve(client, "8888888", "rebound");
  ASSERT_TRUE(WaitUntil([&] { return Notification(client, id)["state"] == "retrying"; }, 3));
  Http answer = Curl(Auth(client) + Url("/v1/approvals/" + id));
  json shown = answer.Json()["notification"];
  EXPECT_EQ(shown["last_error"], kRetrying);
  EXPECT_EQ(shown["attempts"], 1);
  EXPECT_TRUE(shown.contains("next_attempt_at"));
  EXPECT_FALSE(shown.contains("last_http_status"));
  for (const char* detail : {"127.0.0.1", "loopback", "refused", "public addresses"}) {
    EXPECT_EQ(answer.body.find(detail), std::string::npos) << detail << " in " << answer.body;
  }
  const std::string log = node_->Stderr();
  EXPECT_NE(log.find("is loopback"), std::string::npos) << log;
  EXPECT_EQ(hanging.accepted(), 0);
}

// A development node, a notification URI where nothing listens: the
// client reads generic words, the log has "Connection refused".
TEST_F(NotifyTest, TheClientReadsGenericWordsAndTheLogTheDetail) {
  const json closed = AddClient("Cerrada", "http://127.0.0.1:9/notify");
  Start();
  const std::string id = Approve(closed, "9999999", "closed");
  ASSERT_TRUE(WaitUntil([&] { return Notification(closed, id)["state"] == "retrying"; }, 3));
  Http answer = Curl(Auth(closed) + Url("/v1/approvals/" + id));
  EXPECT_EQ(answer.Json()["notification"]["last_error"], kRetrying);
  EXPECT_EQ(answer.body.find("onnection"), std::string::npos) << answer.body;
  EXPECT_EQ(answer.body.find("127.0.0.1"), std::string::npos) << answer.body;
  EXPECT_NE(node_->Stderr().find("Connection refused"), std::string::npos) << node_->Stderr();
}

}  // namespace
}  // namespace quipu
