#include "api/server.h"

#include <sys/resource.h>

#include <condition_variable>
#include <optional>
#include <thread>
#include <unordered_set>

#include "api/work_pool.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace quipu::api {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class Session;

}  // namespace

struct Server::Impl {
  Impl(const ServerOptions& o, const Router& r, Metrics& m, AccessLog& l)
      : options(o),
        router(r),
        metrics(m),
        log(l),
        acceptor(net::make_strand(ioc)),
        accept_pause(acceptor.get_executor()),
        pool(o.worker_threads, o.worker_queue) {}

  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void Register(Session* s) {
    std::lock_guard lock(sessions_mu);
    sessions.insert(s);
  }
  void Unregister(Session* s) {
    std::lock_guard lock(sessions_mu);
    sessions.erase(s);
    if (sessions.empty()) drained.notify_all();
  }

  // Body bytes being read or waiting to be answered, against the budget;
  // false (and nothing taken) when `bytes` more would pass it.
  bool TakeBodyBudget(size_t bytes) {
    size_t now = body_bytes.load();
    do {
      if (now + bytes > options.max_body_bytes_in_flight) return false;
    } while (!body_bytes.compare_exchange_weak(now, now + bytes));
    return true;
  }
  void ReturnBodyBudget(size_t bytes) { body_bytes -= bytes; }

  const ServerOptions options;
  const Router& router;
  Metrics& metrics;
  AccessLog& log;
  // Declared before the io_context, so destroyed after it: sessions still
  // alive when it goes (a drain that timed out) unregister from them.
  std::mutex sessions_mu;
  std::condition_variable drained;
  std::unordered_set<Session*> sessions;  // guarded by sessions_mu
  std::atomic<bool> stopping{false};
  std::atomic<bool> stopped{false};
  std::atomic<size_t> body_bytes{0};
  net::io_context ioc;
  tcp::acceptor acceptor;
  net::steady_timer accept_pause;  // backs off when accept() runs out of descriptors
  WorkPool pool;
  size_t max_connections = 0;      // options.max_connections, clamped to RLIMIT_NOFILE
  uint16_t port = 0;
  std::vector<std::thread> threads;
};

