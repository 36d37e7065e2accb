#include "pdf/sandbox.h"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string_view>
#include <vector>

#include "pdf/make.h"
#include "pdf/worker_protocol.h"

extern char** environ;

#if defined(__SANITIZE_ADDRESS__)
#define QUIPU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QUIPU_ASAN 1
#endif
#endif

namespace quipu::pdf {
namespace {

using Clock = std::chrono::steady_clock;
namespace wire = worker;

// The worker's socket is always this descriptor in the worker.
constexpr int kWorkerFd = 3;
// What a reply may add to the PDF it carries (a stamp's update).
constexpr uint64_t kMaxStampGrowth = uint64_t{16} << 20;
constexpr uint64_t kMaxParseReply = 64 * 1024;
// The worker's hello after it has confined itself, or why it could not.
constexpr std::string_view kReady = "QPREADY1";
constexpr std::string_view kFailed = "QPFAIL1 ";
constexpr uint64_t kMaxHelloBytes = 512;
constexpr std::chrono::milliseconds kStartTimeout{10000};

std::string ErrnoText(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// --- moving frames over a socket ------------------------------------------------

// Writes all of `data` before `deadline` (non-blocking socket).
Status SendAll(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return Unavailable("timed out");
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count() + 1, 1000)));
      continue;
    }
    return IoError(n == 0 ? "the worker closed its socket" : ErrnoText("send"));
  }
  return Status::Ok();
}

// Reads exactly out.size() bytes before `deadline` (non-blocking socket).
Status ReceiveAll(int fd, std::span<uint8_t> out, Clock::time_point deadline) {
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::recv(fd, out.data() + got, out.size() - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return Unavailable("timed out");
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count() + 1, 1000)));
      continue;
    }
    return IoError(n == 0 ? "the worker closed its socket" : ErrnoText("recv"));
  }
  return Status::Ok();
}

Result<std::string> ReceiveFrame(int fd, uint64_t max_body, Clock::time_point deadline) {
  std::array<uint8_t, wire::kFrameHeaderBytes> header;
  QUIPU_RETURN_IF_ERROR(ReceiveAll(fd, header, deadline));
  QUIPU_ASSIGN_OR_RETURN(uint64_t n, wire::ParseFrameHeader(header, max_body));
  std::string body(static_cast<size_t>(n), '\0');
  QUIPU_RETURN_IF_ERROR(
      ReceiveAll(fd, std::span<uint8_t>(reinterpret_cast<uint8_t*>(body.data()), body.size()), deadline));
  return body;
}

// --- the node's side ------------------------------------------------------------

std::string DescribeExit(int status, const SandboxOptions& o) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGXCPU) return "the parser ran out of CPU time (" + std::to_string(o.cpu_seconds) + " s)";
    const char* name = ::strsignal(sig);
    const std::string what = "signal " + std::to_string(sig) + (name ? std::string(": ") + name : "");
    if (sig == SIGKILL) return "the parser was killed (" + what + "; out of memory?)";
    return "the parser crashed (" + what + ")";
  }
  if (WIFEXITED(status)) {
    // A worker exits on its own only when something went badly wrong (a
    // sanitizer's report, a failed confinement): a crash too.
    return "the parser crashed (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
  }
  return "the parser stopped";
}

// CPU seconds a process has used (user + system), rounded up; 0 if unknown.
uint64_t CpuSecondsUsed(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) in parentheses.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields;
  size_t at = close + 2;
  while (at < stat.size() && fields.size() < 13) {
    size_t end = stat.find(' ', at);
    if (end == std::string::npos) end = stat.size();
    fields.push_back(stat.substr(at, end - at));
    at = end + 1;
  }
  if (fields.size() < 13) return 0;  // utime and stime are fields 14 and 15 (from 1)
  const uint64_t ticks = std::strtoull(fields[11].c_str(), nullptr, 10) + std::strtoull(fields[12].c_str(), nullptr, 10);
  const long hz = ::sysconf(_SC_CLK_TCK);
  return hz > 0 ? (ticks + static_cast<uint64_t>(hz) - 1) / static_cast<uint64_t>(hz) : 0;
}

