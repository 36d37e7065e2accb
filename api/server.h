// quipu's HTTP/1.1 server: Boost.Beast, asynchronous, every limit explicit.
// Slow or broken clients cost a socket and a timer, never a thread. Quick
// handlers (Exec::kInline: reads, health) run on the I/O threads; the others
// (Exec::kWorker: PDF parses, ledger commits, outbound calls) on a bounded
// worker pool, whose answer is posted back to the connection; when the
// pool's queue is full the answer is 503 with Retry-After at once. So
// /healthz, /checkpoint and the tiles never wait behind slow work.
// Framing follows RFC 9112: Connection: close is honoured, transfer codings
// other than chunked are refused (501), and every framing error closes the
// connection.
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
  // The limit of document routes (RouteOptions::body_limit == kDocumentBody)
  // and the cap of every other route's own limit; larger bodies: 413.
  size_t body_limit = size_t{64} << 20;
  size_t header_limit = 16 * 1024;       // larger request line + headers: 431
  // Reading a request's headers (and waiting on an idle keep-alive
  // connection) must finish within this; a client trickling bytes is cut.
  std::chrono::milliseconds header_timeout{10000};
  // The whole request, body included, must arrive within this.
  std::chrono::milliseconds request_timeout{60000};
  // Open connections at most; beyond, accepted and closed at once. Start()
  // lowers it to what RLIMIT_NOFILE allows (with headroom for the ledger,
  // the PDF workers and outbound calls): see Server::max_connections().
  size_t max_connections = 10000;
  // Bytes of request bodies being read or waiting for their answer, at
  // most; a request whose body would pass it gets 503 before it is read.
  size_t max_body_bytes_in_flight = size_t{1} << 30;
  int worker_threads = 32;     // the pool for Exec::kWorker handlers
  size_t worker_queue = 1024;  // jobs waiting for the pool at most; beyond: 503
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
  // The connection limit in force (options.max_connections, or less when
  // the descriptor limit is lower).
  size_t max_connections() const;
  // Jobs waiting for, and running on, the worker pool.
  size_t pool_queued() const;
  size_t pool_running() const;
  // Graceful: stops accepting, closes idle connections, lets requests in
  // flight finish (up to drain_timeout), joins the threads. Idempotent.
  void Stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace quipu::api
