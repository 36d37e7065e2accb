// Entry validation, canonical entry bytes, times, checkpoint bodies and
// block headers.
#include <gtest/gtest.h>

#include "crypto/encoding.h"
#include "crypto/jcs.h"
#include "ledger/checkpoint.h"
#include "ledger/entry.h"

namespace quipu::ledger {
namespace {

using nlohmann::json;

const std::string kHexA(64, 'a');
const std::string kHexB(64, 'b');

json Approval() {
  return {{"type", "approval"},
          {"client", "c_1"},
          {"request", "r_1"},
          {"subject", kHexA},
          {"doc", {{"sha256", kHexB}, {"media_type", "application/pdf"}}}};
}

TEST(Entry, EveryTypeValidates) {
  EXPECT_TRUE(ValidateEntryFields(Approval()).ok());
  json rejection = Approval();
  rejection["type"] = "rejection";
  EXPECT_TRUE(ValidateEntryFields(rejection).ok());
  json issue = {{"type", "qr_issue"},
                {"client", "c_1"},
                {"doc", {{"sha256", kHexB}, {"media_type", "application/json"}}},
                {"payload", kHexA}};
  EXPECT_TRUE(ValidateEntryFields(issue).ok());
  json revoke = {{"type", "qr_revoke"}, {"client", "c_1"}, {"target", 7}, {"reason", "reemplazado"}};
  EXPECT_TRUE(ValidateEntryFields(revoke).ok());
}

TEST(Entry, BuildAddsVersionAndTimeCanonically) {
  auto bytes = BuildEntry(Approval(), "2026-11-23T04:05:06.000123Z");
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(*bytes,
            R"({"client":"c_1","doc":{"media_type":"application/pdf","sha256":")" + kHexB +
                R"("},"request":"r_1","subject":")" + kHexA +
                R"(","time":"2026-11-23T04:05:06.000123Z","type":"approval","v":1})");
  auto summary = ParseEntry(*bytes);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->type, "approval");
  EXPECT_EQ(summary->client, "c_1");
  EXPECT_EQ(summary->time, "2026-11-23T04:05:06.000123Z");
  ASSERT_TRUE(summary->doc_sha256.has_value());
  EXPECT_EQ(crypto::HexEncode(*summary->doc_sha256), kHexB);
  EXPECT_EQ(summary->media_type, "application/pdf");
}

TEST(Entry, TimesRoundTrip) {
  for (int64_t t : {int64_t{0}, int64_t{1}, int64_t{999999}, int64_t{1795000000123456},
                    int64_t{4102444799999999}}) {
    std::string s = FormatTime(t);
    auto back = ParseTime(s);
    ASSERT_TRUE(back.ok()) << s;
    EXPECT_EQ(*back, t) << s;
  }
  EXPECT_EQ(FormatTime(1795000000123456), "2026-11-18T11:06:40.123456Z");
  // Every day from 1970 to 2200 (FormatTime uses the C library's gmtime_r,
  // ParseTime its own calendar arithmetic).
  for (int64_t day = 0; day < 84000; ++day) {
    const int64_t t = day * 86400000000 + (day * 7919 % 86400) * 1000000 + day % 1000000;
    auto back = ParseTime(FormatTime(t));
    ASSERT_TRUE(back.ok()) << FormatTime(t);
    ASSERT_EQ(*back, t) << FormatTime(t);
  }
  EXPECT_TRUE(ParseTime("2000-02-29T00:00:00.000000Z").ok());
  EXPECT_TRUE(ParseTime("2024-02-29T23:59:59.999999Z").ok());
  EXPECT_FALSE(ParseTime("2100-02-29T00:00:00.000000Z").ok());
  EXPECT_FALSE(ParseTime("2026-04-31T00:00:00.000000Z").ok());
  EXPECT_FALSE(ParseTime("2026-11-23T24:00:00.000000Z").ok());
  EXPECT_FALSE(ParseTime("2026-11-23T23:60:00.000000Z").ok());
  EXPECT_FALSE(ParseTime("2026-11-23T23:00:60.000000Z").ok());
  EXPECT_FALSE(ParseTime("2026-00-10T23:00:00.000000Z").ok());
  EXPECT_FALSE(ParseTime("2026-01-00T23:00:00.000000Z").ok());
}