namespace {

// True for the errors that just mean "the client went away or was too slow".
bool IsDisconnect(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
         ec == net::error::operation_aborted || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == http::error::partial_message;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl& server) : stream_(std::move(socket)), server_(server) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
    server_.Register(this);
  }
  ~Session() {
    ReturnBudget();
    server_.Unregister(this);
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

  // Called by Stop(): closes the connection unless a request is in flight
  // (that one finishes and then closes, since the server is stopping).
  void CloseIfIdle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_) self->Close();
    });
  }

 private:
  void ReadHeader() {
    if (server_.stopping) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options.header_limit));
    parser_->body_limit(server_.options.body_limit);
    stream_.expires_after(server_.options.header_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    busy_ = true;
    start_ = std::chrono::steady_clock::now();
    const auto& req = parser_->get();
    method_ = std::string(http::to_string(req.method()));
    version_ = req.version();
    // Read now: the headers are moved into the Request later.
    keep_alive_ = req.keep_alive();
    const bool body_follows = parser_->chunked() || parser_->content_length().value_or(0) > 0;
    if (auto refused = CheckFraming(req.base(), req.version())) {
      return Respond(std::move(*refused), "unmatched", /*close=*/true);
    }
    if (req.method() == http::verb::unknown) {
      return Respond(Problem(405, "Method not allowed", "unknown method"), "unmatched", true);
    }
    target_ = std::string(req.target());
    if (!ParseTarget(target_, path_, query_)) {
      return Respond(Problem(400, "Bad request", "the request target is not a valid path"), "unmatched",
                     body_follows || !keep_alive_);
    }
    // The route decides the body's limit before any of the body is read.
    Router::Found found = server_.router.Find(req.method(), path_);
    if (found.route == nullptr) {
      // No body of an unknown route is read: answer, then close if one comes.
      return Respond(std::move(found.problem), "unmatched", body_follows || !keep_alive_);
    }
    route_info_ = found.route;
    params_ = std::move(found.params);
    const size_t own = route_info_->options.body_limit;
    body_limit_ = own == kDocumentBody ? server_.options.body_limit : std::min(own, server_.options.body_limit);
    parser_->body_limit(body_limit_);
    if (auto length = parser_->content_length(); length && *length > body_limit_) {
      return Respond(TooLarge(), route_info_->pattern, /*close=*/true);
    }
    // Who may send this body at all (a client token), asked before any of
    // it is read.
    if (route_info_->options.admit) {
      if (auto refused = route_info_->options.admit(req.base())) {
        return Respond(std::move(*refused), route_info_->pattern, body_follows || !keep_alive_);
      }
    }
    // Memory: every body being read or waiting for its answer counts
    // against one budget (a chunked one by its route's limit).
    if (body_follows) {
      const size_t want = parser_->content_length() ? static_cast<size_t>(*parser_->content_length()) : body_limit_;
      if (!server_.TakeBodyBudget(want)) {
        Response busy = Problem(503, "Service unavailable", "the node is receiving too much at once; try again");
        busy.headers.emplace_back("Retry-After", "1");
        return Respond(std::move(busy), route_info_->pattern, /*close=*/true);
      }
      budget_ = want;
    }
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      // The client waits for this before sending the body.
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, req.version());
      stream_.expires_after(server_.options.request_timeout);
      http::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code wec, size_t) {
        if (wec) return self->Close();
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  Response TooLarge() const {
    return Problem(413, "Payload too large",
                   "bodies up to " + std::to_string(body_limit_) + " bytes are accepted" +
                       (route_info_ != nullptr ? " by " + route_info_->pattern : std::string()));
  }

  void ReadBody() {
    // Beast reads at most the buffer's free capacity at a time: give large
    // bodies room, or a 10 MiB upload takes thousands of 4 KiB reads.
    if (auto length = parser_->content_length(); length && *length > 16384) {
      try {
        buffer_.reserve(static_cast<size_t>(std::min<uint64_t>(*length, 1 << 20)));
        parser_->get().body().reserve(static_cast<size_t>(*length));  // no regrowth copies
      } catch (const std::bad_alloc&) {
        Response busy = Problem(503, "Service unavailable", "the node is out of memory for this body; try again");
        busy.headers.emplace_back("Retry-After", "1");
        return Respond(std::move(busy), "unmatched", /*close=*/true);
      }
    }
    stream_.expires_after(server_.options.request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::body_limit) return Respond(TooLarge(), "unmatched", true);
    if (ec == http::error::header_limit) {
      return Respond(Problem(431, "Request header fields too large",
                             "request line and headers up to " + std::to_string(server_.options.header_limit) +
                                 " bytes are accepted"),
                     "unmatched", true);
    }
    if (IsDisconnect(ec) && !(ec == http::error::partial_message && busy_)) return Close();
    // Anything else is a malformed request: say so, then close (the
    // stream cannot be resynchronised).
    return Respond(Problem(400, "Bad request", "malformed HTTP request: " + ec.message()), "unmatched", true);
  }

  void OnRead(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    auto& msg = parser_->get();
    auto req = std::make_shared<Request>();
    req->method = msg.method();
    req->target = std::move(target_);
    req->path = path_;
    req->query = std::move(query_);
    req->headers = std::move(msg.base());
    req->body = std::move(msg.body());
    req->remote = remote_;
    req->params = std::move(params_);
    head_ = req->method == http::verb::head;
    const Router::RouteInfo* route = route_info_;
    if (route->options.exec == Exec::kInline) {
      return Respond(Router::Run(*route, *req), route->pattern, !keep_alive_);
    }
    // Off the I/O thread; the answer comes back to this connection's strand.
    const bool queued = server_.pool.TrySubmit([self = shared_from_this(), req, route] {
      Response r = Router::Run(*route, *req);
      net::post(self->stream_.get_executor(), [self, r = std::move(r), route]() mutable {
        self->Respond(std::move(r), route->pattern, !self->keep_alive_);
      });
    });
    if (!queued) {
      Response busy = Problem(503, "Service unavailable", "the node is busy; try again in a moment");
      busy.headers.emplace_back("Retry-After", "1");
      Respond(std::move(busy), route->pattern, !keep_alive_);
    }
  }

  void Respond(Response r, std::string_view route, bool close) {
    if (!busy_) {
      busy_ = true;
      start_ = std::chrono::steady_clock::now();
    }
    if (method_.empty() && parser_ && parser_->is_header_done()) {
      method_ = std::string(http::to_string(parser_->get().method()));
      version_ = parser_->get().version();
    }
    route_ = std::string(route);
    status_ = r.status;
    if (r.status >= 500 && !r.log_detail.empty()) {
      // The reason of a 5xx, for the operator: the client got a generic text.
      server_.log.Event("server_error", {{"route", route_}, {"status", r.status}, {"detail", r.log_detail}});
    }
    close = close || server_.stopping;
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status),
                                                                    version_ ? version_ : 11);
    res->set(http::field::server, "quipu");
    if (!r.content_type.empty()) res->set(http::field::content_type, r.content_type);
    res->set("X-Content-Type-Options", "nosniff");
    // insert, not set: a response may carry a header twice (Set-Cookie).
    for (auto& [k, v] : r.headers) res->insert(k, v);
    res->keep_alive(!close);
    body_bytes_ = r.body.size();
    if (head_) {
      res->content_length(r.body.size());
    } else {
      res->body() = std::move(r.body);
      res->prepare_payload();
    }
    close_after_ = close;
    stream_.expires_after(server_.options.request_timeout);
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      self->OnWrite(ec);
    });
  }

  void OnWrite(beast::error_code ec) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_);
    const std::string method = method_.empty() ? "-" : method_;
    server_.metrics.ObserveRequest(route_, method, status_, static_cast<double>(us.count()) / 1e6);
    // Paths with /subjects/ (the admin's forget and factor reset) carry
    // document numbers: log the route only.
    const std::string_view logged_path =
        path_.find("/subjects/") != std::string::npos ? std::string_view(route_) : std::string_view(path_);
    server_.log.Request(method, route_, logged_path, status_, body_bytes_, us.count(), remote_);
    busy_ = false;
    method_.clear();
    path_.clear();
    head_ = false;
    route_info_ = nullptr;
    params_.clear();
    ReturnBudget();
    if (ec) return Close();
    if (close_after_) return LingerClose();
    ReadHeader();
  }

  // After an error response the client may still be sending (a body we
  // refused): closing now would reset the connection and could destroy the
  // response before the client reads it. So stop sending, then read and
  // discard for a moment before closing.
  void LingerClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(2));
    Drain();
  }
  void Drain() {
    if (drained_ > (size_t{1} << 20)) return Close();
    stream_.async_read_some(net::buffer(scratch_), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->drained_ += n;
      if (ec) return self->Close();
      self->Drain();
    });
  }

  void ReturnBudget() {
    if (budget_ > 0) server_.ReturnBodyBudget(budget_);
    budget_ = 0;
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  Server::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string remote_;
  bool busy_ = false;
  bool head_ = false;
  bool keep_alive_ = true;
  bool close_after_ = false;
  const Router::RouteInfo* route_info_ = nullptr;  // the request's route, found at its headers
  std::vector<std::string> params_;
  std::vector<std::pair<std::string, std::string>> query_;
  std::string target_;
  size_t body_limit_ = 0;
  size_t budget_ = 0;  // of the server's body budget, held by this request
  unsigned version_ = 11;
  unsigned status_ = 0;
  size_t body_bytes_ = 0;
  std::string method_, path_, route_;
  char scratch_[4096];
  size_t drained_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

void Server::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc),
                        [this](beast::error_code ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
}

