#include "api/notifier.h"

#include "api/agetic_json.h"

#include <sodium.h>

#include <algorithm>

#include "api/http_client.h"

namespace quipu::api {
namespace {

using InFlight = std::set<std::string, std::less<>>;
using PerDestination = std::map<std::string, size_t, std::less<>>;

// Secrets (bearer tokens, codes) do not outlive their attempt in memory.
void Wipe(std::string& s) {
  sodium_memzero(s.data(), s.size());
  s.clear();
}

}  // namespace

std::string DeliveryDestination(std::string_view url) {
  auto parsed = node::ParseUrl(url);
  if (!parsed.ok()) return std::string(url);
  const bool v6 = parsed->host.find(':') != std::string::npos;
  return parsed->scheme + "://" + (v6 ? "[" + parsed->host + "]" : parsed->host) + ":" + parsed->port;
}

Notifier::Notifier(node::Approvals& approvals, const node::LedgerReader& ledger, AccessLog& access_log,
                   NotifierOptions options)
    : approvals_(approvals), ledger_(ledger), access_log_(access_log), options_(std::move(options)) {}

Notifier::~Notifier() { Stop(); }

void Notifier::Start() { dispatcher_ = std::thread([this] { Run(); }); }

void Notifier::Kick() {
  {
    std::lock_guard lock(mu_);
    kicked_ = true;
  }
  dispatcher_cv_.notify_one();
}

void Notifier::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  dispatcher_cv_.notify_all();
  worker_cv_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
  // Only the dispatcher adds workers, and it is gone.
  for (std::thread& w : workers_) {
    if (w.joinable()) w.join();
  }
}

void Notifier::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    kicked_ = false;
    lock.unlock();
    DispatchDue();
    const std::chrono::milliseconds wait = UntilNextDue();
    lock.lock();
    // A Kick, a finished attempt (a slot freed) or the next due time.
    dispatcher_cv_.wait_for(lock, wait, [&] { return stop_ || kicked_; });
  }
}

node::Approvals::OutboxFilter Notifier::Selector(InFlight& in_flight, PerDestination& per_destination) {
  return [this, &in_flight, &per_destination](std::string_view key, std::string_view url) {
    if (in_flight.find(key) != in_flight.end()) return false;
    size_t& n = per_destination[DeliveryDestination(url)];
    if (n >= options_.max_per_destination) return false;
    ++n;
    return true;
  };
}

void Notifier::DispatchDue() {
  InFlight in_flight;
  PerDestination per_destination;
  size_t free_slots = 0;
  {
    std::lock_guard lock(mu_);
    if (stop_ || in_flight_.size() >= options_.max_in_flight) return;
    in_flight = in_flight_;
    per_destination = per_destination_;
    free_slots = options_.max_in_flight - in_flight_.size();
  }
  auto due = approvals_.DueOutbox(free_slots, Selector(in_flight, per_destination));
  if (!due.ok()) {
    access_log_.Event("outbox_error", {{"error", due.status().message()}});
    return;
  }
  for (node::OutboxItem& item : *due) {
    std::string destination = DeliveryDestination(item.url);
    if (!item.obsolete.empty()) {
      Status s = approvals_.DropOutbox(item);
      access_log_.Event("code_dropped", {{"request", item.request_id},
                                         {"destination", destination},
                                         {"reason", item.obsolete},
                                         {"attempts", item.attempts},
                                         {"recorded", s.ok()}});
      continue;
    }
    Queue(std::move(item), std::move(destination));
  }
}