TEST(Checkpoint, BodyRoundTrip) {
  Hash root;
  for (size_t i = 0; i < root.size(); ++i) root[i] = static_cast<uint8_t>(i);
  std::string body = CheckpointBody("quipu.localhost/log", 12345, root);
  EXPECT_EQ(body, "quipu.localhost/log\n12345\n" + crypto::Base64Encode(root) + "\n");
  auto parsed = ParseCheckpointBody(body);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->origin, "quipu.localhost/log");
  EXPECT_EQ(parsed->tree_size, 12345u);
  EXPECT_EQ(parsed->root, root);
  // Extension lines are allowed.
  EXPECT_TRUE(ParseCheckpointBody(body + "ext line\n").ok());
}

TEST(Block, HeaderIsCanonicalJsonAndRoundTrips) {
  Block b;
  b.height = 3;
  b.tree_size = 1000;
  b.time = "2026-11-23T04:05:06.000123Z";
  b.root.fill(0xab);
  b.prev.fill(0x01);
  std::string header = b.CanonicalHeader();
  auto canonical = crypto::Canonicalize(header);
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(*canonical, header);
  auto back = ParseBlockHeader(header);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->height, 3u);
  EXPECT_EQ(back->tree_size, 1000u);
  EXPECT_EQ(back->root, b.root);
  EXPECT_EQ(back->prev, b.prev);
  EXPECT_EQ(back->time, b.time);
}

// --- error paths ---

TEST(Entry, RejectsUnknownMissingExtraAndMalformedFields) {
  auto expect_bad = [](json j, const std::string& what) {
    Status s = ValidateEntryFields(j);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << j.dump();
    EXPECT_NE(s.message().find(what), std::string::npos) << s.message();
  };
  json j = Approval();
  j["type"] = "notification_x";
  expect_bad(j, "unknown type");
  j = Approval();
  j.erase("subject");
  expect_bad(j, "subject");
  j = Approval();
  j["extra"] = 1;
  expect_bad(j, "extra");
  j = Approval();
  j["subject"] = std::string(64, 'A');
  expect_bad(j, "subject");
  j = Approval();
  j["doc"]["media_type"] = "text/plain";
  expect_bad(j, "media_type");
  j = Approval();
  j["doc"]["name"] = "x.pdf";
  expect_bad(j, "doc");
  j = Approval();
  j["time"] = "2026-01-01T00:00:00.000000Z";
  expect_bad(j, "sequencer");
  j = Approval();
  j["client"] = "";
  expect_bad(j, "client");
  j = Approval();
  j["client"] = "c\n1";
  expect_bad(j, "client");
  expect_bad(json::array(), "object");
  expect_bad({{"type", "qr_revoke"}, {"client", "c"}, {"target", -1}, {"reason", "x"}}, "target");
  expect_bad({{"type", "qr_revoke"}, {"client", "c"}, {"target", 1.5}, {"reason", "x"}}, "target");
}

