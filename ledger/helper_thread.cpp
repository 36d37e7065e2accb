#include "ledger/helper_thread.h"

#include <algorithm>
#include <utility>

namespace quipu::ledger {

HelperThread::HelperThread() : thread_([this] { Loop(); }) {}

HelperThread::~HelperThread() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void HelperThread::Start(size_t n, size_t chunk, Body body) {
  body_ = std::move(body);
  n_ = n;
  chunk_ = std::max<size_t>(chunk, 1);
  next_.store(0, std::memory_order_relaxed);
  if (n < 4 * chunk_) return;
  {
    std::lock_guard lock(mu_);
    pending_ = true;
  }
  wake_.notify_one();
}

void HelperThread::Finish() {
  RunChunks();
  std::unique_lock lock(mu_);
  pending_ = false;  // not joined yet: it never will be
  idle_.wait(lock, [&] { return !busy_; });
}

void HelperThread::RunChunks() {
  for (size_t at; (at = next_.fetch_add(chunk_, std::memory_order_relaxed)) < n_;) {
    body_(at, std::min(n_, at + chunk_));
  }
}

void HelperThread::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || pending_; });
    if (stop_) return;
    pending_ = false;
    busy_ = true;
    lock.unlock();
    RunChunks();
    lock.lock();
    busy_ = false;
    idle_.notify_one();
  }
}

}  // namespace quipu::ledger