uint64_t ResidentBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
  uint64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

// A slot of the pool. While `busy`, the slot belongs to the caller that
// marked it so; `pid` is atomic because WorkerPids reads it meanwhile.
struct Worker {
  std::atomic<pid_t> pid{-1};
  int fd = -1;
  bool ready = false;  // its hello was read
  int jobs = 0;        // jobs it has run
  bool busy = false;   // guarded by Impl::mu
};

// What crosses to a worker's environment: the sanitizers' settings only.
// Nothing of the node's (such as $QUIPU_DELIVERY_TOKEN) is a worker's business.
std::vector<std::string> WorkerEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view v(*e);
    for (std::string_view keep : {"ASAN_OPTIONS=", "UBSAN_OPTIONS=", "LSAN_OPTIONS="}) {
      if (v.substr(0, keep.size()) == keep) env.emplace_back(v);
    }
  }
  return env;
}

}  // namespace

struct PdfSandbox::Impl {
  explicit Impl(const SandboxOptions& o) : options(o), workers(static_cast<size_t>(o.workers)) {}
  ~Impl() {
    for (Worker& w : workers) Kill(w);
  }

  // Starts the process of slot `w` (not running, marked busy by the caller)
  // without waiting for its hello: a fresh worker gets ready while the
  // slot is idle.
  Status Launch(Worker& w);
  // Reads the hello of a launched worker. On failure it is killed.
  Status AwaitHello(Worker& w);
  // Ends the process of `w` (if any) and returns how it ended.
  int Kill(Worker& w);
  // A free slot, marked busy, with a process launched; or why there is none.
  Result<size_t> Acquire();
  void Release(size_t i);
  // Sends one job to slot i and returns the reply body. On failure the
  // worker is killed and the error says why; `not_started` says whether the
  // worker failed before it could have seen the job (then it may be retried).
  Result<std::string> Exchange(size_t i, wire::Op op, const std::string& prefix, std::span<const uint8_t> pdf,
                               bool& not_started);
  Result<std::string> Run(wire::Op op, const std::string& prefix, std::span<const uint8_t> pdf);

  const SandboxOptions options;
  mutable std::mutex mu;
  std::condition_variable freed;
  std::vector<Worker> workers;  // guarded by mu (a busy slot belongs to its caller)
  size_t waiting = 0;           // guarded by mu
  Stats stats;                  // guarded by mu
};

Status PdfSandbox::Impl::Launch(Worker& w) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return IoError(ErrnoText("socketpair"));
  // dup2 onto the same number would keep close-on-exec set: keep the
  // child's end away from the number it must get.
  if (sv[1] == kWorkerFd) {
    const int moved = ::fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
    ::close(sv[1]);
    sv[1] = moved;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, sv[1], kWorkerFd);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  // Not the node's log: a subverted worker could forge lines there. Why a
  // worker failed to start comes back over its socket.
  if (!options.worker_stderr) posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);     // the node blocks SIGTERM in its threads
  posix_spawnattr_setsigdefault(&attr, &all);   // and ignores SIGPIPE
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  const std::string memory = std::to_string(options.memory_bytes);
  const std::string max_pdf = std::to_string(options.max_pdf_bytes);
  const std::string cpu = std::to_string(static_cast<uint64_t>(options.cpu_seconds) *
                                         static_cast<uint64_t>(std::max(1, options.jobs_per_worker)));
  const std::string parent = std::to_string(::getpid());
  const char* argv[] = {options.program.c_str(), "pdf-worker", "--memory-bytes", memory.c_str(),
                        "--max-pdf-bytes", max_pdf.c_str(), "--cpu-seconds", cpu.c_str(),
                        "--parent", parent.c_str(), nullptr};
  const std::vector<std::string> env_strings = WorkerEnvironment();
  std::vector<char*> env;
  for (const std::string& e : env_strings) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, options.program.c_str(), &actions, &attr, const_cast<char**>(argv), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(sv[1]);
  if (rc != 0) {
    ::close(sv[0]);
    return IoError("cannot start the PDF worker " + options.program + ": " + std::strerror(rc));
  }
  ::fcntl(sv[0], F_SETFL, ::fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  w.pid = pid;
  w.fd = sv[0];
  w.ready = false;
  w.jobs = 0;
  std::lock_guard lock(mu);
  ++stats.started;
  return Status::Ok();
}

