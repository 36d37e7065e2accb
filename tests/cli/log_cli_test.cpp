// `quipu log` and `quipu audit` as the built program: the commands' output,
// errors and exit statuses, a second writer refused across processes, and
// crash safety: a writer killed with SIGKILL at random moments never loses
// an entry it acknowledged.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/common/process.h"

namespace quipu {
namespace {

using nlohmann::json;
using testing::RunQuipu;
using testing::ShellQuote;
using testing::TempDir;

std::string EntryLine(uint64_t n) {
  char hex[65];
  for (int i = 0; i < 64; ++i) hex[i] = "0123456789abcdef"[(n >> ((i % 16) * 4)) & 15];
  hex[64] = 0;
  return R"({"type":"approval","client":"c_cli","request":"r_)" + std::to_string(n) +
         R"(","subject":")" + std::string(hex) + R"(","doc":{"sha256":")" + std::string(hex) +
         R"(","media_type":"application/json"}})";
}

std::string Lines(uint64_t from, uint64_t to) {
  std::string s;
  for (uint64_t i = from; i < to; ++i) s += EntryLine(i) + "\n";
  return s;
}

TEST(LogCli, InitAppendReadProveAndAudit) {
  TempDir dir;
  const std::string data = " --data " + ShellQuote(dir.File("d"));
  auto init = RunQuipu("log init --origin example.org/log" + data);
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_EQ(init.out.rfind("example.org/log+", 0), 0u) << init.out;
  auto vkey = RunQuipu("log vkey" + data);
  EXPECT_EQ(vkey.out, init.out);

  auto append = RunQuipu("log append --batch 7" + data, Lines(0, 50));
  ASSERT_EQ(append.exit_code, 0) << append.err;
  std::istringstream lines(append.out);
  std::string line;
  uint64_t expect = 0;
  while (std::getline(lines, line)) EXPECT_EQ(json::parse(line)["index"], expect++);
  EXPECT_EQ(expect, 50u);

  auto entry = RunQuipu("log entry 3" + data);
  ASSERT_EQ(entry.exit_code, 0);
  auto e = json::parse(entry.out);
  EXPECT_EQ(e["request"], "r_3");
  EXPECT_EQ(e["v"], 1);
  EXPECT_EQ(entry.out, e.dump());  // canonical: nlohmann's compact dump sorts keys the same here

  auto cp = RunQuipu("log checkpoint" + data);
  ASSERT_EQ(cp.exit_code, 0);
  EXPECT_EQ(cp.out.rfind("example.org/log\n50\n", 0), 0u) << cp.out;
  // Commits group requests, so only the empty tree's and the head's sizes
  // are certain to have checkpoints.
  auto cp0 = RunQuipu("log checkpoint --size 0" + data);
  EXPECT_EQ(cp0.exit_code, 0);
  EXPECT_EQ(cp0.out.rfind("example.org/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", 0), 0u) << cp0.out;
  EXPECT_EQ(RunQuipu("log checkpoint --size 50" + data).out, cp.out);
  EXPECT_EQ(RunQuipu("log checkpoint --size 51" + data).exit_code, 2);

  auto prove = RunQuipu("log prove 10 --size 21" + data);
  ASSERT_EQ(prove.exit_code, 0) << prove.err;
  auto p = json::parse(prove.out);
  EXPECT_EQ(p["index"], 10);
  EXPECT_EQ(p["tree_size"], 21);
  EXPECT_EQ(p["proof"].size(), 5u);
  auto cons = RunQuipu("log consistency 7 50" + data);
  ASSERT_EQ(cons.exit_code, 0);
  EXPECT_EQ(json::parse(cons.out)["old"], 7);

  auto audit = RunQuipu("audit --json --vkey " + ShellQuote(init.out.substr(0, init.out.size() - 1)) + data);
  ASSERT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  auto report = json::parse(audit.out);
  EXPECT_TRUE(report["ok"]);
  EXPECT_EQ(report["entries"], 50);
  EXPECT_EQ(report["vkey_from_ledger"], false);
}

