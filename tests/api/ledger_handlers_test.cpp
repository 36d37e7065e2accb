// The ledger routes' handlers as plain functions over node::LedgerReader,
// without a socket: what each answers, its proofs checked with the RFC 9162
// verifier, and an error-path section; and the shared path parsers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/ledger_routes.h"
#include "api/params.h"
#include "crypto/encoding.h"
#include "ledger/log.h"
#include "ledger/merkle.h"
#include "node/schema.h"
#include "tests/common/process.h"

namespace quipu::api {
namespace {

using nlohmann::json;

crypto::Digest FromB64(const json& j) {
  auto b = crypto::Base64Decode(j.get<std::string>());
  crypto::Digest d{};
  if (b.ok() && b->size() == 32) std::copy(b->begin(), b->end(), d.begin());
  return d;
}

class LedgerHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger::LogOptions o = node::LogOptionsFor(dir_.File("data"));
    auto log = ledger::Log::Open(o);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    for (int i = 0; i < 3; ++i) {
      std::vector<json> entries;
      for (int k = 0; k < 10; ++k) {
        const std::string h = crypto::HexEncode(crypto::Sha256(std::to_string(i * 10 + k)));
        entries.push_back({{"type", "approval"}, {"client", "c_t"}, {"request", "r_" + std::to_string(i)},
                           {"subject", h}, {"doc", {{"sha256", h}, {"media_type", "application/pdf"}}}});
      }
      ASSERT_TRUE(log_->Append(ledger::AppendRequest(std::move(entries))).get().ok());
    }
    reader_ = std::make_unique<node::LedgerReader>(*log_);
  }
  Request Get(std::vector<std::string> params, std::vector<std::pair<std::string, std::string>> query = {}) {
    Request r;
    r.params = std::move(params);
    r.query = std::move(query);
    return r;
  }

  testing::TempDir dir_;
  std::unique_ptr<ledger::Log> log_;
  std::unique_ptr<node::LedgerReader> reader_;
};

TEST_F(LedgerHandlersTest, EntriesCarryProofsThatVerify) {
  for (std::optional<uint64_t> size : {std::optional<uint64_t>(), std::optional<uint64_t>(20)}) {
    Request req = Get({"13"});
    if (size) req.query.emplace_back("size", std::to_string(*size));
    Response r = ledger_handlers::Entry(*reader_, req);
    ASSERT_EQ(r.status, 200u) << r.body;
    json j = json::parse(r.body);
    const uint64_t tree = j["tree_size"];
    EXPECT_EQ(tree, size.value_or(30));
    std::vector<crypto::Digest> proof;
    for (const json& p : j["proof"]) proof.push_back(FromB64(p));
    const crypto::Digest leaf = ledger::LeafHash(crypto::AsBytes(*log_->Entry(13)));
    EXPECT_EQ(j["entry"], json::parse(*log_->Entry(13)));
    EXPECT_EQ(leaf, FromB64(j["leaf_hash"]));
    auto root = log_->Root(tree);
    ASSERT_TRUE(root.ok());
    EXPECT_TRUE(ledger::VerifyInclusion(13, tree, leaf, proof, *root));
  }
}

TEST_F(LedgerHandlersTest, LogCheckpointBlocksAndConsistency) {
  json head = json::parse(ledger_handlers::Log(*reader_).body);
  EXPECT_EQ(head["tree_size"], 30);
  EXPECT_EQ(head["vkey"], log_->verifier_key());
  Response cp = ledger_handlers::Checkpoint(*reader_);
  EXPECT_EQ(cp.body, log_->Head().checkpoint);
  EXPECT_EQ(ledger_handlers::SignedCheckpoint(*reader_, Get({"20"})).status, 200u);
  json latest = json::parse(ledger_handlers::Block(*reader_, Get({"latest"})).body);
  EXPECT_EQ(latest["height"], 2);
  EXPECT_EQ(latest["tree_size"], 30);
  EXPECT_EQ(latest["hash"], crypto::Base64Encode(crypto::Sha256(latest["header"].get<std::string>())));
  json first = json::parse(ledger_handlers::Block(*reader_, Get({"0"})).body);
  EXPECT_EQ(first["tree_size"], 10);
  Response consistency = ledger_handlers::Consistency(*reader_, Get({}, {{"old", "10"}, {"new", "30"}}));
  ASSERT_EQ(consistency.status, 200u);
  const json answer = json::parse(consistency.body);
  std::vector<crypto::Digest> proof;
  for (const json& p : answer["proof"]) proof.push_back(FromB64(p));
  EXPECT_TRUE(ledger::VerifyConsistency(10, 30, *log_->Root(10), *log_->Root(30), proof));
}

TEST_F(LedgerHandlersTest, ErrorsAreProblemsWithTheRightStatus) {
  EXPECT_EQ(ledger_handlers::Entry(*reader_, Get({"30"})).status, 404u);
  EXPECT_EQ(ledger_handlers::Entry(*reader_, Get({"x"})).status, 400u);
  EXPECT_EQ(ledger_handlers::Entry(*reader_, Get({"01"})).status, 400u);
  EXPECT_EQ(ledger_handlers::Entry(*reader_, Get({"5"}, {{"size", "31"}})).status, 404u);  // no such tree
  EXPECT_EQ(ledger_handlers::SignedCheckpoint(*reader_, Get({"7"})).status, 404u);  // never signed
  EXPECT_EQ(ledger_handlers::Block(*reader_, Get({"3"})).status, 404u);
  EXPECT_EQ(ledger_handlers::Consistency(*reader_, Get({}, {{"old", "10"}})).status, 400u);
  EXPECT_EQ(ledger_handlers::Consistency(*reader_, Get({}, {{"old", "31"}, {"new", "30"}})).status, 400u);
  Request tile;
  tile.path = "/tile/0/01";
  EXPECT_EQ(ledger_handlers::Tile(*reader_, tile).status, 404u);
  tile.path = "/tile/0/000.p/30";
  Response partial = ledger_handlers::Tile(*reader_, tile);
  EXPECT_EQ(partial.status, 200u);
  EXPECT_EQ(partial.body.size(), 30u * 32);
  tile.path = "/tile/0/000";  // a full tile the tree does not have yet
  EXPECT_EQ(ledger_handlers::Tile(*reader_, tile).status, 404u);
  for (const Response& r : {ledger_handlers::Entry(*reader_, Get({"x"})), ledger_handlers::Block(*reader_, Get({"3"}))}) {
    EXPECT_EQ(r.content_type, "application/problem+json");
  }
}

TEST(Params, IndicesAndHashesHaveOneRule) {
  EXPECT_EQ(*ParseIndexParam("0", "i"), 0u);
  EXPECT_EQ(*ParseIndexParam("9007199254740991", "i"), (uint64_t{1} << 53) - 1);
  for (const char* bad : {"", "-1", "+1", "01", "1.0", "1e3", "9007199254740992", "99999999999999999", " 1", "0x10"}) {
    EXPECT_EQ(ParseIndexParam(bad, "the index").status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(ParseIndexParam("x", "the entry index").status().message().find("the entry index"), std::string::npos);
  const std::string h = crypto::HexEncode(crypto::Sha256(std::string("d")));
  EXPECT_EQ(crypto::HexEncode(*ParseSha256Param(h)), h);
  EXPECT_FALSE(ParseSha256Param(h.substr(1)).ok());
  EXPECT_FALSE(ParseSha256Param(std::string(64, 'g')).ok());
}

}  // namespace
}  // namespace quipu::api
