// pdf/sandbox: PDFs parsed in `quipu pdf-worker` processes. The hostile
// inputs that took the node down (a NULL dereference in PoDoFo, a huge
// /Size) fail as a clean kUnprocessable and the next job works; workers
// that hang, lie or die are replaced; the confinement (seccomp, limits,
// working directory, descriptors, priority) is read back from /proc of the
// real worker process; the protocol's decoders refuse what they must.
#include "pdf/sandbox.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "pdf/make.h"
#include "pdf/worker_protocol.h"
#include "tests/common/hostile_pdf.h"
#include "tests/common/process.h"

namespace quipu::pdf {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

std::span<const uint8_t> Span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

SandboxOptions Options(int workers = 1) {
  SandboxOptions o;
  o.program = QUIPU_BINARY;
  o.workers = workers;
  o.job_timeout = 10s;
  return o;
}

std::unique_ptr<PdfSandbox> MustStart(const SandboxOptions& o) {
  auto s = PdfSandbox::Start(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

// A worker written as a shell script: it says hello as a real one does
// (an 8-byte length and "QPREADY1"), then does `then`.
std::string FakeWorker(const TempDir& dir, const std::string& then) {
  const std::string path = dir.File("fake-worker.sh");
  std::ofstream(path) << "#!/bin/sh\nprintf '\\000\\000\\000\\000\\000\\000\\000\\010QPREADY1' >&3\n" << then << "\n";
  ::chmod(path.c_str(), 0755);
  return path;
}

std::string ProcFile(int pid, const std::string& name) { return testing::ReadFile("/proc/" + std::to_string(pid) + "/" + name); }

std::string ProcLine(int pid, const std::string& file, const std::string& key) {
  std::istringstream in(ProcFile(pid, file));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0) return line;
  }
  return "";
}

TEST(PdfSandbox, ParsesLikeTheInProcessParser) {
  auto sandbox = MustStart(Options());
  ASSERT_TRUE(sandbox);
  auto pdf = MakeSamplePdf(3, "sandbox");
  ASSERT_TRUE(pdf.ok());
  auto facts = sandbox->Parse(*pdf);
  ASSERT_TRUE(facts.ok()) << facts.status().ToString();
  auto direct = ParsePdf(*pdf);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(facts->pages, 3);
  EXPECT_EQ(facts->version, direct->version);
  EXPECT_EQ(facts->encrypted, direct->encrypted);
  auto info = InspectPdf(*sandbox, *pdf);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->revisions.size(), 1u);
  // Errors cross as themselves.
  auto garbage = sandbox->Parse(Span("%PDF-1.7\nnot a pdf\n%%EOF\n"));
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), StatusCode::kUnprocessable);
  EXPECT_NE(garbage.status().message().find("cannot be parsed"), std::string::npos);
}

TEST(PdfSandbox, TheCrashingPdfFailsCleanlyAndTheNextJobWorks) {
  auto sandbox = MustStart(Options());
  ASSERT_TRUE(sandbox);
  const std::string crash = testing::EncryptCrashPdf();
  // In this process it would be SIGSEGV (tests/fuzz/corpus keeps it too).
  auto r = sandbox->Parse(Span(crash));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnprocessable);
  EXPECT_NE(r.status().message().find("the PDF could not be read"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("crashed"), std::string::npos) << r.status().message();
  EXPECT_EQ(sandbox->stats().failures, 1u);
  // Stamping it fails the same way.
  QrPlaceholder qr{21, NewPlaceholderMarker()};
  auto stamped = sandbox->StampPlaceholder(Span(crash), qr, StampOptions{});
  ASSERT_FALSE(stamped.ok());
  EXPECT_EQ(stamped.status().code(), StatusCode::kUnprocessable);
  // A fresh worker takes the next job.
  auto pdf = MakeSamplePdf(1, "after");
  auto ok = sandbox->Parse(*pdf);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->pages, 1);
  EXPECT_GE(sandbox->stats().started, 3u);
}

