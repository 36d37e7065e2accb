// The citizen's side in tests: the development identity provider (dev/oidc,
// npm's oidc-provider: a real OpenID Connect provider, not a mock) beside a
// node, and a citizen's login through its real forms (tests/oidc/login.mjs),
// which gives the session cookie and CSRF token the citizen's routes take.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/otp.h"
#include "tests/common/node.h"
#include "tests/common/process.h"

namespace quipu::testing {

// A TCP port free on 127.0.0.1 now (for a node whose URL must be known
// before it starts: the provider registers its redirect URI). It is drawn
// below the kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768
// and up by default), so no other test's client socket or port-0 listener
// can be given it between now and the node's bind, nor between a node's
// kill and its restart on the same address.
inline int FreePort() {
  int low = 32768;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%d", &low) != 1) low = 32768;
    std::fclose(f);
  }
  const int first = 10000, span = std::max(1000, low - first);
  std::random_device seed;
  std::mt19937 pick(seed());
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int port = first + static_cast<int>(pick() % static_cast<unsigned>(span));
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (free) return port;
  }
  return 0;
}

// The document numbers the tests log in with.
inline std::vector<std::string> TestCitizens() {
  std::vector<std::string> out = {"1234567", "7654321", "1111111", "1212121", "1010101", "2222222", "3333333",
                                  "3434343", "4444444", "5555555", "6666666", "7777777", "7777771", "7777772",
                                  "8888888", "9999999"};
  for (int i = 0; i < 10; ++i) {
    out.push_back("222222" + std::to_string(i));
    out.push_back("444444" + std::to_string(i));
  }
  for (int i = 0; i < 100; ++i) out.push_back("900" + std::to_string(1000 + i));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// `node dev/oidc/provider.mjs` on a free port, for a node that answers at
// `node_base`; its keys and client secret in `dir`. Stopped when it dies.
// Its citizens are the tests': every number in TestCitizens() (names
// "Ciudadano <number>"), with the development password "clave-dev".
class IdentityProvider {
 public:
  IdentityProvider(const std::string& dir, const std::string& node_base) : dir_(dir), node_base_(node_base) {
    const std::string log = dir + ".log";
    const std::string citizens = dir + ".citizens.json";
    nlohmann::json list = nlohmann::json::array();
    for (const std::string& number : TestCitizens()) {
      list.push_back({{"sub", "prueba-" + number},
                      {"document", number},
                      {"name", "Ciudadano " + number},
                      {"given_name", "Ciudadano"},
                      {"family_name", number},
                      {"email", number + "@ciudadano.example"},
                      {"email_verified", true},
                      {"phone_number", "+5916" + number},
                      {"phone_number_verified", true}});
    }
    WriteFile(citizens, nlohmann::json{{"citizens", list}}.dump());
    const std::string cmd = "exec node " + ShellQuote(std::string(QUIPU_SOURCE_DIR) + "/dev/oidc/provider.mjs") +
                            " --listen 127.0.0.1:0 --data " + ShellQuote(dir) + " --citizens " + ShellQuote(citizens) +
                            " --redirect-uri " + ShellQuote(node_base + "/aprobar/callback") + " >" + ShellQuote(log) +
                            " 2>&1";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const std::string mark = "quipu-dev-oidc: listening on ";
    for (int i = 0; i < 400 && issuer_.empty(); ++i) {
      const std::string out = ReadFile(log);
      if (size_t at = out.find(mark); at != std::string::npos && out.find('\n', at) != std::string::npos) {
        issuer_ = out.substr(at + mark.size(), out.find('\n', at) - at - mark.size());
      } else if (int status = 0; ::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;  // it exited: the log says why
        break;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    EXPECT_FALSE(issuer_.empty()) << "the development provider did not start: " << ReadFile(log);
  }
  ~IdentityProvider() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  IdentityProvider(const IdentityProvider&) = delete;
  IdentityProvider& operator=(const IdentityProvider&) = delete;

  const std::string& issuer() const { return issuer_; }
  // What `quipu serve` takes to use it.
  std::string ServeFlags() const {
    return "--oidc-issuer " + ShellQuote(issuer_) + " --oidc-client-id quipu-dev --oidc-client-secret-file " +
           ShellQuote(dir_ + "/client-secret") + " --oidc-document-claim documento_identidad";
  }

  // An access token for `document_number`'s citizen, as an institution that
  // logged them in holds it (tests/oidc/access_token.mjs: the code flow
  // through the real forms, the code exchanged at the token endpoint). ""
  // (and a test failure) when that fails.
  std::string AccessToken(const std::string& document_number) const {
    auto r = RunShell("node " + ShellQuote(std::string(QUIPU_SOURCE_DIR) + "/tests/oidc/access_token.mjs") + " " +
                      ShellQuote(issuer_) + " quipu-dev " + ShellQuote(dir_ + "/client-secret") + " " +
                      ShellQuote(node_base_ + "/aprobar/callback") + " " + ShellQuote(document_number));
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    if (r.exit_code != 0 || !j.is_object() || !j.contains("access_token")) return "";
    return j["access_token"];
  }

 private:
  std::string dir_;
  std::string node_base_;
  std::string issuer_;
  pid_t pid_ = -1;
};

// A logged-in citizen: what their browser holds.
struct CitizenSession {
  std::string cookie;  // the Cookie header for the node
  std::string csrf;    // the X-Quipu-CSRF header of their page
  // curl arguments that send both.
  std::string Headers() const {
    return "-H " + ShellQuote("Cookie: " + cookie) + " -H " + ShellQuote("X-Quipu-CSRF: " + csrf) + " ";
  }
};

// Opens `link` (an approval page) as the citizen `document_number` would:
// the provider's login with the development password, its consent, back to
// the node. Fails the test (and returns an empty session) when that fails.
inline CitizenSession LogIn(const std::string& link, const std::string& document_number) {
  auto r = RunShell("node " + ShellQuote(std::string(QUIPU_SOURCE_DIR) + "/tests/oidc/login.mjs") + " " +
                    ShellQuote(link) + " " + ShellQuote(document_number));
  CitizenSession s;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  if (r.exit_code != 0 || !j.is_object() || !j.contains("cookie")) return s;
  s.cookie = j["cookie"];
  s.csrf = j["csrf"];
  return s;
}

// The citizen's authenticator, enrolled on the node at `node_url` through
// their session as the page does: a new key, confirmed with its code of
// the step before `now_seconds` (so the current step's code is still fresh
// for a decision). Fails the test and returns no key when that fails.
inline crypto::Bytes EnrolTotp(const std::string& node_url, const CitizenSession& session, int64_t now_seconds) {
  auto post = [&](const std::string& path, const nlohmann::json& body) {
    return Curl("-X POST " + session.Headers() + "-H 'Content-Type: application/json' --data-binary @- " +
                    ShellQuote(node_url + path),
                body.dump());
  };
  Http begun = post("/v1/citizen/totp", nlohmann::json::object());
  EXPECT_EQ(begun.status, 201) << begun.body;
  const nlohmann::json answer = begun.Json();
  auto key = crypto::Base32Decode(answer.is_object() ? answer.value("secret", "") : "");
  EXPECT_TRUE(key.ok() && !key->empty()) << begun.body;
  if (!key.ok() || key->empty()) return {};
  const std::string first = *crypto::Totp(*key, static_cast<uint64_t>(now_seconds - 30), 6, crypto::OtpHash::kSha1);
  Http confirmed = post("/v1/citizen/totp/confirm", {{"code", first}});
  EXPECT_EQ(confirmed.status, 204) << confirmed.body;
  return *key;
}

}  // namespace quipu::testing
