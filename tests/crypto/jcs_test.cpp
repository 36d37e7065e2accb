// RFC 8785 canonicalization: the RFC's examples and Appendix B number table,
// UTF-16 member ordering, escapes, cross-checks against node (ECMAScript's
// own Number::toString and a JSON.stringify-based canonicalizer) on
// thousands of random inputs, and every strict-parsing error path.
#include "crypto/jcs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <unistd.h>
#include <vector>

namespace quipu::crypto {
namespace {

std::string MustCanonicalize(std::string_view in) {
  auto r = Canonicalize(in);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << " for " << in;
  return r.ok() ? *r : std::string();
}

double FromBits(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

// Runs `node script input_file` and returns its stdout lines.
std::vector<std::string> RunNode(const std::string& script, const std::string& input) {
  // ctest runs test cases in parallel processes: the file names must be unique.
  static int calls = 0;
  const std::string stem = testing::TempDir() + "/jcs_test_" + std::to_string(getpid()) + "_" +
                           std::to_string(++calls);
  const std::string script_path = stem + ".js";
  const std::string input_path = stem + ".txt";
  std::ofstream(script_path, std::ios::binary) << script;
  std::ofstream(input_path, std::ios::binary) << input;
  const std::string cmd = "node " + script_path + " " + input_path;
  FILE* pipe = popen(cmd.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << "cannot run node (Debian package nodejs)";
  std::string out;
  if (pipe != nullptr) {
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    EXPECT_EQ(pclose(pipe), 0) << "node failed";
  }
  std::vector<std::string> lines;
  std::istringstream ss(out);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  return lines;
}

// --- RFC 8785 examples ------------------------------------------------------

TEST(Jcs, Rfc8785Section3_2_2Example) {
  const std::string in =
      "{\n"
      "  \"numbers\": [333333333.33333329, 1E30, 4.50,\n"
      "              2e-3, 0.000000000000000000000000000001],\n"
      "  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\n"
      "  \"literals\": [null, true, false]\n"
      "}";
  EXPECT_EQ(MustCanonicalize(in),
            "{\"literals\":[null,true,false],"
            "\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-30],"
            "\"string\":\"\xE2\x82\xAC$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

TEST(Jcs, Rfc8785Section3_2_3SortingExample) {
  const std::string in =
      "{\n"
      "  \"\\u20ac\": \"Euro Sign\",\n"
      "  \"\\r\": \"Carriage Return\",\n"
      "  \"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\",\n"
      "  \"1\": \"One\",\n"
      "  \"\\ud83d\\ude00\": \"Emoji: Grinning Face\",\n"
      "  \"\\u0080\": \"Control\",\n"
      "  \"\\u00f6\": \"Latin Small Letter O With Diaeresis\"\n"
      "}";
  EXPECT_EQ(MustCanonicalize(in),
            "{\"\\r\":\"Carriage Return\","
            "\"1\":\"One\","
            "\"\xC2\x80\":\"Control\","
            "\"\xC3\xB6\":\"Latin Small Letter O With Diaeresis\","
            "\"\xE2\x82\xAC\":\"Euro Sign\","
            "\"\xF0\x9F\x98\x80\":\"Emoji: Grinning Face\","
            "\"\xEF\xAC\xB3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

TEST(Jcs, WeirdKeysAndDelIsLiteral) {
  const std::string in =
      "{\"\\u20ac\":\"Euro Sign\",\"1\":\"One\",\"\\u0080\":\"Control\\u007f\","
      "\"\\ud83d\\ude02\":\"Smiley\",\"\\u00f6\":\"o\",\"\\ufb33\":\"Dalet\","
      "\"</script>\":\"Browser Challenge\"}";
  EXPECT_EQ(MustCanonicalize(in),
            "{\"1\":\"One\",\"</script>\":\"Browser Challenge\",\"\xC2\x80\":\"Control\x7F\","
            "\"\xC3\xB6\":\"o\",\"\xE2\x82\xAC\":\"Euro Sign\",\"\xF0\x9F\x98\x82\":\"Smiley\","
            "\"\xEF\xAC\xB3\":\"Dalet\"}");
}

// RFC 8785 Appendix B: IEEE-754 bit patterns and their canonical text.
TEST(Jcs, Rfc8785AppendixBNumberTable) {
  struct Row {
    uint64_t bits;
    const char* text;
  };
  const Row rows[] = {
      {0x0000000000000000, "0"},
      {0x8000000000000000, "0"},
      {0x0000000000000001, "5e-324"},
      {0x8000000000000001, "-5e-324"},
      {0x7fefffffffffffff, "1.7976931348623157e+308"},
      {0xffefffffffffffff, "-1.7976931348623157e+308"},
      {0x4340000000000000, "9007199254740992"},
      {0xc340000000000000, "-9007199254740992"},
      {0x4430000000000000, "295147905179352830000"},
      {0x44b52d02c7e14af5, "9.999999999999997e+22"},
      {0x44b52d02c7e14af6, "1e+23"},
      {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
      {0x444b1ae4d6e2ef4e, "999999999999999700000"},
      {0x444b1ae4d6e2ef4f, "999999999999999900000"},
      {0x444b1ae4d6e2ef50, "1e+21"},
      {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
      {0x3eb0c6f7a0b5ed8d, "0.000001"},
      {0x41b3de4355555553, "333333333.3333332"},
      {0x41b3de4355555554, "333333333.33333325"},
      {0x41b3de4355555555, "333333333.3333333"},
      {0x41b3de4355555556, "333333333.3333334"},
      {0x41b3de4355555557, "333333333.33333343"},
      {0xbecbf647612f3696, "-0.0000033333333333333333"},
      {0x43143ff3c1cb0959, "1424953923781206.2"},
  };
  for (const Row& row : rows) {
    const double d = FromBits(row.bits);
    EXPECT_EQ(FormatJsonNumber(d), row.text) << std::hex << row.bits;
    // The canonical text parses back to the same double and is a fixed point.
    if (d != 0) {
      auto again = Canonicalize(row.text);
      ASSERT_TRUE(again.ok()) << row.text;
      EXPECT_EQ(*again, row.text);
    }
  }
  // NaN and Infinity (Appendix B note 3) are not JSON: CanonicalDump rejects them.
  EXPECT_FALSE(CanonicalDump(nlohmann::json(FromBits(0x7fffffffffffffff))).ok());
  EXPECT_FALSE(CanonicalDump(nlohmann::json(FromBits(0x7ff0000000000000))).ok());
}

TEST(Jcs, NumberFormattingThresholds) {
  EXPECT_EQ(FormatJsonNumber(1e21), "1e+21");
  EXPECT_EQ(FormatJsonNumber(1e20), "100000000000000000000");
  EXPECT_EQ(FormatJsonNumber(1e-7), "1e-7");
  EXPECT_EQ(FormatJsonNumber(1.5e-7), "1.5e-7");
  EXPECT_EQ(FormatJsonNumber(1e-6), "0.000001");
  EXPECT_EQ(FormatJsonNumber(-0.0), "0");
  EXPECT_EQ(FormatJsonNumber(0.1), "0.1");
  EXPECT_EQ(FormatJsonNumber(-123.456), "-123.456");
  EXPECT_EQ(FormatJsonNumber(1.2345e25), "1.2345e+25");
}

// --- Ordering and escapes ------------------------------------------------------

TEST(Jcs, KeysSortByUtf16CodeUnitsNotUtf8Bytes) {
  // UTF-8 byte order would be U+D7FF < U+E000 < U+FFFF < U+1F600; UTF-16
  // puts U+1F600 (D83D DE00) before U+E000.
  const std::string in =
      "{\"\\uffff\":4,\"\\ue000\":3,\"\\ud83d\\ude00\":2,\"\\ud7ff\":1,\"\":0,\"a\":0.5}";
  EXPECT_EQ(MustCanonicalize(in),
            "{\"\":0,\"a\":0.5,\"\xED\x9F\xBF\":1,\"\xF0\x9F\x98\x80\":2,"
            "\"\xEE\x80\x80\":3,\"\xEF\xBF\xBF\":4}");
  // Prefixes sort first; comparison continues past a shared multi-byte prefix.
  EXPECT_EQ(MustCanonicalize("{\"ab\":1,\"a\":2,\"\xF0\x9F\x98\x81\":3,\"\xF0\x9F\x98\x80\":4}"),
            "{\"a\":2,\"ab\":1,\"\xF0\x9F\x98\x80\":4,\"\xF0\x9F\x98\x81\":3}");
  // CanonicalDump reorders nlohmann's byte-ordered std::map the same way.
  nlohmann::json j = {{"\xEE\x80\x80", 1}, {"\xF0\x9F\x98\x80", 2}, {"z", 3}};
  auto dumped = CanonicalDump(j);
  ASSERT_TRUE(dumped.ok());
  EXPECT_EQ(*dumped, "{\"z\":3,\"\xF0\x9F\x98\x80\":2,\"\xEE\x80\x80\":1}");
}

TEST(Jcs, StringEscapes) {
  std::string in = "[\"";
  std::string want = "[\"";
  const char* shortforms[] = {"\\b", "\\t", "\\n", "\\f", "\\r"};
  const int shortcodes[] = {8, 9, 10, 12, 13};
  for (int c = 0; c < 0x20; ++c) {
    char esc[8];
    std::snprintf(esc, sizeof esc, "\\u%04X", c);  // upper-case in, lower-case out
    in += esc;
    bool done = false;
    for (int i = 0; i < 5; ++i) {
      if (shortcodes[i] == c) {
        want += shortforms[i];
        done = true;
      }
    }
    if (!done) {
      std::snprintf(esc, sizeof esc, "\\u%04x", c);
      want += esc;
    }
  }
  in += "\\\"\\\\\\/\\u007f\\u00e9\\u2028\\uD834\\uDD1E\"]";
  want += "\\\"\\\\/\x7F\xC3\xA9\xE2\x80\xA8\xF0\x9D\x84\x9E\"]";
  EXPECT_EQ(MustCanonicalize(in), want);
  // Literal UTF-8 stays literal, and '/' is never escaped.
  EXPECT_EQ(MustCanonicalize("\"a/\xC3\xA9\xF4\x8F\xBF\xBF\""), "\"a/\xC3\xA9\xF4\x8F\xBF\xBF\"");
}

TEST(Jcs, SameDataDifferentSpellingCanonicalizesIdentically) {
  const std::string a = "{\"b\":[1,2.5,{\"y\":null,\"x\":true}],\"a\":\"\xC3\xA9\"}";
  const std::string variants[] = {
      a,
      " { \"a\" : \"\\u00e9\" ,\n\t\"b\":[ 1.0 , 25e-1,{\"x\":true ,\"y\":null} ] }\r\n",
      "{\"a\":\"\\u00E9\",\"b\":[1e0,2.50,{\"x\":true,\"y\":null}]}",
      "{\"b\":[10E-1,0.25E1,{\"y\":null,\"x\":true}],\"a\":\"\xC3\xA9\"}",
      "{\"b\":[0.1e1,250e-2,{\"x\":true,\"y\":null}],\"\\u0061\":\"\xC3\xA9\"}",
  };
  const std::string want = "{\"a\":\"\xC3\xA9\",\"b\":[1,2.5,{\"x\":true,\"y\":null}]}";
  for (const auto& v : variants) EXPECT_EQ(MustCanonicalize(v), want) << v;
  // Large and tiny spellings.
  EXPECT_EQ(MustCanonicalize("[100000000000000000000000, 1e23, 1E+23, 0.1e24]"),
            "[1e+23,1e+23,1e+23,1e+23]");
  EXPECT_EQ(MustCanonicalize("[-0, -0.0, 0e10, 1e-400, -1e-400]"), "[0,0,0,0,0]");
  EXPECT_EQ(MustCanonicalize("[9007199254740993, 123456789012345678]"),
            "[9007199254740992,123456789012345680]");
}

TEST(Jcs, TopLevelScalarsAndEmptyContainers) {
  EXPECT_EQ(MustCanonicalize(" 42 "), "42");
  EXPECT_EQ(MustCanonicalize("\"x\""), "\"x\"");
  EXPECT_EQ(MustCanonicalize("null"), "null");
  EXPECT_EQ(MustCanonicalize("[ ]"), "[]");
  EXPECT_EQ(MustCanonicalize("{ }"), "{}");
  EXPECT_EQ(MustCanonicalize("[[[]],{\"\":{}}]"), "[[[]],{\"\":{}}]");
}

TEST(Jcs, ParseJsonStrictAndCanonicalDumpAgree) {
  const std::string in =
      "{\"n\":[1,-2,9007199254740992,9007199254740993,1.0,1e2,0.5],"
      "\"s\":\"\\ud83d\\ude00\",\"o\":{\"b\":false,\"a\":null}}";
  auto j = ParseJsonStrict(in);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_TRUE((*j)["n"][0].is_number_integer());
  EXPECT_EQ((*j)["n"][1].get<int64_t>(), -2);
  EXPECT_TRUE((*j)["n"][2].is_number_integer());
  EXPECT_TRUE((*j)["n"][3].is_number_float());  // beyond 2^53: a double
  EXPECT_TRUE((*j)["n"][4].is_number_float());
  EXPECT_EQ((*j)["s"].get<std::string>(), "\xF0\x9F\x98\x80");
  auto dumped = CanonicalDump(*j);
  ASSERT_TRUE(dumped.ok()) << dumped.status().ToString();
  EXPECT_EQ(*dumped, MustCanonicalize(in));
  EXPECT_EQ(*dumped,
            "{\"n\":[1,-2,9007199254740992,9007199254740992,1,100,0.5],"
            "\"o\":{\"a\":null,\"b\":false},\"s\":\"\xF0\x9F\x98\x80\"}");
}

TEST(Jcs, CanonicalDumpIntegerLimits) {
  const int64_t two53 = int64_t{1} << 53;
  EXPECT_EQ(*CanonicalDump(nlohmann::json(two53)), "9007199254740992");
  EXPECT_EQ(*CanonicalDump(nlohmann::json(-two53)), "-9007199254740992");
  EXPECT_EQ(*CanonicalDump(nlohmann::json(uint64_t(two53))), "9007199254740992");
  EXPECT_EQ(*CanonicalDump(nlohmann::json(0.0)), "0");
  EXPECT_EQ(*CanonicalDump(nlohmann::json(-0.0)), "0");
}

// --- Cross-checks against node -------------------------------------------------

TEST(Jcs, FormatJsonNumberMatchesEcmaScriptOnRandomDoubles) {
  std::mt19937_64 rng(20240611);
  std::vector<double> values;
  while (values.size() < 20000) {
    double d;
    switch (values.size() % 4) {
      case 0:
      case 1: d = FromBits(rng()); break;  // any bit pattern
      case 2: {  // near the notation thresholds and round numbers
        const int e = static_cast<int>(rng() % 60) - 30;
        d = std::pow(10.0, e) * (1 + static_cast<double>(rng() % 1000) / 997);
        if (rng() & 1) d = std::nextafter(d, rng() & 2 ? 0.0 : 1e300);
        break;
      }
      default: d = static_cast<double>(static_cast<int64_t>(rng()) >> (rng() % 64)); break;
    }
    if (std::isfinite(d)) values.push_back(d);
  }
  std::string input;
  for (double d : values) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    char hex[20];
    std::snprintf(hex, sizeof hex, "%016llx\n", static_cast<unsigned long long>(bits));
    input += hex;
  }
  const auto lines = RunNode(
      "const fs=require('fs');const out=[];"
      "for(const h of fs.readFileSync(process.argv[2],'utf8').split('\\n')){"
      "if(!h)continue;out.push(String(Buffer.from(h,'hex').readDoubleBE(0)));}"
      "process.stdout.write(out.join('\\n')+'\\n');",
      input);
  ASSERT_EQ(lines.size(), values.size());
  int mismatches = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string mine = FormatJsonNumber(values[i]);
    if (mine != lines[i] && ++mismatches <= 10) {
      ADD_FAILURE() << "value #" << i << ": mine " << mine << " node " << lines[i];
    }
  }
  EXPECT_EQ(mismatches, 0);
}

// Random documents spelled loosely: shuffled members, whitespace, escapes,
// non-ASCII and supplementary characters, number spellings.
class DocGenerator {
 public:
  explicit DocGenerator(uint64_t seed) : rng_(seed) {}

  std::string Document() {
    std::string out;
    Value(0, &out);
    return out;
  }

 private:
  size_t Pick(size_t n) { return rng_() % n; }
  void Space(std::string* out) {
    static const char* kSpaces[] = {"", "", "", " ", "\t", "  "};
    out->append(kSpaces[Pick(6)]);
  }

  void Value(int depth, std::string* out) {
    const size_t kind = depth >= 4 ? Pick(5) : Pick(7);
    switch (kind) {
      case 0: out->append(Pick(3) == 0 ? "null" : Pick(2) ? "true" : "false"); break;
      case 1:
      case 2: Number(out); break;
      case 3:
      case 4: String(out); break;
      case 5: {
        out->push_back('[');
        const size_t n = Pick(5);
        for (size_t i = 0; i < n; ++i) {
          if (i) out->push_back(',');
          Space(out);
          Value(depth + 1, out);
          Space(out);
        }
        out->push_back(']');
        break;
      }
      default: {
        out->push_back('{');
        const size_t n = Pick(6);
        std::vector<std::string> used;
        for (size_t i = 0; i < n; ++i) {
          std::string key;
          String(&key);
          // Unique after unescaping is checked by node too; keep spellings
          // distinct and short names unlikely to collide.
          if (std::find(used.begin(), used.end(), key) != used.end()) continue;
          used.push_back(key);
          if (out->back() != '{') out->push_back(',');
          Space(out);
          out->append(key);
          Space(out);
          out->push_back(':');
          Space(out);
          Value(depth + 1, out);
        }
        out->push_back('}');
      }
    }
  }

  void Number(std::string* out) {
    char buf[64];
    switch (Pick(6)) {
      case 0: std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(rng_() >> Pick(64)) * (Pick(2) ? 1 : -1)); break;
      case 1: std::snprintf(buf, sizeof buf, "%.17g", std::ldexp(static_cast<double>(rng_() % 100000), static_cast<int>(Pick(80)) - 40)); break;
      case 2: std::snprintf(buf, sizeof buf, "%.3E", static_cast<double>(rng_() % 1000000) * std::pow(10.0, static_cast<int>(Pick(60)) - 30)); break;
      case 3: std::snprintf(buf, sizeof buf, "%d.%05de%d", static_cast<int>(Pick(100)), static_cast<int>(Pick(100000)), static_cast<int>(Pick(600)) - 300); break;
      case 4: {
        double d;
        do d = FromBits(rng_()); while (!std::isfinite(d));
        std::snprintf(buf, sizeof buf, "%.17g", d);
        break;
      }
      default: std::snprintf(buf, sizeof buf, "%d", static_cast<int>(Pick(20)) - 10); break;
    }
    out->append(buf);
  }

  void String(std::string* out) {
    static const char* kPieces[] = {
        "a", "b", "Z", "1", "_", " ", "\\n", "\\t", "\\u0001", "\\u001f", "\\\"", "\\\\", "\\/",
        "\xC3\xA9", "\\u00e9", "\xE2\x82\xAC", "\\u20AC", "\xEF\xAC\xB3", "\xEE\x80\x80",
        "\xF0\x9F\x98\x80", "\\ud83d\\ude00", "\\uD800\\uDC00", "\xF4\x8F\xBF\xBF",
        "\x7F", "\xEF\xBF\xBF", "\\u2028", "\xED\x9F\xBF"};
    constexpr size_t kCount = sizeof(kPieces) / sizeof(kPieces[0]);
    out->push_back('"');
    const size_t n = Pick(5);
    for (size_t i = 0; i < n; ++i) out->append(kPieces[Pick(kCount)]);
    out->push_back('"');
  }

  std::mt19937_64 rng_;
};

TEST(Jcs, CanonicalizeMatchesNodeCanonicalizerOnRandomDocuments) {
  DocGenerator gen(8785);
  std::vector<std::string> docs;
  std::string input;
  for (int i = 0; i < 3000; ++i) {
    docs.push_back(gen.Document());
    input += docs.back();
    input += '\n';
  }
  // JS sorts strings by UTF-16 code units; JSON.stringify escapes as JCS does.
  const auto lines = RunNode(
      "const fs=require('fs');"
      "function c(v){if(v===null||typeof v!=='object')return JSON.stringify(v);"
      "if(Array.isArray(v))return '['+v.map(c).join(',')+']';"
      "return '{'+Object.keys(v).sort().map(k=>JSON.stringify(k)+':'+c(v[k])).join(',')+'}';}"
      "const out=[];"
      "for(const l of fs.readFileSync(process.argv[2],'utf8').split('\\n')){"
      "if(!l)continue;let r;try{r=c(JSON.parse(l));}catch(e){r='ERR';}out.push(r);}"
      "process.stdout.write(out.join('\\n')+'\\n');",
      input);
  ASSERT_EQ(lines.size(), docs.size());
  int mismatches = 0, duplicates = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    auto mine = Canonicalize(docs[i]);
    if (!mine.ok()) {
      // Two spellings of one name (e.g. "\u00e9" and "é") are duplicates
      // after unescaping; JSON.parse silently keeps the last one.
      ASSERT_NE(mine.status().message().find("duplicate key"), std::string::npos)
          << mine.status().ToString() << " for " << docs[i];
      ++duplicates;
      continue;
    }
    if (*mine != lines[i] && ++mismatches <= 10) {
      ADD_FAILURE() << "doc " << docs[i] << "\nmine " << *mine << "\nnode " << lines[i];
    }
    // Idempotence, and agreement with the DOM path.
    EXPECT_EQ(MustCanonicalize(*mine), *mine);
    auto j = ParseJsonStrict(docs[i]);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    auto dumped = CanonicalDump(*j);
    ASSERT_TRUE(dumped.ok());
    EXPECT_EQ(*dumped, *mine);
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_LT(duplicates, static_cast<int>(docs.size()) / 4);
}

// --- Error paths ---------------------------------------------------------------

TEST(JcsErrors, EachRuleNamesTheReasonAndOffset) {
  struct Case {
    std::string input;
    std::string message;
  };
  const Case cases[] = {
      {"", "json: unexpected end of input at offset 0"},
      {"   ", "json: unexpected end of input at offset 3"},
      {"{\"a\":1,\"b\":2,\"a\":3}", "json: duplicate key \"a\" at offset 13"},
      {"{\"b\":1, \"\\u0061\":2,\"a\":3}", "json: duplicate key \"a\" at offset 19"},
      {"[{\"x\":{\"k\":1,\"k\":2}}]", "json: duplicate key \"k\" at offset 13"},
      {"// c\n1", "json: unexpected '/' where a value should start at offset 0"},
      {"[1,]", "json: unexpected ']' where a value should start at offset 3"},
      {"{\"a\":1,}", "json: unexpected '}' where a member name should start at offset 7"},
      {"[1 2]", "json: unexpected '2' where ',' or ']' should follow an element at offset 3"},
      {"{\"a\" 1}", "json: unexpected '1' where ':' should follow a member name at offset 5"},
      {"{a:1}", "json: unexpected 'a' where a member name should start at offset 1"},
      {"01", "json: invalid number (leading zero) at offset 0"},
      {"[-012]", "json: invalid number (leading zero) at offset 1"},
      {"1.", "json: invalid number (no digit after '.') at offset 0"},
      {".5", "json: unexpected '.' where a value should start at offset 0"},
      {"+1", "json: unexpected '+' where a value should start at offset 0"},
      {"1e", "json: invalid number (no digit in exponent) at offset 0"},
      {"-", "json: invalid number (no digit after '-') at offset 0"},
      {"0x10", "json: unexpected 'x' after the value at offset 1"},
      {"[NaN]", "json: NaN and Infinity are not JSON numbers at offset 1"},
      {"Infinity", "json: NaN and Infinity are not JSON numbers at offset 0"},
      {"[-Infinity]", "json: NaN and Infinity are not JSON numbers at offset 1"},
      {"[1e309]", "json: number out of range of an IEEE-754 double at offset 1"},
      {"-1.8e308", "json: number out of range of an IEEE-754 double at offset 0"},
      {"1e99999999999999999999", "json: number out of range of an IEEE-754 double at offset 0"},
      {"[tru]", "json: invalid literal (expected true) at offset 1"},
      {"nul", "json: invalid literal (expected null) at offset 0"},
      {"True", "json: unexpected 'T' where a value should start at offset 0"},
      {"1 2", "json: unexpected '2' after the value at offset 2"},
      {"{}x", "json: unexpected 'x' after the value at offset 2"},
      {"{}\"a\"", "json: unexpected '\"' after the value at offset 2"},  // found by jcs_fuzz
      {"\xEF\xBB\xBF{}", "json: unexpected byte 0xef where a value should start at offset 0"},
      {"[1,\f2]", "json: unexpected byte 0x0c where a value should start at offset 3"},
      {"[1,\xC2\xA0" "2]", "json: unexpected byte 0xc2 where a value should start at offset 3"},
      {"\"abc", "json: unterminated string at offset 0"},
      {"[\"a\\", "json: unterminated string at offset 1"},
      {"\"a\tb\"", "json: unescaped control character in string at offset 2"},
      {"\"a\nb\"", "json: unescaped control character in string at offset 2"},
      {std::string("\"a\0b\"", 5), "json: unescaped control character in string at offset 2"},
      {"\"\\x\"", "json: invalid escape at offset 1"},
      {"\"\\u12G4\"", "json: invalid \\u escape at offset 1"},
      {"\"\\u12\"", "json: invalid \\u escape at offset 1"},
      {"\"ab\\udc00\"", "json: lone low surrogate escape at offset 3"},
      {"\"\\ud800\"", "json: high surrogate escape not followed by a low one at offset 1"},
      {"\"\\ud800x\"", "json: high surrogate escape not followed by a low one at offset 1"},
      {"\"\\ud800\\u0041\"", "json: high surrogate escape not followed by a low one at offset 1"},
      {"\"\\ud800\\ud800\"", "json: high surrogate escape not followed by a low one at offset 1"},
      {"\"\\ude00\\ud83d\"", "json: lone low surrogate escape at offset 1"},
      {"\"\\ud800\\uZZZZ\"", "json: invalid \\u escape at offset 7"},
      {"\"a\x80\"", "json: invalid UTF-8 at offset 2"},
      {"\"\xC0\xAF\"", "json: invalid UTF-8 at offset 1"},            // overlong '/'
      {"\"\xC1\xBF\"", "json: invalid UTF-8 at offset 1"},            // overlong
      {"\"\xE0\x80\xAF\"", "json: invalid UTF-8 at offset 1"},        // overlong 3-byte
      {"\"\xF0\x80\x80\xAF\"", "json: invalid UTF-8 at offset 1"},    // overlong 4-byte
      {"\"\xED\xA0\x80\"", "json: invalid UTF-8 at offset 1"},        // U+D800 encoded
      {"\"\xED\xBF\xBF\"", "json: invalid UTF-8 at offset 1"},        // U+DFFF encoded
      {"\"\xF4\x90\x80\x80\"", "json: invalid UTF-8 at offset 1"},    // U+110000
      {"\"\xF5\x80\x80\x80\"", "json: invalid UTF-8 at offset 1"},
      {"\"\xFF\"", "json: invalid UTF-8 at offset 1"},
      {"\"\xE2\x82\"", "json: invalid UTF-8 at offset 1"},            // truncated
      {"\"\xF0\x9F\x98", "json: invalid UTF-8 at offset 1"},          // truncated at end
      {"\"\\u00e9\xE2\x82\"", "json: invalid UTF-8 at offset 7"},     // slow path too
      {"{\"\xC3\"", "json: invalid UTF-8 at offset 2"},               // in a key
  };
  for (const Case& c : cases) {
    auto r = Canonicalize(c.input);
    ASSERT_FALSE(r.ok()) << "accepted: " << c.input;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.message) << "input: " << c.input;
    // The DOM path follows the same rules and reports the same error.
    auto j = ParseJsonStrict(c.input);
    ASSERT_FALSE(j.ok()) << "ParseJsonStrict accepted: " << c.input;
    EXPECT_EQ(j.status().message(), c.message) << "input: " << c.input;
  }
}

TEST(JcsErrors, ValueCountLimit) {
  JcsLimits limits;
  limits.max_values = 3;  // the array and its two members
  EXPECT_TRUE(ParseJsonStrict("[1,{}]", limits).ok());
  EXPECT_TRUE(Canonicalize("{\"a\":[]}", limits).ok());
  auto many = ParseJsonStrict("[{},{},{}]", limits);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.status().message(), "json: more than 3 values at offset 7");
  // A body of empty objects stops at the limit, not at the end of memory.
  std::string bomb = "[";
  for (int i = 0; i < 200000; ++i) bomb += "{},";
  bomb += "{}]";
  limits.max_values = 100000;
  EXPECT_FALSE(ParseJsonStrict(bomb, limits).ok());
  EXPECT_TRUE(ParseJsonStrict(bomb).ok());  // unbounded by default (documents are hashed streaming)
}

TEST(JcsErrors, DepthAndSizeLimits) {
  JcsLimits limits;
  limits.max_depth = 3;
  EXPECT_TRUE(Canonicalize("[[[1]]]", limits).ok());
  EXPECT_TRUE(Canonicalize("{\"a\":[{}]}", limits).ok());
  auto deep = Canonicalize("[[[[1]]]]", limits);
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().message(), "json: nesting deeper than 3 at offset 3");
  auto deep_obj = ParseJsonStrict("{\"a\":{\"b\":[{}]}}", limits);
  ASSERT_FALSE(deep_obj.ok());
  EXPECT_EQ(deep_obj.status().message(), "json: nesting deeper than 3 at offset 11");
  // The default limit (64) stops a deeply nested attack without a crash.
  const std::string bomb(100000, '[');
  auto r = Canonicalize(bomb);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "json: nesting deeper than 64 at offset 64");

  limits = JcsLimits{};
  limits.max_bytes = 8;
  EXPECT_TRUE(Canonicalize("[1,2,3]", limits).ok());
  auto big = Canonicalize("[1,2,3,4]", limits);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().message(),
            "json: input of 9 bytes exceeds the limit of 8 bytes at offset 8");
  EXPECT_FALSE(ParseJsonStrict("[1,2,3,4]", limits).ok());
}

TEST(JcsErrors, CanonicalDumpRejectsWhatJcsCannotRepresent) {
  const int64_t two53 = int64_t{1} << 53;
  const nlohmann::json bad[] = {
      nlohmann::json(std::nan("")),
      nlohmann::json(INFINITY),
      nlohmann::json(-INFINITY),
      nlohmann::json(two53 + 1),
      nlohmann::json(-two53 - 1),
      nlohmann::json(uint64_t(two53) + 1),
      nlohmann::json(UINT64_MAX),
      nlohmann::json("bad \xC0\xAF utf-8"),
      nlohmann::json("lone surrogate \xED\xA0\x80"),
      nlohmann::json::object({{"key\xFF", 1}}),
      nlohmann::json::array({1, nlohmann::json::array({std::nan("")})}),
      nlohmann::json::binary({1, 2, 3}),
  };
  for (const auto& v : bad) {
    auto r = CanonicalDump(v);
    EXPECT_FALSE(r.ok()) << "accepted a value";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(r.status().message().rfind("json: ", 0), 0u) << r.status().message();
    }
  }
}

}  // namespace
}  // namespace quipu::crypto
