// Ed25519 keys: RFC 8032 §7.1 known answers, sign/verify, and the key file.
#include "crypto/ed25519.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "crypto/encoding.h"
#include "crypto/note.h"

namespace quipu::crypto {
namespace {

namespace fs = std::filesystem;

Bytes Hex(std::string_view hex) {
  Result<Bytes> b = HexDecode(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : Bytes{};
}

struct Rfc8032Vector {
  const char* name;
  const char* secret_key;  // RFC 8032 calls the 32-byte seed the secret key
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 §7.1, TEST 1, 2 and 3.
const Rfc8032Vector kVectors[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

TEST(Ed25519Test, Rfc8032KnownAnswers) {
  for (const Rfc8032Vector& v : kVectors) {
    SCOPED_TRACE(v.name);
    Bytes seed = Hex(v.secret_key), message = Hex(v.message), expected = Hex(v.signature);
    Result<SigningKey> key = SigningKey::FromSeed(seed);
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_EQ(HexEncode(key->PublicKey()), v.public_key);
    EXPECT_EQ(HexEncode(key->Seed()), v.secret_key);
    Ed25519Signature sig = key->Sign(message);
    EXPECT_EQ(HexEncode(sig), v.signature);
    EXPECT_TRUE(VerifyEd25519(Hex(v.public_key), message, expected));
  }
}

TEST(Ed25519Test, GeneratedKeysSignAndVerify) {
  SigningKey a = SigningKey::Generate();
  SigningKey b = SigningKey::Generate();
  EXPECT_NE(HexEncode(a.PublicKey()), HexEncode(b.PublicKey()));
  const std::string msg = "quipu checkpoint\n";
  Ed25519Signature sig = a.Sign(msg);
  EXPECT_TRUE(VerifyEd25519(a.PublicKey(), AsBytes(msg), sig));
  EXPECT_FALSE(VerifyEd25519(b.PublicKey(), AsBytes(msg), sig));
  // The seed alone rebuilds the same key.
  Result<SigningKey> again = SigningKey::FromSeed(a.Seed());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->PublicKey(), a.PublicKey());
  EXPECT_EQ(again->Sign(msg), sig);  // deterministic
}

TEST(Ed25519Test, MovedKeyKeepsWorkingAndSourceIsEmpty) {
  SigningKey a = SigningKey::Generate();
  Ed25519PublicKey pk = a.PublicKey();
  SigningKey b = std::move(a);
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): documented state
  ASSERT_TRUE(b.valid());
  EXPECT_EQ(b.PublicKey(), pk);
  static_assert(!std::is_copy_constructible_v<SigningKey>);
  static_assert(!std::is_copy_assignable_v<SigningKey>);
  static_assert(std::is_nothrow_move_constructible_v<SigningKey>);
}

// ---------------------------------------------------------------- key files

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "quipu-ed25519-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  static std::string ReadAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Writes `content` to `path` with `mode` (not through SaveSigningKey).
  static void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
  }

  fs::path dir_;
};

TEST_F(KeyFileTest, SaveLoadRoundTrip) {
  SigningKey key = SigningKey::Generate();
  const std::string path = Path("node.key");
  ASSERT_TRUE(SaveSigningKey(path, key, "quipu.example/log").ok());

  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // One line in the C2SP private key format, and no temporary file left.
  std::string text = ReadAll(path);
  EXPECT_EQ(text.rfind("PRIVATE+KEY+quipu.example/log+", 0), 0u) << "format";
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);

  std::string name;
  Result<SigningKey> loaded = LoadSigningKey(path, &name);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(name, "quipu.example/log");
  EXPECT_EQ(loaded->PublicKey(), key.PublicKey());
  EXPECT_TRUE(std::equal(loaded->Seed().begin(), loaded->Seed().end(), key.Seed().begin()));
}

TEST_F(KeyFileTest, GoNotePrivateKeyFileLoads) {
  // A key written by Go's note.GenerateKey (package doc example) loads.
  const std::string path = Path("peter.key");
  WriteFile(path, "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz\n",
            0600);
  std::string name;
  Result<SigningKey> key = LoadSigningKey(path, &name);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(name, "PeterNeumann");
  // Its public key is the one in the doc's verifier key.
  EXPECT_EQ(VerifierKeyString(name, key->PublicKey()),
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  // Mode 0400 (read-only for the owner) is fine too.
  ASSERT_EQ(chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(LoadSigningKey(path).ok());
}

TEST_F(KeyFileTest, SaveRefusesToOverwriteUnlessAsked) {
  const std::string path = Path("node.key");
  SigningKey first = SigningKey::Generate();
  SigningKey second = SigningKey::Generate();
  ASSERT_TRUE(SaveSigningKey(path, first, "log").ok());
  Status s = SaveSigningKey(path, second, "log");
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  Result<SigningKey> kept = LoadSigningKey(path);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->PublicKey(), first.PublicKey());
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);

  ASSERT_TRUE(SaveSigningKey(path, second, "log", SecretFileOverwrite::kReplace).ok());
  Result<SigningKey> replaced = LoadSigningKey(path);
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->PublicKey(), second.PublicKey());
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

// ------------------------------------------------------------- error paths

