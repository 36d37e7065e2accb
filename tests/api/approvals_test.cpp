// The approval service through its HTTP API, as an institution's backend
// and a citizen would use it: curl against the built node, the citizen
// logged in through the development OpenID Connect provider (a real one,
// tests/common/citizen.h) and deciding on the node's routes with TOTP
// codes computed by the test (RFC 6238), an injected clock for expiry,
// proofs and checkpoints verified independently.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/note.h"
#include "crypto/otp.h"
#include "ledger/checkpoint.h"
#include "ledger/entry.h"
#include "ledger/merkle.h"
#include "pdf/make.h"
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

constexpr int64_t kStart = 1795000000;  // seconds; the node's clock starts here

class ApprovalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.File("data");
    clock_ = dir_.File("clock");
    SetClock(kStart);
    ASSERT_EQ(RunQuipu("log init --data " + ShellQuote(data_)).exit_code, 0);
    client_a_ = AddClient("Servicio de Impuestos", "https://impuestos.example/vuelta");
    client_b_ = AddClient("Ministerio de Salud", "https://salud.example/vuelta?x=1");
    // The citizens log in at the development provider; the node's URL is
    // its redirect URI, so the port is chosen first.
    const std::string base = "http://127.0.0.1:" + std::to_string(testing::FreePort());
    idp_ = std::make_unique<testing::IdentityProvider>(dir_.File("idp"), base);
    // The clients' notification URIs are on 127.0.0.1: a development node.
    node_ = std::make_unique<Node>(data_, "--listen " + base.substr(7) + " " + idp_->ServeFlags() +
                                              " --allow-local-callbacks --test-clock-file " + ShellQuote(clock_));
    admin_ = testing::ReadFile(data_ + "/admin.token");
    admin_.erase(admin_.find_last_not_of("\n") + 1);
    vkey_ = Curl(Url("/v1/log")).Json()["vkey"];
  }

  json AddClient(const std::string& name, const std::string& redirect) {
    auto r = RunQuipu("client add --data " + ShellQuote(data_) + " --name " + ShellQuote(name) +
                      " --redirect-uri " + ShellQuote(redirect) +
                      " --notify-uri http://127.0.0.1:9/notify --notify-token nt --allow-local-callbacks");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }
  void SetClock(int64_t seconds) {
    now_ = seconds;
    std::ofstream(clock_) << seconds * 1000000 << "\n";
  }
  std::string Url(const std::string& path) const { return ShellQuote(node_->url() + path); }
  static std::string Auth(const json& client) { return "-H " + ShellQuote("Authorization: Bearer " + client["token"].get<std::string>()) + " "; }
  Http Post(const json& client, const std::string& path, const json& body) {
    return Curl("-X POST " + Auth(client) + "-H 'Content-Type: application/json' --data-binary @- " + Url(path),
                body.dump());
  }
  // A citizen with their browser's session and their authenticator's key.
  struct Citizen {
    std::string number;
    testing::CitizenSession session;
    crypto::Bytes key;
  };
  // The citizen logs in on their own page (/aprobar) and enrols an
  // authenticator there, confirmed with the code of the step before now
  // (so a code of the current step is still fresh for a decision).
  Citizen Enroll(const std::string& number) {
    Citizen c{number, testing::LogIn(node_->url() + "/aprobar", number), {}};
    c.key = testing::EnrolTotp(node_->url(), c.session, now_);
    return c;
  }
  Http CitizenPost(const Citizen& c, const std::string& path, const json& body) {
    return Curl("-X POST " + c.session.Headers() + "-H 'Content-Type: application/json' --data-binary @- " + Url(path),
                body.dump());
  }
  // The citizen approves (or rejects) request `id` with `code`.
  Http Decide(const Citizen& c, const std::string& id, const std::string& code, bool approve = true) {
    return CitizenPost(c, "/v1/citizen/approvals/" + id + (approve ? "/confirm" : "/reject"), {{"code", code}});
  }
  // The request as its client reads it (entries with proofs once decided).
  json Get(const json& client, const std::string& id) { return Curl(Auth(client) + Url("/v1/approvals/" + id)).Json(); }
  std::string Code(const crypto::Bytes& key, int64_t at) { return *crypto::Totp(key, static_cast<uint64_t>(at), 6, crypto::OtpHash::kSha1); }
  json Create(const json& client, const std::string& subject, json documents) {
    Http h = Post(client, "/v1/approvals", {{"subject", subject}, {"documents", std::move(documents)}});
    EXPECT_EQ(h.status, 201) << h.body;
    return h.Json();
  }
  static json Doc(const std::string& seed) {
    return {{"sha256", crypto::HexEncode(crypto::Sha256(seed))}, {"media_type", "application/pdf"}};
  }

  TempDir dir_;
  std::string data_, clock_, admin_, vkey_;
  int64_t now_ = kStart;
  json client_a_, client_b_;
  std::unique_ptr<testing::IdentityProvider> idp_;
  std::unique_ptr<Node> node_;
};

