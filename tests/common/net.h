// Test helpers for outbound requests: a destination that accepts and never
// answers, and a host name (not "localhost") that resolves to loopback.
#pragma once

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace quipu::testing {

// Listens on 127.0.0.1 (a free port), accepts every connection, reads
// nothing and answers nothing, and keeps the sockets open until destroyed:
// a notification endpoint that hangs. Counts the connections it accepted.
class HangingServer {
 public:
  HangingServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd_, 128) == 0;
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~HangingServer() {
    stop_ = true;
    thread_.join();
    for (int c : held_) ::close(c);
    ::close(fd_);
  }
  HangingServer(const HangingServer&) = delete;
  HangingServer& operator=(const HangingServer&) = delete;

  bool ok() const { return ok_; }
  int port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      held_.push_back(c);
      ++accepted_;
    }
  }

  int fd_ = -1;
  int port_ = 0;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::vector<int> held_;  // only the loop's thread touches it until the join
  std::thread thread_;
};

// A name from /etc/hosts, other than localhost and *.localhost, whose
// every address is loopback (on Debian the machine's own name, mapped to
// 127.0.0.1 or 127.0.1.1); "" when there is none. It passes a URL's
// syntax check and must be refused when the node resolves it.
inline std::string LoopbackHostName() {
  std::ifstream hosts("/etc/hosts");
  std::string line;
  while (std::getline(hosts, line)) {
    std::istringstream words(line.substr(0, line.find('#')));
    std::string ip, name;
    if (!(words >> ip) || ip.rfind("127.", 0) != 0) continue;
    while (words >> name) {
      if (name == "localhost" || name.find("localhost") != std::string::npos) continue;
      addrinfo hints{};
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* found = nullptr;
      if (::getaddrinfo(name.c_str(), "443", &hints, &found) != 0) continue;
      bool all_loopback = found != nullptr;
      for (addrinfo* a = found; a; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
          const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
          all_loopback = all_loopback && (ntohl(in->sin_addr.s_addr) >> 24) == 127;
        } else {
          const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
          all_loopback = all_loopback && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
        }
      }
      ::freeaddrinfo(found);
      if (all_loopback) return name;
    }
  }
  return "";
}

}  // namespace quipu::testing
