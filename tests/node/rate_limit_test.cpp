// node/rate_limit: a bucket gives its burst, then one token per refill
// interval; keys are independent; forgetting and the key bound hold.
#include <gtest/gtest.h>

#include "node/rate_limit.h"

namespace quipu::node {
namespace {

constexpr int64_t kHour = 3600LL * 1000000;

TEST(RateLimiter, BurstThenTheRefillRate) {
  int64_t now = 1000;
  RateLimiter limit(20, 20, [&] { return now; });  // 20 an hour
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(limit.Allow("ana")) << i;
  EXPECT_FALSE(limit.Allow("ana"));
  EXPECT_EQ(limit.WaitMicros("ana"), kHour / 20);
  EXPECT_TRUE(limit.Allow("luis"));  // another key
  now += kHour / 20 - 1;
  EXPECT_FALSE(limit.Allow("ana"));
  now += 1;
  EXPECT_TRUE(limit.Allow("ana"));
  EXPECT_FALSE(limit.Allow("ana"));
  now += 10 * kHour;  // refills to the burst, not beyond
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(limit.Allow("ana"));
  EXPECT_FALSE(limit.Allow("ana"));
  limit.Forget("ana");
  EXPECT_TRUE(limit.Allow("ana"));
}

TEST(RateLimiter, ManyTokensAtOnceAsBytesAreCounted) {
  int64_t now = 1000;
  RateLimiter bytes(3600, 100, [&] { return now; });  // a token a second, 100 at once
  EXPECT_TRUE(bytes.Allow("c", 60));
  EXPECT_FALSE(bytes.Allow("c", 60));  // 40 left: nothing taken
  EXPECT_EQ(bytes.WaitMicros("c", 60), 20 * 1000000);
  EXPECT_TRUE(bytes.Allow("c", 40));
  EXPECT_FALSE(bytes.Allow("c", 101));
  now += 3600LL * 1000000;
  EXPECT_FALSE(bytes.Allow("c", 101));  // beyond the burst: never
  EXPECT_TRUE(bytes.Allow("c", 100));
}

TEST(RateLimiter, ZeroMeansNoLimitAndKeysAreBounded) {
  int64_t now = 0;
  RateLimiter none(0, 0, [&] { return now; });
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(none.Allow("x"));
  RateLimiter small(1, 1, [&] { return now; }, 3);
  for (const char* k : {"a", "b", "c"}) EXPECT_TRUE(small.Allow(k));
  EXPECT_FALSE(small.Allow("a"));
  EXPECT_TRUE(small.Allow("d"));  // full: the table is emptied rather than grown
}

}  // namespace
}  // namespace quipu::node
