// The approval service through its HTTP API, as an institution's backend
// would use it: curl against the built node, TOTP codes computed by the
// test (RFC 6238), an injected clock for expiry, proofs and checkpoints
// verified independently.
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
    // The clients' notification URIs are on 127.0.0.1: a development node.
    node_ = std::make_unique<Node>(data_, "--allow-local-callbacks --test-clock-file " + ShellQuote(clock_));
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
  // Enrolls `subject` with client A; returns its TOTP key.
  crypto::Bytes Enroll(const std::string& subject) {
    Http h = Curl("-X POST " + Auth(client_a_) + Url("/v1/subjects/" + subject + "/totp"));
    EXPECT_EQ(h.status, 201) << h.body;
    const std::string uri = h.Json()["otpauth_uri"];
    const size_t at = uri.find("secret=") + 7;
    auto key = crypto::Base32Decode(uri.substr(at, uri.find('&', at) - at));
    EXPECT_TRUE(key.ok());
    return *key;
  }
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
  std::unique_ptr<Node> node_;
};

TEST_F(ApprovalsTest, ApproveTwoDocumentsInOneCommitWithVerifiableProofs) {
  const crypto::Bytes key = Enroll("1234567");
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

  Http confirmed = Post(client_a_, "/v1/approvals/" + id + "/confirm", {{"code", Code(key, now_)}});
  ASSERT_EQ(confirmed.status, 200) << confirmed.body;
  json c = confirmed.Json();
  EXPECT_EQ(c["status"], "approved");
  ASSERT_EQ(c["entries"].size(), 2u);
  EXPECT_EQ(c["entries"][1]["index"].get<uint64_t>(), c["entries"][0]["index"].get<uint64_t>() + 1);
  EXPECT_EQ(c["redirect_url"], "https://impuestos.example/vuelta?request=" + id + "&status=approved");
  // One commit: the checkpoint covers both entries.
  auto v = crypto::ParseVerifierKey(vkey_);
  const crypto::NoteVerifier verifiers[] = {*v};
  auto opened = crypto::OpenNote(c["checkpoint"].get<std::string>(), verifiers);
  ASSERT_TRUE(opened.ok() && opened->verified.size() == 1);
  auto body = ledger::ParseCheckpointBody(opened->text);
  EXPECT_EQ(body->tree_size, c["entries"][1]["index"].get<uint64_t>() + 1);

  // The request shows its entries with proofs to the current checkpoint.
  json got = Curl(Auth(client_a_) + Url("/v1/approvals/" + id)).Json();
  EXPECT_EQ(got["status"], "approved");
  auto cp = ledger::ParseCheckpointBody(crypto::OpenNote(got["checkpoint"].get<std::string>(), verifiers)->text);
  for (const json& e : got["entries"]) {
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
    EXPECT_TRUE(ledger::VerifyInclusion(e["index"], got["tree_size"], ld, proof, cp->root));
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
  const crypto::Bytes key = Enroll("5555555");
  json created = Create(client_a_, "5555555", {Doc("x"), Doc("y"), Doc("z")});
  Http r = Post(client_a_, "/v1/approvals/" + created["id"].get<std::string>() + "/reject", {{"code", Code(key, now_)}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["status"], "rejected");
  EXPECT_EQ(r.Json()["entries"].size(), 3u);
  json rec = Curl(Url("/v1/documents/" + crypto::HexEncode(crypto::Sha256(std::string("y"))))).Json();
  EXPECT_EQ(rec["records"][0]["type"], "rejection");
  // Decided: a second decision is a conflict.
  EXPECT_EQ(Post(client_a_, "/v1/approvals/" + created["id"].get<std::string>() + "/confirm",
                 {{"code", Code(key, now_ + 30)}}).status, 409);
}

TEST_F(ApprovalsTest, FiveWrongCodesLockTheRequest) {
  const crypto::Bytes key = Enroll("2222222");
  const std::string id = Create(client_a_, "2222222", {Doc("lock")})["id"];
  const std::string right = Code(key, now_);
  const std::string wrong = right == "000000" ? "111111" : "000000";
  for (int i = 1; i <= 4; ++i) {
    Http h = Post(client_a_, "/v1/approvals/" + id + "/confirm", {{"code", wrong}});
    EXPECT_EQ(h.status, 403) << h.body;
    EXPECT_NE(h.body.find(std::to_string(5 - i) + " attempts left"), std::string::npos) << h.body;
  }
  // The fifth locks the request, and (five in a row) locks the citizen out.
  EXPECT_EQ(Post(client_a_, "/v1/approvals/" + id + "/confirm", {{"code", wrong}}).status, 429);
  EXPECT_EQ(Post(client_a_, "/v1/approvals/" + id + "/confirm", {{"code", right}}).status, 409);
  EXPECT_EQ(Curl(Auth(client_a_) + Url("/v1/approvals/" + id)).Json()["status"], "locked");
  EXPECT_TRUE(Curl(Url("/v1/documents/" + crypto::HexEncode(crypto::Sha256(std::string("lock"))))).Json()["records"].empty());
}

// Guessing across requests: every request has its own five tries, but the
// citizen's wrong codes are counted over all of them, at every client.
TEST_F(ApprovalsTest, WrongCodesSpreadOverRequestsAndClientsLockTheCitizenOut) {
  const crypto::Bytes key = Enroll("4444444");
  const std::string right = Code(key, now_);
  const std::string wrong = right == "000000" ? "111111" : "000000";
  int refused = 0, locked_out = 0;
  for (int i = 0; i < 12; ++i) {
    const json& client = i % 2 == 0 ? client_a_ : client_b_;
    json created = Create(client, "4444444", {Doc("guess " + std::to_string(i))});
    Http h = Post(client, "/v1/approvals/" + created["id"].get<std::string>() + "/confirm", {{"code", wrong}});
    EXPECT_NE(h.status, 200) << h.body;
    refused += h.status == 403;
    locked_out += h.status == 429;
  }
  EXPECT_EQ(refused, 4);  // then the citizen is locked out, whichever client asks
  EXPECT_EQ(locked_out, 8);
  // While locked out even the right code is refused, and says until when.
  json during = Create(client_b_, "4444444", {Doc("during")});
  Http h = Post(client_b_, "/v1/approvals/" + during["id"].get<std::string>() + "/confirm", {{"code", right}});
  EXPECT_EQ(h.status, 429) << h.body;
  EXPECT_NE(h.body.find("refused until"), std::string::npos) << h.body;
  EXPECT_TRUE(Curl(Url("/v1/documents/" + crypto::HexEncode(crypto::Sha256(std::string("during"))))).Json()["records"].empty());
  // After the lockout (15 minutes) the citizen's real code works again.
  SetClock(now_ + 15 * 60 + 1);
  json after = Create(client_a_, "4444444", {Doc("after")});
  Http ok = Post(client_a_, "/v1/approvals/" + after["id"].get<std::string>() + "/confirm", {{"code", Code(key, now_)}});
  EXPECT_EQ(ok.status, 200) << ok.body;
}

// Pseudonyms per institution: the same citizen's entries at two clients
// carry different commitments, so the public log does not link them.
TEST_F(ApprovalsTest, TwoClientsEntriesForOneCitizenCarryDifferentCommitments) {
  const crypto::Bytes key = Enroll("5555555");
  std::vector<std::string> commitments;
  int64_t at = now_;
  for (const json* client : {&client_a_, &client_b_}) {
    const std::string id = Create(*client, "5555555", {Doc("same citizen " + (*client)["client_id"].get<std::string>())})["id"];
    at += 30;  // a new time step: a code is used once
    SetClock(at);
    Http h = Post(*client, "/v1/approvals/" + id + "/confirm", {{"code", Code(key, at)}});
    ASSERT_EQ(h.status, 200) << h.body;
    const uint64_t index = h.Json()["entries"][0]["index"];
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
  const crypto::Bytes key = Enroll("3333333");
  const std::string first = Create(client_a_, "3333333", {Doc("one")})["id"];
  const std::string second = Create(client_a_, "3333333", {Doc("two")})["id"];
  const std::string code = Code(key, now_);
  EXPECT_EQ(Post(client_a_, "/v1/approvals/" + first + "/confirm", {{"code", code}}).status, 200);
  Http replay = Post(client_a_, "/v1/approvals/" + second + "/confirm", {{"code", code}});
  EXPECT_EQ(replay.status, 403);
  EXPECT_NE(replay.body.find("already used"), std::string::npos) << replay.body;
  // The next time step's code works (±1 step is accepted, so a code from
  // the next step is fine at once).
  EXPECT_EQ(Post(client_a_, "/v1/approvals/" + second + "/confirm", {{"code", Code(key, now_ + 30)}}).status, 200);
}

TEST_F(ApprovalsTest, RequestsExpireAfterTenMinutes) {
  const crypto::Bytes key = Enroll("4444444");
  const std::string id = Create(client_a_, "4444444", {Doc("late")})["id"];
  SetClock(kStart + 601);
  Http h = Post(client_a_, "/v1/approvals/" + id + "/confirm", {{"code", Code(key, now_)}});
  EXPECT_EQ(h.status, 410) << h.body;
  EXPECT_EQ(Curl(Auth(client_a_) + Url("/v1/approvals/" + id)).Json()["status"], "expired");
  // Within the ten minutes it would have worked.
  const std::string fresh = Create(client_a_, "4444444", {Doc("on time")})["id"];
  SetClock(kStart + 601 + 599);
  EXPECT_EQ(Post(client_a_, "/v1/approvals/" + fresh + "/confirm", {{"code", Code(key, now_)}}).status, 200);
}

TEST_F(ApprovalsTest, TokensWrongMissingDisabledOrOfAnotherClient) {
  Enroll("6666666");
  const std::string id = Create(client_a_, "6666666", {Doc("mine")})["id"];
  EXPECT_EQ(Curl(Url("/v1/approvals/" + id)).status, 401);
  Http wrong = Curl("-H 'Authorization: Bearer qk_not-a-real-token-at-all' " + Url("/v1/approvals/" + id));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.headers.find("WWW-Authenticate: Bearer"), std::string::npos);
  EXPECT_EQ(Curl("-H 'Authorization: Basic Zm9vOmJhcg==' " + Url("/v1/approvals/" + id)).status, 401);
  EXPECT_EQ(Curl(Auth(client_b_) + Url("/v1/approvals/" + id)).status, 404);  // another client's
  EXPECT_EQ(Post(client_b_, "/v1/approvals/" + id + "/confirm", {{"code", "123456"}}).status, 404);
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
  Enroll("7777777");
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
  EXPECT_EQ(status({{"subject", "8888888"}, {"documents", {Doc("q")}}}), 201);  // not enrolled: the same answer
  EXPECT_EQ(status({{"subject", "7777777"}, {"documents", {Doc("q")}}, {"factor", "message"}}), 409);  // no webhook
  EXPECT_EQ(Curl("-X POST " + Auth(client_a_) + "-H 'Content-Type: application/json' --data-binary '{nope' " +
                 Url("/v1/approvals")).status, 400);
  EXPECT_EQ(Curl("-X POST " + Auth(client_a_) + "-H 'Content-Type: text/plain' --data-binary '{}' " +
                 Url("/v1/approvals")).status, 415);
  EXPECT_EQ(Post(client_a_, "/v1/approvals/r_nothing/confirm", {{"code", "123456"}}).status, 404);
  EXPECT_EQ(Post(client_a_, "/v1/approvals/r_nothing/confirm", {{"code", "12a456"}}).status, 400);
}

TEST_F(ApprovalsTest, AHundredConcurrentConfirmations) {
  constexpr int kN = 100;
  std::vector<crypto::Bytes> keys;
  std::vector<std::string> ids;
  for (int i = 0; i < kN; ++i) {
    const std::string subject = "900" + std::to_string(1000 + i);
    keys.push_back(Enroll(subject));
    ids.push_back(Create(client_a_, subject, {Doc("c" + std::to_string(i)), Doc("d" + std::to_string(i))})["id"]);
  }
  std::vector<json> answers(kN);
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; ++i) {
    threads.emplace_back([&, i] {
      answers[i] = Post(client_a_, "/v1/approvals/" + ids[i] + "/confirm", {{"code", Code(keys[i], now_)}}).Json();
    });
  }
  for (auto& t : threads) t.join();
  std::set<uint64_t> indices;
  for (const json& a : answers) {
    ASSERT_EQ(a.value("status", ""), "approved") << a.dump();
    for (const json& e : a["entries"]) indices.insert(e["index"].get<uint64_t>());
  }
  EXPECT_EQ(indices.size(), size_t{2 * kN});
  EXPECT_EQ(RunQuipu("audit --data " + ShellQuote(data_)).exit_code, 0);
}

TEST_F(ApprovalsTest, AForgottenSubjectsEntriesStayButCannotBeLinked) {
  const crypto::Bytes key = Enroll("1010101");
  const std::string id = Create(client_a_, "1010101", {Doc("forget me")})["id"];
  ASSERT_EQ(Post(client_a_, "/v1/approvals/" + id + "/confirm", {{"code", Code(key, now_)}}).status, 200);
  const std::string sha = crypto::HexEncode(crypto::Sha256(std::string("forget me")));
  EXPECT_EQ(Curl(Auth(client_a_) + Url("/v1/documents/" + sha + "?subject=1010101")).Json()["subject_approved"], true);
  const std::string admin = "-H " + ShellQuote("Authorization: Bearer " + admin_) + " ";
  EXPECT_EQ(Curl("-X DELETE " + admin + Url("/v1/admin/subjects/1010101")).status, 200);
  EXPECT_EQ(Curl("-X DELETE " + admin + Url("/v1/admin/subjects/1010101")).status, 404);
  EXPECT_EQ(Curl(Auth(client_a_) + Url("/v1/documents/" + sha + "?subject=1010101")).Json()["subject_approved"], false);
  json pub = Curl(Url("/v1/documents/" + sha)).Json();
  EXPECT_EQ(pub["found"], true);  // the record stays
  // A new approval by the same number gets a new, unrelated commitment.
  const crypto::Bytes again = Enroll("1010101");
  const std::string id2 = Create(client_a_, "1010101", {Doc("after")})["id"];
  ASSERT_EQ(Post(client_a_, "/v1/approvals/" + id2 + "/confirm", {{"code", Code(again, now_)}}).status, 200);
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