TEST(PdfSandbox, AHugeDeclaredSizeIsRefusedBeforeAnyParser) {
  auto sandbox = MustStart(Options());
  ASSERT_TRUE(sandbox);
  const auto start = std::chrono::steady_clock::now();
  auto r = InspectPdf(*sandbox, Span(testing::HugeSizePdf()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnprocessable);
  EXPECT_NE(r.status().message().find("/Size"), std::string::npos) << r.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(sandbox->stats().jobs, 0u);  // the byte checks refused it: no worker ran
}

TEST(PdfSandbox, TheWorkerIsConfined) {
  auto sandbox = MustStart(Options());
  ASSERT_TRUE(sandbox);
  auto pids = sandbox->WorkerPids();
  ASSERT_EQ(pids.size(), 1u);
  const int pid = pids[0];
  // A seccomp filter, and no way to gain privileges past it.
  EXPECT_EQ(ProcLine(pid, "status", "Seccomp:"), "Seccomp:\t2");
  EXPECT_EQ(ProcLine(pid, "status", "NoNewPrivs:"), "NoNewPrivs:\t1");
  // Its working directory is /, its descriptors are stdin, stdout, stderr
  // and its socket: nothing of the data directory or the node's sockets.
  EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/cwd").string(), "/");
  size_t fds = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    ++fds;
    EXPECT_LE(std::stoi(e.path().filename().string()), 3) << e.path();
  }
  EXPECT_EQ(fds, 4u);
  // Limits: no core files, few descriptors, and (not under ASan, whose
  // shadow memory needs the address space) the memory limit.
  EXPECT_NE(ProcLine(pid, "limits", "Max core file size").find(" 0 "), std::string::npos);
  EXPECT_NE(ProcLine(pid, "limits", "Max open files").find(" 64 "), std::string::npos);
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_NE(ProcLine(pid, "limits", "Max address space").find(std::to_string(uint64_t{1} << 30)), std::string::npos)
      << ProcLine(pid, "limits", "Max address space");
#endif
  // Nice 10: field 19 of /proc/PID/stat.
  std::string stat = ProcFile(pid, "stat");
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  for (int i = 3; i <= 19; ++i) fields >> field;
  EXPECT_EQ(field, "10");
  // A CPU budget for its life (soft 10 s, hard 11 s: past it even a worker
  // that ignores SIGXCPU dies).
  EXPECT_NE(ProcLine(pid, "limits", "Max cpu time").find(" 10  "), std::string::npos)
      << ProcLine(pid, "limits", "Max cpu time");
  EXPECT_NE(ProcLine(pid, "limits", "Max cpu time").find(" 11  "), std::string::npos)
      << ProcLine(pid, "limits", "Max cpu time");
  // Nothing of the node's environment.
  const std::string env = ProcFile(pid, "environ");
  EXPECT_EQ(env.find("PATH="), std::string::npos);
  EXPECT_EQ(env.find("HOME="), std::string::npos);
  // Every job gets a fresh process: nothing one PDF did reaches the next.
  auto pdf = MakeSamplePdf(1, "cpu");
  ASSERT_TRUE(sandbox->Parse(*pdf).ok());
  auto after = sandbox->WorkerPids();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after[0], pid);
  EXPECT_FALSE(std::filesystem::exists("/proc/" + std::to_string(pid) + "/status"));  // gone, reaped
}

TEST(PdfSandbox, WorkersCanServeSeveralJobsButNeverMoreThanOneStamp) {
  SandboxOptions o = Options();
  o.jobs_per_worker = 3;
  auto sandbox = MustStart(o);
  ASSERT_TRUE(sandbox);
  auto pdf = MakeSamplePdf(1, "reuse");
  const int first = sandbox->WorkerPids().at(0);
  ASSERT_TRUE(sandbox->Parse(*pdf).ok());
  ASSERT_TRUE(sandbox->Parse(*pdf).ok());
  EXPECT_EQ(sandbox->WorkerPids().at(0), first);
  ASSERT_TRUE(sandbox->Parse(*pdf).ok());  // the third: replaced after it
  const int second = sandbox->WorkerPids().at(0);
  EXPECT_NE(second, first);
  std::vector<bool> modules(21 * 21, true);
  ASSERT_TRUE(StampQr(*sandbox, *pdf, modules, 21, StampOptions{}).ok());
  EXPECT_NE(sandbox->WorkerPids().at(0), second);  // a stamp ends its worker
}

TEST(PdfSandbox, AWorkerKilledWhileIdleCostsTheNextJobNothing) {
  auto sandbox = MustStart(Options());
  ASSERT_TRUE(sandbox);
  const int pid = sandbox->WorkerPids().at(0);
  ::kill(pid, SIGKILL);  // as the OOM killer would
  // Idle means dead before the job: wait until the kernel has torn it down
  // (a zombie, its sockets closed), which on a loaded machine takes longer
  // than any fixed sleep.
  for (int i = 0; i < 500; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const size_t paren = line.rfind(')');
    if (!stat || paren == std::string::npos || line.substr(paren + 2, 1) == "Z") break;
    std::this_thread::sleep_for(10ms);
  }
  auto pdf = MakeSamplePdf(1, "idle");
  auto r = sandbox->Parse(*pdf);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->pages, 1);
}

