#include "api/citizen_sessions.h"

#include <sodium.h>

#include "crypto/encoding.h"
#include "crypto/random.h"
#include "crypto/sha256.h"

namespace quipu::api {
namespace {

std::string RandomText() { return crypto::Base64UrlEncode(crypto::RandomBytes(32)); }
std::string Digest(std::string_view value) { return crypto::HexEncode(crypto::Sha256(value)); }

bool SameSecret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && !a.empty() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Makes room for one more: drops the expired entries and, while still
// full, the one that would expire first (the oldest).
template <typename Map, typename Expiry>
void MakeRoom(Map& map, size_t max, std::chrono::steady_clock::time_point now, Expiry expiry) {
  if (map.size() < max) return;
  for (auto it = map.begin(); it != map.end();) {
    it = expiry(it->second) <= now ? map.erase(it) : std::next(it);
  }
  while (!map.empty() && map.size() >= max) {
    auto oldest = map.begin();
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (expiry(it->second) < expiry(oldest->second)) oldest = it;
    }
    map.erase(oldest);
  }
}

}  // namespace

std::string_view CookieValue(std::string_view cookies, std::string_view name) {
  while (!cookies.empty()) {
    const size_t end = cookies.find(';');
    std::string_view pair = cookies.substr(0, end);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    if (end == std::string_view::npos) break;
    cookies.remove_prefix(end + 1);
  }
  return {};
}

CitizenSessions::CitizenSessions(CitizenSessionsOptions options) : options_(std::move(options)) {
  if (!options_.clock) options_.clock = [] { return std::chrono::steady_clock::now(); };
}

std::string CitizenSessions::Cookie(std::string_view name, std::string_view value, std::chrono::seconds max_age) const {
  return std::string(name) + "=" + std::string(value) + "; Path=/; HttpOnly; SameSite=Lax; Max-Age=" +
         std::to_string(max_age.count()) + (options_.secure_cookies ? "; Secure" : "");
}

std::string CitizenSessions::AddLogin(OidcLogin login, std::string return_to) {
  const std::string browser = RandomText();
  const auto now = Now();
  std::lock_guard lock(mu_);
  MakeRoom(logins_, options_.max_logins, now, [](const StoredLogin& l) { return l.expires; });
  const std::string state = login.state;
  logins_[state] = {PendingLogin{std::move(login), std::move(return_to), browser}, now + options_.login_ttl};
  return Cookie(kLoginCookie, browser, options_.login_ttl);
}

std::optional<PendingLogin> CitizenSessions::TakeLogin(std::string_view state, std::string_view cookies) {
  std::lock_guard lock(mu_);
  auto it = logins_.find(std::string(state));
  if (it == logins_.end()) return std::nullopt;
  StoredLogin stored = std::move(it->second);
  logins_.erase(it);
  if (stored.expires <= Now()) return std::nullopt;
  if (!SameSecret(CookieValue(cookies, kLoginCookie), stored.pending.browser)) return std::nullopt;
  return std::move(stored.pending);
}

std::string CitizenSessions::Open(node::Citizen citizen) {
  const std::string value = RandomText();
  const auto now = Now();
  CitizenSession session{std::move(citizen), RandomText(), now + options_.session_ttl};
  std::lock_guard lock(mu_);
  MakeRoom(sessions_, options_.max_sessions, now, [](const CitizenSession& s) { return s.expires; });
  sessions_[Digest(value)] = std::move(session);
  return Cookie(kSessionCookie, value, options_.session_ttl);
}

std::optional<CitizenSession> CitizenSessions::Find(std::string_view cookies) const {
  const std::string_view value = CookieValue(cookies, kSessionCookie);
  if (value.empty()) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = sessions_.find(Digest(value));
  if (it == sessions_.end() || it->second.expires <= Now()) return std::nullopt;
  return it->second;
}

std::string CitizenSessions::Close(std::string_view cookies) {
  const std::string_view value = CookieValue(cookies, kSessionCookie);
  if (!value.empty()) {
    std::lock_guard lock(mu_);
    sessions_.erase(Digest(value));
  }
  return Cookie(kSessionCookie, "", std::chrono::seconds(0));
}

size_t CitizenSessions::CloseAllOf(std::string_view document_number) {
  std::lock_guard lock(mu_);
  return std::erase_if(sessions_, [&](const auto& s) { return s.second.citizen.document_number == document_number; });
}

size_t CitizenSessions::logins() const {
  std::lock_guard lock(mu_);
  return logins_.size();
}

size_t CitizenSessions::sessions() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

}  // namespace quipu::api
