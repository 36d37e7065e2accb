// XChaCha20-Poly1305 against draft-irtf-cfrg-xchacha §A.3.1, round trips,
// and every kind of tampering.
#include "crypto/aead.h"

#include <gtest/gtest.h>

#include "crypto/random.h"

namespace quipu::crypto {
namespace {

Bytes Hex(std::string_view h) { return *HexDecode(h); }

Bytes Range(uint8_t from, size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(from + i);
  return b;
}

TEST(Aead, DraftXChaChaA31) {
  const std::string plaintext =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen "
      "would be it.";
  const Bytes aad = Hex("50515253c0c1c2c3c4c5c6c7");
  const Bytes key = Range(0x80, 32);
  const Bytes nonce = Range(0x40, 24);
  auto sealed = AeadSeal(key, nonce, AsBytes(plaintext), aad);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(HexEncode(*sealed),
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39"
            "ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
            "21f9664c97637da9768812f615c68b13b52e"
            "c0875924c1c7987947deafd8780acf49");
  auto opened = AeadOpen(key, nonce, *sealed, aad);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(AsString(*opened), plaintext);
}

TEST(Aead, EveryTamperingIsRefused) {
  const Bytes key = RandomBytes(kAeadKeyBytes);
  const Bytes nonce = RandomBytes(kAeadNonceBytes);
  const Bytes ad = {1, 2, 3};
  auto sealed = AeadSeal(key, nonce, AsBytes("campos del documento"), ad);
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    Bytes bad = *sealed;
    bad[i] ^= 0x01;
    auto r = AeadOpen(key, nonce, bad, ad);
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  }
  Bytes other_nonce = nonce;
  other_nonce[0] ^= 1;
  EXPECT_FALSE(AeadOpen(key, other_nonce, *sealed, ad).ok());
  EXPECT_FALSE(AeadOpen(key, nonce, *sealed, Bytes{1, 2, 4}).ok());
  EXPECT_FALSE(AeadOpen(RandomBytes(kAeadKeyBytes), nonce, *sealed, ad).ok());
  EXPECT_FALSE(AeadOpen(key, nonce, Bytes(sealed->begin(), sealed->end() - 1), ad).ok());
  EXPECT_FALSE(AeadOpen(key, nonce, Bytes(5), ad).ok());
  // Empty plaintext still authenticates.
  auto empty = AeadSeal(key, nonce, {}, ad);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), kAeadTagBytes);
  EXPECT_TRUE(AeadOpen(key, nonce, *empty, ad)->empty());
}

TEST(Aead, WrongSizesAreInvalidArguments) {
  EXPECT_EQ(AeadSeal(Bytes(31), Bytes(24), {}, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AeadSeal(Bytes(32), Bytes(12), {}, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AeadOpen(Bytes(33), Bytes(24), Bytes(16), {}).status().code(), StatusCode::kInvalidArgument);
}

TEST(Random, BytesDiffer) {
  EXPECT_NE(RandomBytes(32), RandomBytes(32));
  EXPECT_EQ(RandomBytes(0).size(), 0u);
  EXPECT_TRUE(InitCrypto().ok());
}

}  // namespace
}  // namespace quipu::crypto
