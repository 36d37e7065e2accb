// An institution's endpoint (and an SMS gateway) for the tests: quipu's own
// HTTP server in process, recording every POST it receives.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/access_log.h"
#include "api/metrics.h"
#include "api/router.h"
#include "api/server.h"

namespace quipu::testing {

// Records every POST; answers 500 while `failing`.
class Receiver {
 public:
  Receiver() {
    router_.Add(api::http::verb::post, "/*", [this](const api::Request& req) {
      std::lock_guard lock(mu_);
      got_.push_back({req.path, std::string(req.header("Authorization")), req.body});
      if (failing_) return api::Problem(500, "down", "the receiver is down");
      return api::Json(answer_);
    });
    api::ServerOptions o;
    o.port = 0;
    o.threads = 2;
    auto s = api::Server::Start(o, router_, metrics_, log_);
    EXPECT_TRUE(s.ok());
    server_ = std::move(*s);
  }
  std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(server_->port()) + path; }
  // What it answers (200) when not failing; {"ok": true} at first.
  void SetAnswer(nlohmann::json answer) {
    std::lock_guard lock(mu_);
    answer_ = std::move(answer);
  }
  void SetFailing(bool f) {
    std::lock_guard lock(mu_);
    failing_ = f;
  }
  struct Got {
    std::string path, authorization, body;
  };
  std::vector<Got> Received() {
    std::lock_guard lock(mu_);
    return got_;
  }
  // Waits until `pred` holds on what was received (or `secs` pass).
  bool WaitFor(const std::function<bool(const std::vector<Got>&)>& pred, double secs = 10) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(secs);
    while (std::chrono::steady_clock::now() < end) {
      if (pred(Received())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  api::Router router_;
  api::Metrics metrics_;
  api::AccessLog log_{std::fopen("/dev/null", "w")};
  std::unique_ptr<api::Server> server_;
  std::mutex mu_;
  std::vector<Got> got_;
  bool failing_ = false;
  nlohmann::json answer_ = {{"ok", true}};
};

}  // namespace quipu::testing