Status PdfSandbox::Impl::AwaitHello(Worker& w) {
  if (w.ready) return Status::Ok();
  auto hello = ReceiveFrame(w.fd, kMaxHelloBytes, Clock::now() + kStartTimeout);
  if (hello.ok() && *hello == kReady) {
    w.ready = true;
    return Status::Ok();
  }
  // A worker that could not confine itself says why before it exits.
  std::string why;
  if (hello.ok() && hello->rfind(kFailed, 0) == 0) {
    why = hello->substr(kFailed.size());
    for (char& c : why) {
      if (c < 0x20 || c > 0x7e) c = '?';
    }
  }
  const int status = Kill(w);
  {
    std::lock_guard lock(mu);
    ++stats.failures;
  }
  return Unavailable("the PDF worker did not start: " + (why.empty() ? DescribeExit(status, options) : why));
}

int PdfSandbox::Impl::Kill(Worker& w) {
  int status = 0;
  if (const pid_t pid = w.pid; pid > 0) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (w.fd >= 0) ::close(w.fd);
  w.pid = -1;
  w.fd = -1;
  w.ready = false;
  return status;
}

Result<size_t> PdfSandbox::Impl::Acquire() {
  std::unique_lock lock(mu);
  auto free_slot = [&]() -> std::optional<size_t> {
    for (size_t i = 0; i < workers.size(); ++i) {
      if (!workers[i].busy) return i;
    }
    return std::nullopt;
  };
  std::optional<size_t> slot = free_slot();
  if (!slot) {
    if (waiting >= options.max_waiting) {
      ++stats.refused;
      return Unavailable("all PDF workers are busy; try again shortly");
    }
    ++waiting;
    freed.wait_for(lock, options.wait_timeout, [&] { return (slot = free_slot()).has_value(); });
    --waiting;
    if (!slot) {
      ++stats.refused;
      return Unavailable("all PDF workers are busy; try again shortly");
    }
  }
  Worker& w = workers[*slot];
  w.busy = true;
  if (w.pid > 0) return *slot;
  lock.unlock();
  if (Status s = Launch(w); !s.ok()) {
    Release(*slot);
    return s;
  }
  return *slot;
}

void PdfSandbox::Impl::Release(size_t i) {
  {
    std::lock_guard lock(mu);
    workers[i].busy = false;
  }
  freed.notify_one();
}