TEST(Entry, ParseRejectsNonCanonicalOrInvalidBytes) {
  auto good = BuildEntry(Approval(), "2026-11-23T04:05:06.000123Z");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(ParseEntry(" " + *good).status().code(), StatusCode::kCorruption);
  std::string reordered = *good;
  reordered.replace(reordered.find("\"v\":1"), 5, "\"v\":2");
  EXPECT_EQ(ParseEntry(reordered).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(ParseEntry("not json").status().code(), StatusCode::kCorruption);
  std::string bad_time = *good;
  bad_time.replace(bad_time.find("04:05"), 5, "25:05");
  EXPECT_EQ(ParseEntry(bad_time).status().code(), StatusCode::kCorruption);
}

TEST(Entry, RejectsOversizedEntries) {
  json j = {{"type", "qr_revoke"}, {"client", "c"}, {"target", 1}, {"reason", std::string(256, 'x')}};
  EXPECT_TRUE(BuildEntry(j, "2026-11-23T04:05:06.000123Z").ok());
  j["reason"] = std::string(257, 'x');
  EXPECT_FALSE(ValidateEntryFields(j).ok());
}

TEST(Time, RejectsOtherShapes) {
  for (const char* bad : {"2026-11-23T04:05:06Z", "2026-11-23 04:05:06.000000Z",
                          "2026-02-30T00:00:00.000000Z", "2026-13-01T00:00:00.000000Z",
                          "2026-11-23T04:05:06.000000+00:00", ""}) {
    EXPECT_FALSE(ParseTime(bad).ok()) << bad;
  }
}

TEST(Checkpoint, RejectsMalformedBodies) {
  for (const char* bad : {"", "origin\n", "origin\n12\n", "origin\n012\nAAAA\n", "origin\nx\nAAAA\n",
                          "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "origin\n1\nAAAA\n"}) {
    EXPECT_FALSE(ParseCheckpointBody(bad).ok()) << bad;
  }
}

TEST(Block, RejectsNonCanonicalHeaders) {
  Block b;
  std::string header = b.CanonicalHeader();
  EXPECT_TRUE(ParseBlockHeader(header).ok());
  EXPECT_FALSE(ParseBlockHeader(header + " ").ok());
  EXPECT_FALSE(ParseBlockHeader("{}").ok());
  std::string spaced = header;
  spaced.insert(1, " ");
  EXPECT_FALSE(ParseBlockHeader(spaced).ok());
}

}  // namespace
}  // namespace quipu::ledger

