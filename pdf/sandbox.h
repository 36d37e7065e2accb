// PDFs from outside are parsed in worker processes, never in the process
// that serves: a pool of `quipu pdf-worker` processes (the same program),
// each fed one job at a time over a socket pair, under limits:
//
//   - a wall-clock deadline per job (the node kills a late worker);
//   - a CPU-time limit per job (RLIMIT_CPU, set by the node with prlimit);
//   - an address-space limit (RLIMIT_AS; not under AddressSanitizer, whose
//     shadow memory needs terabytes of address space);
//   - a seccomp filter: no network, no new processes, no opening of files,
//     nothing that reaches another process (signals, pidfds, process
//     memory); no data directory (the working directory is /, other
//     descriptors closed), no environment but the sanitizers' settings,
//     lower CPU priority than the node (nice 10), killed with the node
//     (PR_SET_PDEATHSIG);
//   - a fresh process for every job by default (jobs_per_worker), and
//     always after a stamp: nothing one PDF did to a parser reaches the
//     next one.
//
// A worker that crashes, runs out of memory or time is replaced; the job
// gets kUnprocessable saying what happened; the caller's process never sees
// the parser's damage. Workers whose memory grew past a bound are replaced
// after their job, so a hostile file's footprint does not stay.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crypto/status.h"
#include "pdf/engine.h"

namespace quipu::pdf {

struct SandboxOptions {
  std::string program;        // the quipu program (its `pdf-worker` command); required
  int workers = 2;            // processes at most, started on demand
  // Callers waiting for a free worker at most; beyond: kUnavailable at once.
  // Small on purpose: each waiting caller holds one of the server's pool
  // threads, which the other routes need too.
  size_t max_waiting = 4;
  std::chrono::milliseconds wait_timeout{5000};  // a caller waits this long for a worker at most
  std::chrono::milliseconds job_timeout{10000};  // wall clock per job, transfer included
  int cpu_seconds = 10;                          // CPU time per job
  uint64_t memory_bytes = uint64_t{1} << 30;     // address space of a worker
  uint64_t max_pdf_bytes = uint64_t{64} << 20;   // largest PDF a job may carry
  // A worker whose resident memory exceeds this after a job is replaced.
  uint64_t recycle_rss_bytes = uint64_t{256} << 20;
  // Jobs a worker runs before it is replaced (a stamp always ends a
  // worker): 1 means a fresh process for every job, so nothing a PDF did
  // to a parser can reach the next one. Each start costs ~7 ms of CPU.
  int jobs_per_worker = 1;
  // The workers' stderr goes to /dev/null unless this is set (debugging).
  bool worker_stderr = false;
};

// Thread-safe. Not copyable.
class PdfSandbox final : public PdfEngine {
 public:
  // Checks the options and starts one worker (so a broken installation is
  // found at start, not at the first upload). Errors: kInvalidArgument (bad
  // options), kIoError / kUnavailable when the worker cannot be started.
  static Result<std::unique_ptr<PdfSandbox>> Start(const SandboxOptions& options);
  ~PdfSandbox() override;  // kills the workers
  PdfSandbox(const PdfSandbox&) = delete;
  PdfSandbox& operator=(const PdfSandbox&) = delete;

  // PdfEngine. Besides the parse's own errors: kUnprocessable "the PDF
  // could not be read: the parser crashed (signal 11) / ran out of CPU time
  // / took longer than 10 s / ...", kInvalidArgument for a PDF over
  // max_pdf_bytes, kUnavailable when every worker is busy and max_waiting
  // callers already wait (or wait_timeout passed).
  Result<PdfFacts> Parse(std::span<const uint8_t> pdf) override;
  Result<Bytes> StampPlaceholder(std::span<const uint8_t> pdf, const QrPlaceholder& qr,
                                 const StampOptions& options) override;

  struct Stats {
    uint64_t jobs = 0;       // finished, with any answer
    uint64_t failures = 0;   // workers that crashed, hung or misbehaved
    uint64_t started = 0;    // worker processes started
    uint64_t refused = 0;    // callers refused because all workers were busy
  };
  Stats stats() const;
  const SandboxOptions& options() const;
  // True when a job now would be refused (every worker busy, max_waiting
  // callers waiting): lets a server refuse an upload before reading it.
  bool Saturated() const;
  // The worker processes running now (for tests and diagnostics).
  std::vector<int> WorkerPids() const;

  struct Impl;

 private:
  explicit PdfSandbox(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// What a worker process is told on its command line.
struct WorkerLimits {
  uint64_t memory_bytes = uint64_t{1} << 30;
  uint64_t max_pdf_bytes = uint64_t{64} << 20;
  uint64_t cpu_seconds = 0;  // over the worker's life (0: none)
  int parent = 0;  // the node's pid: the worker stops if its parent is another one (0: no check)
};

// The worker's side (the `quipu pdf-worker` command): confines itself (see
// above), then answers jobs read from `fd` until it is closed. Returns the
// exit status (0 when the node closed the socket). Call it in a fresh
// process, before any other thread exists.
int RunPdfWorker(int fd, const WorkerLimits& limits);

}  // namespace quipu::pdf