Result<std::string> PdfSandbox::Impl::Exchange(size_t i, wire::Op op, const std::string& prefix,
                                               std::span<const uint8_t> pdf, bool& not_started) {
  Worker& w = workers[i];
  not_started = true;
  QUIPU_RETURN_IF_ERROR(AwaitHello(w));
  const auto deadline = Clock::now() + options.job_timeout;
  // This job's CPU budget: what the worker used so far plus its share. Set
  // from here: the worker itself may not change its limits (seccomp).
  if (rlimit old{}; ::prlimit(w.pid, RLIMIT_CPU, nullptr, &old) == 0) {
    rlimit cpu{std::min<rlim_t>(CpuSecondsUsed(w.pid) + static_cast<uint64_t>(options.cpu_seconds), old.rlim_max),
               old.rlim_max};
    ::prlimit(w.pid, RLIMIT_CPU, &cpu, nullptr);
  }
  const std::string header = wire::FrameHeader(prefix.size() + pdf.size());
  Status sent = SendAll(w.fd, header, deadline);
  if (sent.ok()) not_started = false;
  if (sent.ok()) sent = SendAll(w.fd, prefix, deadline);
  if (sent.ok()) sent = SendAll(w.fd, std::string_view(reinterpret_cast<const char*>(pdf.data()), pdf.size()), deadline);
  const uint64_t max = op == wire::Op::kParse ? kMaxParseReply : pdf.size() + kMaxStampGrowth;
  Result<std::string> reply = sent.ok() ? ReceiveFrame(w.fd, max, deadline) : Result<std::string>(sent);
  // A frame that is not a reply means the worker is not what it should be
  // (subverted by what it parsed?): it is not asked again.
  if (reply.ok()) {
    auto decoded = wire::DecodeReply(op, *reply);
    if (decoded.ok()) {
      ++w.jobs;
      return reply;
    }
    reply = decoded.status();
  }
  // Why did it fail? A timeout is ours to call; anything else is the
  // worker's doing (a crash, garbage, a closed socket).
  const bool timed_out = reply.status().code() == StatusCode::kUnavailable;
  const int status = Kill(w);
  {
    std::lock_guard lock(mu);
    ++stats.failures;
  }
  if (timed_out) {
    return Unprocessable("the PDF could not be read: the parser took longer than " +
                         std::to_string(options.job_timeout.count()) + " ms");
  }
  if (reply.status().code() == StatusCode::kInvalidArgument) {
    return Unprocessable("the PDF could not be read: the parser answered garbage (" + reply.status().message() + ")");
  }
  return Unprocessable("the PDF could not be read: " + DescribeExit(status, options));
}

Result<std::string> PdfSandbox::Impl::Run(wire::Op op, const std::string& prefix, std::span<const uint8_t> pdf) {
  if (pdf.size() > options.max_pdf_bytes) {
    return InvalidArgument("PDFs up to " + std::to_string(options.max_pdf_bytes) + " bytes are read");
  }
  QUIPU_ASSIGN_OR_RETURN(size_t i, Acquire());
  Worker& w = workers[i];
  bool not_started = false;
  auto reply = Exchange(i, op, prefix, pdf, not_started);
  if (!reply.ok() && not_started) {
    // The worker was gone before the job reached it (killed while idle, or
    // it could not start): one fresh worker gets the job instead.
    Kill(w);
    if (Status s = Launch(w); s.ok()) reply = Exchange(i, op, prefix, pdf, not_started);
  }
  // A worker serves at most jobs_per_worker jobs, and one stamp (its output
  // goes to a client as it is): then, or when its memory grew, it is
  // replaced, so no job sees what an earlier one left behind. The new one
  // starts now and is ready by the next job.
  if (w.pid > 0 && (op == wire::Op::kStamp || w.jobs >= options.jobs_per_worker ||
                    ResidentBytes(w.pid) > options.recycle_rss_bytes)) {
    Kill(w);
  }
  if (w.pid <= 0) (void)Launch(w);  // a failure shows at the next job
  {
    std::lock_guard lock(mu);
    ++stats.jobs;
  }
  Release(i);
  return reply;
}