TEST(Ed25519ErrorTest, TamperedMessageOrSignatureIsRejected) {
  const Rfc8032Vector& v = kVectors[2];
  Bytes pk = Hex(v.public_key), msg = Hex(v.message), sig = Hex(v.signature);
  ASSERT_TRUE(VerifyEd25519(pk, msg, sig));
  for (size_t i = 0; i < msg.size(); ++i) {
    Bytes bad = msg;
    bad[i] ^= 0x01;
    EXPECT_FALSE(VerifyEd25519(pk, bad, sig)) << "message byte " << i;
  }
  for (size_t i = 0; i < sig.size(); ++i) {
    Bytes bad = sig;
    bad[i] ^= 0x80;
    EXPECT_FALSE(VerifyEd25519(pk, msg, bad)) << "signature byte " << i;
  }
  Bytes longer = msg;
  longer.push_back(0);
  EXPECT_FALSE(VerifyEd25519(pk, longer, sig));
  Bytes bad_pk = pk;
  bad_pk[0] ^= 0x01;
  EXPECT_FALSE(VerifyEd25519(bad_pk, msg, sig));
  // Wrong sizes are a plain "no", never a read past the end.
  EXPECT_FALSE(VerifyEd25519(std::span(pk).first(31), msg, sig));
  EXPECT_FALSE(VerifyEd25519(pk, msg, std::span(sig).first(63)));
  Bytes sig65 = sig;
  sig65.push_back(0);
  EXPECT_FALSE(VerifyEd25519(pk, msg, sig65));
}

TEST(Ed25519ErrorTest, SeedOfWrongSize) {
  Bytes seed(31, 7);
  EXPECT_EQ(SigningKey::FromSeed(seed).status().code(), StatusCode::kInvalidArgument);
  seed.resize(33);
  EXPECT_EQ(SigningKey::FromSeed(seed).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SigningKey::FromSeed({}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(KeyFileTest, LoadRefusesGroupOrWorldAccessibleFiles) {
  const std::string path = Path("node.key");
  SigningKey key = SigningKey::Generate();
  ASSERT_TRUE(SaveSigningKey(path, key, "log").ok());
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602, 0660}) {
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
    Result<SigningKey> r = LoadSigningKey(path);
    ASSERT_FALSE(r.ok()) << std::oct << mode;
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << std::oct << mode;
    EXPECT_NE(r.status().message().find("chmod 600 " + path), std::string::npos)
        << r.status().message();
  }
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  EXPECT_TRUE(LoadSigningKey(path).ok());
}

TEST_F(KeyFileTest, LoadMissingFile) {
  Result<SigningKey> r = LoadSigningKey(Path("absent.key"));
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("absent.key"), std::string::npos);
}

TEST_F(KeyFileTest, LoadTruncatedOrMalformedFiles) {
  const std::string good_path = Path("good.key");
  ASSERT_TRUE(SaveSigningKey(good_path, SigningKey::Generate(), "log").ok());
  const std::string good = ReadAll(good_path);
  const std::string line = good.substr(0, good.size() - 1);
  // "PRIVATE+KEY+log+" is 16 bytes, the hash 8, then '+': the key starts at
  // 25 (the base64 key itself may hold '+').
  const std::string key64 = line.substr(25);
  ASSERT_EQ(line[24], '+');

  const std::string bad_cases[] = {
      "",                                    // empty
      "\n",                                  // empty line
      good.substr(0, good.size() / 2),       // truncated in the middle
      line.substr(0, line.size() - 4),       // truncated base64 (shorter seed)
      "PRIVATE+KEY+log",                     // no hash, no key
      "log+00000000+AAAA",                   // a verifier-shaped string
      "PRIVATE+KEY+log+zzzzzzzz+" + key64,   // bad hash digits
      "PRIVATE+KEY+log+00000000+" + key64,   // wrong hash
      "PRIVATE+KEY+other" + line.substr(15), // name not the hashed one
      "PRIVATE+KEY+log" + line.substr(15, 10) + key64.substr(0, 40) + "!!!=",  // bad base64
      "PUBLIC+KEY+log" + line.substr(15),    // wrong prefix
      line + "AAAA",                         // seed too long
      line.substr(0, 25) + "Ag" + key64.substr(2),  // algorithm 2
      std::string(5000, 'A'),                // far too large
  };
  int i = 0;
  for (const std::string& content : bad_cases) {
    SCOPED_TRACE("case " + std::to_string(i));
    const std::string path = Path("bad" + std::to_string(i++) + ".key");
    WriteFile(path, content, 0600);
    Result<SigningKey> r = LoadSigningKey(path);
    ASSERT_FALSE(r.ok());
    // A stored file that fails its check: damage (or a crash while it was
    // written), not bad input; the message says so and what to do.
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
    EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("restore it from a backup"), std::string::npos) << r.status().message();
    // Messages never quote the key material.
    EXPECT_EQ(r.status().message().find(key64), std::string::npos);
  }
}

TEST_F(KeyFileTest, LoadRefusesADirectory) {
  fs::create_directory(dir_ / "sub");
  chmod(Path("sub").c_str(), 0700);
  EXPECT_EQ(LoadSigningKey(Path("sub")).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(KeyFileTest, SaveRejectsBadNamesAndMissingDirectory) {
  SigningKey key = SigningKey::Generate();
  EXPECT_EQ(SaveSigningKey(Path("a.key"), key, "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SaveSigningKey(Path("a.key"), key, "with space").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SaveSigningKey(Path("a.key"), key, "a+b").code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(Path("a.key")));
  EXPECT_EQ(SaveSigningKey(Path("no/such/dir/a.key"), key, "log").code(), StatusCode::kIoError);
  SigningKey moved = std::move(key);
  EXPECT_EQ(SaveSigningKey(Path("b.key"), key, "log").code(),  // NOLINT: empty on purpose
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace quipu::crypto
