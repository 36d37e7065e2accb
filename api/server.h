// quipu's HTTP/1.1 server: Boost.Beast, asynchronous, a thread pool, every
// limit explicit. Slow or broken clients cost a socket and a timer, never a
// thread; handlers (api/router.h) run on the pool and may block briefly
// (waiting for a ledger commit).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/access_log.h"
#include "api/metrics.h"
#include "api/router.h"
#include "crypto/status.h"

namespace quipu::api {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (see Server::port)
  int threads = 4;
  size_t body_limit = size_t{64} << 20;  // larger bodies: 413
  size_t header_limit = 16 * 1024;       // larger request line + headers: 431
  // Reading a request's headers (and waiting on an idle keep-alive
  // connection) must finish within this; a client trickling bytes is cut.
  std::chrono::milliseconds header_timeout{10000};
  // The whole request, body included, must arrive within this.
  std::chrono::milliseconds request_timeout{60000};
  size_t max_connections = 10000;  // beyond: accepted and closed at once
  // How long Stop() lets requests in flight finish before closing them.
  std::chrono::milliseconds drain_timeout{10000};
};

class Server {
 public:
  // Binds and starts serving. Errors: kUnavailable (address in use),
  // kInvalidArgument (bad address), kIoError.
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options, const Router& router,
                                               Metrics& metrics, AccessLog& log);
  ~Server();  // Stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const;
  size_t connections() const;
  // Graceful: stops accepting, closes idle connections, lets requests in
  // flight finish (up to drain_timeout), joins the threads. Idempotent.
  void Stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace quipu::api