PdfSandbox::PdfSandbox(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PdfSandbox::~PdfSandbox() = default;

Result<std::unique_ptr<PdfSandbox>> PdfSandbox::Start(const SandboxOptions& options) {
  if (options.program.empty()) return InvalidArgument("PDF sandbox: no worker program");
  if (options.workers < 1 || options.workers > 256) return InvalidArgument("PDF sandbox: 1 to 256 workers");
  if (options.job_timeout.count() < 10 || options.cpu_seconds < 1) {
    return InvalidArgument("PDF sandbox: a job needs at least 10 ms and 1 CPU second");
  }
  if (options.memory_bytes < (uint64_t{64} << 20)) return InvalidArgument("PDF sandbox: at least 64 MiB of memory");
  if (options.max_pdf_bytes == 0 || options.max_pdf_bytes > wire::kMaxFrameBytes / 2) {
    return InvalidArgument("PDF sandbox: bad PDF size limit");
  }
  if (options.jobs_per_worker < 1) return InvalidArgument("PDF sandbox: at least one job per worker");
  std::unique_ptr<PdfSandbox> sandbox(new PdfSandbox(std::make_unique<Impl>(options)));
  // One worker now, confined and ready, so a broken installation is found
  // at start; the others start at their first job.
  Impl& impl = *sandbox->impl_;
  QUIPU_ASSIGN_OR_RETURN(size_t first, impl.Acquire());
  Status hello = impl.AwaitHello(impl.workers[first]);
  impl.Release(first);
  QUIPU_RETURN_IF_ERROR(hello);
  return sandbox;
}

Result<PdfFacts> PdfSandbox::Parse(std::span<const uint8_t> pdf) {
  wire::Request request;
  request.op = wire::Op::kParse;
  QUIPU_ASSIGN_OR_RETURN(std::string body, impl_->Run(request.op, wire::EncodeRequestPrefix(request), pdf));
  auto reply = wire::DecodeReply(request.op, body);  // checked by Run already
  if (!reply.ok()) return Unprocessable("the PDF could not be read: " + reply.status().message());
  if (!reply->status.ok()) return reply->status;
  return reply->facts;
}

Result<Bytes> PdfSandbox::StampPlaceholder(std::span<const uint8_t> pdf, const QrPlaceholder& qr,
                                           const StampOptions& options) {
  wire::Request request;
  request.op = wire::Op::kStamp;
  request.qr = qr;
  request.options = options;
  QUIPU_ASSIGN_OR_RETURN(std::string body, impl_->Run(request.op, wire::EncodeRequestPrefix(request), pdf));
  auto reply = wire::DecodeReply(request.op, body);
  if (!reply.ok()) return Unprocessable("the PDF could not be stamped: " + reply.status().message());
  if (!reply->status.ok()) return reply->status;
  return Bytes(reply->pdf.begin(), reply->pdf.end());
}

PdfSandbox::Stats PdfSandbox::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

const SandboxOptions& PdfSandbox::options() const { return impl_->options; }

bool PdfSandbox::Saturated() const {
  std::lock_guard lock(impl_->mu);
  for (const Worker& w : impl_->workers) {
    if (!w.busy) return false;
  }
  return impl_->waiting >= impl_->options.max_waiting;
}

std::vector<int> PdfSandbox::WorkerPids() const {
  std::lock_guard lock(impl_->mu);
  std::vector<int> pids;
  for (const Worker& w : impl_->workers) {
    if (w.pid > 0) pids.push_back(w.pid);
  }
  return pids;
}

// --- the worker's side ---------------------------------------------------------

namespace {

// Blocking reads and writes on the worker's socket.
bool ReadExactly(int fd, char* out, size_t n) {
  while (n > 0) {
    const ssize_t got = ::read(fd, out, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    out += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

bool WriteExactly(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool SendFrame(int fd, std::string_view body) {
  return WriteExactly(fd, wire::FrameHeader(body.size())) && WriteExactly(fd, body);
}

// Runs the parser once on a document of our own, so that PoDoFo's lazily
// built state (font metrics, encodings, font configuration) exists before
// the seccomp filter forbids what building it may need.
void WarmUp() {
  auto sample = MakeSamplePdf(1, "warm-up");
  if (!sample.ok()) return;
  (void)ParsePdf(*sample);
  QrPlaceholder qr;
  qr.size = 21;
  qr.marker = "QuipuWarmUpMarker0000000";
  StampOptions options;
  options.caption = "QR Seguro";
  (void)StampQrPlaceholder(*sample, qr, options);
}

// No network, no new processes, no opening of any file, nothing that
// reaches another process (signals, descriptors, memory), no changing its
// own limits or priority; everything else as usual. A deny list: the
// parser's and the C library's needs vary, what must never happen does not.
Status Confine() {
  scmp_filter_ctx ctx = ::seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return Internal("seccomp_init failed");
  const uint32_t deny = SCMP_ACT_ERRNO(EPERM);
  int rc = 0;
  for (int nr : {SCMP_SYS(socket), SCMP_SYS(socketpair), SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen),
                 SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendmmsg),
                 SCMP_SYS(recvmmsg), SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork), SCMP_SYS(vfork),
                 SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
                 SCMP_SYS(process_vm_writev), SCMP_SYS(kill), SCMP_SYS(tkill), SCMP_SYS(setrlimit),
                 SCMP_SYS(prlimit64), SCMP_SYS(setpriority), SCMP_SYS(sched_setscheduler),
                 SCMP_SYS(sched_setparam), SCMP_SYS(sched_setattr), SCMP_SYS(unshare), SCMP_SYS(setns),
                 SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(chroot), SCMP_SYS(pivot_root), SCMP_SYS(setuid),
                 SCMP_SYS(setgid), SCMP_SYS(setreuid), SCMP_SYS(setregid), SCMP_SYS(setresuid),
                 SCMP_SYS(setresgid), SCMP_SYS(setgroups), SCMP_SYS(capset), SCMP_SYS(bpf),
                 SCMP_SYS(perf_event_open), SCMP_SYS(userfaultfd), SCMP_SYS(keyctl), SCMP_SYS(add_key),
                 SCMP_SYS(request_key), SCMP_SYS(io_uring_setup), SCMP_SYS(creat), SCMP_SYS(openat2),
                 SCMP_SYS(mknod), SCMP_SYS(mknodat), SCMP_SYS(link), SCMP_SYS(linkat), SCMP_SYS(symlink),
                 SCMP_SYS(symlinkat), SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rename),
                 SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(rmdir),
                 SCMP_SYS(chmod), SCMP_SYS(fchmod), SCMP_SYS(fchmodat), SCMP_SYS(chown), SCMP_SYS(fchown),
                 SCMP_SYS(lchown), SCMP_SYS(fchownat), SCMP_SYS(truncate), SCMP_SYS(utime), SCMP_SYS(utimes),
                 SCMP_SYS(utimensat), SCMP_SYS(futimesat), SCMP_SYS(acct), SCMP_SYS(swapon), SCMP_SYS(swapoff),
                 SCMP_SYS(reboot), SCMP_SYS(sethostname), SCMP_SYS(setdomainname), SCMP_SYS(init_module),
                 SCMP_SYS(finit_module), SCMP_SYS(delete_module), SCMP_SYS(kexec_load),
                 // Files: nothing is opened once warmed up (not the data
                 // directory through /proc/<node>/cwd, not /proc/<node>/mem).
                 SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(open_by_handle_at), SCMP_SYS(name_to_handle_at),
                 // Reaching the node: its descriptors, its memory, signals.
                 SCMP_SYS(pidfd_open), SCMP_SYS(pidfd_getfd), SCMP_SYS(pidfd_send_signal),
                 SCMP_SYS(rt_sigqueueinfo), SCMP_SYS(rt_tgsigqueueinfo), SCMP_SYS(kcmp),
                 SCMP_SYS(process_madvise), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
                 SCMP_SYS(chdir), SCMP_SYS(fchdir)}) {
    rc |= ::seccomp_rule_add(ctx, deny, nr, 0);
  }
  // Signals only to itself (abort() raises SIGABRT with tgkill).
  rc |= ::seccomp_rule_add(ctx, deny, SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_NE, static_cast<scmp_datum_t>(::getpid())));
  if (rc == 0) rc = ::seccomp_load(ctx);
  ::seccomp_release(ctx);
  if (rc != 0) return Internal(std::string("cannot install the seccomp filter: ") + std::strerror(-rc));
  return Status::Ok();
}

Status SetLimit(int resource, rlim_t value, const char* what) {
  rlimit limit{value, value};
  if (::setrlimit(resource, &limit) != 0) return Internal(ErrnoText(what));
  return Status::Ok();
}

Status Prepare(const WorkerLimits& limits) {
  // Dies with the node; and if the node is gone already, so is the job.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (limits.parent > 0 && ::getppid() != limits.parent) return Internal("the node is gone");
  if (::setpriority(PRIO_PROCESS, 0, 10) != 0) return Internal(ErrnoText("setpriority"));
  if (::chdir("/") != 0) return Internal(ErrnoText("chdir /"));
  // Nothing of the node's but the socket: its listener, clients, ledger.
  if (::close_range(kWorkerFd + 1, ~0u, 0) != 0) {
    for (int fd = kWorkerFd + 1; fd < 65536; ++fd) ::close(fd);  // kernels before 5.9
  }
  QUIPU_RETURN_IF_ERROR(SetLimit(RLIMIT_CORE, 0, "RLIMIT_CORE"));
  QUIPU_RETURN_IF_ERROR(SetLimit(RLIMIT_NOFILE, 64, "RLIMIT_NOFILE"));
  // Its whole CPU life: the node lowers the soft limit per job; past the
  // hard one even a worker that ignores SIGXCPU is killed.
  if (limits.cpu_seconds > 0) {
    rlimit cpu{static_cast<rlim_t>(limits.cpu_seconds), static_cast<rlim_t>(limits.cpu_seconds + 1)};
    if (::setrlimit(RLIMIT_CPU, &cpu) != 0) return Internal(ErrnoText("RLIMIT_CPU"));
  }
#ifndef QUIPU_ASAN
  QUIPU_RETURN_IF_ERROR(SetLimit(RLIMIT_AS, static_cast<rlim_t>(limits.memory_bytes), "RLIMIT_AS"));
#else
  (void)limits;
#endif
  WarmUp();
  return Confine();
}

}  // namespace

