// api/citizen_sessions: a login is taken once, only by the browser that
// started it and within its time; a session is found by its cookie only,
// expires, and closes; both stores stay bounded.
#include <gtest/gtest.h>

#include "api/citizen_sessions.h"

namespace quipu::api {
namespace {

using std::chrono::seconds;

struct Clock {
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
};

// "name=value; Path=/; ..." -> "name=value"
std::string CookiePair(const std::string& set_cookie) { return set_cookie.substr(0, set_cookie.find(';')); }

OidcLogin Login(const std::string& state) {
  OidcLogin l;
  l.state = state;
  l.nonce = "n-" + state;
  l.code_verifier = "v-" + state;
  return l;
}

TEST(CitizenSessions, ALoginIsTakenOnceByItsOwnBrowserInTime) {
  Clock clock;
  CitizenSessionsOptions o;
  o.clock = [&] { return clock.now; };
  CitizenSessions sessions(o);
  const std::string set = sessions.AddLogin(Login("s1"), "/aprobar/r_1");
  EXPECT_NE(set.find("HttpOnly"), std::string::npos);
  EXPECT_NE(set.find("SameSite=Lax"), std::string::npos);
  EXPECT_EQ(set.find("Secure"), std::string::npos);
  const std::string cookie = CookiePair(set);
  // Another browser (no cookie, or another value) cannot complete it...
  EXPECT_FALSE(sessions.TakeLogin("s1", ""));
  sessions.AddLogin(Login("s2"), "/aprobar/r_2");
  EXPECT_FALSE(sessions.TakeLogin("s2", cookie));  // s1's cookie is not s2's
  // ...and an attempt uses the login up: a stolen state is worth one try.
  EXPECT_FALSE(sessions.TakeLogin("s1", cookie));

  const std::string set3 = sessions.AddLogin(Login("s3"), "/aprobar/r_3");
  auto taken = sessions.TakeLogin("s3", "other=1; " + CookiePair(set3));
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->return_to, "/aprobar/r_3");
  EXPECT_EQ(taken->login.nonce, "n-s3");
  EXPECT_FALSE(sessions.TakeLogin("s3", CookiePair(set3)));  // once

  const std::string set4 = sessions.AddLogin(Login("s4"), "/");
  clock.now += o.login_ttl + seconds(1);
  EXPECT_FALSE(sessions.TakeLogin("s4", CookiePair(set4)));  // too late
}

TEST(CitizenSessions, ASessionIsItsCookieAndEnds) {
  Clock clock;
  CitizenSessionsOptions o;
  o.clock = [&] { return clock.now; };
  o.secure_cookies = true;
  CitizenSessions sessions(o);
  node::Citizen ana;
  ana.subject = "c-81";
  ana.document_number = "1234567";
  const std::string set = sessions.Open(ana);
  EXPECT_NE(set.find("; Secure"), std::string::npos);
  const std::string cookie = CookiePair(set);
  auto found = sessions.Find("a=b; " + cookie);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->citizen.document_number, "1234567");
  EXPECT_GE(found->csrf.size(), 40u);
  EXPECT_FALSE(sessions.Find(""));
  EXPECT_FALSE(sessions.Find(std::string(kSessionCookie) + "=guess"));
  // Closing clears the browser's cookie and forgets the session.
  const std::string cleared = sessions.Close(cookie);
  EXPECT_NE(cleared.find("Max-Age=0"), std::string::npos);
  EXPECT_FALSE(sessions.Find(cookie));
  // Sessions expire.
  const std::string again = CookiePair(sessions.Open(ana));
  clock.now += o.session_ttl;
  EXPECT_FALSE(sessions.Find(again));
}

TEST(CitizenSessions, EverySessionOfOneCitizenEndsTogether) {
  CitizenSessions sessions;
  node::Citizen ana, carlos;
  ana.document_number = "1234567";
  carlos.document_number = "7654321";
  const std::string phone = CookiePair(sessions.Open(ana));
  const std::string laptop = CookiePair(sessions.Open(ana));
  const std::string his = CookiePair(sessions.Open(carlos));
  EXPECT_EQ(sessions.CloseAllOf("1234567"), 2u);
  EXPECT_FALSE(sessions.Find(phone));
  EXPECT_FALSE(sessions.Find(laptop));
  EXPECT_TRUE(sessions.Find(his));
  EXPECT_EQ(sessions.CloseAllOf("1234567"), 0u);
}

TEST(CitizenSessions, TheStoresStayBounded) {
  Clock clock;
  CitizenSessionsOptions o;
  o.clock = [&] { return clock.now; };
  o.max_logins = 3;
  o.max_sessions = 2;
  CitizenSessions sessions(o);
  std::string first;
  for (int i = 0; i < 10; ++i) {
    clock.now += seconds(1);
    std::string set = sessions.AddLogin(Login("s" + std::to_string(i)), "/");
    if (i == 9) first = CookiePair(set);
  }
  EXPECT_EQ(sessions.logins(), 3u);
  EXPECT_TRUE(sessions.TakeLogin("s9", first));  // the newest stays
  EXPECT_FALSE(sessions.TakeLogin("s0", ""));
  node::Citizen c;
  std::string newest;
  for (int i = 0; i < 5; ++i) {
    clock.now += seconds(1);
    newest = CookiePair(sessions.Open(c));
  }
  EXPECT_EQ(sessions.sessions(), 2u);
  EXPECT_TRUE(sessions.Find(newest));
}

TEST(CitizenSessions, CookieValuesAreFoundByExactName) {
  EXPECT_EQ(CookieValue("a=1; quipu_citizen=xyz; b=2", "quipu_citizen"), "xyz");
  EXPECT_EQ(CookieValue("xquipu_citizen=1", "quipu_citizen"), "");
  EXPECT_EQ(CookieValue("quipu_citizen=", "quipu_citizen"), "");
  EXPECT_EQ(CookieValue("", "a"), "");
}

}  // namespace
}  // namespace quipu::api
