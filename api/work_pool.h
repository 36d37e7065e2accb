// The server's worker pool: a fixed set of threads running jobs from a
// bounded queue, so that handlers that wait (a PDF parse, a ledger commit,
// an outbound call) never hold an I/O thread, and a flood of them is
// refused at once (503) instead of piling up.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace quipu::api {

// Thread-safe. Not copyable.
class WorkPool {
 public:
  // Starts `threads` threads (at least 1); at most `max_queued` jobs wait.
  WorkPool(int threads, size_t max_queued);
  ~WorkPool();  // Stop()s
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // Queues `job`; false (the job is dropped) when max_queued jobs already
  // wait or the pool is stopping.
  bool TrySubmit(std::function<void()> job);
  // Takes no more jobs, runs those queued, joins the threads. Idempotent.
  void Stop();

  size_t queued() const;  // jobs waiting
  size_t running() const; // jobs running

 private:
  void Run();
  const size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  size_t running_ = 0;                       // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace quipu::api
