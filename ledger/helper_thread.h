// A second thread for the sequencer's hashing. The sequencer starts a loop
// over [0, n), goes on with other work (writing the entries and the
// documents index), then finishes it, running whatever the helper has not
// claimed. Indices are claimed in chunks from an atomic counter, so neither
// thread waits for the other longer than one chunk takes, and a helper that
// is slow to wake (its core busy) costs nothing but a wake-up.
//
// Thread-compatible: Start/Finish (and For) are called by one thread, the
// sequencer, in pairs; the helper thread is internal.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>

namespace quipu::ledger {

class HelperThread {
 public:
  // fn(begin, end) handles indices [begin, end).
  using Body = std::function<void(size_t, size_t)>;

  HelperThread();
  ~HelperThread();
  HelperThread(const HelperThread&) = delete;
  HelperThread& operator=(const HelperThread&) = delete;

  // Begins running `body` over [0, n) in chunks of `chunk`. `body` and what
  // it uses must stay valid until Finish returns. A loop of fewer than
  // four chunks is left to Finish.
  void Start(size_t n, size_t chunk, Body body);
  // Runs the unclaimed chunks and returns once all of [0, n) is done and
  // the helper no longer runs `body`.
  void Finish();
  // Start and Finish together.
  void For(size_t n, size_t chunk, Body body) {
    Start(n, chunk, std::move(body));
    Finish();
  }

 private:
  void RunChunks();
  void Loop();

  Body body_;
  size_t n_ = 0, chunk_ = 1;
  std::atomic<size_t> next_{0};

  std::mutex mu_;
  std::condition_variable wake_, idle_;
  bool pending_ = false;  // guarded by mu_: a loop the helper may join
  bool busy_ = false;     // guarded by mu_: the helper is running chunks
  bool stop_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace quipu::ledger