TEST(LogCli, ErrorsAreClear) {
  TempDir dir;
  const std::string data = " --data " + ShellQuote(dir.File("d"));
  auto none = RunQuipu("log entry 0" + data);
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("no ledger"), std::string::npos) << none.err;
  ASSERT_EQ(RunQuipu("log init" + data).exit_code, 0);
  auto bad = RunQuipu("log append" + data, EntryLine(0) + "\n{\"type\":\"approval\"}\n");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("missing field"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.out, "{\"index\":0}\n");  // the good line before it is appended and acknowledged
  auto garbage = RunQuipu("log append" + data, "not json\n");
  EXPECT_EQ(garbage.exit_code, 2);
  EXPECT_NE(garbage.err.find("line 1"), std::string::npos) << garbage.err;
  EXPECT_EQ(RunQuipu("log entry 99" + data).exit_code, 2);
  EXPECT_EQ(RunQuipu("log entry x" + data).exit_code, 2);
  EXPECT_EQ(RunQuipu("log prove 0" + data).exit_code, 0);
  EXPECT_EQ(RunQuipu("log prove 1" + data).exit_code, 2);
  EXPECT_EQ(RunQuipu("log frobnicate" + data).exit_code, 2);
  EXPECT_EQ(RunQuipu("log append --sync sometimes" + data).exit_code, 2);
  EXPECT_EQ(RunQuipu("audit" + data).exit_code, 0);
  EXPECT_NE(RunQuipu("audit --data " + ShellQuote(dir.File("missing"))).exit_code, 0);
}

