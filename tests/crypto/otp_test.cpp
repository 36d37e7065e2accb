// HOTP and TOTP against RFC 4226 Appendix D and RFC 6238 Appendix B, and
// against oathtool (Debian oathtool); Base32 against RFC 4648 §10.
#include "crypto/otp.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/common/process.h"

namespace quipu::crypto {
namespace {

const std::string kSeed20 = "12345678901234567890";
const std::string kSeed32 = "12345678901234567890123456789012";
const std::string kSeed64 = "1234567890123456789012345678901234567890123456789012345678901234";

TEST(Otp, Rfc4226AppendixD) {
  const char* want[] = {"755224", "287082", "359152", "969429", "338314",
                        "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t c = 0; c < 10; ++c) {
    auto code = Hotp(AsBytes(kSeed20), c, 6, OtpHash::kSha1);
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(*code, want[c]) << c;
  }
}

TEST(Otp, Rfc6238AppendixB) {
  struct Row {
    uint64_t time;
    const char *sha1, *sha256, *sha512;
  };
  const Row rows[] = {
      {59, "94287082", "46119246", "90693936"},
      {1111111109, "07081804", "68084774", "25091201"},
      {1111111111, "14050471", "67062674", "99943326"},
      {1234567890, "89005924", "91819424", "93441116"},
      {2000000000, "69279037", "90698825", "38618901"},
      {20000000000, "65353130", "77737706", "47863826"},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(*Totp(AsBytes(kSeed20), r.time, 8, OtpHash::kSha1), r.sha1) << r.time;
    EXPECT_EQ(*Totp(AsBytes(kSeed32), r.time, 8, OtpHash::kSha256), r.sha256) << r.time;
    EXPECT_EQ(*Totp(AsBytes(kSeed64), r.time, 8, OtpHash::kSha512), r.sha512) << r.time;
  }
}

TEST(Otp, AgreesWithOathtool) {
  std::mt19937_64 rng(6238);
  const struct {
    OtpHash hash;
    const char* mode;
  } hashes[] = {{OtpHash::kSha1, "sha1"}, {OtpHash::kSha256, "sha256"}, {OtpHash::kSha512, "sha512"}};
  for (int i = 0; i < 12; ++i) {
    Bytes key(20 + rng() % 44);
    for (auto& b : key) b = static_cast<uint8_t>(rng());
    const uint64_t t = rng() % 4000000000ULL;
    const int digits = 6 + static_cast<int>(rng() % 3);
    const auto& h = hashes[i % 3];
    auto r = testing::RunShell("oathtool --totp=" + std::string(h.mode) + " -d " + std::to_string(digits) +
                               " -N @" + std::to_string(t) + " " + HexEncode(key));
    ASSERT_EQ(r.exit_code, 0) << "oathtool (Debian oathtool) failed: " << r.err;
    EXPECT_EQ(*Totp(key, t, digits, h.hash) + "\n", r.out) << h.mode << " t=" << t;
  }
}

TEST(Otp, VerifyAcceptsTheWindowAndSaysWhichStep) {
  const auto key = AsBytes(kSeed20);
  const uint64_t now = 1795000000;
  const std::string current = *Totp(key, now, 6, OtpHash::kSha1);
  const std::string previous = *Totp(key, now - 30, 6, OtpHash::kSha1);
  const std::string next = *Totp(key, now + 30, 6, OtpHash::kSha1);
  const std::string old = *Totp(key, now - 60, 6, OtpHash::kSha1);
  EXPECT_EQ(**VerifyTotp(key, current, now, 1, 6, OtpHash::kSha1), now / 30);
  EXPECT_EQ(**VerifyTotp(key, previous, now, 1, 6, OtpHash::kSha1), now / 30 - 1);
  EXPECT_EQ(**VerifyTotp(key, next, now, 1, 6, OtpHash::kSha1), now / 30 + 1);
  if (old != current && old != previous && old != next) {
    EXPECT_FALSE(VerifyTotp(key, old, now, 1, 6, OtpHash::kSha1)->has_value());
  }
  EXPECT_FALSE(VerifyTotp(key, "12345", now, 1, 6, OtpHash::kSha1)->has_value());
  EXPECT_FALSE(VerifyTotp(key, current + "0", now, 1, 6, OtpHash::kSha1)->has_value());
  EXPECT_FALSE(VerifyTotp(key, "", now, 1, 6, OtpHash::kSha1)->has_value());
}

TEST(Otp, RejectsBadParameters) {
  EXPECT_FALSE(Hotp(AsBytes(kSeed20), 0, 5, OtpHash::kSha1).ok());
  EXPECT_FALSE(Hotp(AsBytes(kSeed20), 0, 9, OtpHash::kSha1).ok());
  EXPECT_FALSE(Hotp({}, 0, 6, OtpHash::kSha1).ok());
  EXPECT_FALSE(Totp(AsBytes(kSeed20), 10, 6, OtpHash::kSha1, 0).ok());
  EXPECT_FALSE(VerifyTotp(AsBytes(kSeed20), "123456", 10, 11, 6, OtpHash::kSha1).ok());
}

TEST(Base32, Rfc4648Section10) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "MY"}, {"fo", "MZXQ"}, {"foo", "MZXW6"}, {"foob", "MZXW6YQ"},
      {"fooba", "MZXW6YTB"}, {"foobar", "MZXW6YTBOI"}};
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(Base32Encode(AsBytes(plain)), encoded);
    EXPECT_EQ(AsString(*Base32Decode(encoded)), plain);
  }
  EXPECT_EQ(AsString(*Base32Decode("MZXW6YQ=")), "foob");   // padded
  EXPECT_EQ(AsString(*Base32Decode("mzxw 6ytb")), "fooba");  // lower case, spaced
  EXPECT_FALSE(Base32Decode("MZXW1").ok());
  EXPECT_FALSE(Base32Decode("MZ=XW").ok());
  EXPECT_FALSE(Base32Decode("M").ok());
}

TEST(Otp, OtpauthUri) {
  EXPECT_EQ(OtpauthUri("Ciudadanía Digital", "1234567 LP", AsBytes("foobar"), 6, OtpHash::kSha1, 30),
            "otpauth://totp/Ciudadan%C3%ADa%20Digital:1234567%20LP?secret=MZXW6YTBOI"
            "&issuer=Ciudadan%C3%ADa%20Digital&algorithm=SHA1&digits=6&period=30");
}

}  // namespace
}  // namespace quipu::crypto