TEST(PdfSandbox, AWorkerThatHangsIsKilledAtTheDeadline) {
  TempDir dir;
  SandboxOptions o = Options();
  o.program = FakeWorker(dir, "exec sleep 60");
  o.job_timeout = 300ms;
  auto sandbox = MustStart(o);
  ASSERT_TRUE(sandbox);
  auto pdf = MakeSamplePdf(1, "hang");
  const auto start = std::chrono::steady_clock::now();
  auto r = sandbox->Parse(*pdf);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnprocessable);
  EXPECT_NE(r.status().message().find("took longer than 300 ms"), std::string::npos) << r.status().message();
  EXPECT_LT(took, 3s);
  EXPECT_EQ(sandbox->stats().failures, 1u);
  // Killed and reaped, not left behind (a fresh one replaces it).
  auto pids = sandbox->WorkerPids();
  for (int p : pids) EXPECT_NE(std::filesystem::read_symlink("/proc/" + std::to_string(p) + "/exe").string(), "");
}

TEST(PdfSandbox, AWorkerThatLiesOrDiesIsNotBelieved) {
  TempDir dir;
  SandboxOptions o = Options();
  // Answers a well-framed body that is not a reply.
  o.program = FakeWorker(dir, "cat >/dev/null <&3 & printf '\\000\\000\\000\\000\\000\\000\\000\\004JUNK' >&3; sleep 5");
  auto liar = MustStart(o);
  ASSERT_TRUE(liar);
  auto pdf = MakeSamplePdf(1, "lie");
  auto r = liar->Parse(*pdf);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnprocessable);
  EXPECT_NE(r.status().message().find("garbage"), std::string::npos) << r.status().message();
  // Announces a frame far over the limit.
  TempDir dir2;
  o.program = FakeWorker(dir2, "printf '\\377\\377\\377\\377\\377\\377\\377\\377' >&3; sleep 5");
  auto huge = MustStart(o);
  ASSERT_TRUE(huge);
  r = huge->Parse(*pdf);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnprocessable);
  // Exits in the middle of a job.
  TempDir dir3;
  o.program = FakeWorker(dir3, "exit 3");
  auto quitter = MustStart(o);
  ASSERT_TRUE(quitter);
  r = quitter->Parse(*pdf);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("exit status 3"), std::string::npos) << r.status().message();
}

TEST(PdfSandbox, BusyWorkersRefuseRatherThanQueueForever) {
  TempDir dir;
  SandboxOptions o = Options();
  o.program = FakeWorker(dir, "exec sleep 60");
  o.job_timeout = 2s;
  o.max_waiting = 0;
  auto sandbox = MustStart(o);
  ASSERT_TRUE(sandbox);
  auto pdf = MakeSamplePdf(1, "busy");
  std::thread first([&] { (void)sandbox->Parse(*pdf); });
  while (sandbox->WorkerPids().empty() || sandbox->stats().jobs > 0) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(100ms);  // the first job holds the only worker
  EXPECT_TRUE(sandbox->Saturated());    // a server refuses uploads before reading them
  auto r = sandbox->Parse(*pdf);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(sandbox->stats().refused, 1u);
  first.join();
  EXPECT_FALSE(sandbox->Saturated());
}

TEST(PdfSandbox, StartFailsClearly) {
  SandboxOptions o = Options();
  o.program = "/nonexistent/quipu";
  auto missing = PdfSandbox::Start(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/quipu"), std::string::npos);
  o.program = "/bin/true";  // starts, never says hello
  auto silent = PdfSandbox::Start(o);
  ASSERT_FALSE(silent.ok());
  EXPECT_NE(silent.status().message().find("did not start"), std::string::npos) << silent.status().message();
  // A worker that cannot confine itself says why, through its socket.
  TempDir dir;
  const std::string failing = dir.File("failing.sh");
  std::ofstream(failing) << "#!/bin/sh\nprintf '\\000\\000\\000\\000\\000\\000\\000\\027QPFAIL1 no seccomp here' >&3\nexit 1\n";
  ::chmod(failing.c_str(), 0755);
  o.program = failing;
  auto refused = PdfSandbox::Start(o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("no seccomp here"), std::string::npos) << refused.status().message();
  o = Options();
  o.workers = 0;
  EXPECT_EQ(PdfSandbox::Start(o).status().code(), StatusCode::kInvalidArgument);
  o = Options();
  o.max_pdf_bytes = 10;
  auto small = MustStart(o);
  ASSERT_TRUE(small);
  auto pdf = MakeSamplePdf(1, "too big");
  EXPECT_EQ(small->Parse(*pdf).status().code(), StatusCode::kInvalidArgument);
}

TEST(PdfSandbox, StampsThroughTheWorker) {
  auto sandbox = MustStart(Options());
  ASSERT_TRUE(sandbox);
  auto pdf = MakeSamplePdf(2, "stamp");
  std::vector<bool> modules(21 * 21);
  for (size_t i = 0; i < modules.size(); i += 3) modules[i] = true;
  StampOptions so;
  so.page = 2;
  auto out = StampQr(*sandbox, *pdf, modules, 21, so);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_TRUE(std::equal(pdf->begin(), pdf->end(), out->begin()));
  auto info = InspectPdf(*out);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->revisions.size(), 2u);
  so.page = 3;
  auto bad = StampQr(*sandbox, *pdf, modules, 21, so);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("out of range"), std::string::npos);
}