TEST_F(ApprovalsTest, ApproveTwoDocumentsInOneCommitWithVerifiableProofs) {
  const Citizen ana = Enroll("1234567");
  auto pdf = pdf::MakeSamplePdf(1, "Contrato");
  ASSERT_TRUE(pdf.ok());
  const std::string pdf_sha = crypto::HexEncode(crypto::Sha256(*pdf));
  json created = Create(client_a_, "1234567",
                        {{{"content", crypto::Base64Encode(*pdf)}, {"media_type", "application/pdf"}, {"name", "contrato.pdf"}},
                         {{"content", crypto::Base64Encode(crypto::AsBytes(R"({"b":2,"a":1})"))},
                          {"media_type", "application/json"}}});
  EXPECT_EQ(created["status"], "pending");
  EXPECT_EQ(created["documents"][0]["sha256"], pdf_sha);
  const std::string json_sha = created["documents"][1]["sha256"];
  EXPECT_EQ(json_sha, crypto::HexEncode(crypto::Sha256(std::string(R"({"a":1,"b":2})"))));
  EXPECT_EQ(created["expires_at"], ledger::FormatTime((kStart + 600) * 1000000));
  const std::string id = created["id"];
  // The client gets the page where the citizen decides, on this node.
  EXPECT_EQ(created["link"], node_->url() + "/aprobar/" + id);

  Http confirmed = Decide(ana, id, Code(ana.key, now_));
  ASSERT_EQ(confirmed.status, 200) << confirmed.body;
  EXPECT_EQ(confirmed.Json()["status"], "approved");
  EXPECT_EQ(confirmed.Json()["redirect_url"], "https://impuestos.example/vuelta?request=" + id + "&status=approved");
  json c = Get(client_a_, id);
  EXPECT_EQ(c["status"], "approved");
  ASSERT_EQ(c["entries"].size(), 2u);
  EXPECT_EQ(c["entries"][1]["index"].get<uint64_t>(), c["entries"][0]["index"].get<uint64_t>() + 1);
  // One commit: the checkpoint covers both entries.
  auto v = crypto::ParseVerifierKey(vkey_);
  const crypto::NoteVerifier verifiers[] = {*v};
  auto opened = crypto::OpenNote(c["checkpoint"].get<std::string>(), verifiers);
  ASSERT_TRUE(opened.ok() && opened->verified.size() == 1);
  auto body = ledger::ParseCheckpointBody(opened->text);
  EXPECT_EQ(body->tree_size, c["entries"][1]["index"].get<uint64_t>() + 1);

  // The request shows its entries with proofs to the current checkpoint.
  auto cp = ledger::ParseCheckpointBody(opened->text);
  for (const json& e : c["entries"]) {
    std::vector<crypto::Digest> proof;
    for (const auto& h : e["proof"]) {
      auto b = crypto::Base64Decode(h.get<std::string>());
      crypto::Digest d;
      std::copy(b->begin(), b->end(), d.begin());
      proof.push_back(d);
    }
    auto leaf = crypto::Base64Decode(e["leaf_hash"].get<std::string>());
    crypto::Digest ld;
    std::copy(leaf->begin(), leaf->end(), ld.begin());
    EXPECT_TRUE(ledger::VerifyInclusion(e["index"], c["tree_size"], ld, proof, cp->root));
  }

  // Public verification lists the approval with the institution's name,
  // never the subject's number.
  Http pub = Curl(Url("/v1/documents/" + pdf_sha));
  json p = pub.Json();
  ASSERT_EQ(p["records"].size(), 1u);
  EXPECT_EQ(p["records"][0]["type"], "approval");
  EXPECT_EQ(p["records"][0]["client_name"], "Servicio de Impuestos");
  EXPECT_EQ(pub.body.find("1234567"), std::string::npos);
  // The subject question: for authenticated clients only.
  EXPECT_EQ(Curl(Url("/v1/documents/" + pdf_sha + "?subject=1234567")).status, 401);
  // It answers about the asking client's own requests only: another
  // institution learns nothing about this citizen's approvals here.
  EXPECT_EQ(Curl(Auth(client_a_) + Url("/v1/documents/" + pdf_sha + "?subject=1234567")).Json()["subject_approved"], true);
  EXPECT_EQ(Curl(Auth(client_a_) + Url("/v1/documents/" + pdf_sha + "?subject=7654321")).Json()["subject_approved"], false);
  EXPECT_EQ(Curl(Auth(client_b_) + Url("/v1/documents/" + pdf_sha + "?subject=1234567")).Json()["subject_approved"], false);
  // The entries are in the ledger, and the ledger audits clean.
  EXPECT_EQ(RunQuipu("audit --data " + ShellQuote(data_)).exit_code, 0);
}