std::chrono::milliseconds Notifier::UntilNextDue() {
  InFlight in_flight;
  PerDestination per_destination;
  {
    std::lock_guard lock(mu_);
    // All slots taken: nothing can start before an attempt ends, and that
    // wakes the dispatcher.
    if (in_flight_.size() >= options_.max_in_flight) return std::chrono::milliseconds(1000);
    in_flight = in_flight_;
    per_destination = per_destination_;
  }
  // Items in flight and destinations at their limit are not waited for:
  // the end of an attempt wakes the dispatcher. The wait is at most a
  // second, so that clock changes and other writers are noticed.
  auto next = approvals_.NextDue([&](std::string_view key, std::string_view url) {
    if (in_flight.find(key) != in_flight.end()) return false;
    auto it = per_destination.find(DeliveryDestination(url));
    return it == per_destination.end() || it->second < options_.max_per_destination;
  });
  if (!next.ok() || !*next) return std::chrono::milliseconds(1000);
  const int64_t in_us = **next - approvals_.NowMicros();
  return std::chrono::milliseconds(std::clamp<int64_t>(in_us / 1000, 10, 1000));
}

void Notifier::Queue(node::OutboxItem item, std::string destination) {
  std::lock_guard lock(mu_);
  if (stop_) return;  // stays in the outbox
  in_flight_.insert(item.key);
  ++per_destination_[destination];
  jobs_.push_back({std::move(item), std::move(destination)});
  // The caller keeps in_flight_ within max_in_flight, so this bounds the
  // workers too.
  if (idle_workers_ < jobs_.size()) workers_.emplace_back([this] { Work(); });
  worker_cv_.notify_one();
}

void Notifier::Work() {
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_workers_;
    worker_cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
    --idle_workers_;
    if (stop_) return;  // jobs not started stay in the outbox
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    Deliver(job);
    lock.lock();
    in_flight_.erase(job.item.key);
    if (auto it = per_destination_.find(job.destination); it != per_destination_.end() && --it->second == 0) {
      per_destination_.erase(it);
    }
    kicked_ = true;
    dispatcher_cv_.notify_one();
  }
}

void Notifier::Deliver(Job& job) {
  node::OutboxItem& item = job.item;
  OutboundRequest req;
  bool agetic = false;  // the callback's shape, and its answer's, are the AGETIC API's
  if (item.kind == "notify") {
    nlohmann::json body = nlohmann::json::parse(item.body, nullptr, false);
    if (body.is_object()) {
      body["checkpoint"] = ledger_.Head().checkpoint;
      if (auto callback = agetic::Callback(body, options_.public_url)) {
        agetic = true;
        body = std::move(*callback);
      }
      req.body = body.dump();
    }
  }
  if (req.body.empty()) req.body = item.body;
  Wipe(item.body);
  req.url = item.url;
  req.timeout = options_.attempt_timeout;
  req.policy = options_.policy;
  req.headers.emplace_back("Content-Type", "application/json");
  if (!item.bearer.empty()) req.headers.emplace_back("Authorization", "Bearer " + item.bearer);
  const auto started = std::chrono::steady_clock::now();
  auto res = SendHttp(req);
  const auto took = std::chrono::steady_clock::now() - started;
  Wipe(req.body);
  Wipe(item.bearer);
  for (auto& [name, value] : req.headers) Wipe(value);

  node::DeliveryAttempt attempt;
  std::string error;  // for the node's log only
  if (!res.ok()) {
    error = res.status().message();
  } else if (res->status >= 200 && res->status < 300 && (!agetic || agetic::CallbackAccepted(res->body))) {
    attempt.delivered = true;
  } else if (res->status >= 200 && res->status < 300) {
    attempt.http_status = res->status;
    error = "HTTP " + std::to_string(res->status) + " without {\"finalizado\": true}";
  } else {
    attempt.http_status = res->status;
    error = "HTTP " + std::to_string(res->status);
  }
  Status s = approvals_.RecordAttempt(item, attempt);
  access_log_.Event(item.kind == "notify" ? "notification" : "code_delivery",
                    {{"request", item.request_id},
                     {"destination", job.destination},
                     {"delivered", attempt.delivered},
                     {"attempt", item.attempts + 1},
                     {"us", std::chrono::duration_cast<std::chrono::microseconds>(took).count()},
                     {"error", error},
                     {"recorded", s.ok()}});
}

}  // namespace quipu::api
