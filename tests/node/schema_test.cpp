// quipu's schema in the ledger: its entry types (approval, rejection,
// qr_issue, qr_revoke), judged by the definition and the fast scanner alike,
// and its private tables.
#include "node/schema.h"

#include <gtest/gtest.h>

#include "crypto/encoding.h"
#include "crypto/jcs.h"
#include "ledger/entry.h"

namespace quipu::node {
namespace {

using ledger::BuildEntry;
using nlohmann::json;

const std::string kHexA(64, 'a');
const std::string kHexB(64, 'b');

const ledger::EntrySchema& Types() { return EntryTypes(); }

json Approval() {
  return {{"type", "approval"},
          {"client", "c_1"},
          {"request", "r_1"},
          {"subject", kHexA},
          {"doc", {{"sha256", kHexB}, {"media_type", "application/pdf"}}}};
}

TEST(EntryTypes, EveryTypeValidates) {
  EXPECT_TRUE(Types().ValidateFields(Approval()).ok());
  json rejection = Approval();
  rejection["type"] = "rejection";
  EXPECT_TRUE(Types().ValidateFields(rejection).ok());
  json issue = {{"type", "qr_issue"},
                {"client", "c_1"},
                {"doc", {{"sha256", kHexB}, {"media_type", "application/json"}}},
                {"payload", kHexA}};
  EXPECT_TRUE(Types().ValidateFields(issue).ok());
  // A revocation as quipu 0.1 wrote it (no doc), and as it is written now.
  json revoke = {
      {"type", "qr_revoke"}, {"client", "c_1"}, {"target", 7}, {"reason", "reemplazado"}};
  EXPECT_TRUE(Types().ValidateFields(revoke).ok());
  revoke["doc"] = issue["doc"];
  EXPECT_TRUE(Types().ValidateFields(revoke).ok());
  std::vector<std::string> names;
  for (const ledger::EntryType& t : Types().types()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"approval", "rejection", "qr_issue", "qr_revoke"}));
}

TEST(EntryTypes, EntriesAreTheirFieldsWithVersionAndTimeAndIndexTheirDocument) {
  auto bytes = BuildEntry(Approval(), "2026-11-23T04:05:06.000123Z");
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(*bytes, R"({"client":"c_1","doc":{"media_type":"application/pdf","sha256":")" + kHexB +
                        R"("},"request":"r_1","subject":")" + kHexA +
                        R"(","time":"2026-11-23T04:05:06.000123Z","type":"approval","v":1})");
  auto summary = Types().ParseEntry(*bytes);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->type, "approval");
  EXPECT_EQ(summary->time, "2026-11-23T04:05:06.000123Z");
  ASSERT_TRUE(summary->doc_sha256.has_value());
  EXPECT_EQ(crypto::HexEncode(*summary->doc_sha256), kHexB);
  EXPECT_TRUE(Types().Scans(*bytes, false));  // quipu's own entries take the fast path
  // A revocation without doc concerns no document.
  auto old = BuildEntry({{"type", "qr_revoke"}, {"client", "c"}, {"target", 1}, {"reason", "r"}},
                        "2026-11-23T04:05:06.000123Z");
  ASSERT_TRUE(old.ok());
  auto facts = Types().CheckEntry(*old);
  ASSERT_TRUE(facts.ok());
  EXPECT_FALSE(facts->doc_sha256.has_value());
}

TEST(PrivateTables, AreNamedAsTheirLmdbDatabases) {
  std::vector<std::string> names;
  for (const ledger::PrivateTable& t : PrivateTables()) names.emplace_back(t.name());
  EXPECT_EQ(names, (std::vector<std::string>{"subjects", "clients", "approvals", "outbox", "qr", "contents", "witness", "cosigned"}));
  const ledger::LogOptions o = LogOptionsFor("/x");
  EXPECT_EQ(o.dir, "/x");
  EXPECT_EQ(o.private_tables, PrivateTables());
  EXPECT_EQ(o.entry_schema.types().size(), 4u);
}

// --- error paths ---