TEST_F(ApprovalsTest, RejectWritesRejections) {
  const Citizen c = Enroll("5555555");
  json created = Create(client_a_, "5555555", {Doc("x"), Doc("y"), Doc("z")});
  Http r = Decide(c, created["id"], Code(c.key, now_), false);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["status"], "rejected");
  EXPECT_EQ(Get(client_a_, created["id"])["entries"].size(), 3u);
  json rec = Curl(Url("/v1/documents/" + crypto::HexEncode(crypto::Sha256(std::string("y"))))).Json();
  EXPECT_EQ(rec["records"][0]["type"], "rejection");
  // Decided: a second decision is a conflict.
  EXPECT_EQ(Decide(c, created["id"], Code(c.key, now_ + 30)).status, 409);
}

// No client token can obtain, set, reset or use a citizen's factor: every
// route a client may call, tried with a client's token, gives nothing of it.
TEST_F(ApprovalsTest, NoClientRouteTouchesACitizensFactor) {
  const Citizen c = Enroll("1212121");
  const std::string id = Create(client_a_, "1212121", {Doc("mine to decide")})["id"];
  const std::string code = Code(c.key, now_);
  auto as_client = [&](const std::string& method, const std::string& path, const json& body) {
    return Curl("-X " + method + " " + Auth(client_a_) + "-H 'Content-Type: application/json' --data-binary @- " +
                    Url(path),
                body.dump());
  };
  // The old client routes are gone; the citizen's refuse a client's token.
  for (const std::string& path : std::vector<std::string>{"/v1/subjects/1212121/totp", "/v1/subjects/1212121/totp/confirm",
                                  "/v1/approvals/" + id + "/confirm", "/v1/approvals/" + id + "/reject",
                                  "/v1/citizen/totp", "/v1/citizen/totp/confirm",
                                  "/v1/citizen/approvals/" + id + "/confirm", "/v1/citizen/approvals/" + id + "/reject"}) {
    Http h = as_client("POST", path, {{"code", code}, {"current_code", code}});
    EXPECT_TRUE(h.status == 404 || h.status == 401 || h.status == 405) << path << ": " << h.status << " " << h.body;
    EXPECT_EQ(h.body.find("otpauth"), std::string::npos) << path;
  }
  for (const std::string& path : std::vector<std::string>{"/v1/citizen/factor", "/v1/citizen/me", "/v1/citizen/approvals/" + id}) {
    EXPECT_EQ(Curl(Auth(client_a_) + Url(path)).status, 401) << path;
  }
  // The admin reset takes the admin token, not a client's.
  EXPECT_EQ(as_client("POST", "/v1/admin/subjects/1212121/factor/reset", {{"by", "x"}, {"reason", "y"}}).status, 401);
  // Nothing a client can read carries the key.
  Http got = Curl(Auth(client_a_) + Url("/v1/approvals/" + id));
  EXPECT_EQ(got.body.find(crypto::Base32Encode(c.key)), std::string::npos);
  EXPECT_EQ(got.Json()["status"], "pending");
  // The citizen's own code still works: nothing above used or changed it.
  EXPECT_EQ(Decide(c, id, code).status, 200);
}

// The administrator resets a lost factor, recorded with who and why; the
// old key then decides nothing and the citizen enrols again.
TEST_F(ApprovalsTest, AnAdminResetIsTheOnlyWayToReplaceAFactorWithoutIt) {
  const Citizen c = Enroll("3434343");
  // Re-enrolling needs a current code from the authenticator.
  EXPECT_EQ(CitizenPost(c, "/v1/citizen/totp", json::object()).status, 403);
  const std::string admin = "-H " + ShellQuote("Authorization: Bearer " + admin_) + " ";
  auto reset = [&](const json& body) {
    return Curl("-X POST " + admin + "-H 'Content-Type: application/json' --data-binary @- " +
                    Url("/v1/admin/subjects/3434343/factor/reset"),
                body.dump());
  };
  EXPECT_EQ(reset({{"reason", "lost phone"}}).status, 400);  // who resets is required
  EXPECT_EQ(Curl("-X POST " + admin + "-H 'Content-Type: application/json' --data-binary '{\"by\":\"a\",\"reason\":\"b\"}' " +
                 Url("/v1/admin/subjects/0000000/factor/reset")).status, 404);
  Http done = reset({{"by", "mesa de ayuda: R. Choque"}, {"reason", "teléfono perdido, ticket 88"}});
  ASSERT_EQ(done.status, 200) << done.body;
  const std::string id = Create(client_a_, "3434343", {Doc("after reset")})["id"];
  // The sessions opened before the reset are over: whoever held one must
  // log in again.
  EXPECT_EQ(Curl(c.session.Headers() + Url("/v1/citizen/factor")).status, 401);
  EXPECT_EQ(CitizenPost(c, "/v1/citizen/totp", json::object()).status, 401);
  Citizen again{c.number, testing::LogIn(node_->url() + "/aprobar", c.number), c.key};
  // The old key decides nothing.
  EXPECT_NE(Decide(again, id, Code(c.key, now_)).status, 200);
  Http factor = Curl(again.session.Headers() + Url("/v1/citizen/factor"));
  EXPECT_EQ(factor.Json()["enrolled"], false) << factor.body;
  // Enrolling again needs no old code now.
  EXPECT_EQ(CitizenPost(again, "/v1/citizen/totp", json::object()).status, 201);
  // Who and why are kept (in the private table, not the public log).
  node_->Stop();
  auto dump = testing::RunShell("mdb_dump -n -p -s subjects " + ShellQuote(data_ + "/ledger.mdb"));
  EXPECT_NE(dump.out.find("R. Choque"), std::string::npos) << dump.err;
}

