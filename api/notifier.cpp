#include "api/notifier.h"

#include <algorithm>

#include "api/http_client.h"

namespace quipu::api {

Notifier::Notifier(node::Approvals& approvals, const ledger::Log& log, AccessLog& access_log,
                   std::chrono::milliseconds attempt_timeout, node::OutboundPolicy policy)
    : approvals_(approvals), log_(log), access_log_(access_log), timeout_(attempt_timeout), policy_(policy) {}

Notifier::~Notifier() { Stop(); }

void Notifier::Start() { thread_ = std::thread([this] { Run(); }); }

void Notifier::Kick() {
  {
    std::lock_guard lock(mu_);
    kicked_ = true;
  }
  cv_.notify_one();
}

void Notifier::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Notifier::Run() {
  for (;;) {
    DeliverDue();
    // Sleep until the next item is due (at most a second, so items queued
    // by another path and clock changes are noticed), or a Kick.
    auto wait = std::chrono::milliseconds(1000);
    if (auto next = approvals_.NextDue(); next.ok() && *next) {
      const int64_t in_us = **next - approvals_.NowMicros();
      wait = std::chrono::milliseconds(std::clamp<int64_t>(in_us / 1000, 10, 1000));
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [&] { return stop_ || kicked_; });
    if (stop_) return;
    kicked_ = false;
  }
}

void Notifier::DeliverDue() {
  auto due = approvals_.DueOutbox(64);
  if (!due.ok()) {
    access_log_.Event("outbox_error", {{"error", due.status().message()}});
    return;
  }
  for (node::OutboxItem& item : *due) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    if (item.kind == "notify") item.body["checkpoint"] = log_.Head().checkpoint;
    OutboundRequest req;
    req.url = item.url;
    req.timeout = timeout_;
    req.policy = policy_;
    req.body = item.body.dump();
    req.headers.emplace_back("Content-Type", "application/json");
    if (!item.bearer.empty()) req.headers.emplace_back("Authorization", "Bearer " + item.bearer);
    auto res = SendHttp(req);
    node::DeliveryAttempt attempt;
    std::string error;  // for the node's log only
    if (!res.ok()) {
      error = res.status().message();
    } else if (res->status >= 200 && res->status < 300) {
      attempt.delivered = true;
    } else {
      attempt.http_status = res->status;
      error = "HTTP " + std::to_string(res->status);
    }
    Status s = approvals_.RecordAttempt(item, attempt);
    access_log_.Event(item.kind == "notify" ? "notification" : "code_delivery",
                      {{"request", item.request_id},
                       {"delivered", attempt.delivered},
                       {"attempt", item.attempts + 1},
                       {"error", error},
                       {"recorded", s.ok()}});
  }
}

}  // namespace quipu::api
