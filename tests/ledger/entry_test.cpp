// Entry validation against a table of types, canonical entry bytes, times,
// checkpoint bodies and block headers. The types are the tests' own
// (test_entry_types.h), one of each field kind; quipu's are tested in
// tests/node/schema_test.cpp.
#include "ledger/entry.h"

#include <gtest/gtest.h>

#include "crypto/encoding.h"
#include "crypto/jcs.h"
#include "ledger/checkpoint.h"
#include "tests/ledger/test_entry_types.h"

namespace quipu::ledger {
namespace {

using nlohmann::json;

const std::string kHexA(64, 'a');
const std::string kHexB(64, 'b');
constexpr char kTime[] = "2026-11-23T04:05:06.000123Z";

const EntrySchema& Types() { return TestEntryTypes(); }

json Note() {
  return {{"type", "note"},
          {"author", "a_1"},
          {"ref", "r_1"},
          {"seal", kHexA},
          {"doc", {{"sha256", kHexB}, {"format", "pdf"}}}};
}

TEST(Entry, EveryTypeValidates) {
  EXPECT_TRUE(Types().ValidateFields(Note()).ok());
  json retract = {{"type", "retract"}, {"author", "a_1"}, {"target", 7}, {"reason", "reemplazado"}};
  EXPECT_TRUE(Types().ValidateFields(retract).ok());
  retract["doc"] = {{"sha256", kHexB}, {"format", "json"}};
  EXPECT_TRUE(Types().ValidateFields(retract).ok());
  json stamp = {{"type", "stamp"}, {"digest", kHexA}, {"kind", "a"}, {"label", "12345678"}};
  EXPECT_TRUE(Types().ValidateFields(stamp).ok());
  stamp["count"] = 0;
  EXPECT_TRUE(Types().ValidateFields(stamp).ok());
}

TEST(Entry, BuildAddsVersionAndTimeCanonically) {
  auto bytes = BuildEntry(Note(), kTime);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(*bytes, R"({"author":"a_1","doc":{"format":"pdf","sha256":")" + kHexB +
                        R"("},"ref":"r_1","seal":")" + kHexA +
                        R"(","time":"2026-11-23T04:05:06.000123Z","type":"note","v":1})");
  auto summary = Types().ParseEntry(*bytes);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->type, "note");
  EXPECT_EQ(summary->time, kTime);
  EXPECT_EQ(summary->time_micros, *ParseTime(kTime));
  ASSERT_TRUE(summary->doc_sha256.has_value());
  EXPECT_EQ(crypto::HexEncode(*summary->doc_sha256), kHexB);
}

