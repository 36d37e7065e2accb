// `quipu hash` and `quipu jcs`, run as the built program, checked against
// sha256sum and against each other.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "tests/common/minimal_pdf.h"
#include "tests/common/process.h"

namespace quipu {
namespace {

using testing::MinimalPdf;
using testing::RunQuipu;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;
using testing::WriteFile;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string Sha256Sum(const std::string& path) {
  auto r = RunShell("sha256sum " + ShellQuote(path));
  return r.out.substr(0, 64);
}

TEST(HashCommand, RawEqualsSha256sumForManySizes) {
  TempDir dir;
  for (size_t size : {0u, 1u, 55u, 56u, 64u, 1000u, 262143u, 262144u, 262145u, 3000001u}) {
    std::string path = dir.File("f" + std::to_string(size));
    WriteFile(path, RandomBytes(size, static_cast<uint32_t>(size)));
    auto r = RunQuipu("hash --type raw " + ShellQuote(path));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, Sha256Sum(path) + "  raw  " + path + "\n") << "size " << size;
  }
}

TEST(HashCommand, StandardInputIsHashedLikeAFile) {
  TempDir dir;
  std::string data = RandomBytes(700000, 7);
  std::string path = dir.File("x");
  WriteFile(path, data);
  auto r = RunQuipu("hash --type raw -", data);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, Sha256Sum(path) + "  raw  -\n");
}

TEST(HashCommand, BinaryIsDetectedAsRaw) {
  TempDir dir;
  std::string path = dir.File("bin");
  WriteFile(path, "\x01\x02 not json, not pdf");
  auto r = RunQuipu("hash " + ShellQuote(path));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, Sha256Sum(path) + "  raw  " + path + "\n");
}

TEST(HashCommand, JsonHashesItsCanonicalFormWhateverTheSpelling) {
  TempDir dir;
  std::vector<std::string> spellings = {
      R"({"b":[1,2.5,"x"],"a":{"z":null,"y":true},"n":100})",
      "{\n  \"a\": {\"y\": true, \"z\": null},\n  \"n\": 1e2,\n  \"b\": [1.0, 25E-1, \"x\"]\n}\n",
      R"(  {"n":100.000,"a":{"z":null,"y":true},"b":[10e-1,2.50,"\u0078"]})",
  };
  std::string canonical = R"({"a":{"y":true,"z":null},"b":[1,2.5,"x"],"n":100})";
  std::string canonical_path = dir.File("canonical");
  WriteFile(canonical_path, canonical);
  std::string expected = Sha256Sum(canonical_path);
  for (size_t i = 0; i < spellings.size(); ++i) {
    std::string path = dir.File("doc" + std::to_string(i) + ".json");
    WriteFile(path, spellings[i]);
    auto r = RunQuipu("hash " + ShellQuote(path));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, expected + "  json  " + path + "\n");
    auto jcs = RunQuipu("jcs " + ShellQuote(path));
    ASSERT_EQ(jcs.exit_code, 0) << jcs.err;
    EXPECT_EQ(jcs.out, canonical);
  }
}

TEST(HashCommand, PdfJsonOutputHasPagesAndRevisions) {
  TempDir dir;
  std::string original = MinimalPdf(3);
  std::string path = dir.File("three.pdf");
  WriteFile(path, original);
  auto r = RunQuipu("hash --json " + ShellQuote(path));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["sha256"], Sha256Sum(path));
  EXPECT_EQ(j["type"], "pdf");
  EXPECT_EQ(j["media_type"], "application/pdf");
  EXPECT_EQ(j["size"], original.size());
  EXPECT_EQ(j["pages"], 3);
  ASSERT_EQ(j["revisions"].size(), 1u);
  EXPECT_EQ(j["revisions"][0]["length"], original.size());
  EXPECT_EQ(j["revisions"][0]["sha256"], Sha256Sum(path));
}

// --- error paths ---

TEST(HashCommand, BadFileIsReportedAndOthersStillHashed) {
  TempDir dir;
  std::string good = dir.File("good"), bad_json = dir.File("bad.json");
  WriteFile(good, "hello");
  WriteFile(bad_json, R"({"a":1,"a":2})");
  std::string missing = dir.File("missing");
  auto r = RunQuipu("hash " + ShellQuote(missing) + " " + ShellQuote(bad_json) + " " + ShellQuote(good));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, Sha256Sum(good) + "  raw  " + good + "\n");
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(bad_json), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("duplicate"), std::string::npos) << r.err;
}

TEST(HashCommand, ForcedPdfOnANonPdfFails) {
  TempDir dir;
  std::string path = dir.File("not.pdf");
  WriteFile(path, "just text");
  auto r = RunQuipu("hash --type pdf " + ShellQuote(path));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find(path), std::string::npos);
}

TEST(HashCommand, UsageErrors) {
  EXPECT_EQ(RunQuipu("hash").exit_code, 2);
  EXPECT_EQ(RunQuipu("hash --type docx x").exit_code, 2);
  EXPECT_EQ(RunQuipu("hash --frobnicate x").exit_code, 2);
  EXPECT_EQ(RunQuipu("nosuchcommand").exit_code, 2);
  auto help = RunQuipu("hash --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("usage: quipu hash"), std::string::npos);
  auto top = RunQuipu("--help");
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("hash"), std::string::npos);
  EXPECT_NE(top.out.find("jcs"), std::string::npos);
}

// Every PDF in the fuzz corpus (PoDoFo crashes and resource bombs among
// them) gets an answer: a hash, or exit 2 and a reason; never a signal.
TEST(HashCommand, EveryPdfOfTheFuzzCorpusGetsAnAnswer) {
  size_t seen = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(QUIPU_SOURCE_DIR) + "/tests/fuzz/corpus/pdf")) {
    ++seen;
    const std::string path = e.path().string();
    auto r = RunQuipu("hash --type pdf " + ShellQuote(path));
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 2) << path << " exit " << r.exit_code << ": " << r.err;
    if (r.exit_code == 2) {
      EXPECT_NE(r.err.find("quipu hash: " + path + ": "), std::string::npos) << r.err;
    }
  }
  EXPECT_GE(seen, 6u);
  // The one that killed the node is in it, and fails with its reason.
  auto crash = RunQuipu("hash " + ShellQuote(std::string(QUIPU_SOURCE_DIR) +
                                             "/tests/fuzz/corpus/pdf/encrypt-v5-r6-without-perms.pdf"));
  EXPECT_EQ(crash.exit_code, 2);
  EXPECT_NE(crash.err.find("the parser crashed"), std::string::npos) << crash.err;
}

// The README's limit for JSON documents given to `quipu hash` is 256 MiB,
// not the 64 MiB of the node's bodies.
TEST(HashCommand, JsonLargerThanTheNodesLimitIsHashed) {
  TempDir dir;
  std::string big = "[";
  const std::string item = "\"" + std::string(1000, 'x') + "\",";
  while (big.size() < (size_t{65} << 20)) big += item;
  big.back() = ']';
  WriteFile(dir.File("big.json"), big);
  auto r = RunQuipu("hash " + ShellQuote(dir.File("big.json")));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("  json  "), std::string::npos) << r.out;
}

TEST(JcsCommand, InvalidJsonGivesOffsetAndStatus2) {
  auto r = RunQuipu("jcs -", "{\"a\": NaN}");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("offset"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace quipu
