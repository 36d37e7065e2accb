// node/time: RFC 3339 times as people and clients write them, against
// `date`'s own reading of the same text.
#include "node/time.h"

#include <gtest/gtest.h>

#include "tests/common/process.h"

namespace quipu::node {
namespace {

int64_t DateSays(const std::string& text) {
  auto r = testing::RunShell("date -u -d " + testing::ShellQuote(text) + " +%s");
  EXPECT_EQ(r.exit_code, 0) << text;
  return std::stoll(r.out) * 1000000;
}

TEST(Rfc3339, AcceptsTheUsualSpellings) {
  for (const char* text : {"2030-01-01T00:00:00Z", "2030-01-01t00:00:00z", "2024-02-29T23:59:59Z",
                           "2030-06-15T12:30:45+02:00", "2030-06-15T12:30:45-04:30", "1970-01-01T00:00:00Z",
                           "2099-12-31T23:59:59Z"}) {
    auto t = ParseRfc3339(text);
    ASSERT_TRUE(t.ok()) << text << ": " << t.status().message();
    EXPECT_EQ(*t, DateSays(text)) << text;
  }
  // Fractions: kept to the microsecond, cut beyond.
  EXPECT_EQ(*ParseRfc3339("2030-01-01T00:00:00.5Z"), DateSays("2030-01-01T00:00:00Z") + 500000);
  EXPECT_EQ(*ParseRfc3339("2030-01-01T00:00:00.123456Z"), DateSays("2030-01-01T00:00:00Z") + 123456);
  EXPECT_EQ(*ParseRfc3339("2030-01-01T00:00:00.123456789Z"), DateSays("2030-01-01T00:00:00Z") + 123456);
  // The ledger's own shape is one of them.
  EXPECT_TRUE(ParseRfc3339("2026-11-23T04:05:06.123456Z").ok());
}

TEST(Rfc3339Errors, RefusesWhatIsNotATime) {
  for (const char* text : {"", "2030-01-01", "2030-01-01T00:00:00", "2030-01-01 00:00:00Z", "2030-1-01T00:00:00Z",
                           "2030-01-01T00:00:00.Z", "2030-01-01T00:00:00.1234567890Z", "2030-01-01T00:00:00+0200",
                           "2030-01-01T00:00:00+24:00", "2030-02-30T00:00:00Z", "2023-02-29T00:00:00Z",
                           "2030-13-01T00:00:00Z", "2030-01-01T24:00:00Z", "2030-01-01T00:60:00Z",
                           "2030-01-01T00:00:60Z", "1969-12-31T23:59:59Z", "2030-01-01T00:00:00Zjunk",
                           "+2030-01-01T00:00:00Z", "2030-01-01T00:00:00 Z"}) {
    auto t = ParseRfc3339(text);
    EXPECT_FALSE(t.ok()) << text;
    if (!t.ok()) {
      EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    }
  }
  EXPECT_NE(ParseRfc3339("2030-01-01T00:00:60Z").status().message().find("leap"), std::string::npos);
}

}  // namespace
}  // namespace quipu::node