void Server::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec) {
    if (ec == net::error::operation_aborted || stopping) return;
    if (ec == net::error::no_descriptors || ec == net::error::no_memory || ec == net::error::no_buffer_space ||
        ec.value() == ENFILE) {
      // Out of descriptors: accepting again at once would spin. Pause; the
      // pending connection stays in the backlog until then.
      accept_pause.expires_after(std::chrono::milliseconds(100));
      accept_pause.async_wait([this](beast::error_code wec) {
        if (!wec && !stopping) Accept();
      });
      return;
    }
    Accept();  // a connection that failed on its own: keep serving the others
    return;
  }
  bool full;
  {
    std::lock_guard lock(sessions_mu);
    full = sessions.size() >= max_connections;
  }
  if (full || stopping) {
    beast::error_code ignored;
    socket.close(ignored);
  } else {
    std::make_shared<Session>(std::move(socket), *this)->Start();
  }
  if (!stopping) Accept();
}

namespace {

// Raises the soft descriptor limit to the hard one and returns how many
// connections fit in it, leaving room for everything else the node opens.
size_t ConnectionsAllowedByDescriptors(size_t wanted) {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return wanted;
  if (r.rlim_cur < r.rlim_max) {
    rlimit raised = r;
    raised.rlim_cur = r.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) r = raised;
  }
  if (r.rlim_cur == RLIM_INFINITY) return wanted;
  // The ledger, logs, PDF workers' sockets, outbound calls, the listener.
  constexpr rlim_t kHeadroom = 128;
  const rlim_t usable = r.rlim_cur > 2 * kHeadroom ? r.rlim_cur - kHeadroom : r.rlim_cur / 2;
  return std::min<size_t>(wanted, std::max<rlim_t>(usable, 1));
}

}  // namespace

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, const Router& router,
                                              Metrics& metrics, AccessLog& log) {
  auto impl = std::make_unique<Impl>(options, router, metrics, log);
  beast::error_code ec;
  auto address = net::ip::make_address(options.address, ec);
  if (ec) return InvalidArgument("listen address '" + options.address + "': " + ec.message());
  tcp::endpoint endpoint(address, options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (ec) {
    const std::string what = options.address + ":" + std::to_string(options.port) + ": " + ec.message();
    return ec == net::error::address_in_use ? Unavailable("cannot listen on " + what)
                                            : IoError("cannot listen on " + what);
  }
  impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return IoError("listen: " + ec.message());
  impl->port = impl->acceptor.local_endpoint().port();
  impl->max_connections = ConnectionsAllowedByDescriptors(options.max_connections);
  impl->Accept();
  const int n = std::max(1, options.threads);
  for (int i = 0; i < n; ++i) impl->threads.emplace_back([io = &impl->ioc] { io->run(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::~Server() { Stop(); }

uint16_t Server::port() const { return impl_->port; }

size_t Server::connections() const {
  std::lock_guard lock(impl_->sessions_mu);
  return impl_->sessions.size();
}

size_t Server::max_connections() const { return impl_->max_connections; }
size_t Server::pool_queued() const { return impl_->pool.queued(); }
size_t Server::pool_running() const { return impl_->pool.running(); }

void Server::Stop() {
  if (impl_->stopped.exchange(true)) return;
  impl_->stopping = true;
  net::post(impl_->acceptor.get_executor(), [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
  // Take references under the lock, use them outside it: the last
  // reference to a session may drop here, and its destructor takes the lock.
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lock(impl_->sessions_mu);
    for (Session* s : impl_->sessions) {
      if (auto alive = s->weak_from_this().lock()) open.push_back(std::move(alive));
    }
  }
  for (auto& s : open) s->CloseIfIdle();
  open.clear();
  {
    std::unique_lock lock(impl_->sessions_mu);
    impl_->drained.wait_for(lock, impl_->options.drain_timeout, [&] { return impl_->sessions.empty(); });
  }
  // Jobs still running (past the drain timeout) finish before the handlers'
  // services go away; what they post back is dropped with the io_context.
  impl_->pool.Stop();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
}

}  // namespace quipu::api