TEST_F(ApprovalsTest, FiveWrongCodesLockTheRequest) {
  const Citizen c = Enroll("2222222");
  const std::string id = Create(client_a_, "2222222", {Doc("lock")})["id"];
  const std::string right = Code(c.key, now_);
  const std::string wrong = right == "000000" ? "111111" : "000000";
  for (int i = 1; i <= 4; ++i) {
    Http h = Decide(c, id, wrong);
    EXPECT_EQ(h.status, 403) << h.body;
    EXPECT_NE(h.body.find(std::to_string(5 - i) + " attempts left"), std::string::npos) << h.body;
  }
  // The fifth locks the request, and (five in a row) locks the citizen out.
  EXPECT_EQ(Decide(c, id, wrong).status, 429);
  EXPECT_EQ(Decide(c, id, right).status, 409);
  EXPECT_EQ(Get(client_a_, id)["status"], "locked");
  EXPECT_TRUE(Curl(Url("/v1/documents/" + crypto::HexEncode(crypto::Sha256(std::string("lock"))))).Json()["records"].empty());
}

// Guessing across requests: every request has its own five tries, but the
// citizen's wrong codes are counted over all of them, at every client.
TEST_F(ApprovalsTest, WrongCodesSpreadOverRequestsAndClientsLockTheCitizenOut) {
  const Citizen c = Enroll("4444444");
  const std::string right = Code(c.key, now_);
  const std::string wrong = right == "000000" ? "111111" : "000000";
  int refused = 0, locked_out = 0;
  for (int i = 0; i < 12; ++i) {
    const json& client = i % 2 == 0 ? client_a_ : client_b_;
    json created = Create(client, "4444444", {Doc("guess " + std::to_string(i))});
    Http h = Decide(c, created["id"], wrong);
    EXPECT_NE(h.status, 200) << h.body;
    refused += h.status == 403;
    locked_out += h.status == 429;
  }
  EXPECT_EQ(refused, 4);  // then the citizen is locked out, whichever client asks
  EXPECT_EQ(locked_out, 8);
  // While locked out even the right code is refused, and says until when;
  // the citizen's page says so too.
  json during = Create(client_b_, "4444444", {Doc("during")});
  Http h = Decide(c, during["id"], right);
  EXPECT_EQ(h.status, 429) << h.body;
  EXPECT_NE(h.body.find("refused until"), std::string::npos) << h.body;
  EXPECT_TRUE(Curl(c.session.Headers() + Url("/v1/citizen/factor")).Json().contains("locked_until"));
  EXPECT_TRUE(Curl(Url("/v1/documents/" + crypto::HexEncode(crypto::Sha256(std::string("during"))))).Json()["records"].empty());
  // After the lockout (15 minutes) the citizen's real code works again.
  SetClock(now_ + 15 * 60 + 1);
  json after = Create(client_a_, "4444444", {Doc("after")});
  Http ok = Decide(c, after["id"], Code(c.key, now_));
  EXPECT_EQ(ok.status, 200) << ok.body;
}

// Pseudonyms per institution: the same citizen's entries at two clients
// carry different commitments, so the public log does not link them.
TEST_F(ApprovalsTest, TwoClientsEntriesForOneCitizenCarryDifferentCommitments) {
  const Citizen c = Enroll("5555555");
  std::vector<std::string> commitments;
  int64_t at = now_;
  for (const json* client : {&client_a_, &client_b_}) {
    const std::string id = Create(*client, "5555555", {Doc("same citizen " + (*client)["client_id"].get<std::string>())})["id"];
    at += 30;  // a new time step: a code is used once
    SetClock(at);
    Http h = Decide(c, id, Code(c.key, at));
    ASSERT_EQ(h.status, 200) << h.body;
    const uint64_t index = Get(*client, id)["entries"][0]["index"];
    json entry = Curl(Url("/v1/entries/" + std::to_string(index))).Json()["entry"];
    ASSERT_EQ(entry["type"], "approval");
    commitments.push_back(entry["subject"]);
  }
  ASSERT_EQ(commitments.size(), 2u);
  EXPECT_EQ(commitments[0].size(), 64u);
  EXPECT_NE(commitments[0], commitments[1]);
}

