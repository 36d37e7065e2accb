// Delivers the outbox: client notifications after a decision, and codes to
// the delivery webhook. Never on a request path or in the sequencer.
//
// One dispatcher thread reads the due items and hands each to a small pool
// of delivery workers, which POST it (SendHttp, its own deadline per
// attempt) and record the attempt durably (delivered items leave the
// outbox; failed ones back off exponentially, up to 24 hours). Items
// survive restarts.
//
// Why a pool with limits per destination (scheme://host:port): a single
// destination that accepts connections and never answers must not delay
// anyone else (measured before: one hanging client held another client's
// SMS codes for 230 s, past their 10-minute life). At most
// kMaxDeliveriesPerDestination attempts go to one destination at a time
// and kMaxDeliveriesInFlight in all; an item whose destination is at its
// limit is skipped (not waited for) and picked again when a slot frees.
// An item is never in flight twice. A code whose request expired or was
// decided is dropped, not sent (logged as "code_dropped").
//
// What went wrong in an attempt (refused, timed out, TLS, a policy
// refusal) is logged as an event with the detail; the client sees only
// generic words and the HTTP status (node::DeliveryAttempt).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/access_log.h"
#include "node/ledger_reader.h"
#include "node/approvals.h"
#include "node/url_policy.h"

namespace quipu::api {

// Attempts to one destination at a time: enough to drain a healthy
// endpoint's backlog, few enough that a hanging one holds little.
inline constexpr size_t kMaxDeliveriesPerDestination = 4;
// Attempts in flight in all (each a worker thread while it lasts): a
// bound on the threads and sockets that slow destinations can hold.
inline constexpr size_t kMaxDeliveriesInFlight = 32;

struct NotifierOptions {
  std::chrono::milliseconds attempt_timeout{10000};  // each attempt, whole exchange
  node::OutboundPolicy policy;                      // where deliveries may go
  size_t max_per_destination = kMaxDeliveriesPerDestination;  // >= 1
  size_t max_in_flight = kMaxDeliveriesInFlight;              // >= 1
  // Where browsers reach the node: an AGETIC callback links the proofs there.
  std::string public_url;
};

// The destination an outbox URL counts against: "scheme://host:port"
// (IPv6 in brackets, the port explicit), or the URL itself when it does
// not parse (it then fails on its own, quickly). Thread-safe (pure).
std::string DeliveryDestination(std::string_view url);

// Thread-safe: Kick and Stop may be called from any thread; Start once.
// `approvals`, `log` and `access_log` must outlive the Notifier.
class Notifier {
 public:
  Notifier(node::Approvals& approvals, const node::LedgerReader& ledger, AccessLog& access_log,
           NotifierOptions options = {});
  ~Notifier();  // Stop()s
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Starts the dispatcher; workers start as deliveries need them (at most
  // options.max_in_flight). Call once.
  void Start();
  // Wakes the dispatcher now (after a decision queued something).
  void Kick();
  // Stops taking items and returns once the attempts in flight are over
  // (each bounded by attempt_timeout) and recorded. Items not attempted
  // stay in the outbox for the next start. Idempotent.
  void Stop();

 private:
  struct Job {
    node::OutboxItem item;
    std::string destination;
  };
  void Run();          // the dispatcher thread
  void DispatchDue();  // one round: picks due items, queues or drops them
  std::chrono::milliseconds UntilNextDue();
  void Queue(node::OutboxItem item, std::string destination);
  void Work();  // a worker thread
  void Deliver(Job& job);
  // An outbox filter over a copy of what is in flight now, counting what
  // it accepts against each destination's limit.
  node::Approvals::OutboxFilter Selector(std::set<std::string, std::less<>>& in_flight,
                                         std::map<std::string, size_t, std::less<>>& per_destination);

  node::Approvals& approvals_;
  const node::LedgerReader& ledger_;
  AccessLog& access_log_;
  const NotifierOptions options_;

  std::mutex mu_;
  std::condition_variable dispatcher_cv_;  // stop_, kicked_ (a Kick or a finished attempt)
  std::condition_variable worker_cv_;      // stop_, jobs_
  bool stop_ = false;                      // guarded by mu_
  bool kicked_ = false;                    // guarded by mu_
  std::deque<Job> jobs_;                   // guarded by mu_: queued, not started
  size_t idle_workers_ = 0;                // guarded by mu_
  // Keys of items queued or being sent, and how many per destination.
  std::set<std::string, std::less<>> in_flight_;                 // guarded by mu_
  std::map<std::string, size_t, std::less<>> per_destination_;  // guarded by mu_
  std::vector<std::thread> workers_;  // grown by the dispatcher under mu_; joined by Stop
  std::thread dispatcher_;
};

}  // namespace quipu::api
