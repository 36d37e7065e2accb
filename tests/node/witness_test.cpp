// quipu as a C2SP tlog-witness (node/witness.h): a quipu ledger is the
// witnessed log (its checkpoints and consistency proofs), another data
// directory the witness's; every answer the spec defines, the state kept
// across a restart, and the cosignature checked as a verifier would.
#include "node/witness.h"

#include <gtest/gtest.h>

#include "crypto/cosignature.h"
#include "crypto/encoding.h"
#include "crypto/note.h"
#include "crypto/sha256.h"
#include "ledger/checkpoint.h"
#include "ledger/log.h"
#include "node/schema.h"
#include "tests/common/process.h"

namespace quipu::node {
namespace {

using Kind = WitnessAnswer::Kind;
using nlohmann::json;

// A log to witness: a quipu ledger that grows on demand.
struct WitnessedLedger {
  testing::TempDir dir;
  std::unique_ptr<ledger::Log> log;
  WitnessedLedger() {
    ledger::LogOptions o = LogOptionsFor(dir.File("log"));
    o.origin = "log.example/quipu";
    log = std::move(ledger::Log::Open(o)).value();
  }
  void Grow(int n) {
    std::vector<json> entries;
    for (int i = 0; i < n; ++i) {
      entries.push_back({{"type", "qr_revoke"}, {"client", "c_000000000001"}, {"target", i}, {"reason", "x"}});
    }
    auto done = log->Append(ledger::AppendRequest(std::move(entries))).get();
    ASSERT_TRUE(done.ok()) << done.status().ToString();
  }
  uint64_t size() const { return log->Head().tree_size; }
  std::string Body(uint64_t old) const {
    const ledger::LogHead head = log->Head();
    std::string body = "old " + std::to_string(old) + "\n";
    if (old > 0 && old < head.tree_size) {
      auto proof = log->ProveConsistency(old, head.tree_size);
      EXPECT_TRUE(proof.ok());
      for (const auto& h : *proof) body += crypto::Base64Encode(h) + "\n";
    }
    return body + "\n" + head.checkpoint;
  }
  std::string LogsFile() const { return "# the logs\nlog " + log->verifier_key() + " https://log.example/\n"; }
};

struct Fixture {
  WitnessedLedger witnessed;
  testing::TempDir dir;
  std::unique_ptr<ledger::Log> log;
  std::unique_ptr<Witness> witness;
  int64_t now = 1796083200;
  void Open() {
    witness.reset();
    log.reset();
    log = std::move(ledger::Log::Open(LogOptionsFor(dir.File("w")))).value();
    auto key = LoadOrCreateWitnessKey(dir.File("w") + "/witness.key", "witness.example/w1");
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    auto logs = ParseWitnessedLogs(witnessed.LogsFile());
    ASSERT_TRUE(logs.ok()) << logs.status().ToString();
    auto w = Witness::Create(*log, std::move(*key), std::move(*logs), [this] { return now; });
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    witness = std::move(*w);
  }
  Fixture() { Open(); }
  WitnessAnswer Add(const std::string& body) {
    auto a = witness->AddCheckpoint(body);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? *a : WitnessAnswer{};
  }
};

// The checkpoint body of a note (its text).
std::string TextOf(const std::string& note) { return note.substr(0, note.find("\n\n") + 1); }

TEST(Witness, CosignsALogAsItGrowsAndOnlyConsistently) {
  Fixture f;
  f.witnessed.Grow(5);
  WitnessAnswer first = f.Add(f.witnessed.Body(0));
  ASSERT_EQ(first.kind, Kind::kCosigned) << first.detail;
  // The line is a cosignature/v1 by the witness's key, at the clock's time.
  auto cosigner = crypto::ParseCosignerVerifierKey(f.witness->verifier_key());
  ASSERT_TRUE(cosigner.ok());
  EXPECT_EQ(cosigner->name, "witness.example/w1");
  const std::string cp = f.witnessed.log->Head().checkpoint;
  auto t = crypto::VerifyCosignature(first.cosignatures, *cosigner, TextOf(cp));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, std::optional<uint64_t>(1796083200));
  // The monitoring view: the checkpoint with the log's and the witness's lines.
  auto latest = f.witness->LatestCheckpoint(crypto::HexEncode(crypto::Sha256(std::string("log.example/quipu"))));
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ(**latest, cp + first.cosignatures);
  EXPECT_EQ(*f.witness->LatestCheckpoint(std::string(64, '0')), std::nullopt);

