// Receipts (C2SP tlog-proof@v1) end to end: GET /v1/entries/{n}/receipt
// from a running node, checked offline by `quipu proof check` against the
// log's key, a tlog-policy with witnesses (cosignatures made by a quipu
// witness over the same checkpoint) and the document; every failure named.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "crypto/cosignature.h"
#include "crypto/encoding.h"
#include "crypto/jcs.h"
#include "crypto/sha256.h"
#include "ledger/tlog_proof.h"
#include "tests/common/node.h"
#include "tests/common/process.h"

namespace quipu {
namespace {

using nlohmann::json;
using testing::Curl;
using testing::ShellQuote;

TEST(Receipts, AnEntrysReceiptChecksOfflineAndSaysWhatFails) {
  testing::TempDir dir;
  const std::string data = dir.File("data");
  const std::string document = R"({"nombre":"Ana","nota":18})";
  const std::string sha = crypto::HexEncode(crypto::Sha256(*crypto::Canonicalize(document)));
  std::ofstream(dir.File("doc.json")) << "{ \"nota\": 18, \"nombre\": \"Ana\" }";
  ASSERT_EQ(testing::RunQuipu("log init --data " + ShellQuote(data)).exit_code, 0);
  std::string lines;
  for (int i = 0; i < 6; ++i) {
    lines += json{{"type", "approval"}, {"client", "c_000000000001"}, {"request", "r_" + std::to_string(i)},
                  {"subject", std::string(64, 'a' + i)},
                  {"doc", {{"sha256", i == 3 ? sha : std::string(64, '0' + i)}, {"media_type", "application/json"}}}}
                 .dump() +
             "\n";
  }
  ASSERT_EQ(testing::RunQuipu("log append --quiet --data " + ShellQuote(data), lines).exit_code, 0);
  testing::Node node(data);
  ASSERT_FALSE(node.url().empty());
  const std::string vkey = Curl(ShellQuote(node.url() + "/v1/log")).Json()["vkey"];
  testing::Http got = Curl(ShellQuote(node.url() + "/v1/entries/3/receipt"));
  ASSERT_EQ(got.status, 200) << got.body;
  ASSERT_EQ(got.body.rfind("c2sp.org/tlog-proof@v1\nextra ", 0), 0u) << got.body;
  EXPECT_NE(got.headers.find("entry-3.tlog-proof"), std::string::npos);
  EXPECT_EQ(Curl(ShellQuote(node.url() + "/v1/entries/6/receipt")).status, 404);
  auto parsed = ledger::ParseTlogProof(got.body);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(ledger::FormatTlogProof(*parsed), got.body) << "parse and format agree";
  EXPECT_EQ(parsed->index, 3u);
  std::ofstream(dir.File("r")) << got.body;

  auto check = [&](const std::string& args) { return testing::RunQuipu("proof check " + args); };
  const std::string with_key = " --vkey " + ShellQuote(vkey);
  auto ok = check(ShellQuote(dir.File("r")) + " " + ShellQuote(dir.File("doc.json")) + with_key);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const json report = json::parse(ok.out);
  EXPECT_EQ(report["index"], 3);
  EXPECT_EQ(report["tree_size"], 6);
  EXPECT_EQ(report["document"], sha);

  // Each way it can fail, in words.
  auto fails = [&](const std::string& receipt, const std::string& args, const std::string& says) {
    std::ofstream(dir.File("bad")) << receipt;
    auto r = check(ShellQuote(dir.File("bad")) + args);
    EXPECT_NE(r.exit_code, 0) << says;
    EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
  };
  std::ofstream(dir.File("other.json")) << R"({"nombre":"Ana","nota":19})";
  fails(got.body, " " + ShellQuote(dir.File("other.json")) + with_key, "is not the entry's document");
  std::string other_index = got.body;
  other_index.replace(other_index.find("index 3"), 7, "index 2");
  fails(other_index, with_key, "the inclusion proof does not lead");
  std::string other_entry = got.body;
  const size_t extra = other_entry.find("extra ") + 6;
  other_entry[extra + 4] = other_entry[extra + 4] == 'A' ? 'B' : 'A';
  fails(other_entry, with_key, "the inclusion proof does not lead");
  const std::string stranger = crypto::VerifierKeyString("quipu.localhost/log", crypto::SigningKey::Generate().PublicKey());
  fails(got.body, " --vkey " + ShellQuote(stranger), "not signed by a log of the policy");
  fails("not a receipt\n", with_key, "c2sp.org/tlog-proof@v1");
  fails(got.body, "", "--vkey");

  // A policy that asks for a witness: unmet until the witness cosigns this
  // very checkpoint, then met; a second witness's group threshold the same.
  crypto::SigningKey w1 = crypto::SigningKey::Generate(), w2 = crypto::SigningKey::Generate();
  const std::string policy = "log " + vkey + "\nwitness w1 " + crypto::CosignerVerifierKey("w1.example/w", w1.PublicKey()) +
                             "\nwitness w2 " + crypto::CosignerVerifierKey("w2.example/w", w2.PublicKey()) +
                             "\ngroup both 2 w1 w2\nquorum both\n";
  std::ofstream(dir.File("policy")) << policy;
  const std::string with_policy = " --policy " + ShellQuote(dir.File("policy"));
  fails(got.body, with_policy, "the quorum both is not met: cosigned by no known witness");
  const std::string body = parsed->checkpoint.substr(0, parsed->checkpoint.find("\n\n") + 1);
  const std::string one = got.body + *crypto::Cosign("w1.example/w", w1, body, 1796083200);
  fails(one, with_policy, "cosigned by w1");
  const std::string both = one + *crypto::Cosign("w2.example/w", w2, body, 1796083201);
  std::ofstream(dir.File("both")) << both;
  auto met = check(ShellQuote(dir.File("both")) + with_policy);
  ASSERT_EQ(met.exit_code, 0) << met.err;
  EXPECT_EQ(json::parse(met.out)["cosigned_by"], json::array({"w1", "w2"}));
  // A cosignature by a known witness that does not verify is named.
  std::string broken = both;
  broken[broken.size() - 10] = broken[broken.size() - 10] == 'A' ? 'B' : 'A';
  fails(broken, with_policy, "the cosignature of witness w2");
}

TEST(Receipts, PoliciesAreParsedAsTlogPolicySays) {
  const std::string log = crypto::VerifierKeyString("l.example/log", crypto::SigningKey::Generate().PublicKey());
  const std::string w = crypto::CosignerVerifierKey("w.example/w", crypto::SigningKey::Generate().PublicKey());
  auto ok = ledger::ParseTlogPolicy("# comment\n  log " + log + " https://l.example/\n\twitness W " + w +
                                    "\ngroup G any W\nquorum G\n");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->quorum, "G");
  EXPECT_EQ(ok->groups[0].threshold, 1u);
  for (const std::string& bad : std::vector<std::string>{"log " + log + "\n",  // no quorum
                                 "quorum W\n",                         // not defined above
                                 "witness W " + w + "\nwitness V " + w + "\nquorum W\n",  // the same key twice
                                 "witness W " + w + "\ngroup G 2 W\nquorum G\n",          // threshold > n
                                 "witness W " + w + "\ngroup G any W W\nquorum G\n",      // a member twice
                                 "witness W " + w + "\ngroup G any none\nquorum G\n",     // none as a member
                                 "quorum none\nquorum none\n",
                                 "witness W " + log + "\nquorum none\n",  // a note key is no cosigner key
                                 "frobnicate\nquorum none\n", "quorum none\x01\n"}) {
    EXPECT_FALSE(ledger::ParseTlogPolicy(bad).ok()) << bad;
  }
  EXPECT_TRUE(ledger::ParseTlogPolicy("quorum none\n").ok());
  // A log key may also be a witness's (only duplicates among logs, or among
  // witnesses, are refused).
  crypto::SigningKey both = crypto::SigningKey::Generate();
  EXPECT_TRUE(ledger::ParseTlogPolicy("log " + crypto::VerifierKeyString("x.example/log", both.PublicKey()) +
                                      "\nwitness X " + crypto::CosignerVerifierKey("x.example/w", both.PublicKey()) +
                                      "\nquorum X\n")
                  .ok());
  // A deep policy (each group naming the two before) is checked in linear time.
  std::string deep = "witness W " + w + "\ngroup G0 any W\ngroup G1 any W G0\n";
  for (int i = 2; i < 1000; ++i) {
    deep += "group G" + std::to_string(i) + " 2 G" + std::to_string(i - 1) + " G" + std::to_string(i - 2) + "\n";
  }
  deep += "quorum G999\n";
  auto policy = ledger::ParseTlogPolicy(deep);
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  auto signer = crypto::NoteSigner::Create("l.example/log", crypto::SigningKey::Generate());
  ASSERT_TRUE(signer.ok());
  policy->logs.push_back(*crypto::NoteVerifier::Create("l.example/log", signer->public_key()));
  const std::string note = *crypto::SignNote("l.example/log\n1\n" + crypto::Base64Encode(crypto::Sha256(std::string("e"))) + "\n", *signer);
  auto checked = ledger::CheckCheckpoint(*policy, note);
  EXPECT_EQ(checked.status().code(), StatusCode::kPermissionDenied) << "no cosignature: G999 is not met";
}

}  // namespace
}  // namespace quipu
