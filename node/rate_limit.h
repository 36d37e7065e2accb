// Token buckets by key: `burst` tokens, refilled at `per_hour` an hour. For
// the limits that hold against guessing and flooding (README, "Limits").
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace quipu::node {

// Thread-safe.
class RateLimiter {
 public:
  // `clock`: unix (or any monotonic) microseconds. per_hour 0: no limit.
  RateLimiter(double per_hour, double burst, std::function<int64_t()> clock, size_t max_keys = 100000);

  // Takes `tokens` from `key`'s bucket; false (and nothing taken) when it
  // has fewer (a request for more than `burst` never passes).
  bool Allow(std::string_view key, double tokens = 1);
  // Microseconds until `key` has `tokens` again (0 when it has them).
  int64_t WaitMicros(std::string_view key, double tokens = 1) const;
  // Drops what is kept about `key` (a forgotten citizen).
  void Forget(std::string_view key);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t last = 0;
  };
  double Refilled(const Bucket& b, int64_t now) const;

  const double per_micro_;
  const double burst_;
  const std::function<int64_t()> clock_;
  const size_t max_keys_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace quipu::node