TEST(Entry, TheDocumentIsTheFieldTheTableMarks) {
  // In an object field, at the top level, in an optional object, or none.
  const json retract = {{"type", "retract"}, {"author", "a"}, {"target", 1}, {"reason", "r"}};
  json with_doc = retract;
  with_doc["doc"] = {{"sha256", kHexA}, {"format", "json"}};
  const json stamp = {{"type", "stamp"}, {"digest", kHexB}, {"kind", "b"}, {"label", "l"}};
  const std::pair<json, std::optional<std::string>> cases[] = {
      {Note(), kHexB}, {stamp, kHexB}, {with_doc, kHexA}, {retract, std::nullopt}};
  for (const auto& [fields, doc] : cases) {
    auto bytes = BuildEntry(fields, kTime);
    ASSERT_TRUE(bytes.ok());
    auto text = crypto::CanonicalDump(fields);
    ASSERT_TRUE(text.ok());
    auto by_definition = Types().ParseEntryByDefinition(*bytes);
    auto parsed = Types().ParseEntry(*bytes);
    auto facts = Types().CheckEntry(*bytes);
    auto from_text = Types().ParseFields(*text);
    auto from_json = Types().CanonicalizeFields(fields);
    ASSERT_TRUE(by_definition.ok() && parsed.ok() && facts.ok() && from_text.ok() && from_json.ok())
        << *bytes;
    EXPECT_TRUE(Types().Scans(*bytes, false)) << *bytes;
    EXPECT_TRUE(Types().Scans(*text, true)) << *text;
    for (const std::optional<crypto::Digest>& got :
         {by_definition->doc_sha256, parsed->doc_sha256, facts->doc_sha256, from_text->doc_sha256(),
          from_json->doc_sha256()}) {
      ASSERT_EQ(got.has_value(), doc.has_value()) << *bytes;
      if (doc) {
        EXPECT_EQ(crypto::HexEncode(*got), *doc);
      }
    }
    EXPECT_EQ(from_text->text(), *text);
    EXPECT_EQ(from_json->text(), *text);
  }
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
    Status s = Types().ValidateFields(j);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << j.dump();
    EXPECT_NE(s.message().find(what), std::string::npos) << s.message();
  };
  json j = Note();
  j["type"] = "notification_x";
  expect_bad(j, "unknown type");
  j = Note();
  j.erase("seal");
  expect_bad(j, "missing field 'seal'");
  j = Note();
  j["extra"] = 1;
  expect_bad(j, "no field 'extra'");
  j = Note();
  j["seal"] = std::string(64, 'A');
  expect_bad(j, "'seal' must be 64 lower-case hex digits");
  j = Note();
  j["doc"]["format"] = "text";
  expect_bad(j, "'doc.format' must be pdf or json");
  j = Note();
  j["doc"]["name"] = "x.pdf";
  expect_bad(j, "no field 'doc.name'");
  j = Note();
  j["doc"].erase("sha256");
  expect_bad(j, "missing field 'doc.sha256'");
  j = Note();
  j["doc"] = kHexB;
  expect_bad(j, "'doc' must be an object");
  j = Note();
  j["time"] = "2026-01-01T00:00:00.000000Z";
  expect_bad(j, "sequencer");
  j = Note();
  j["v"] = 1;
  expect_bad(j, "sequencer");
  j = Note();
  j["author"] = "";
  expect_bad(j, "'author' must have 1 to 256 characters");
  j = Note();
  j["author"] = "a\n1";
  expect_bad(j, "'author' must be printable ASCII");
  j = Note();
  j["author"] = 7;
  expect_bad(j, "'author' must be a string");
  j = Note();
  j.erase("type");
  expect_bad(j, "'type'");
  expect_bad(json::array(), "object");
  expect_bad({{"type", "retract"}, {"author", "a"}, {"target", -1}, {"reason", "x"}},
             "'target' must be a ledger index");
  expect_bad({{"type", "retract"}, {"author", "a"}, {"target", 1.5}, {"reason", "x"}}, "target");
  expect_bad({{"type", "retract"}, {"author", "a"}, {"target", uint64_t{1} << 53}, {"reason", "x"}},
             "target");
  expect_bad({{"type", "retract"}, {"author", "a"}, {"target", "1"}, {"reason", "x"}}, "target");
  expect_bad({{"type", "retract"}, {"author", "a"}, {"target", 1}, {"reason", ""}},
             "'reason' must have 1 to 256 bytes");
  expect_bad({{"type", "stamp"}, {"digest", kHexA}, {"kind", "a"}, {"label", "123456789"}},
             "'label' must have 1 to 8 characters");
  expect_bad({{"type", "stamp"}, {"digest", kHexA}, {"kind", "c"}, {"label", "l"}},
             "'kind' must be a or b");
  expect_bad(
      {{"type", "stamp"}, {"digest", kHexA}, {"kind", "a"}, {"label", "l"}, {"count", nullptr}},
      "count");
}