  // Growing with a proof from the size cosigned.
  f.witnessed.Grow(8);
  WitnessAnswer second = f.Add(f.witnessed.Body(5));
  EXPECT_EQ(second.kind, Kind::kCosigned) << second.detail;
  // From another size than the one cosigned: 409 with that size.
  f.witnessed.Grow(2);
  WitnessAnswer stale = f.Add(f.witnessed.Body(5));
  EXPECT_EQ(stale.kind, Kind::kConflict);
  EXPECT_EQ(stale.size, 13u);
  EXPECT_EQ(f.Add(f.witnessed.Body(0)).kind, Kind::kConflict);
  const WitnessAnswer from13 = f.Add(f.witnessed.Body(13));
  EXPECT_EQ(from13.kind, Kind::kCosigned) << from13.detail;
  // The same checkpoint again (old = its size, no proof) is cosigned again.
  EXPECT_EQ(f.Add(f.witnessed.Body(15)).kind, Kind::kCosigned);

  // Lines the witness did not verify are not kept: a line forged in this
  // witness's name rides along the request, not into the monitoring view.
  const std::string cp15 = f.witnessed.log->Head().checkpoint;
  const std::string forged_line = "\xe2\x80\x94 witness.example/w1 " + crypto::Base64Encode(crypto::Sha256(std::string("x"))) + "\n";
  const WitnessAnswer with_forged = f.Add("old 15\n\n" + cp15 + forged_line);
  ASSERT_EQ(with_forged.kind, Kind::kCosigned) << with_forged.detail;
  auto monitored = f.witness->LatestCheckpoint(crypto::HexEncode(crypto::Sha256(std::string("log.example/quipu"))));
  ASSERT_TRUE(monitored.ok() && monitored->has_value());
  EXPECT_EQ(**monitored, cp15 + with_forged.cosignatures);

