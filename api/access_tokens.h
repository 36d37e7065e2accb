// Citizens' OpenID Connect access tokens that another party holds (an
// institution, through the AGETIC-compatible API), checked at the identity
// provider and remembered for a short while: a burst of requests with one
// token asks the provider once. Only the tokens' SHA-256 is kept, and only
// tokens the provider accepted (a refused token is asked about again: it
// may be valid a moment later, and a refusal costs the caller, not quipu,
// a round trip).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "crypto/status.h"
#include "node/id_token.h"

namespace quipu::api {

// Thread-safe.
class AccessTokenCache {
 public:
  // Asks the provider about a token (OidcClient::CitizenOfAccessToken).
  using Lookup = std::function<Result<node::Citizen>(const std::string& access_token)>;
  // `clock`: seconds, steady; the default is std::chrono::steady_clock.
  AccessTokenCache(Lookup lookup, std::chrono::seconds ttl = std::chrono::seconds(60), size_t max_tokens = 10000,
                   std::function<int64_t()> clock = nullptr);

  // The citizen of `access_token`: remembered when asked less than `ttl`
  // ago, otherwise Lookup's answer (remembered when it is a citizen; the
  // oldest token is forgotten first beyond `max_tokens`).
  Result<node::Citizen> Check(const std::string& access_token);

  size_t size() const;

 private:
  struct Known {
    node::Citizen citizen;
    int64_t until = 0;
    std::list<std::string>::iterator age;
  };
  const Lookup lookup_;
  const int64_t ttl_;
  const size_t max_tokens_;
  const std::function<int64_t()> clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Known> known_;  // by hex SHA-256 of the token
  std::list<std::string> oldest_first_;
};

}  // namespace quipu::api
