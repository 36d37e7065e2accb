// Delivers the outbox: client notifications after a decision, and codes to
// the delivery webhook. One background thread, never on a request path or
// in the sequencer: it reads due items, POSTs each (with a timeout), and
// records the attempt durably (delivered items leave the outbox; failed
// ones back off exponentially, up to 24 hours). Items survive restarts.
// Why an attempt failed is logged with the detail; the client sees only
// generic words and the HTTP status (node::DeliveryAttempt).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/access_log.h"
#include "ledger/log.h"
#include "node/approvals.h"
#include "node/url_policy.h"

namespace quipu::api {

class Notifier {
 public:
  // `policy`: where deliveries may go (node/url_policy.h), checked again
  // at each attempt on the resolved addresses.
  Notifier(node::Approvals& approvals, const ledger::Log& log, AccessLog& access_log,
           std::chrono::milliseconds attempt_timeout = std::chrono::seconds(10), node::OutboundPolicy policy = {});
  ~Notifier();  // Stop()s
  void Start();
  // Wakes the thread now (after a decision queued something).
  void Kick();
  void Stop();

 private:
  void Run();
  void DeliverDue();

  node::Approvals& approvals_;
  const ledger::Log& log_;
  AccessLog& access_log_;
  const std::chrono::milliseconds timeout_;
  const node::OutboundPolicy policy_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool kicked_ = false;
  std::thread thread_;
};

}  // namespace quipu::api
