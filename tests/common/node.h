// Test helpers for the node: run `quipu serve` on a free port, talk to it
// with curl (a real HTTP client) or raw sockets.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/common/process.h"

namespace quipu::testing {

using nlohmann::json;

// A running `quipu serve`, stopped with SIGTERM when the object dies.
// `shell_prefix` runs in the shell before it (e.g. "ulimit -n 100; ").
class Node {
 public:
  explicit Node(const std::string& data, const std::string& extra = "", const std::string& shell_prefix = "") {
    err_path_ = data + ".stderr";
    int out[2];
    EXPECT_EQ(::pipe(out), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(err, 2);
      ::close(out[0]);
      // `extra` may name the address (a node whose URL is needed before it starts).
      const std::string listen = extra.find("--listen ") == std::string::npos ? "--listen 127.0.0.1:0 " : "";
      std::string cmd = ShellQuote(QUIPU_BINARY) + " serve " + listen + "--threads 4 --data " + ShellQuote(data) +
                        " " + extra;
      ::execl("/bin/sh", "sh", "-c", (shell_prefix + "exec " + cmd).c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    // The first line is "quipu: serving http://127.0.0.1:PORT".
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    out_fd_ = out[0];
    const size_t colon = line.rfind(':');
    if (line.rfind("quipu: serving http://", 0) == 0 && colon != std::string::npos) {
      port_ = std::stoi(line.substr(colon + 1));
      url_ = "http://127.0.0.1:" + std::to_string(port_);
    }
    EXPECT_GT(port_, 0) << "serve printed: " << line << "\nits standard error:\n" << Stderr();
  }
  ~Node() { Stop(); }

  // SIGTERM and wait; returns the exit status.
  int Stop() {
    if (pid_ <= 0) return exit_code_;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    ::close(out_fd_);
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_code_;
  }
  bool Alive() const { return pid_ > 0 && ::kill(pid_, 0) == 0; }
  int pid() const { return pid_; }
  // SIGKILL, as a crash would; returns once the process is gone.
  void Kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    ::close(out_fd_);
    pid_ = -1;
    exit_code_ = 137;
  }
  const std::string& url() const { return url_; }
  int port() const { return port_; }
  std::string Stderr() const { return ReadFile(err_path_); }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int port_ = 0;
  int exit_code_ = -1;
  std::string url_, err_path_;
};

struct Http {
  long status = 0;
  std::string headers;
  std::string body;
  json Json() const { return json::parse(body, nullptr, false); }
};

// curl with `args`; the response's status, headers and body.
inline Http Curl(const std::string& args, const std::string& input = "") {
  TempDir dir;
  const std::string hdr = dir.File("h"), body = dir.File("b");
  auto r = RunShell("curl -sS --max-time 20 -D " + ShellQuote(hdr) + " -o " + ShellQuote(body) +
                        " -w '%{http_code}' " + args,
                    input);
  Http h;
  h.status = r.out.empty() ? 0 : std::stol(r.out);
  h.headers = ReadFile(hdr);
  h.body = ReadFile(body);
  return h;
}

// --- raw sockets, for hostile clients ---------------------------------------

inline int Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads until the peer closes or `timeout` passes; returns what came.
inline std::string ReadAll(int fd, std::chrono::milliseconds timeout) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

inline void Send(int fd, const std::string& s) { ASSERT_EQ(::write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size())); }


}  // namespace quipu::testing
