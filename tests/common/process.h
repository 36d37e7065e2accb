// Test helpers: run a program through /bin/sh and capture what it printed.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

namespace quipu::testing {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// A fresh directory under the build tree, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::path(QUIPU_BUILD_DIR) / "test-tmp" /
            ("t" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Polls `done` every 50 ms for up to `seconds`; whether it came true.
template <typename F>
bool WaitUntil(F done, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// Quotes `s` for /bin/sh.
inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

// Runs `command` with /bin/sh, feeding `input` on stdin; captures stdout and stderr.
inline ProcessResult RunShell(const std::string& command, const std::string& input = "") {
  TempDir dir;
  std::string in = dir.File("stdin"), out = dir.File("stdout"), err = dir.File("stderr");
  WriteFile(in, input);
  std::string full = "(" + command + ") <" + ShellQuote(in) + " >" + ShellQuote(out) + " 2>" + ShellQuote(err);
  int rc = std::system(full.c_str());
  ProcessResult r;
  r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  return r;
}

// Runs the built quipu program with `args` (already shell-quoted as needed).
inline ProcessResult RunQuipu(const std::string& args, const std::string& input = "") {
  return RunShell(ShellQuote(QUIPU_BINARY) + " " + args, input);
}

}  // namespace quipu::testing
