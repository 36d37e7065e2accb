// crypto/jose against tokens Node's own crypto signed (tests/crypto/
// make_jws.mjs): the good ones verify and give back their claims; the
// crafted ones (alg none, HMAC keyed with the public key, another key, a
// changed payload, an unknown kid, crit, an encryption key) are refused.
#include <gtest/gtest.h>

#include "crypto/jose.h"
#include "tests/common/process.h"

namespace quipu::crypto {
namespace {

class JoseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    auto made = testing::RunShell("node " + testing::ShellQuote(std::string(QUIPU_SOURCE_DIR) + "/tests/crypto/make_jws.mjs") +
                                  " " + testing::ShellQuote(dir_->path().string()));
    ASSERT_EQ(made.exit_code, 0) << made.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string Read(const std::string& name) { return testing::ReadFile(dir_->File(name)); }
  static JwkSet Keys() {
    auto set = JwkSet::Parse(Read("jwks.json"));
    EXPECT_TRUE(set.ok()) << set.status().ToString();
    return std::move(set).value();
  }
  static testing::TempDir* dir_;
};
testing::TempDir* JoseTest::dir_ = nullptr;

TEST_F(JoseTest, TokensSignedByTheProvidersKeysVerify) {
  const JwkSet keys = Keys();
  EXPECT_EQ(keys.size(), 3u);  // the encryption key is left out
  for (const char* name : {"rs256", "ps256", "es256", "es256_no_kid", "rs256_no_kid"}) {
    auto v = keys.Verify(Read(std::string(name) + ".jws"));
    ASSERT_TRUE(v.ok()) << name << ": " << v.status().ToString();
    EXPECT_EQ(v->payload, Read("claims.json")) << name;
  }
  EXPECT_EQ(keys.Verify(Read("es256.jws"))->kid, "ec-1");
}

TEST_F(JoseTest, CraftedTokensAreRefused) {
  const JwkSet keys = Keys();
  struct Case {
    const char* file;
    StatusCode code;
  } cases[] = {
      {"none", StatusCode::kPermissionDenied},
      {"hs256_public_key", StatusCode::kPermissionDenied},
      {"wrong_key", StatusCode::kPermissionDenied},
      {"tampered", StatusCode::kPermissionDenied},
      {"unknown_kid", StatusCode::kNotFound},
      {"enc_key", StatusCode::kNotFound},
      {"alg_mismatch_key", StatusCode::kNotFound},
      {"crit", StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    auto v = keys.Verify(Read(std::string(c.file) + ".jws"));
    EXPECT_FALSE(v.ok()) << c.file << " verified";
    if (!v.ok()) {
      EXPECT_EQ(v.status().code(), c.code) << c.file << ": " << v.status().ToString();
    }
  }
  // A caller that accepts ES256 only refuses an RS256 token.
  const std::string_view es_only[] = {"ES256"};
  EXPECT_EQ(keys.Verify(Read("rs256.jws"), es_only).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(JoseTest, MalformedInputsAreErrorsNotCrashes) {
  const JwkSet keys = Keys();
  for (std::string bad : {std::string(""), std::string("a.b"), std::string("a.b.c.d"), std::string("!!.??.**"),
                          std::string("e30.e30."), std::string(kMaxJwsBytes + 1, 'a')}) {
    auto v = keys.Verify(bad);
    EXPECT_FALSE(v.ok()) << bad.substr(0, 40);
  }
  EXPECT_EQ(JwkSet::Parse("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(JwkSet::Parse(R"({"keys":{}})").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(JwkSet::Parse(Read("jwks-hmac-only.json")).status().code(), StatusCode::kInvalidArgument);
  std::string many = R"({"keys":[)";
  for (size_t i = 0; i <= kMaxJwksKeys; ++i) many += std::string(i ? "," : "") + R"({"kty":"EC"})";
  EXPECT_EQ(JwkSet::Parse(many + "]}").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace quipu::crypto