int RunPdfWorker(int fd, const WorkerLimits& limits) {
  if (Status s = Prepare(limits); !s.ok()) {
    const std::string line = "quipu pdf-worker: " + s.message() + "\n";
    (void)!::write(2, line.data(), line.size());
    (void)SendFrame(fd, std::string(kFailed) + s.message().substr(0, kMaxHelloBytes - kFailed.size()));
    return 1;
  }
  if (!SendFrame(fd, kReady)) return 1;
  const uint64_t max_body = limits.max_pdf_bytes + 64 * 1024;
  std::string body;
  for (;;) {
    char header[wire::kFrameHeaderBytes];
    if (!ReadExactly(fd, header, sizeof header)) return 0;  // the node closed the socket
    auto n = wire::ParseFrameHeader(std::span<const uint8_t, wire::kFrameHeaderBytes>(
                                        reinterpret_cast<const uint8_t*>(header), sizeof header),
                                    max_body);
    if (!n.ok()) return 1;  // the stream cannot be resynchronised
    body.resize(static_cast<size_t>(*n));
    if (!ReadExactly(fd, body.data(), body.size())) return 0;
    wire::Reply reply;
    std::string stamped;
    auto request = wire::DecodeRequest(body);
    wire::Op op = wire::Op::kParse;
    if (!request.ok()) {
      reply.status = request.status();
    } else {
      op = request->op;
      const auto pdf = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(request->pdf.data()),
                                                request->pdf.size());
      if (op == wire::Op::kParse) {
        auto facts = ParsePdf(pdf);
        if (facts.ok()) reply.facts = *facts;
        else reply.status = facts.status();
      } else {
        auto out = StampQrPlaceholder(pdf, request->qr, request->options);
        if (out.ok()) stamped.assign(out->begin(), out->end());
        else reply.status = out.status();
        reply.pdf = stamped;
      }
    }
    // Only these codes may cross (DecodeReply refuses others).
    if (!reply.status.ok() && reply.status.code() != StatusCode::kInvalidArgument) {
      reply.status = Unprocessable(reply.status.message());
    }
    const std::string answer = wire::EncodeReply(op, reply);
    std::string().swap(body);
    std::string().swap(stamped);
    if (!SendFrame(fd, answer)) return 0;
    ::malloc_trim(0);
  }
}

}  // namespace quipu::pdf
