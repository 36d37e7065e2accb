// Base45 against RFC 9285's examples, round trips and its error cases.
#include "crypto/base45.h"

#include <gtest/gtest.h>

#include <random>

namespace quipu::crypto {
namespace {

TEST(Base45, Rfc9285Examples) {
  EXPECT_EQ(Base45Encode(AsBytes("AB")), "BB8");
  EXPECT_EQ(Base45Encode(AsBytes("Hello!!")), "%69 VD92EX0");
  EXPECT_EQ(Base45Encode(AsBytes("base-45")), "UJCLQE7W581");
  auto ietf = Base45Decode("QED8WEX0");
  ASSERT_TRUE(ietf.ok());
  EXPECT_EQ(AsString(*ietf), "ietf!");
  EXPECT_EQ(Base45Encode({}), "");
  EXPECT_TRUE(Base45Decode("")->empty());
}

TEST(Base45, RoundTripsEveryLength) {
  std::mt19937 rng(45);
  for (size_t n = 0; n < 300; ++n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    const std::string s = Base45Encode(b);
    EXPECT_EQ(s.size(), n / 2 * 3 + (n % 2) * 2);
    auto back = Base45Decode(s);
    ASSERT_TRUE(back.ok()) << s;
    EXPECT_EQ(*back, b);
  }
  const Bytes extremes = {0xff, 0xff, 0x00, 0x00, 0xff};
  EXPECT_EQ(*Base45Decode(Base45Encode(extremes)), extremes);
}

TEST(Base45, RejectsInvalidInput) {
  EXPECT_FALSE(Base45Decode("GGW").ok());    // 65536: RFC 9285 §6's example
  EXPECT_FALSE(Base45Decode("ZZZ").ok());
  EXPECT_FALSE(Base45Decode("Z6").ok());     // a final pair over 255
  EXPECT_FALSE(Base45Decode("A").ok());      // length 3k+1
  EXPECT_FALSE(Base45Decode("BB8A").ok());
  EXPECT_FALSE(Base45Decode("bb8").ok());    // lower case is not in the alphabet
  auto bad = Base45Decode("BB8B!8");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("offset 4"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace quipu::crypto