// Requests per citizen are limited (20 an hour), whoever asks, and the same
// for a citizen the node knows and one it does not.
TEST_F(ApprovalsTest, RequestsPerCitizenAreLimitedAnHour) {
  Enroll("6666666");
  for (const char* subject : {"6666666", "7777777"}) {
    for (int i = 0; i < 20; ++i) {
      const json& client = i % 2 == 0 ? client_a_ : client_b_;
      Http h = Post(client, "/v1/approvals",
                    {{"subject", subject}, {"documents", json::array({Doc(std::string(subject) + std::to_string(i))})}});
      EXPECT_NE(h.status, 429) << subject << " " << i << ": " << h.body;
    }
    Http over = Post(client_a_, "/v1/approvals", {{"subject", subject}, {"documents", json::array({Doc("over")})}});
    EXPECT_EQ(over.status, 429) << subject << ": " << over.body;
    EXPECT_NE(over.body.find("try again in"), std::string::npos);
  }
  SetClock(now_ + 3600 / 20 + 1);  // one more an hour / 20 later
  EXPECT_EQ(Post(client_b_, "/v1/approvals", {{"subject", "6666666"}, {"documents", json::array({Doc("later")})}}).status,
            201);
}

TEST_F(ApprovalsTest, ACodeIsAcceptedOncePerSubject) {
  const Citizen c = Enroll("3333333");
  const std::string first = Create(client_a_, "3333333", {Doc("one")})["id"];
  const std::string second = Create(client_b_, "3333333", {Doc("two")})["id"];
  const std::string code = Code(c.key, now_);
  EXPECT_EQ(Decide(c, first, code).status, 200);
  Http replay = Decide(c, second, code);  // even at another institution
  EXPECT_EQ(replay.status, 403);
  EXPECT_NE(replay.body.find("already used"), std::string::npos) << replay.body;
  // The next time step's code works (±1 step is accepted, so a code from
  // the next step is fine at once).
  EXPECT_EQ(Decide(c, second, Code(c.key, now_ + 30)).status, 200);
}

TEST_F(ApprovalsTest, RequestsExpireAfterTenMinutes) {
  const Citizen c = Enroll("4444444");
  const int64_t created_at = now_;
  const std::string id = Create(client_a_, "4444444", {Doc("late")})["id"];
  SetClock(created_at + 601);
  Http h = Decide(c, id, Code(c.key, now_));
  EXPECT_EQ(h.status, 410) << h.body;
  EXPECT_EQ(Get(client_a_, id)["status"], "expired");
  // Within the ten minutes it would have worked.
  const std::string fresh = Create(client_a_, "4444444", {Doc("on time")})["id"];
  SetClock(now_ + 599);
  EXPECT_EQ(Decide(c, fresh, Code(c.key, now_)).status, 200);
}

// The request is shown only to the citizen it names; another citizen's
// session decides nothing, and nobody without a session sees anything.
TEST_F(ApprovalsTest, OnlyTheNamedCitizenSeesAndDecides) {
  const Citizen ana = Enroll("1234567");
  const Citizen carlos = Enroll("7654321");
  const std::string id = Create(client_a_, "1234567", {Doc("for ana")})["id"];
  Http theirs = Curl(carlos.session.Headers() + Url("/v1/citizen/approvals/" + id));
  EXPECT_EQ(theirs.status, 403) << theirs.body;
  EXPECT_EQ(Decide(carlos, id, Code(carlos.key, now_)).status, 403);
  EXPECT_EQ(Curl(Url("/v1/citizen/approvals/" + id)).status, 401);
  // Without the page's CSRF token the session alone decides nothing.
  EXPECT_EQ(Curl("-X POST -H " + ShellQuote("Cookie: " + ana.session.cookie) +
                 " -H 'Content-Type: application/json' --data-binary '{\"code\":\"" + Code(ana.key, now_) + "\"}' " +
                 Url("/v1/citizen/approvals/" + id + "/confirm")).status, 403);
  Http mine = Curl(ana.session.Headers() + Url("/v1/citizen/approvals/" + id));
  EXPECT_EQ(mine.status, 200);
  EXPECT_EQ(mine.Json()["institution"], "Servicio de Impuestos");
  EXPECT_EQ(Decide(ana, id, Code(ana.key, now_)).status, 200);
}

