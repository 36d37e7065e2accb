// The citizens' browser sessions on the node's own pages: logins in flight
// (between the redirect to the identity provider and its callback) and
// logged-in citizens. Both live in memory only: a login writes nothing
// about a citizen to disk, and a restart logs everyone out. The browser
// holds random cookie values; the node keeps only their SHA-256.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "api/http.h"
#include "api/oidc_client.h"
#include "node/id_token.h"

namespace quipu::api {

inline constexpr char kSessionCookie[] = "quipu_citizen";
inline constexpr char kLoginCookie[] = "quipu_login";

struct CitizenSessionsOptions {
  std::chrono::seconds login_ttl{600};     // a login must come back within this
  std::chrono::seconds session_ttl{1800};  // then the citizen logs in again
  size_t max_logins = 10000;               // in flight; the oldest go first beyond it
  size_t max_sessions = 100000;
  bool secure_cookies = false;  // `Secure` on every cookie: the node is served over https
  std::function<std::chrono::steady_clock::time_point()> clock;  // default: steady_clock::now
};

// A login in flight, as the callback finds it.
struct PendingLogin {
  OidcLogin login;
  std::string return_to;  // a path on this node ("/aprobar/r_...")
  std::string browser;    // the login cookie's value, which the callback must bring back
};

// A logged-in citizen.
struct CitizenSession {
  node::Citizen citizen;
  std::string csrf;  // sent back by the page with every POST (X-Quipu-CSRF)
  std::chrono::steady_clock::time_point expires{};
};

// Thread-safe.
class CitizenSessions {
 public:
  explicit CitizenSessions(CitizenSessionsOptions options = {});

  // Keeps a login; returns the cookie (Set-Cookie value) that binds it to
  // the browser that started it (so that a login link sent to someone else
  // cannot log them in as the sender: login CSRF).
  std::string AddLogin(OidcLogin login, std::string return_to);
  // The login with this `state` (removed: each is used once), when it has
  // not expired and `cookies` (the Cookie header) carry its browser cookie.
  std::optional<PendingLogin> TakeLogin(std::string_view state, std::string_view cookies);

  // A session for `citizen`; returns its Set-Cookie value.
  std::string Open(node::Citizen citizen);
  // The session the request's cookies name, if it has not expired.
  std::optional<CitizenSession> Find(std::string_view cookies) const;
  // Ends the session the cookies name; returns the Set-Cookie that clears it.
  std::string Close(std::string_view cookies);
  // Ends every session of the citizen with this document number (forgotten,
  // or their factor reset); returns how many ended.
  size_t CloseAllOf(std::string_view document_number);

  size_t logins() const;
  size_t sessions() const;

 private:
  std::string Cookie(std::string_view name, std::string_view value, std::chrono::seconds max_age) const;
  std::chrono::steady_clock::time_point Now() const { return options_.clock(); }

  CitizenSessionsOptions options_;
  mutable std::mutex mu_;
  struct StoredLogin {
    PendingLogin pending;
    std::chrono::steady_clock::time_point expires;
  };
  std::map<std::string, StoredLogin> logins_;      // by state
  std::map<std::string, CitizenSession> sessions_;  // by hex SHA-256 of the cookie value
};

// The value of cookie `name` in a Cookie header ("a=1; b=2"), or "".
std::string_view CookieValue(std::string_view cookies, std::string_view name);

}  // namespace quipu::api
