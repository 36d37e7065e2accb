#include "node/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace quipu::node {

RateLimiter::RateLimiter(double per_hour, double burst, std::function<int64_t()> clock, size_t max_keys)
    : per_micro_(per_hour / 3.6e9), burst_(std::max(1.0, burst)), clock_(std::move(clock)), max_keys_(max_keys) {}

double RateLimiter::Refilled(const Bucket& b, int64_t now) const {
  return std::min(burst_, b.tokens + static_cast<double>(std::max<int64_t>(0, now - b.last)) * per_micro_);
}

bool RateLimiter::Allow(std::string_view key, double tokens) {
  if (per_micro_ <= 0) return true;
  const int64_t now = clock_();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      // Full: drop the buckets that have refilled (they hold nothing a new
      // one would not), or, if none has, every bucket (fail open, bounded).
      for (auto b = buckets_.begin(); b != buckets_.end();) {
        b = Refilled(b->second, now) >= burst_ ? buckets_.erase(b) : std::next(b);
      }
      if (buckets_.size() >= max_keys_) buckets_.clear();
    }
    it = buckets_.emplace(std::string(key), Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = Refilled(b, now);
  b.last = now;
  if (b.tokens < tokens) return false;
  b.tokens -= tokens;
  return true;
}

int64_t RateLimiter::WaitMicros(std::string_view key, double wanted) const {
  if (per_micro_ <= 0) return 0;
  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) return 0;
  const double tokens = Refilled(it->second, clock_());
  return tokens >= wanted ? 0 : static_cast<int64_t>(std::ceil((wanted - tokens) / per_micro_));
}

void RateLimiter::Forget(std::string_view key) {
  std::lock_guard lock(mu_);
  buckets_.erase(std::string(key));
}

}  // namespace quipu::node
