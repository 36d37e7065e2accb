// SHA-256 against FIPS 180-4 examples and sha256sum; streaming equals
// one-shot for any chunking; files of every interesting size.
#include "crypto/sha256.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <random>

#include "crypto/encoding.h"
#include "tests/common/process.h"

namespace quipu::crypto {
namespace {

TEST(Sha256, FipsExamples) {
  EXPECT_EQ(HexEncode(Sha256(std::string_view(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256(std::string_view("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256(std::string_view("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256Hasher h;
  const std::string a(1000, 'a');
  for (int i = 0; i < 1000; ++i) h.Update(a);
  EXPECT_EQ(HexEncode(h.Finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Finish starts over.
  h.Update("abc");
  EXPECT_EQ(h.Finish(), Sha256(std::string_view("abc")));
}

TEST(HmacSha256, Rfc4231TestCasesAndOpenssl) {
  const Bytes key1(20, 0x0b);
  EXPECT_EQ(HexEncode(HmacSha256(key1, "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(HexEncode(HmacSha256(AsBytes(std::string_view("Jefe")), "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // A key longer than the block is hashed first (RFC 4231 test case 6).
  const Bytes key6(131, 0xaa);
  EXPECT_EQ(HexEncode(HmacSha256(key6, "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  auto r = testing::RunShell("printf 'quipu' | openssl dgst -sha256 -hmac 'clave' | sed 's/.*= //'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(HexEncode(HmacSha256(AsBytes(std::string_view("clave")), "quipu")) + "\n", r.out);
}

TEST(Sha256, StreamingEqualsOneShotForAnyChunking) {
  std::mt19937 rng(256);
  std::string data(200000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  const Digest want = Sha256(data);
  for (int round = 0; round < 50; ++round) {
    Sha256Hasher h;
    size_t at = 0;
    while (at < data.size()) {
      const size_t n = std::min<size_t>(data.size() - at, rng() % 9000);
      h.Update(std::string_view(data).substr(at, n));
      at += n;
    }
    ASSERT_EQ(h.Finish(), want);
  }
  EXPECT_EQ(Sha256Concat(AsBytes(std::string_view(data).substr(0, 77)), AsBytes(std::string_view(data).substr(77))),
            want);
}

TEST(Sha256, FilesAgreeWithSha256sum) {
  testing::TempDir dir;
  std::mt19937 rng(180);
  for (size_t size : {size_t{0}, size_t{1}, size_t{55}, size_t{64}, size_t{65}, size_t{262143}, size_t{262144},
                      size_t{262145}, size_t{3000000}}) {
    std::string data(size, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    const std::string path = dir.File("f" + std::to_string(size));
    testing::WriteFile(path, data);
    uint64_t got_size = 0;
    auto d = Sha256File(path, &got_size);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(got_size, size);
    auto r = testing::RunShell("sha256sum " + testing::ShellQuote(path));
    EXPECT_EQ(HexEncode(*d), r.out.substr(0, 64)) << size;
  }
  EXPECT_EQ(Sha256File(dir.File("missing")).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(Sha256File(dir.path().string()).ok());  // a directory
}

TEST(Sha256, PrefixesInOnePassAgreeWithHashingEachPrefix) {
  std::mt19937 rng(7);
  std::string data(100000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  std::vector<uint64_t> ends = {0, 1, 63, 64, 65, 1000, 1000, 99999, 100000};
  for (int i = 0; i < 50; ++i) ends.push_back(rng() % data.size());
  std::sort(ends.begin(), ends.end());
  auto got = Sha256Prefixes(AsBytes(data), ends);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), ends.size());
  for (size_t i = 0; i < ends.size(); ++i) {
    EXPECT_EQ((*got)[i], Sha256(std::string_view(data).substr(0, ends[i]))) << ends[i];
  }
  EXPECT_TRUE(Sha256Prefixes(AsBytes(data), {}).ok());
  // Errors: not ascending, beyond the data.
  const std::vector<uint64_t> descending = {10, 5};
  EXPECT_EQ(Sha256Prefixes(AsBytes(data), descending).status().code(), StatusCode::kInvalidArgument);
  const std::vector<uint64_t> beyond = {100001};
  EXPECT_EQ(Sha256Prefixes(AsBytes(data), beyond).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace quipu::crypto
