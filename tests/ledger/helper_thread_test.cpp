// The sequencer's helper thread: every index of a loop runs exactly once,
// whoever claims it, for loops too small to share, loops that are not a
// multiple of the chunk, and many loops in a row; Finish returns only when
// all of it is done.
#include "ledger/helper_thread.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace quipu::ledger {
namespace {

TEST(HelperThread, RunsEveryIndexOnce) {
  HelperThread helper;
  for (size_t n : {0, 1, 63, 64, 255, 256, 257, 1000, 100003}) {
    for (size_t chunk : {1, 7, 64}) {
      auto seen = std::make_unique<std::atomic<int>[]>(n + 1);
      helper.For(n, chunk, [&](size_t begin, size_t end) {
        ASSERT_LE(begin, end);
        ASSERT_LE(end, n);
        ASSERT_LE(end - begin, chunk);
        for (size_t i = begin; i < end; ++i) seen[i].fetch_add(1);
      });
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(seen[i].load(), 1) << "n " << n << " chunk " << chunk << " i " << i;
    }
  }
}

// The caller works between Start and Finish while the helper runs; Finish
// waits for a chunk the helper is still in the middle of.
TEST(HelperThread, FinishWaitsForTheHelpersChunk) {
  HelperThread helper;
  std::set<std::thread::id> threads;
  for (int round = 0; round < 50; ++round) {
    const size_t n = 4096;
    std::vector<int> out(n, 0);
    std::mutex mu;
    helper.Start(n, 64, [&](size_t begin, size_t end) {
      {
        std::lock_guard lock(mu);
        threads.insert(std::this_thread::get_id());
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));  // a slow chunk
      for (size_t i = begin; i < end; ++i) out[i] = static_cast<int>(i) + 1;
    });
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    helper.Finish();
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], static_cast<int>(i) + 1) << "round " << round;
  }
  // Over fifty loops with slow chunks the helper joined at least once.
  EXPECT_EQ(threads.size(), 2u);
}

}  // namespace
}  // namespace quipu::ledger