namespace quipu::ledger {
namespace {

// The reference judgement of stored entry bytes, from the definitions:
// strict JSON, canonical, v == 1, a valid time, valid type fields.
bool ReferenceValid(const std::string& bytes) {
  auto parsed = crypto::ParseJsonStrict(bytes);
  if (!parsed.ok() || !parsed->is_object()) return false;
  auto canonical = crypto::CanonicalDump(*parsed);
  if (!canonical.ok() || *canonical != bytes) return false;
  nlohmann::json j = *parsed;
  if (!j.contains("v") || j["v"] != 1 || !j.contains("time") || !j["time"].is_string()) return false;
  if (!ParseTime(j["time"].get<std::string>()).ok()) return false;
  j.erase("v");
  j.erase("time");
  return ValidateEntryFields(j).ok();
}

// One set of type fields of each shape, for the single-byte-change tests,
// and the bytes they put in each position.
std::vector<nlohmann::json> SampleFields() {
  const std::string hex(64, 'a');
  return {
      {{"type", "approval"}, {"client", "c_1"}, {"request", "r_12"}, {"subject", hex},
       {"doc", {{"sha256", hex}, {"media_type", "application/pdf"}}}},
      {{"type", "qr_issue"}, {"client", "c_1"}, {"payload", hex},
       {"doc", {{"sha256", hex}, {"media_type", "application/json"}}}},
      {{"type", "qr_revoke"}, {"client", "c_1"}, {"target", 1234}, {"reason", "x y"}},
  };
}
constexpr char kReplacements[] = "\"\\{}[],:0123456789afAF -_zv\x7f\x01";

// ParseEntry has a fast path for the shapes quipu writes; every single-byte
// change of real entries must be judged exactly as the definitions judge it.
TEST(Entry, ParseAgreesWithTheDefinitionOnEverySingleByteChange) {
  const std::vector<nlohmann::json> fields = SampleFields();
  const std::string replacements = kReplacements;
  int checked = 0;
  for (const auto& f : fields) {
    auto entry = BuildEntry(f, "2026-11-23T04:05:06.123456Z");
    ASSERT_TRUE(entry.ok());
    ASSERT_TRUE(ParseEntry(*entry).ok());
    for (size_t i = 0; i < entry->size(); ++i) {
      for (char r : replacements) {
        std::string m = *entry;
        if (m[i] == r) continue;
        m[i] = r;
        EXPECT_EQ(ParseEntry(m).ok(), ReferenceValid(m)) << m;
        ++checked;
      }
      std::string cut = entry->substr(0, i);  // every truncation
      EXPECT_FALSE(ParseEntry(cut).ok()) << cut;
    }
  }
  EXPECT_GT(checked, 10000);
}

// The reference judgement of a caller's type fields given as text, from
// the definitions: strict JSON, valid type fields; its canonical form.
std::optional<std::string> ReferenceFields(const std::string& text) {
  auto parsed = crypto::ParseJsonStrict(text);
  if (!parsed.ok() || !ValidateEntryFields(*parsed).ok()) return std::nullopt;
  auto canonical = crypto::CanonicalDump(*parsed);
  if (!canonical.ok() || canonical->size() + kSequencerBytes > kMaxEntryBytes) return std::nullopt;
  return *canonical;
}

// ParseEntryFields (what `quipu log append` and the sequencer take) has a
// fast path for canonical text; every single-byte change of canonical type
// fields must be accepted or refused exactly as the definitions say, and
// when accepted give the canonical form and the right document.
TEST(Entry, ParseFieldsAgreesWithTheDefinitionOnEverySingleByteChange) {
  const std::vector<nlohmann::json> fields = SampleFields();
  const std::string replacements = kReplacements;
  int checked = 0;
  for (const auto& f : fields) {
    auto text = crypto::CanonicalDump(f);
    ASSERT_TRUE(text.ok());
    auto whole = ParseEntryFields(*text);
    ASSERT_TRUE(whole.ok()) << whole.status().ToString();
    EXPECT_EQ(whole->text(), *text);
    EXPECT_EQ(whole->doc_sha256().has_value(), f.contains("doc"));
    for (size_t i = 0; i < text->size(); ++i) {
      for (char r : replacements) {
        std::string m = *text;
        if (m[i] == r) continue;
        m[i] = r;
        auto got = ParseEntryFields(m);
        auto want = ReferenceFields(m);
        ASSERT_EQ(got.ok(), want.has_value()) << m;
        if (got.ok()) {
          EXPECT_EQ(got->text(), *want) << m;
        }
        ++checked;
      }
      EXPECT_FALSE(ParseEntryFields(text->substr(0, i)).ok()) << i;
    }
  }
  EXPECT_GT(checked, 8000);
}

TEST(Entry, ParseFieldsCanonicalizesOtherTextAndNamesProblems) {
  const std::string hex(64, 'b');
  const std::string spaced = "{ \"type\": \"qr_issue\", \"payload\": \"" + hex +
                             "\", \"client\": \"c\", \"doc\": {\"sha256\": \"" + hex +
                             "\", \"media_type\": \"application/pdf\"} }";
  auto f = ParseEntryFields(spaced);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->text(), *ReferenceFields(spaced));
  ASSERT_TRUE(f->doc_sha256().has_value());
  EXPECT_EQ(crypto::HexEncode(*f->doc_sha256()), hex);

  auto with_time = ParseEntryFields(R"({"time":"2026-11-23T04:05:06.123456Z","type":"qr_revoke"})");
  ASSERT_FALSE(with_time.ok());
  EXPECT_NE(with_time.status().message().find("sequencer"), std::string::npos) << with_time.status().message();
  auto bad_json = ParseEntryFields("{\"type\":");
  ASSERT_FALSE(bad_json.ok());
  EXPECT_EQ(bad_json.status().code(), StatusCode::kInvalidArgument);
  const std::string big = R"({"client":"c","reason":")" + std::string(16300, 'x') +
                          R"(","target":1,"type":"qr_revoke"})";
  EXPECT_FALSE(ParseEntryFields(big).ok());
}

}  // namespace
}  // namespace quipu::ledger
