// Hex, Base64 and Base64url against RFC 4648 §10, and strict decoding.
#include "crypto/encoding.h"

#include <gtest/gtest.h>

namespace quipu::crypto {
namespace {

TEST(Encoding, Rfc4648Base64) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},     {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(AsBytes(plain)), encoded);
    auto back = Base64Decode(encoded);
    ASSERT_TRUE(back.ok()) << encoded;
    EXPECT_EQ(AsString(*back), plain);
  }
}

TEST(Encoding, Base64UrlAndHex) {
  const Bytes b = {0xfb, 0xff, 0xfe, 0x00, 0x10};
  const std::string url = Base64UrlEncode(b);
  EXPECT_EQ(url.find_first_of("+/="), std::string::npos) << url;
  EXPECT_EQ(*Base64UrlDecode(url), b);
  EXPECT_EQ(HexEncode(b), "fbfffe0010");
  EXPECT_EQ(*HexDecode("fbfffe0010"), b);
  EXPECT_EQ(*HexDecode("FBFFFE0010"), b);
}

TEST(Encoding, StrictDecodingRejects) {
  for (const char* bad : {"Zg=", "Zg", "Z===", "Zm9v!", "Zm 9v", "Zh=="}) {
    EXPECT_FALSE(Base64Decode(bad).ok()) << bad;
  }
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
}

}  // namespace
}  // namespace quipu::crypto