TEST(LogCli, ABadLineStillAcknowledgesEveryLineBeforeItAndResumesWithoutDuplicates) {
  TempDir dir;
  const std::string data = " --data " + ShellQuote(dir.File("d"));
  ASSERT_EQ(RunQuipu("log init" + data).exit_code, 0);
  // 1,500 good lines (more than one request of 1024), a blank one, a bad
  // one, then more good ones that must not be read.
  const std::string head = Lines(0, 1500) + "\n";
  const std::string bad = "{\"type\":\"approval\",\"client\":\"c\"}\n";
  const std::string tail = Lines(1500, 1600);
  const std::string input = head + bad + tail;
  testing::WriteFile(dir.File("in.jsonl"), input);
  auto r = RunQuipu("log append" + data + " < " + ShellQuote(dir.File("in.jsonl")));
  EXPECT_EQ(r.exit_code, 2);
  // Every committed entry is acknowledged, in order.
  std::istringstream out(r.out);
  uint64_t expected = 0;
  for (std::string line; std::getline(out, line); ++expected) {
    ASSERT_EQ(json::parse(line)["index"], expected) << line;
  }
  EXPECT_EQ(expected, 1500u);
  EXPECT_NE(r.err.find("line 1502:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1500 entries before it were appended"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tail -n +1502"), std::string::npos) << r.err;
  // Resuming as the message says, after fixing the line, adds exactly the
  // rest: nothing twice, nothing lost.
  const std::string fixed = Lines(5000, 5001) + tail;
  auto resumed = RunQuipu("log append" + data, fixed);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(std::count(resumed.out.begin(), resumed.out.end(), '\n'), 101);
  auto audit = RunQuipu("audit --json" + data);
  ASSERT_EQ(audit.exit_code, 0) << audit.out;
  EXPECT_EQ(json::parse(audit.out)["entries"], 1601);
  EXPECT_EQ(json::parse(RunQuipu("log entry 1499" + data).out)["request"], "r_1499");
  EXPECT_EQ(json::parse(RunQuipu("log entry 1500" + data).out)["request"], "r_5000");
  EXPECT_EQ(json::parse(RunQuipu("log entry 1501" + data).out)["request"], "r_1500");
  EXPECT_EQ(json::parse(RunQuipu("log entry 1600" + data).out)["request"], "r_1599");
}

// A running `quipu log append` with its stdin and stdout as pipes.
struct Writer {
  pid_t pid = -1;
  int in = -1, out = -1;
};

Writer StartWriter(const std::string& data_dir) {
  int to_child[2], from_child[2];
  EXPECT_EQ(::pipe2(to_child, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(from_child, O_CLOEXEC), 0);
  Writer w;
  w.pid = ::fork();
  if (w.pid == 0) {
    ::dup2(to_child[0], 0);
    ::dup2(from_child[1], 1);
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 2);
    ::execl(QUIPU_BINARY, QUIPU_BINARY, "log", "append", "--batch", "64", "--sync", "full", "--data",
            data_dir.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  w.in = to_child[1];
  w.out = from_child[0];
  ::fcntl(w.out, F_SETFL, O_NONBLOCK);
  return w;
}

TEST(LogCli, KillNineNeverLosesAnAcknowledgedEntry) {
  TempDir dir;
  const std::string data = dir.File("d");
  ASSERT_EQ(RunQuipu("log init --data " + ShellQuote(data)).exit_code, 0);
  std::mt19937 rng(12345);
  ::signal(SIGPIPE, SIG_IGN);
  uint64_t next_line = 0;
  for (int round = 0; round < 20; ++round) {
    Writer w = StartWriter(data);
    uint64_t acked_max = 0;
    bool acked_any = false;
    std::string pending;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(50 + rng() % 250);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string chunk = Lines(next_line, next_line + 64);
      if (::write(w.in, chunk.data(), chunk.size()) == static_cast<ssize_t>(chunk.size())) next_line += 64;
      char buf[65536];
      ssize_t n;
      while ((n = ::read(w.out, buf, sizeof buf)) > 0) pending.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        acked_max = json::parse(pending.substr(0, nl))["index"].get<uint64_t>();
        acked_any = true;
        pending.erase(0, nl + 1);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ::kill(w.pid, SIGKILL);
    int status;
    ::waitpid(w.pid, &status, 0);
    ::close(w.in);
    ::close(w.out);
    // Everything acknowledged is there, and the ledger audits clean.
    if (acked_any) {
      auto e = RunQuipu("log entry " + std::to_string(acked_max) + " --data " + ShellQuote(data));
      EXPECT_EQ(e.exit_code, 0) << "round " << round << ": acknowledged entry " << acked_max << " lost";
    }
    auto audit = RunQuipu("audit --json --data " + ShellQuote(data));
    ASSERT_EQ(audit.exit_code, 0) << "round " << round << ": " << audit.out << audit.err;
    // The next writer continues after whatever was committed.
    auto cp = RunQuipu("log checkpoint --data " + ShellQuote(data));
    if (acked_any) {
      ASSERT_EQ(cp.exit_code, 0);
      const uint64_t size = std::stoull(cp.out.substr(cp.out.find('\n') + 1));
      EXPECT_GT(size, acked_max);
    }
    next_line += 1000;  // fresh lines (content does not matter, indices do)
  }
}

TEST(LogCli, ASecondWriterProcessIsRefused) {
  TempDir dir;
  const std::string data = dir.File("d");
  ASSERT_EQ(RunQuipu("log init --data " + ShellQuote(data)).exit_code, 0);
  Writer w = StartWriter(data);
  // Wait until the first writer holds the lock (it acknowledges an entry).
  const std::string one = EntryLine(1) + "\n";
  ASSERT_EQ(::write(w.in, one.data(), one.size()), static_cast<ssize_t>(one.size()));
  std::string got;
  for (int i = 0; i < 500 && got.find('\n') == std::string::npos; ++i) {
    char buf[256];
    ssize_t n = ::read(w.out, buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_NE(got.find("{\"index\":0}"), std::string::npos);
  auto second = RunQuipu("log append --data " + ShellQuote(data), EntryLine(2) + "\n");
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.err.find("in use by another writer"), std::string::npos) << second.err;
  // Readers are welcome meanwhile.
  EXPECT_EQ(RunQuipu("log entry 0 --data " + ShellQuote(data)).exit_code, 0);
  ::close(w.in);
  int status;
  ::waitpid(w.pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace quipu
