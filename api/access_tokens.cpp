#include "api/access_tokens.h"

#include "crypto/encoding.h"
#include "crypto/sha256.h"

namespace quipu::api {
namespace {

int64_t SteadySeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

AccessTokenCache::AccessTokenCache(Lookup lookup, std::chrono::seconds ttl, size_t max_tokens,
                                   std::function<int64_t()> clock)
    : lookup_(std::move(lookup)),
      ttl_(ttl.count()),
      max_tokens_(std::max<size_t>(max_tokens, 1)),
      clock_(clock ? std::move(clock) : SteadySeconds) {}

Result<node::Citizen> AccessTokenCache::Check(const std::string& access_token) {
  const std::string key = crypto::HexEncode(crypto::Sha256(access_token));
  const int64_t now = clock_();
  {
    std::lock_guard lock(mu_);
    if (auto it = known_.find(key); it != known_.end()) {
      if (it->second.until > now) return it->second.citizen;
      oldest_first_.erase(it->second.age);
      known_.erase(it);
    }
  }
  // Asked without the lock: the provider may take seconds.
  QUIPU_ASSIGN_OR_RETURN(node::Citizen citizen, lookup_(access_token));
  std::lock_guard lock(mu_);
  if (known_.count(key) == 0) {
    while (known_.size() >= max_tokens_ && !oldest_first_.empty()) {
      known_.erase(oldest_first_.front());
      oldest_first_.pop_front();
    }
    oldest_first_.push_back(key);
    known_.emplace(key, Known{citizen, now + ttl_, std::prev(oldest_first_.end())});
  }
  return citizen;
}

size_t AccessTokenCache::size() const {
  std::lock_guard lock(mu_);
  return known_.size();
}

}  // namespace quipu::api