// The citizen's own page lists every request that named them, at every
// institution (through the private index), and nobody else's; forgetting
// the citizen empties it.
TEST_F(ApprovalsTest, TheCitizenListsTheirOwnRequestsAtEveryInstitution) {
  const Citizen ana = Enroll("1234567");
  const Citizen carlos = Enroll("7654321");
  const std::string at_a = Create(client_a_, "1234567", {Doc("impuestos")})["id"];
  SetClock(now_ + 1);
  const std::string at_b = Create(client_b_, "1234567", {Doc("salud"), Doc("salud 2")})["id"];
  const std::string theirs = Create(client_b_, "7654321", {Doc("carlos")})["id"];
  ASSERT_EQ(Decide(ana, at_a, Code(ana.key, now_)).status, 200);
  auto list = [&](const Citizen& c) { return Curl(c.session.Headers() + Url("/v1/citizen/approvals")); };
  Http mine = list(ana);
  ASSERT_EQ(mine.status, 200) << mine.body;
  const json a = mine.Json()["approvals"];
  ASSERT_EQ(a.size(), 2u) << mine.body;
  EXPECT_EQ(a[0]["id"], at_b);  // the newest first
  EXPECT_EQ(a[0]["institution"], "Ministerio de Salud");
  EXPECT_EQ(a[0]["status"], "pending");
  EXPECT_EQ(a[0]["documents"].size(), 2u);
  EXPECT_EQ(a[1]["id"], at_a);
  EXPECT_EQ(a[1]["institution"], "Servicio de Impuestos");
  EXPECT_EQ(a[1]["status"], "approved");
  // A decided document names its entry: anyone can check it in the log.
  const uint64_t index = a[1]["documents"][0]["index"];
  EXPECT_EQ(Curl(Url("/v1/entries/" + std::to_string(index))).Json()["entry"]["type"], "approval");
  EXPECT_EQ(mine.body.find(theirs), std::string::npos);
  const json c = list(carlos).Json()["approvals"];
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]["id"], theirs);
  EXPECT_EQ(Curl(Url("/v1/citizen/approvals")).status, 401);
  // The page itself, for a logged-in browser.
  Http page = Curl("-H " + ShellQuote("Cookie: " + ana.session.cookie) + " " + Url("/aprobar"));
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("mine-list"), std::string::npos);
  // Forgotten: nothing is listed for the number any more.
  const std::string admin = "-H " + ShellQuote("Authorization: Bearer " + admin_) + " ";
  ASSERT_EQ(Curl("-X DELETE " + admin + Url("/v1/admin/subjects/1234567")).status, 200);
  EXPECT_EQ(list(ana).status, 401);  // logged out everywhere
  const Citizen back{ana.number, testing::LogIn(node_->url() + "/aprobar", ana.number), {}};
  EXPECT_TRUE(list(back).Json()["approvals"].empty());
  EXPECT_EQ(list(carlos).Json()["approvals"].size(), 1u);  // nobody else is logged out
}

