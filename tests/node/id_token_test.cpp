// node/id_token against ID tokens Node's own crypto signed
// (tests/node/make_id_tokens.mjs): the good token names its citizen, and
// each rule of OpenID Connect Core §3.1.3.7 refuses the token that breaks it.
#include <gtest/gtest.h>

#include <ctime>

#include "crypto/jose.h"
#include "node/id_token.h"
#include "tests/common/process.h"

namespace quipu::node {
namespace {

class IdTokenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    now_ = static_cast<int64_t>(std::time(nullptr));
    auto made = testing::RunShell("node " +
                                  testing::ShellQuote(std::string(QUIPU_SOURCE_DIR) + "/tests/node/make_id_tokens.mjs") +
                                  " " + testing::ShellQuote(dir_->path().string()) + " " + std::to_string(now_));
    ASSERT_EQ(made.exit_code, 0) << made.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static Result<Citizen> Check(const std::string& name, IdTokenRules rules = Rules()) {
    auto keys = crypto::JwkSet::Parse(testing::ReadFile(dir_->File("jwks.json")));
    EXPECT_TRUE(keys.ok()) << keys.status().ToString();
    return CheckIdToken(*keys, testing::ReadFile(dir_->File(name + ".jwt")), rules);
  }
  static IdTokenRules Rules() {
    IdTokenRules r;
    r.issuer = "https://id.example.bo";
    r.client_id = "quipu-dev";
    r.nonce = "n-1";
    r.now = now_;
    return r;
  }
  static testing::TempDir* dir_;
  static int64_t now_;
};
testing::TempDir* IdTokenTest::dir_ = nullptr;
int64_t IdTokenTest::now_ = 0;

TEST_F(IdTokenTest, TheGoodTokenNamesItsCitizen) {
  auto c = Check("good");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->subject, "c-81");
  EXPECT_EQ(c->document_number, "1234567");
  EXPECT_EQ(c->name, "Ana Quispe");
  EXPECT_EQ(c->email, "ana@example.bo");
  EXPECT_EQ(c->phone, "+59170000000");
  EXPECT_TRUE(Check("audiences_with_azp").ok());
  // Only contacts the provider says it verified (the boolean true) are
  // used: a code may be sent there.
  auto unverified = Check("email_unverified");
  ASSERT_TRUE(unverified.ok());
  EXPECT_EQ(unverified->email, "");
  EXPECT_EQ(Check("string_flags")->email, "");
  EXPECT_EQ(Check("string_flags")->phone, "");
  EXPECT_EQ(Check("unflagged")->email, "");
}

TEST_F(IdTokenTest, EachBrokenRuleRefusesTheToken) {
  for (const char* name : {"wrong_issuer", "wrong_audience", "audiences_without_azp", "expired",
                           "issued_in_the_future", "stale", "wrong_nonce", "no_nonce", "no_subject", "no_document",
                           "bad_document"}) {
    auto c = Check(name);
    EXPECT_FALSE(c.ok()) << name << " was accepted";
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), StatusCode::kPermissionDenied) << name << ": " << c.status().ToString();
    }
  }
}

TEST_F(IdTokenTest, TheRulesOfTheLoginMatterToo) {
  IdTokenRules r = Rules();
  r.nonce = "";  // a login without a nonce accepts no token
  EXPECT_EQ(Check("good", r).status().code(), StatusCode::kPermissionDenied);
  r = Rules();
  r.document_claim = "documento_identidad";  // another provider's claim name: absent here
  EXPECT_EQ(Check("good", r).status().code(), StatusCode::kPermissionDenied);
  r = Rules();
  r.now = now_ + 10000;  // the token has expired by then
  EXPECT_EQ(Check("good", r).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(IdTokenTest, AStrictProvidersClaimsComeFromUserinfoAboutTheSameSubject) {
  IdTokenRules r = Rules();
  r.document_may_come_from_userinfo = true;
  // A token without the document claim is accepted for userinfo to complete;
  // one whose document claim is malformed is refused all the same.
  auto bare = Check("no_document", r);
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  EXPECT_EQ(bare->document_number, "");
  EXPECT_EQ(Check("bad_document", r).status().code(), StatusCode::kPermissionDenied);
  // Userinfo about the same subject completes it; what the token said stays.
  auto full = WithUserinfo(*bare, R"({"sub":"c-81","document_number":"7654321","name":"Otra",
                                      "phone_number":"+59171111111","phone_number_verified":true})", r);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->document_number, "7654321");
  EXPECT_EQ(full->name, "Ana Quispe");
  EXPECT_EQ(full->phone, "+59170000000");
  // Refused: another subject, no document there either, not an object.
  for (const char* userinfo : {R"({"sub":"c-82","document_number":"7654321"})", R"({"sub":"c-81"})",
                               R"({"sub":"c-81","document_number":"12 34"})", "[1]", "not json"}) {
    EXPECT_EQ(WithUserinfo(*bare, userinfo, r).status().code(), StatusCode::kPermissionDenied) << userinfo;
  }
}

}  // namespace
}  // namespace quipu::node