// --- the protocol ------------------------------------------------------------

TEST(PdfWorkerProtocol, RequestsRoundTrip) {
  worker::Request stamp;
  stamp.op = worker::Op::kStamp;
  stamp.qr = {57, "QuipuQrPlaceholderabcdefghijklmnopqrstuvwx"};
  stamp.options.page = 7;
  stamp.options.corner = Corner::kTopLeft;
  stamp.options.size_pt = 99.5;
  stamp.options.margin_pt = 12.25;
  stamp.options.caption = "Verifique";
  const std::string body = worker::EncodeRequestPrefix(stamp) + "%PDF-1.7 bytes";
  auto back = worker::DecodeRequest(body);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->op, worker::Op::kStamp);
  EXPECT_EQ(back->qr.size, 57);
  EXPECT_EQ(back->qr.marker, stamp.qr.marker);
  EXPECT_EQ(back->options.page, 7);
  EXPECT_EQ(back->options.corner, Corner::kTopLeft);
  EXPECT_EQ(back->options.size_pt, 99.5);
  EXPECT_EQ(back->options.margin_pt, 12.25);
  EXPECT_EQ(back->options.caption, "Verifique");
  EXPECT_EQ(back->pdf, "%PDF-1.7 bytes");
  // Every truncation of the stamp arguments is refused, none crashes.
  const std::string prefix = worker::EncodeRequestPrefix(stamp);
  for (size_t cut = 0; cut < prefix.size(); ++cut) {
    EXPECT_FALSE(worker::DecodeRequest(prefix.substr(0, cut)).ok()) << cut;
  }
  std::string bad_corner = prefix;
  bad_corner[4 + 1 + 2 + 1 + stamp.qr.marker.size() + 4] = 9;
  EXPECT_FALSE(worker::DecodeRequest(bad_corner).ok());
  EXPECT_FALSE(worker::DecodeRequest("QPW1\x03").ok());
  EXPECT_FALSE(worker::DecodeRequest("XXXX\x01").ok());
}

TEST(PdfWorkerProtocol, RepliesAreCheckedAsHostileBytes) {
  worker::Reply ok;
  ok.facts.version = "1.7";
  ok.facts.pages = 12;
  ok.facts.encrypted = true;
  auto back = worker::DecodeReply(worker::Op::kParse, worker::EncodeReply(worker::Op::kParse, ok));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->status.ok());
  EXPECT_EQ(back->facts.pages, 12);
  EXPECT_TRUE(back->facts.encrypted);
  EXPECT_FALSE(back->facts.has_signatures);
  worker::Reply err;
  err.status = Unprocessable("PDF cannot be parsed: x");
  back = worker::DecodeReply(worker::Op::kParse, worker::EncodeReply(worker::Op::kParse, err));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->status.code(), StatusCode::kUnprocessable);
  // A worker may not claim other codes (an "internal" or "not found" would
  // change what the node does), nor bytes after its answer.
  std::string forged = worker::EncodeReply(worker::Op::kParse, err);
  forged[4] = static_cast<char>(StatusCode::kNotFound);
  EXPECT_FALSE(worker::DecodeReply(worker::Op::kParse, forged).ok());
  EXPECT_FALSE(worker::DecodeReply(worker::Op::kParse, worker::EncodeReply(worker::Op::kParse, ok) + "x").ok());
  std::string pages = worker::EncodeReply(worker::Op::kParse, ok);
  pages[pages.size() - 5] = '\x80';  // a page count over 2^31
  EXPECT_FALSE(worker::DecodeReply(worker::Op::kParse, pages).ok());
  std::string control = worker::EncodeReply(worker::Op::kParse, err);
  control[8] = '\n';
  EXPECT_FALSE(worker::DecodeReply(worker::Op::kParse, control).ok());
  // Frame headers over the limit.
  const std::array<uint8_t, 8> big{0, 0, 0, 1, 0, 0, 0, 0};
  EXPECT_FALSE(worker::ParseFrameHeader(big, 1000).ok());
  EXPECT_EQ(*worker::ParseFrameHeader(std::array<uint8_t, 8>{0, 0, 0, 0, 0, 0, 3, 232}, 1000), 1000u);
}

}  // namespace
}  // namespace quipu::pdf