TEST_F(ApprovalsTest, TokensWrongMissingDisabledOrOfAnotherClient) {
  const std::string id = Create(client_a_, "6666666", {Doc("mine")})["id"];
  EXPECT_EQ(Curl(Url("/v1/approvals/" + id)).status, 401);
  Http wrong = Curl("-H 'Authorization: Bearer qk_not-a-real-token-at-all' " + Url("/v1/approvals/" + id));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.headers.find("WWW-Authenticate: Bearer"), std::string::npos);
  EXPECT_EQ(Curl("-H 'Authorization: Basic Zm9vOmJhcg==' " + Url("/v1/approvals/" + id)).status, 401);
  EXPECT_EQ(Curl(Auth(client_b_) + Url("/v1/approvals/" + id)).status, 404);  // another client's
  // Admin: disable B, then rotate A's token.
  const std::string admin = "-H " + ShellQuote("Authorization: Bearer " + admin_) + " ";
  EXPECT_EQ(Curl("-X POST " + Url("/v1/admin/clients/" + client_b_["client_id"].get<std::string>() + "/disable")).status, 401);
  EXPECT_EQ(Curl("-X POST " + admin + Url("/v1/admin/clients/" + client_b_["client_id"].get<std::string>() + "/disable")).status, 200);
  EXPECT_EQ(Curl(Auth(client_b_) + Url("/v1/approvals/x")).status, 401);
  Http rotated = Curl("-X POST " + admin + Url("/v1/admin/clients/" + client_a_["client_id"].get<std::string>() + "/rotate"));
  ASSERT_EQ(rotated.status, 200);
  EXPECT_EQ(Curl(Auth(client_a_) + Url("/v1/approvals/" + id)).status, 401);
  json fresh = client_a_;
  fresh["token"] = rotated.Json()["token"];
  EXPECT_EQ(Curl(Auth(fresh) + Url("/v1/approvals/" + id)).status, 200);
  // The admin API lists clients (never tokens) and adds new ones.
  Http list = Curl(admin + Url("/v1/admin/clients"));
  EXPECT_EQ(list.Json()["clients"].size(), 2u);
  EXPECT_EQ(list.body.find("qk_"), std::string::npos);
  Http added = Curl("-X POST " + admin + "--data-binary @- " + Url("/v1/admin/clients"),
                    R"({"name":"Alcaldía","redirect_uri":"https://a.example/r","notify_uri":"https://a.example/n","notify_token":"t"})");
  EXPECT_EQ(added.status, 201) << added.body;
  EXPECT_EQ(Curl("-X POST " + admin + "--data-binary @- " + Url("/v1/admin/clients"),
                 R"({"name":"X","redirect_uri":"http://evil.example/r","notify_uri":"https://a.example/n","notify_token":"t"})").status,
            400);
  EXPECT_EQ(Curl("-H 'Authorization: Bearer wrong' " + Url("/v1/admin/clients")).status, 401);
}

TEST_F(ApprovalsTest, BadRequestsAreRefusedClearly) {
  auto status = [&](const json& body) { return Post(client_a_, "/v1/approvals", body).status; };
  EXPECT_EQ(status({{"subject", "7777777"}, {"documents", json::array()}}), 400);
  EXPECT_EQ(status({{"subject", "7777777"}, {"documents", {Doc("a"), Doc("a")}}}), 400);
  json many = json::array();
  for (int i = 0; i < 101; ++i) many.push_back(Doc(std::to_string(i)));
  EXPECT_EQ(status({{"subject", "7777777"}, {"documents", many}}), 400);
  many.erase(many.begin());
  EXPECT_EQ(status({{"subject", "7777777"}, {"documents", many}}), 201);
  EXPECT_EQ(status({{"subject", "7777777"}, {"documents", {{{"sha256", "abc"}, {"media_type", "application/pdf"}}}}}), 400);
  EXPECT_EQ(status({{"subject", "7777777"}, {"documents", {{{"sha256", std::string(64, 'a')}, {"media_type", "text/plain"}}}}}), 400);
  EXPECT_EQ(status({{"subject", "7777777"},
                    {"documents", {{{"content", crypto::Base64Encode(crypto::AsBytes("not a pdf"))}, {"media_type", "application/pdf"}}}}}),
            422);
  EXPECT_EQ(status({{"subject", "7777777"}, {"documents", {Doc("q")}}, {"extra", 1}}), 400);
  EXPECT_EQ(status({{"subject", "no spaces!"}, {"documents", {Doc("q")}}}), 400);
  EXPECT_EQ(status({{"subject", "8888888"}, {"documents", {Doc("q")}}}), 201);  // unknown: the same answer
  EXPECT_EQ(status({{"subject", "7777777"}, {"documents", {Doc("q")}}, {"factor", "message"}}), 409);  // no webhook
  EXPECT_EQ(Curl("-X POST " + Auth(client_a_) + "-H 'Content-Type: application/json' --data-binary '{nope' " +
                 Url("/v1/approvals")).status, 400);
  EXPECT_EQ(Curl("-X POST " + Auth(client_a_) + "-H 'Content-Type: text/plain' --data-binary '{}' " +
                 Url("/v1/approvals")).status, 415);
  const Citizen c = Enroll("7777777");
  EXPECT_EQ(Decide(c, "r_0123456789abcdef0123", "123456").status, 404);
  EXPECT_EQ(Decide(c, "r_0123456789abcdef0123", "12a456").status, 400);
}

TEST_F(ApprovalsTest, AHundredConcurrentConfirmations) {
  constexpr int kN = 100;
  // Twenty citizens (each logged in once), five requests each.
  constexpr int kCitizens = 20;
  std::vector<Citizen> citizens;
  for (int i = 0; i < kCitizens; ++i) citizens.push_back(Enroll("900" + std::to_string(1000 + i)));
  std::vector<std::string> ids;
  for (int i = 0; i < kN; ++i) {
    const json& client = i % 2 == 0 ? client_a_ : client_b_;
    ids.push_back(Create(client, citizens[i % kCitizens].number, {Doc("c" + std::to_string(i)), Doc("d" + std::to_string(i))})["id"]);
  }
  // A code is used once per citizen: each citizen's five decisions use
  // five codes of successive steps, all within the accepted window...
  // which is ±1 step. So decide in rounds: round r with step now_+30r.
  std::vector<json> answers(kN);
  for (int round = 0; round < kN / kCitizens; ++round) {
    SetClock(now_ + 30);
    std::vector<std::thread> threads;
    for (int c = 0; c < kCitizens; ++c) {
      const int i = round * kCitizens + c;
      threads.emplace_back([&, i, c] { answers[i] = Decide(citizens[c], ids[i], Code(citizens[c].key, now_)).Json(); });
    }
    for (auto& t : threads) t.join();
  }
  std::set<uint64_t> indices;
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(answers[i].value("status", ""), "approved") << answers[i].dump();
    const json got = Get(i % 2 == 0 ? client_a_ : client_b_, ids[i]);
    ASSERT_EQ(got["entries"].size(), 2u) << got.dump();
    for (const json& e : got["entries"]) indices.insert(e["index"].get<uint64_t>());
  }
  EXPECT_EQ(indices.size(), size_t{2 * kN});
  EXPECT_EQ(RunQuipu("audit --data " + ShellQuote(data_)).exit_code, 0);
}