TEST(EntryTypes, RejectUnknownMissingExtraAndMalformedFields) {
  auto expect_bad = [](json j, const std::string& what) {
    Status s = Types().ValidateFields(j);
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
  j = Approval();
  j["payload"] = kHexA;  // a qr_issue's field
  expect_bad(j, "payload");
  expect_bad(json::array(), "object");
  expect_bad({{"type", "qr_revoke"}, {"client", "c"}, {"target", -1}, {"reason", "x"}}, "target");
  expect_bad({{"type", "qr_revoke"}, {"client", "c"}, {"target", 1.5}, {"reason", "x"}}, "target");
  expect_bad(
      {{"type", "qr_revoke"}, {"client", "c"}, {"target", 1}, {"reason", std::string(257, 'x')}},
      "reason");
  expect_bad({{"type", "qr_issue"}, {"client", "c"}, {"payload", kHexA}}, "doc");
}

TEST(EntryTypes, ParseRejectsNonCanonicalOrInvalidBytes) {
  auto good = BuildEntry(Approval(), "2026-11-23T04:05:06.000123Z");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(Types().ParseEntry(" " + *good).status().code(), StatusCode::kCorruption);
  std::string reordered = *good;
  reordered.replace(reordered.find("\"v\":1"), 5, "\"v\":2");
  EXPECT_EQ(Types().ParseEntry(reordered).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(Types().ParseEntry("not json").status().code(), StatusCode::kCorruption);
  std::string bad_time = *good;
  bad_time.replace(bad_time.find("04:05"), 5, "25:05");
  EXPECT_EQ(Types().ParseEntry(bad_time).status().code(), StatusCode::kCorruption);
}

// The reference judgement of stored entry bytes, from the definitions:
// strict JSON, canonical, v == 1, a valid time, valid type fields.
bool ReferenceValid(const std::string& bytes) {
  auto parsed = crypto::ParseJsonStrict(bytes);
  if (!parsed.ok() || !parsed->is_object()) return false;
  auto canonical = crypto::CanonicalDump(*parsed);
  if (!canonical.ok() || *canonical != bytes) return false;
  json j = *parsed;
  if (!j.contains("v") || j["v"] != 1 || !j.contains("time") || !j["time"].is_string())
    return false;
  if (!ledger::ParseTime(j["time"].get<std::string>()).ok()) return false;
  j.erase("v");
  j.erase("time");
  return Types().ValidateFields(j).ok();
}

// One set of type fields of each shape quipu writes, for the
// single-byte-change tests, and the bytes they put in each position.
std::vector<json> SampleFields() {
  const std::string hex(64, 'a');
  return {
      {{"type", "approval"},
       {"client", "c_1"},
       {"request", "r_12"},
       {"subject", hex},
       {"doc", {{"sha256", hex}, {"media_type", "application/pdf"}}}},
      {{"type", "qr_issue"},
       {"client", "c_1"},
       {"payload", hex},
       {"doc", {{"sha256", hex}, {"media_type", "application/json"}}}},
      {{"type", "qr_revoke"}, {"client", "c_1"}, {"target", 1234}, {"reason", "x y"}},
      {{"type", "qr_revoke"},
       {"client", "c_1"},
       {"target", 5},
       {"reason", "z"},
       {"doc", {{"sha256", hex}, {"media_type", "application/pdf"}}}},
  };
}
constexpr char kReplacements[] = "\"\\{}[],:0123456789afAF -_zv\x7f\x01";

// Every single-byte change of quipu's entries is judged by the fast path
// exactly as the definitions judge it, and the scanner vouches for nothing
// the definitions refuse.
TEST(EntryTypes, ParseAgreesWithTheDefinitionOnEverySingleByteChange) {
  const std::string replacements = kReplacements;
  int checked = 0;
  for (const auto& f : SampleFields()) {
    auto entry = BuildEntry(f, "2026-11-23T04:05:06.123456Z");
    ASSERT_TRUE(entry.ok());
    ASSERT_TRUE(Types().Scans(*entry, false)) << *entry;
    for (size_t i = 0; i < entry->size(); ++i) {
      for (char r : replacements) {
        std::string m = *entry;
        if (m[i] == r) continue;
        m[i] = r;
        const bool reference = ReferenceValid(m);
        EXPECT_EQ(Types().ParseEntry(m).ok(), reference) << m;
        if (Types().Scans(m, false)) {
          EXPECT_TRUE(reference) << m;
        }
        ++checked;
      }
      EXPECT_FALSE(Types().ParseEntry(entry->substr(0, i)).ok()) << i;
    }
  }
  EXPECT_GT(checked, 10000);
}

// The same for a caller's fields as `quipu log append` reads them.
TEST(EntryTypes, ParseFieldsAgreesWithTheDefinitionOnEverySingleByteChange) {
  const std::string replacements = kReplacements;
  int checked = 0;
  for (const auto& f : SampleFields()) {
    auto text = crypto::CanonicalDump(f);
    ASSERT_TRUE(text.ok());
    auto whole = Types().ParseFields(*text);
    ASSERT_TRUE(whole.ok()) << whole.status().ToString();
    ASSERT_TRUE(Types().Scans(*text, true));
    EXPECT_EQ(whole->text(), *text);
    EXPECT_EQ(whole->doc_sha256().has_value(), f.contains("doc"));
    for (size_t i = 0; i < text->size(); ++i) {
      for (char r : replacements) {
        std::string m = *text;
        if (m[i] == r) continue;
        m[i] = r;
        auto got = Types().ParseFields(m);
        auto parsed = crypto::ParseJsonStrict(m);
        std::optional<std::string> want;
        if (parsed.ok() && Types().ValidateFields(*parsed).ok())
          want = *crypto::CanonicalDump(*parsed);
        ASSERT_EQ(got.ok(), want.has_value()) << m;
        if (got.ok()) {
          EXPECT_EQ(got->text(), *want) << m;
        }
        ++checked;
      }
      EXPECT_FALSE(Types().ParseFields(text->substr(0, i)).ok()) << i;
    }
  }
  EXPECT_GT(checked, 8000);
}

}  // namespace
}  // namespace quipu::node