  // Kept across a restart: the witness still knows it cosigned 15.
  f.Open();
  WitnessAnswer after = f.Add(f.witnessed.Body(0));
  EXPECT_EQ(after.kind, Kind::kConflict);
  EXPECT_EQ(after.size, 15u);
}

TEST(Witness, RefusesWhatTheSpecRefuses) {
  Fixture f;
  f.witnessed.Grow(6);
  ASSERT_EQ(f.Add(f.witnessed.Body(0)).kind, Kind::kCosigned);
  f.witnessed.Grow(4);
  const std::string good = f.witnessed.Body(6);
  // A proof that does not verify: 422.
  // (the first proof line replaced by another hash: still base64 of 32
  // bytes, so it is the proof that fails, not its encoding)
  std::string bad_proof = good;
  const size_t first_line = bad_proof.find('\n') + 1;
  bad_proof.replace(first_line, bad_proof.find('\n', first_line) - first_line,
                    crypto::Base64Encode(crypto::Sha256(std::string("another hash"))));
  EXPECT_EQ(f.Add(bad_proof).kind, Kind::kInconsistent);
  // A proof with old 0 while the witness is at 6: the size is wrong first
  // (409, checked before the proof).
  EXPECT_EQ(f.Add("old 0\n" + good.substr(good.find('\n') + 1)).kind, Kind::kConflict);
  // old above the checkpoint's size: 400.
  EXPECT_EQ(f.Add("old 11\n\n" + f.witnessed.log->Head().checkpoint).kind, Kind::kBadRequest);
  // Malformed bodies: 400.
  for (const std::string& body : {std::string(""), std::string("old 01\n\n"), std::string("new 6\n\n"),
                                  std::string("old 6\nnot base64!\n\n"), std::string("old 6\n")}) {
    EXPECT_EQ(f.Add(body).kind, Kind::kBadRequest) << body;
  }
  std::string many = "old 6\n";
  for (int i = 0; i < 64; ++i) many += crypto::Base64Encode(crypto::Sha256(std::to_string(i))) + "\n";
  EXPECT_EQ(f.Add(many + "\n" + f.witnessed.log->Head().checkpoint).kind, Kind::kBadRequest);
  // Another origin: 404. The right origin signed by another key: 403.
  auto other = crypto::NoteSigner::Create("other.example/log", crypto::SigningKey::Generate());
  ASSERT_TRUE(other.ok());
  const std::string foreign = *crypto::SignNote("other.example/log\n1\n" + std::string(43, 'A') + "=\n", *other);
  EXPECT_EQ(f.Add("old 0\n\n" + foreign).kind, Kind::kUnknownLog);
  auto impostor = crypto::NoteSigner::Create("log.example/quipu", crypto::SigningKey::Generate());
  ASSERT_TRUE(impostor.ok());
  const std::string text = TextOf(f.witnessed.log->Head().checkpoint);
  const std::string forged = *crypto::SignNote(text, *impostor);
  EXPECT_EQ(f.Add("old 6\n\n" + forged).kind, Kind::kNotSigned);
  // The log's own line with one byte changed: 403 too.
  std::string tampered = f.witnessed.log->Head().checkpoint;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(f.Add("old 6\n\n" + tampered).kind, Kind::kNotSigned);
  // Still at 6, and the good request goes through.
  EXPECT_EQ(f.Add(good).kind, Kind::kCosigned);
}

TEST(Witness, AnotherRootAtTheSameSizeAndBadEmptyTreesAre422) {
  // The log's own key signs a second history: a split view.
  testing::TempDir keys;
  Fixture f;
  f.witnessed.Grow(3);
  ASSERT_EQ(f.Add(f.witnessed.Body(0)).kind, Kind::kCosigned);
  auto signer = crypto::LoadNoteSigner(f.witnessed.dir.File("log") + "/" + ledger::kNodeKeyFile);
  ASSERT_TRUE(signer.ok());
  const std::string other_root = crypto::Base64Encode(crypto::Sha256(std::string("another history")));
  const std::string split = *crypto::SignNote("log.example/quipu\n3\n" + other_root + "\n", *signer);
  const WitnessAnswer a = f.Add("old 3\n\n" + split);
  EXPECT_EQ(a.kind, Kind::kInconsistent) << a.detail;
  EXPECT_EQ(a.origin, "log.example/quipu");
  // A fresh witness state: size 0 must have the empty tree's root, and a
  // proof from 0 is refused.
  Fixture g;
  const std::string empty_root = crypto::Base64Encode(crypto::Sha256(std::string()));
  auto gs = crypto::LoadNoteSigner(g.witnessed.dir.File("log") + "/" + ledger::kNodeKeyFile);
  ASSERT_TRUE(gs.ok());
  EXPECT_EQ(g.Add("old 0\n\n" + *crypto::SignNote("log.example/quipu\n0\n" + other_root + "\n", *gs)).kind,
            Kind::kInconsistent);
  EXPECT_EQ(g.Add("old 0\n\n" + *crypto::SignNote("log.example/quipu\n0\n" + empty_root + "\n", *gs)).kind,
            Kind::kCosigned);
  g.witnessed.Grow(4);
  std::string with_proof = "old 0\n" + crypto::Base64Encode(crypto::Sha256(std::string("x"))) + "\n\n" +
                           g.witnessed.log->Head().checkpoint;
  EXPECT_EQ(g.Add(with_proof).kind, Kind::kInconsistent);
  EXPECT_EQ(g.Add(g.witnessed.Body(0)).kind, Kind::kCosigned);
}

TEST(Witness, TheLogsFileIsTlogPolicy) {
  const std::string vk = crypto::VerifierKeyString("a.example/log", crypto::SigningKey::Generate().PublicKey());
  const std::string vk2 = crypto::VerifierKeyString("a.example/log", crypto::SigningKey::Generate().PublicKey());
  auto logs = ParseWitnessedLogs("log " + vk + "\nlog " + vk2 + " https://a.example/\n\nwitness w1 x\ngroup g any w1\nquorum g\n");
  ASSERT_TRUE(logs.ok()) << logs.status().ToString();
  ASSERT_EQ(logs->size(), 1u);
  EXPECT_EQ((*logs)[0].origin, "a.example/log");
  EXPECT_EQ((*logs)[0].keys.size(), 2u);
  EXPECT_FALSE(ParseWitnessedLogs("log " + vk + "\nlog " + vk + "\n").ok()) << "the same key twice";
  // The same public key under another name is the same key.
  auto again = crypto::ParseVerifierKey(vk);
  ASSERT_TRUE(again.ok());
  const std::string renamed = crypto::VerifierKeyString("b.example/log", again->public_key);
  EXPECT_FALSE(ParseWitnessedLogs("log " + vk + "\nlog " + renamed + "\n").ok());
  EXPECT_TRUE(ParseWitnessedLogs("  # a comment\nlog " + vk + " https://a.example/#frag\n").ok());
  EXPECT_FALSE(ParseWitnessedLogs("log " + vk + "\r\n").ok()) << "only spaces and tabs separate words";
  EXPECT_FALSE(ParseWitnessedLogs("log\n").ok());
  EXPECT_FALSE(ParseWitnessedLogs("log not-a-key\n").ok());
  auto bad = ParseWitnessedLogs("logs " + vk + "\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 1"), std::string::npos);
}

}  // namespace
}  // namespace quipu::node