TEST_F(ApprovalsTest, AForgottenSubjectsEntriesStayButCannotBeLinked) {
  const Citizen c = Enroll("1010101");
  const std::string id = Create(client_a_, "1010101", {Doc("forget me")})["id"];
  ASSERT_EQ(Decide(c, id, Code(c.key, now_)).status, 200);
  const std::string sha = crypto::HexEncode(crypto::Sha256(std::string("forget me")));
  EXPECT_EQ(Curl(Auth(client_a_) + Url("/v1/documents/" + sha + "?subject=1010101")).Json()["subject_approved"], true);
  const std::string admin = "-H " + ShellQuote("Authorization: Bearer " + admin_) + " ";
  EXPECT_EQ(Curl("-X DELETE " + admin + Url("/v1/admin/subjects/1010101")).status, 200);
  EXPECT_EQ(Curl("-X DELETE " + admin + Url("/v1/admin/subjects/1010101")).status, 404);
  EXPECT_EQ(Curl(Auth(client_a_) + Url("/v1/documents/" + sha + "?subject=1010101")).Json()["subject_approved"], false);
  json pub = Curl(Url("/v1/documents/" + sha)).Json();
  EXPECT_EQ(pub["found"], true);  // the record stays
  // A new approval by the same number gets a new, unrelated commitment.
  SetClock(now_ + 60);
  const Citizen again = Enroll("1010101");
  const std::string id2 = Create(client_a_, "1010101", {Doc("after")})["id"];
  ASSERT_EQ(Decide(again, id2, Code(again.key, now_)).status, 200);
  json after = Curl(Url("/v1/documents/" + crypto::HexEncode(crypto::Sha256(std::string("after"))))).Json();
  EXPECT_NE(after["records"][0]["entry"]["subject"], pub["records"][0]["entry"]["subject"]);
  node_->Stop();
  EXPECT_EQ(RunQuipu("audit --data " + ShellQuote(data_)).exit_code, 0);
  // The CLI forgets too (with the node stopped): the new salt, and the id
  // in the second request's record.
  EXPECT_EQ(RunQuipu("subject forget 1010101 --data " + ShellQuote(data_)).exit_code, 0);
  EXPECT_EQ(RunQuipu("subject forget 1010101 --data " + ShellQuote(data_)).exit_code, 2);
  // Compacted as the README says, the file holds the id nowhere (the free
  // pages that still held old versions of the records are gone), nor does
  // any other file of the data directory.
  const std::string compact = dir_.File("compact.mdb");
  auto copied = testing::RunShell("mdb_copy -n -c " + ShellQuote(data_ + "/ledger.mdb") + " " + ShellQuote(compact));
  ASSERT_EQ(copied.exit_code, 0) << copied.err;
  EXPECT_EQ(testing::RunShell("grep -c 1010101 " + ShellQuote(compact)).out, "0\n");
  EXPECT_EQ(testing::RunShell("grep -rl 1010101 " + ShellQuote(data_) + " --exclude=ledger.mdb").out, "");
}

TEST(ClientCli, AddListDisableRotate) {
  TempDir dir;
  const std::string data = " --data " + ShellQuote(dir.File("d"));
  ASSERT_EQ(RunQuipu("log init" + data).exit_code, 0);
  auto add = RunQuipu("client add --name Uno --redirect-uri https://u.example/r --notify-uri https://u.example/n "
                      "--notify-token t" + data);
  ASSERT_EQ(add.exit_code, 0) << add.err;
  json c = json::parse(add.out);
  EXPECT_EQ(c["token"].get<std::string>().rfind("qk_", 0), 0u);
  EXPECT_NE(add.err.find("shown once"), std::string::npos);
  EXPECT_EQ(RunQuipu("client add --name Dos --redirect-uri http://example.org/r --notify-uri https://u.example/n "
                     "--notify-token t" + data).exit_code, 2);
  EXPECT_EQ(RunQuipu("client add --name Dos" + data).exit_code, 2);
  auto list = RunQuipu("client list" + data);
  EXPECT_NE(list.out.find(c["client_id"].get<std::string>() + "  active"), std::string::npos) << list.out;
  EXPECT_EQ(RunQuipu("client disable " + c["client_id"].get<std::string>() + data).exit_code, 0);
  EXPECT_NE(RunQuipu("client list" + data).out.find("disabled"), std::string::npos);
  EXPECT_EQ(RunQuipu("client rotate c_nothing" + data).exit_code, 2);
  // The token is stored only as a hash: it appears nowhere in the data.
  auto grep = testing::RunShell("grep -r -c " + ShellQuote(c["token"].get<std::string>()) + " " + ShellQuote(dir.File("d")));
  EXPECT_NE(grep.exit_code, 0) << grep.out;
}

}  // namespace
}  // namespace quipu