TEST(Entry, ParseRejectsNonCanonicalOrInvalidBytes) {
  auto good = BuildEntry(Note(), kTime);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(Types().ParseEntry(" " + *good).status().code(), StatusCode::kCorruption);
  std::string reordered = *good;
  reordered.replace(reordered.find("\"v\":1"), 5, "\"v\":2");
  EXPECT_EQ(Types().ParseEntry(reordered).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(Types().ParseEntry("not json").status().code(), StatusCode::kCorruption);
  std::string bad_time = *good;
  bad_time.replace(bad_time.find("04:05"), 5, "25:05");
  EXPECT_EQ(Types().ParseEntry(bad_time).status().code(), StatusCode::kCorruption);
  // An entry valid for another table is not valid for this one.
  EXPECT_EQ(EntrySchema().ParseEntry(*good).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(EntrySchema().CheckEntry(*good).status().code(), StatusCode::kCorruption);
}

TEST(Entry, RejectsOversizedEntries) {
  json j = {{"type", "retract"}, {"author", "a"}, {"target", 1}, {"reason", std::string(256, 'x')}};
  EXPECT_TRUE(Types().ValidateFields(j).ok());
  EXPECT_TRUE(BuildEntry(j, kTime).ok());
  j["reason"] = std::string(257, 'x');
  EXPECT_FALSE(Types().ValidateFields(j).ok());
}

TEST(Entry, TheEmptySchemaRefusesEveryEntry) {
  const EntrySchema none;
  EXPECT_TRUE(none.types().empty());
  EXPECT_NE(none.ValidateFields(Note()).message().find("unknown type 'note'"), std::string::npos);
  EXPECT_FALSE(none.ParseFields(*crypto::CanonicalDump(Note())).ok());
  EXPECT_FALSE(none.Scans(*BuildEntry(Note(), kTime), false));
  // Fields carry the schema that checked them: a copy is the same schema,
  // another table is not.
  auto fields = Types().CanonicalizeFields(Note());
  ASSERT_TRUE(fields.ok());
  const EntrySchema copy = Types();
  EXPECT_TRUE(copy.Checked(*fields));
  EXPECT_FALSE(none.Checked(*fields));
}

// A table with one type of the given fields; its error, or Ok.
Status MakeOne(std::vector<FieldSpec> fields, std::string type = "t") {
  return EntrySchema::Make({{std::move(type), std::move(fields)}}).status();
}

TEST(EntrySchema, RefusesBadTables) {
  using F = FieldSpec;
  auto expect_bad = [](const Status& s, const std::string& what) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_NE(s.message().find(what), std::string::npos) << s.message();
  };
  EXPECT_TRUE(MakeOne({F::Id("a")}).ok());
  expect_bad(MakeOne({F::Id("a")}, "Bad"), "type name");
  expect_bad(MakeOne({F::Id("a")}, ""), "type name");
  expect_bad(MakeOne({F::Id("a")}, std::string(33, 't')), "type name");
  expect_bad(EntrySchema::Make({{"t", {F::Id("a")}}, {"t", {F::Id("b")}}}).status(),
             "'t' is repeated");
  expect_bad(MakeOne({F::Id("A")}), "field name");
  expect_bad(MakeOne({F::Id("1a")}), "field name");
  expect_bad(MakeOne({F::Id("a-b")}), "field name");
  expect_bad(MakeOne({F::Id("a"), F::Sha256("a")}), "field 'a': repeated");
  // The sequencer puts time, type and v after every field.
  for (const char* late : {"time", "type", "v", "url", "tip", "zone"}) {
    expect_bad(MakeOne({F::Id(late)}), "sort before \"time\"");
  }
  EXPECT_TRUE(MakeOne({F::Id("tilde"), F::Index("target")}).ok());
  expect_bad(MakeOne({F::Id("a", 0)}), "max_length");
  expect_bad(MakeOne({F::Text("a", kMaxEntryBytes + 1)}), "max_length");
  expect_bad(MakeOne({F::Enum("a", {})}), "needs values");
  expect_bad(MakeOne({F::Enum("a", {"x", "x"})}), "'x' is repeated");
  expect_bad(MakeOne({F::Enum("a", {"x\n"})}), "printable ASCII");
  expect_bad(MakeOne({F::Object("a", {})}), "needs fields");
  expect_bad(MakeOne({F::Object("a", {F::Object("b", {F::Id("c")})})}), "holds no objects");
  expect_bad(MakeOne({F::Object("a", {F::Id("b"), F::Id("b")})}), "field 'b': repeated");
  expect_bad(MakeOne({F::Id("a").Document()}), "a document field is a SHA-256");
  expect_bad(MakeOne({F::Sha256("a").Document(), F::Sha256("b").Document()}),
             "at most one document");
  expect_bad(MakeOne({F::Sha256("a").Document(), F::Object("b", {F::Sha256("c").Document()})}),
             "at most one document");
  FieldSpec with_values = F::Id("a");
  with_values.values = {"x"};
  expect_bad(MakeOne({with_values}), "only an enum");
  FieldSpec with_fields = F::Id("a");
  with_fields.fields = {F::Id("b")};
  expect_bad(MakeOne({with_fields}), "only an object");
  std::vector<F> many;
  for (char c = 'a'; c <= 'q'; ++c) many.push_back(F::Id(std::string(1, c)));
  expect_bad(MakeOne(many), "at most 16 fields");
  std::vector<F> inner;
  for (char c = 'a'; c <= 'q'; ++c) inner.push_back(F::Id(std::string(1, c)));
  expect_bad(MakeOne({F::Object("a", inner), F::Object("b", inner)}),
             "at most 32 fields in its objects");
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
  if (!j.contains("v") || j["v"] != 1 || !j.contains("time") || !j["time"].is_string())
    return false;
  if (!ParseTime(j["time"].get<std::string>()).ok()) return false;
  j.erase("v");
  j.erase("time");
  return Types().ValidateFields(j).ok();
}

// One set of type fields of each shape, for the single-byte-change tests,
// and the bytes they put in each position.
std::vector<nlohmann::json> SampleFields() {
  const std::string hex(64, 'a');
  return {
      {{"type", "note"},
       {"author", "a_1"},
       {"ref", "r_12"},
       {"seal", hex},
       {"doc", {{"sha256", hex}, {"format", "pdf"}}}},
      {{"type", "retract"}, {"author", "a_1"}, {"target", 1234}, {"reason", "x y"}},
      {{"type", "retract"},
       {"author", "a_1"},
       {"target", 5},
       {"reason", "z"},
       {"doc", {{"sha256", hex}, {"format", "json"}}}},
      {{"type", "stamp"}, {"count", 9}, {"digest", hex}, {"kind", "b"}, {"label", "abc"}},
  };
}
constexpr char kReplacements[] = "\"\\{}[],:0123456789afAF -_zv\x7f\x01";

// ParseEntry has a fast path for plain canonical shapes; every single-byte
// change of real entries must be judged exactly as the definitions judge it.
TEST(Entry, ParseAgreesWithTheDefinitionOnEverySingleByteChange) {
  const std::vector<nlohmann::json> fields = SampleFields();
  const std::string replacements = kReplacements;
  int checked = 0;
  for (const auto& f : fields) {
    auto entry = BuildEntry(f, "2026-11-23T04:05:06.123456Z");
    ASSERT_TRUE(entry.ok());
    ASSERT_TRUE(Types().ParseEntry(*entry).ok());
    ASSERT_TRUE(Types().Scans(*entry, false)) << *entry;
    for (size_t i = 0; i < entry->size(); ++i) {
      for (char r : replacements) {
        std::string m = *entry;
        if (m[i] == r) continue;
        m[i] = r;
        const bool reference = ReferenceValid(m);
        EXPECT_EQ(Types().ParseEntry(m).ok(), reference) << m;
        EXPECT_EQ(Types().ParseEntryByDefinition(m).ok(), reference) << m;
        if (Types().Scans(m, false)) {  // the scanner vouches only for valid bytes
          EXPECT_TRUE(reference) << m;
        }
        ++checked;
      }
      std::string cut = entry->substr(0, i);  // every truncation
      EXPECT_FALSE(Types().ParseEntry(cut).ok()) << cut;
      EXPECT_FALSE(Types().Scans(cut, false)) << cut;
    }
  }
  EXPECT_GT(checked, 10000);
}

// The reference judgement of a caller's type fields given as text, from
// the definitions: strict JSON, valid type fields; its canonical form.
std::optional<std::string> ReferenceFields(const std::string& text) {
  auto parsed = crypto::ParseJsonStrict(text);
  if (!parsed.ok() || !Types().ValidateFields(*parsed).ok()) return std::nullopt;
  auto canonical = crypto::CanonicalDump(*parsed);
  if (!canonical.ok() || canonical->size() + kSequencerBytes > kMaxEntryBytes) return std::nullopt;
  return *canonical;
}

// ParseFields (what `quipu log append` and the sequencer take) has a fast
// path for canonical text; every single-byte change of canonical type
// fields must be accepted or refused exactly as the definitions say, and
// when accepted give the canonical form and the right document.
TEST(Entry, ParseFieldsAgreesWithTheDefinitionOnEverySingleByteChange) {
  const std::vector<nlohmann::json> fields = SampleFields();
  const std::string replacements = kReplacements;
  int checked = 0;
  for (const auto& f : fields) {
    auto text = crypto::CanonicalDump(f);
    ASSERT_TRUE(text.ok());
    auto whole = Types().ParseFields(*text);
    ASSERT_TRUE(whole.ok()) << whole.status().ToString();
    ASSERT_TRUE(Types().Scans(*text, true)) << *text;
    EXPECT_EQ(whole->text(), *text);
    EXPECT_EQ(whole->doc_sha256().has_value(), f.contains("doc") || f.contains("digest"));
    for (size_t i = 0; i < text->size(); ++i) {
      for (char r : replacements) {
        std::string m = *text;
        if (m[i] == r) continue;
        m[i] = r;
        auto got = Types().ParseFields(m);
        auto want = ReferenceFields(m);
        ASSERT_EQ(got.ok(), want.has_value()) << m;
        if (got.ok()) {
          EXPECT_EQ(got->text(), *want) << m;
        }
        if (Types().Scans(m, true)) {  // vouched for: valid and canonical already
          EXPECT_EQ(want, m);
        }
        ++checked;
      }
      EXPECT_FALSE(Types().ParseFields(text->substr(0, i)).ok()) << i;
    }
  }
  EXPECT_GT(checked, 8000);
}

// The two judges on chosen entries: what the scanner vouches for the
// definition accepts; what the definition refuses the scanner refuses; and
// plain valid entries take the fast path.
TEST(Entry, TheDefinitionAndTheScannerAgreeOnChosenEntries) {
  const std::string a(64, 'a');
  const std::string doc = R"("doc":{"format":"pdf","sha256":")" + a + R"("})";
  const std::string env = R"("time":"2026-11-23T04:05:06.123456Z",)";
  auto note = [&](const std::string& fields) {
    return "{" + fields + "," + env + R"("type":"note","v":1})";
  };
  auto stamp = [&](const std::string& fields) {
    return "{" + fields + "," + env + R"("type":"stamp","v":1})";
  };
  auto retract = [&](const std::string& fields) {
    return "{" + fields + "," + env + R"("type":"retract","v":1})";
  };
  const std::string seal = R"("seal":")" + a + R"(")";
  const std::string digest = R"("digest":")" + a + R"(")";
  struct Case {
    std::string bytes;
    bool valid;
    bool plain;  // valid and without escapes: the scanner takes it
  };
  const Case cases[] = {
      {note(R"("author":"a",)" + doc + R"(,"ref":"r",)" + seal), true, true},
      {note(R"("author":"a \"q\"",)" + doc + R"(,"ref":"r",)" + seal), true, false},  // an escape
      {note(R"("author":"ñ",)" + doc + R"(,"ref":"r",)" + seal), false, false},  // an id is ASCII
      // "a", but not in canonical form
      {note(R"("author":"\u0061",)" + doc + R"(,"ref":"r",)" + seal), false, false},
      {note(R"("author":"a",)" + doc + R"(,"ref":"r")"), false, false},  // no seal
      {note(R"("author":"a",)" + doc + R"(,"extra":1,"ref":"r",)" + seal), false, false},
      {note(R"("author":"",)" + doc + R"(,"ref":"r",)" + seal), false, false},
      {note(R"("author":"a","doc":{"format":"pdf"},"ref":"r",)" + seal), false, false},
      {note(R"("author":"a","doc":{"format":"txt","sha256":")" + a + R"("},"ref":"r",)" + seal),
       false, false},
      {note(R"("author":"a","doc":{"format":"pdf","sha256":")" + a + R"(","x":1},"ref":"r",)" +
            seal),
       false, false},
      {note(R"("author":"a","doc":")" + a + R"(","ref":"r",)" + seal), false, false},
      {note(R"("author":"a",)" + doc + R"(,"ref":7,)" + seal), false, false},
      {note(R"("author":"a",)" + doc + R"(,"ref":"r","seal":")" + std::string(63, 'a') + R"(")"),
       false, false},
      {note(R"("author":"a",)" + doc + R"(,"ref":"r","seal":")" + std::string(64, 'A') + R"(")"),
       false, false},
      {stamp(digest + R"(,"kind":"a","label":"12345678")"), true, true},
      {stamp(R"("count":0,)" + digest + R"(,"kind":"b","label":"l")"), true, true},
      {stamp(R"("count":9007199254740991,)" + digest + R"(,"kind":"b","label":"l")"), true, true},
      {stamp(R"("count":9007199254740992,)" + digest + R"(,"kind":"b","label":"l")"), false, false},
      {stamp(R"("count":-1,)" + digest + R"(,"kind":"b","label":"l")"), false, false},
      {stamp(R"("count":01,)" + digest + R"(,"kind":"b","label":"l")"), false, false},
      {stamp(R"("count":1.5,)" + digest + R"(,"kind":"b","label":"l")"), false, false},
      {stamp(R"("count":null,)" + digest + R"(,"kind":"b","label":"l")"), false, false},
      {stamp(R"("count":"1",)" + digest + R"(,"kind":"b","label":"l")"), false, false},
      {stamp(digest + R"(,"kind":"a","label":"123456789")"), false, false},
      {stamp(digest + R"(,"kind":"c","label":"l")"), false, false},
      {stamp(digest + R"(,"kind":"a")"), false, false},
      {stamp(R"("kind":"a","label":"l")"), false, false},
      {stamp(R"("doc":{"format":"pdf","sha256":")" + a + R"("},"kind":"a","label":"l")"), false,
       false},
      {retract(R"("author":"a","reason":"r","target":3)"), true, true},
      {retract(R"("author":"a",)" + doc + R"(,"reason":"r","target":3)"), true, true},
      {retract(R"("author":"a","reason":"ñ","target":3)"), true, false},  // text may be UTF-8
      {retract(R"("author":"a","reason":"","target":3)"), false, false},
      {retract(R"("author":"a","reason":"r")"), false, false},
      {retract(R"("author":"a","reason":"r","seal":")" + a + R"(","target":3)"), false, false},
      {R"({"author":"a","reason":"r","target":3,"time":"2026-11-23T04:05:06.123456Z","type":"retract","v":2})",
       false, false},
      {R"({"author":"a","reason":"r","target":3,"time":"2026-11-23T04:05:06Z","type":"retract","v":1})",
       false, false},
      {R"({"author":"a","reason":"r","target":3,"type":"retract","v":1})", false, false},
      {R"({"author":"a","reason":"r","target":3,"time":"2026-11-23T04:05:06.123456Z","type":"other","v":1})",
       false, false},
      {R"({"author":"a","reason":"r","target":3,"time":"2026-11-23T04:05:06.123456Z","v":1})",
       false, false},
      {R"({"author":"a","target":3,"reason":"r","time":"2026-11-23T04:05:06.123456Z","type":"retract","v":1})",
       false, false},
      {R"({"author":"a","author":"a","reason":"r","target":3,"time":"2026-11-23T04:05:06.123456Z","type":"retract","v":1})",
       false, false},
      {"{}", false, false},
      {"[]", false, false},
  };
  for (const Case& c : cases) {
    const bool defined = Types().ParseEntryByDefinition(c.bytes).ok();
    const bool scanned = Types().Scans(c.bytes, false);
    EXPECT_EQ(defined, c.valid) << c.bytes;
    EXPECT_EQ(scanned, c.plain) << c.bytes;
    EXPECT_EQ(Types().ParseEntry(c.bytes).ok(), c.valid) << c.bytes;
    EXPECT_EQ(Types().CheckEntry(c.bytes).ok(), c.valid) << c.bytes;
    // The same as a caller's fields: without time and v.
    auto j = crypto::ParseJsonStrict(c.bytes);
    if (!j.ok() || !j->is_object() || !j->contains("time") || !j->contains("v") || (*j)["v"] != 1)
      continue;
    j->erase("time");
    j->erase("v");
    const std::string fields = *crypto::CanonicalDump(*j);
    EXPECT_EQ(Types().ParseFields(fields).ok(), Types().ValidateFields(*j).ok()) << fields;
    if (c.valid) {
      EXPECT_TRUE(Types().ParseFields(fields).ok()) << fields;
      EXPECT_EQ(Types().Scans(fields, true), c.plain) << fields;
    }
    if (Types().Scans(fields, true)) {
      EXPECT_TRUE(Types().ValidateFields(*j).ok()) << fields;
    }
  }
}

TEST(Entry, ParseFieldsCanonicalizesOtherTextAndNamesProblems) {
  const std::string hex(64, 'b');
  const std::string spaced =
      "{ \"type\": \"stamp\", \"label\": \"l\", \"digest\": \"" + hex + "\", \"kind\": \"a\" }";
  auto f = Types().ParseFields(spaced);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->text(), *ReferenceFields(spaced));
  ASSERT_TRUE(f->doc_sha256().has_value());
  EXPECT_EQ(crypto::HexEncode(*f->doc_sha256()), hex);

  auto with_time =
      Types().ParseFields(R"({"time":"2026-11-23T04:05:06.123456Z","type":"retract"})");
  ASSERT_FALSE(with_time.ok());
  EXPECT_NE(with_time.status().message().find("sequencer"), std::string::npos)
      << with_time.status().message();
  auto bad_json = Types().ParseFields("{\"type\":");
  ASSERT_FALSE(bad_json.ok());
  EXPECT_EQ(bad_json.status().code(), StatusCode::kInvalidArgument);
  // Over the entry size once the sequencer's bytes are added (the reason
  // itself is within a larger table's limit).
  using F = FieldSpec;
  auto roomy = EntrySchema::Make(
      {{"retract", {F::Id("author"), F::Text("reason", kMaxEntryBytes), F::Index("target")}}});
  ASSERT_TRUE(roomy.ok());
  const std::string big =
      R"({"author":"c","reason":")" + std::string(16300, 'x') + R"(","target":1,"type":"retract"})";
  EXPECT_TRUE(roomy->ValidateFields(json::parse(big)).ok());
  EXPECT_FALSE(roomy->ParseFields(big).ok());
}

}  // namespace
}  // namespace quipu::ledger
