// Three quipu nodes on 127.0.0.1 witness each other (C2SP tlog-witness)
// under one 2-of-3 policy: each submits its checkpoints to the other two,
// publishes the one that met the quorum at /checkpoint, and gives receipts
// (C2SP tlog-proof) that `quipu proof check` verifies offline, and that
// Go's sumdb/note accepts the cosignatures of. A byte changed anywhere in
// the receipt or the document makes the check fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/otp.h"
#include "crypto/sha256.h"
#include "tests/common/citizen.h"
#include "tests/common/go_interop.h"
#include "tests/common/node.h"
#include "tests/common/process.h"

namespace quipu {
namespace {

using nlohmann::json;
using testing::Curl;
using testing::Http;
using testing::ShellQuote;
using testing::WaitUntil;

struct Peer {
  std::string name;  // a, b, c
  std::string data;
  std::string log_vkey;
  std::string witness_vkey;
  std::string base;  // http://127.0.0.1:PORT
};

// The peers' shared policy: their three witnesses (each with its URL but the
// node's own: a node does not witness itself), any two make the quorum.
std::string PolicyFor(const std::vector<Peer>& peers, const std::string& self) {
  std::string out;
  for (const Peer& p : peers) {
    out += "witness w" + p.name + " " + p.witness_vkey;
    if (p.name != self) out += " " + p.base;
    out += "\n";
  }
  return out + "group two 2 wa wb wc\nquorum two\n";
}

TEST(Federation, ThreeNodesWitnessEachOtherAndAnApprovalsReceiptChecksOffline) {
  testing::TempDir dir;
  std::vector<Peer> peers;
  for (const std::string name : {"a", "b", "c"}) {
    Peer p;
    p.name = name;
    p.data = dir.File(name);
    auto init = testing::RunQuipu("log init --data " + ShellQuote(p.data) + " --origin " + name + ".quipu.example/log");
    ASSERT_EQ(init.exit_code, 0) << init.err;
    p.log_vkey = init.out.substr(0, init.out.find('\n'));
    auto key = testing::RunQuipu("witness key --data " + ShellQuote(p.data) + " --name " + name + ".quipu.example/witness");
    ASSERT_EQ(key.exit_code, 0) << key.err;
    p.witness_vkey = key.out.substr(0, key.out.find('\n'));
    // Asked again, the same key (the file's).
    EXPECT_EQ(testing::RunQuipu("witness key --data " + ShellQuote(p.data)).out, key.out);
    p.base = "http://127.0.0.1:" + std::to_string(testing::FreePort());
    peers.push_back(p);
  }
  // Node a serves the citizens' pages; its institution asks for approvals.
  auto client = testing::RunQuipu("client add --data " + ShellQuote(peers[0].data) +
                                  " --name Impuestos --redirect-uri https://impuestos.example/vuelta"
                                  " --notify-uri http://127.0.0.1:9/notify --notify-token nt --allow-local-callbacks");
  ASSERT_EQ(client.exit_code, 0) << client.err;
  const std::string token = json::parse(client.out)["token"];
  testing::IdentityProvider idp(dir.File("idp"), peers[0].base);

  std::vector<std::unique_ptr<testing::Node>> nodes;
  for (const Peer& p : peers) {
    std::string logs;
    for (const Peer& q : peers) {
      if (q.name != p.name) logs += "log " + q.log_vkey + " " + q.base + "\n";
    }
    testing::WriteFile(p.data + ".logs", logs);
    testing::WriteFile(p.data + ".policy", PolicyFor(peers, p.name));
    std::string flags = "--listen " + p.base.substr(7) + " --witness-logs " + ShellQuote(p.data + ".logs") +
                        " --policy " + ShellQuote(p.data + ".policy") +
                        " --cosign-interval-ms 100 --allow-local-callbacks";
    if (p.name == "a") flags += " " + idp.ServeFlags();
    nodes.push_back(std::make_unique<testing::Node>(p.data, flags));
    ASSERT_FALSE(nodes.back()->url().empty());
  }
  const std::string a = peers[0].base;

  // A citizen approves a document at a.
  const std::string document = "%PDF-1.4\n% a contract\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
  testing::WriteFile(dir.File("contract.pdf"), document);
  Http created = Curl("-X POST -H " + ShellQuote("Authorization: Bearer " + token) +
                          " -H 'Content-Type: application/json' --data-binary @- " + ShellQuote(a + "/v1/approvals"),
                      json{{"subject", "1234567"},
                           {"documents",
                            {{{"sha256", crypto::HexEncode(crypto::Sha256(document))}, {"media_type", "application/pdf"}}}}}
                          .dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.Json()["id"];
  const testing::CitizenSession session = testing::LogIn(a + "/aprobar", "1234567");
  const int64_t now = std::time(nullptr);
  const crypto::Bytes key = testing::EnrolTotp(a, session, now);
  ASSERT_FALSE(key.empty());
  Http confirmed =
      Curl("-X POST " + session.Headers() + "-H 'Content-Type: application/json' --data-binary @- " +
               ShellQuote(a + "/v1/citizen/approvals/" + id + "/confirm"),
           json{{"code", *crypto::Totp(key, static_cast<uint64_t>(now), 6, crypto::OtpHash::kSha1)}}.dump());
  ASSERT_EQ(confirmed.status, 200) << confirmed.body;
  const json approval = Curl("-H " + ShellQuote("Authorization: Bearer " + token) + " " +
                             ShellQuote(a + "/v1/approvals/" + id)).Json();
  ASSERT_EQ(approval["status"], "approved") << approval.dump();
  const uint64_t index = approval["entries"][0]["index"];
  // The answer carries the entry's receipt (right after the commit, proven
  // to the log's own checkpoint: not yet witnessed).
  EXPECT_TRUE(approval["entries"][0]["receipt"].is_string()) << approval.dump();
  EXPECT_TRUE(approval["entries"][0]["witnessed"].is_boolean()) << approval.dump();

  // b and c cosign a's checkpoints: a publishes one covering the entry.
  json witnessed;
  ASSERT_TRUE(WaitUntil([&] {
    witnessed = Curl(ShellQuote(a + "/v1/witnessed")).Json();
    return witnessed.value("quorum", false) && witnessed.value("tree_size", uint64_t{0}) > index;
  }, 30)) << witnessed.dump();
  for (const json& w : witnessed["witnesses"]) EXPECT_TRUE(w["last_error"].is_null()) << w.dump();
  const json later = Curl("-H " + ShellQuote("Authorization: Bearer " + token) + " " +
                          ShellQuote(a + "/v1/approvals/" + id)).Json();
  EXPECT_EQ(later["entries"][0]["witnessed"], true) << later.dump();
  Http published = Curl(ShellQuote(a + "/checkpoint"));
  ASSERT_EQ(published.status, 200);
  EXPECT_EQ(published.body.rfind("a.quipu.example/log\n", 0), 0u) << published.body;
  // Go's note package verifies each witness's cosignature on it.
  std::string go_error;
  const std::string& go = testing::GoNoteInterop(&go_error);
  ASSERT_FALSE(go.empty()) << go_error;
  for (int w : {1, 2}) {
    auto r = testing::RunShell(ShellQuote(go) + " cosigned " + ShellQuote(peers[w].witness_vkey), published.body);
    EXPECT_EQ(r.exit_code, 0) << r.err << published.body;
  }
  // ... and a's own witness key, which is no URL of a's policy, did not.
  auto self = testing::RunShell(ShellQuote(go) + " cosigned " + ShellQuote(peers[0].witness_vkey), published.body);
  EXPECT_NE(self.exit_code, 0);

  // The receipt, and the policy a publishes, checked with no network.
  Http receipt = Curl(ShellQuote(a + "/v1/entries/" + std::to_string(index) + "/receipt"));
  ASSERT_EQ(receipt.status, 200) << receipt.body;
  EXPECT_NE(receipt.headers.find("Quipu-Witnessed: yes"), std::string::npos) << receipt.headers;
  Http policy = Curl(ShellQuote(a + "/v1/policy"));
  ASSERT_EQ(policy.status, 200);
  EXPECT_NE(policy.body.find("log " + peers[0].log_vkey + "\n"), std::string::npos) << policy.body;
  testing::WriteFile(dir.File("policy"), policy.body);
  testing::WriteFile(dir.File("receipt"), receipt.body);
  auto check = [&](const std::string& receipt_file, const std::string& doc_file) {
    return testing::RunQuipu("proof check " + ShellQuote(receipt_file) + " " + ShellQuote(doc_file) + " --policy " +
                             ShellQuote(dir.File("policy")));
  };
  auto ok = check(dir.File("receipt"), dir.File("contract.pdf"));
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const json report = json::parse(ok.out);
  std::vector<std::string> cosigners = report["cosigned_by"];
  std::sort(cosigners.begin(), cosigners.end());
  EXPECT_EQ(cosigners, (std::vector<std::string>{"wb", "wc"})) << ok.out;
  EXPECT_EQ(report["index"], index);

  // Every byte of the receipt, changed: the check fails. (Under ASan, where
  // each run of quipu costs ~90 ms, every 5th byte; the other passes of
  // `make test` take them all.)
  const std::string& text = receipt.body;
#if defined(__SANITIZE_ADDRESS__)
  constexpr size_t kStride = 5;
#else
  constexpr size_t kStride = 1;
#endif
  int passed = 0;
  for (size_t i = 0; i < text.size(); i += kStride) {
    std::string bad = text;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    testing::WriteFile(dir.File("bad"), bad);
    if (check(dir.File("bad"), dir.File("contract.pdf")).exit_code == 0) {
      ++passed;
      ADD_FAILURE() << "a receipt changed at byte " << i << " passed";
    }
  }
  EXPECT_EQ(passed, 0);
  // Every byte of the document, changed: the check fails.
  for (size_t i = 0; i < document.size(); ++i) {
    std::string bad = document;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    testing::WriteFile(dir.File("bad.pdf"), bad);
    EXPECT_NE(check(dir.File("receipt"), dir.File("bad.pdf")).exit_code, 0) << "document byte " << i;
  }

  // One witness away: a's new checkpoints cannot meet the quorum; a says
  // which witness fails, keeps publishing the last one that met it, and a
  // receipt for a newer entry says it is not witnessed.
  const uint64_t before = Curl(ShellQuote(a + "/v1/witnessed")).Json()["tree_size"];
  nodes[2]->Stop();
  Http issued = Curl("-X POST -H " + ShellQuote("Authorization: Bearer " + token) +
                         " -H 'Content-Type: application/json' --data-binary @- " + ShellQuote(a + "/v1/qr"),
                     json{{"document", {{"sha256", std::string(64, 'b')}, {"media_type", "application/pdf"}}},
                          {"fields", {{"tipo", "Certificado"}}}}
                         .dump());
  ASSERT_EQ(issued.status, 201) << issued.body;
  const uint64_t newer = issued.Json()["index"];
  ASSERT_TRUE(WaitUntil([&] {
    witnessed = Curl(ShellQuote(a + "/v1/witnessed")).Json();
    for (const json& w : witnessed["witnesses"]) {
      if (w["name"] == "wc" && w["last_error"].is_string()) return true;
    }
    return false;
  }, 20)) << witnessed.dump();
  EXPECT_EQ(witnessed["tree_size"], before);
  EXPECT_GT(witnessed["head"].get<uint64_t>(), newer);
  EXPECT_EQ(Curl(ShellQuote(a + "/checkpoint")).body, witnessed["checkpoint"].get<std::string>());
  Http unwitnessed = Curl(ShellQuote(a + "/v1/entries/" + std::to_string(newer) + "/receipt"));
  ASSERT_EQ(unwitnessed.status, 200);
  EXPECT_NE(unwitnessed.headers.find("Quipu-Witnessed: no"), std::string::npos) << unwitnessed.headers;
  testing::WriteFile(dir.File("receipt2"), unwitnessed.body);
  auto refused = testing::RunQuipu("proof check " + ShellQuote(dir.File("receipt2")) + " --policy " +
                                   ShellQuote(dir.File("policy")));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("quorum"), std::string::npos) << refused.err;
  EXPECT_NE(testing::ReadFile(peers[0].data + ".stderr").find("\"cosigning\""), std::string::npos);
}

}  // namespace
}  // namespace quipu
