// api/server and api/router without the rest of the node: RFC 9112 framing
// (Connection: close, transfer codings, smuggling), per-route body limits
// checked before any body is read, the worker pool (slow handlers never
// hold the I/O threads; a full pool answers 503 at once), and the 5xx
// reasons that reach the log but not the client. Raw sockets, so that what
// is on the wire is exactly what the test says.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/http.h"
#include "api/router.h"
#include "api/server.h"
#include "api/work_pool.h"
#include "tests/common/node.h"

namespace quipu::api {
namespace {

using namespace std::chrono_literals;
using testing::Connect;
using testing::ReadAll;
using testing::Send;

// A latch the slow handlers wait on.
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.wait(lock, [&] { return open_; });
  }
  int waiting() {
    std::lock_guard lock(mu_);
    return waiting_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);
    router_.Add(http::verb::get, "/fast", [](const Request&) { return Text("fast"); }, {Exec::kInline, 0});
    router_.Add(http::verb::post, "/echo", [](const Request& r) { return Text("got " + std::to_string(r.body.size())); },
                {Exec::kWorker, 1000});
    router_.Add(http::verb::post, "/document", [](const Request& r) { return Text(std::to_string(r.body.size())); },
                {Exec::kWorker, kDocumentBody});
    router_.Add(http::verb::get, "/slow", [this](const Request&) {
      gate_.Wait();
      return Text("slow");
    });
    router_.Add(http::verb::get, "/fail", [](const Request&) {
      return ProblemFromStatus(Internal("the disk said no at /secret/place"));
    });
    router_.Add(http::verb::get, "/throw", [](const Request&) -> Response { throw std::runtime_error("boom"); });
  }
  void TearDown() override {
    gate_.Open();
    if (server_) server_->Stop();
    if (log_file_) std::fclose(log_file_);
  }
  void Start(int pool_threads = 4, size_t pool_queue = 64, size_t body_budget = size_t{1} << 30) {
    log_file_ = std::tmpfile();
    log_ = std::make_unique<AccessLog>(log_file_);
    ServerOptions o;
    o.port = 0;
    o.threads = 2;
    o.body_limit = 1 << 20;
    o.worker_threads = pool_threads;
    o.worker_queue = pool_queue;
    o.max_body_bytes_in_flight = body_budget;
    o.drain_timeout = 200ms;
    auto s = Server::Start(o, router_, metrics_, *log_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }
  // Sends `raw` on a new connection and returns all that comes back until
  // the server closes it (or `wait` passes).
  std::string Exchange(const std::string& raw, std::chrono::milliseconds wait = 2000ms) {
    int fd = Connect(server_->port());
    EXPECT_GE(fd, 0);
    Send(fd, raw);
    std::string reply = ReadAll(fd, wait);
    ::close(fd);
    return reply;
  }
  std::string Log() {
    std::fflush(log_file_);
    std::rewind(log_file_);
    std::string out;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, log_file_)) > 0;) out.append(buf, n);
    return out;
  }
  static int Count(const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  Router router_;
  Metrics metrics_;
  std::FILE* log_file_ = nullptr;
  std::unique_ptr<AccessLog> log_;
  std::unique_ptr<Server> server_;
  Gate gate_;
};

// --- framing -------------------------------------------------------------------

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
  Start();
  const auto start = std::chrono::steady_clock::now();
  const std::string reply = Exchange("GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5000ms);
  // The server closed the socket (ReadAll returned before its 5 s).
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
  // A second request on the same connection is never answered.
  const std::string two = Exchange("GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                                   "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(Count(two, "HTTP/1.1 200"), 1) << two;
  // Without it, keep-alive serves both.
  const std::string kept = Exchange("GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n"
                                    "Connection: close\r\n\r\n");
  EXPECT_EQ(Count(kept, "HTTP/1.1 200"), 2) << kept;
}

TEST_F(ServerTest, TransferCodingsOtherThanChunkedAreRefusedAndCloseTheConnection) {
  Start();
  // A GET hidden in the body: with a coding taken as "no body", it would
  // be answered as the next request (smuggling).
  const std::string hidden = "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const std::string& coding : std::vector<std::string>{"gzip", "identity", "xchunked", "chunked, gzip", "gzip, chunked", "deflate",
                                   "chunked;q=1", "Chunked, Chunked"}) {
    SCOPED_TRACE(coding);
    const std::string reply = Exchange("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding +
                                       "\r\n\r\n" + hidden);
    const bool doubled = coding == "Chunked, Chunked";
    EXPECT_EQ(reply.rfind(doubled ? "HTTP/1.1 400" : "HTTP/1.1 501", 0), 0u) << reply;
    EXPECT_NE(reply.find("application/problem+json"), std::string::npos);
    EXPECT_NE(reply.find("Connection: close"), std::string::npos);
    EXPECT_EQ(reply.find("fast"), std::string::npos) << "the hidden request was served";
  }
  // Both Content-Length and Transfer-Encoding: 400.
  std::string both = Exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "0\r\n\r\n" + hidden);
  EXPECT_EQ(both.rfind("HTTP/1.1 400", 0), 0u) << both;
  EXPECT_EQ(both.find("fast"), std::string::npos);
  // Transfer-Encoding in HTTP/1.0: 400.
  std::string old = Exchange("POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(old.rfind("HTTP/1.0 400", 0), 0u) << old;
  // Two different Content-Lengths: 400 (Beast refuses them).
  std::string lengths = Exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc" + hidden);
  EXPECT_EQ(lengths.rfind("HTTP/1.1 400", 0), 0u) << lengths;
  EXPECT_EQ(lengths.find("fast"), std::string::npos);
  // chunked alone is fine.
  std::string chunked = Exchange("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                 "3\r\nabc\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.rfind("HTTP/1.1 200", 0), 0u) << chunked;
  EXPECT_NE(chunked.find("got 3"), std::string::npos);
}

TEST(Framing, CheckFramingByTheRfc) {
  auto check = [](std::initializer_list<std::pair<const char*, const char*>> headers, unsigned version = 11) {
    http::fields f;
    for (auto [k, v] : headers) f.insert(k, v);
    auto r = CheckFraming(f, version);
    return r ? r->status : 0u;
  };
  EXPECT_EQ(check({}), 0u);
  EXPECT_EQ(check({{"Content-Length", "10"}}), 0u);
  EXPECT_EQ(check({{"Transfer-Encoding", "chunked"}}), 0u);
  EXPECT_EQ(check({{"Transfer-Encoding", " CHUNKED "}}), 0u);
  EXPECT_EQ(check({{"Transfer-Encoding", "gzip"}}), 501u);
  EXPECT_EQ(check({{"Transfer-Encoding", "gzip"}, {"Transfer-Encoding", "chunked"}}), 501u);
  EXPECT_EQ(check({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}}), 400u);
  EXPECT_EQ(check({{"Transfer-Encoding", ""}}), 400u);
  EXPECT_EQ(check({{"Transfer-Encoding", "chunked"}, {"Content-Length", "3"}}), 400u);
  EXPECT_EQ(check({{"Transfer-Encoding", "chunked"}}, 10), 400u);
}

// --- body limits -----------------------------------------------------------------

TEST_F(ServerTest, EachRouteHasItsBodyLimitCheckedBeforeReading) {
  Start();
  // Announced over the route's limit: 413 at once, before the body is sent
  // (the test sends none: a server waiting for it would time out instead).
  const auto start = std::chrono::steady_clock::now();
  std::string announced = Exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  EXPECT_EQ(announced.rfind("HTTP/1.1 413", 0), 0u) << announced;
  EXPECT_NE(announced.find("bodies up to 1000 bytes are accepted by /echo"), std::string::npos) << announced;
  // With Expect: 100-continue the client never gets the go-ahead.
  std::string expect = Exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(expect.rfind("HTTP/1.1 413", 0), 0u) << expect;
  EXPECT_EQ(expect.find("100 Continue"), std::string::npos);
  // Chunked past the limit: cut when it gets there.
  std::string chunks = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) chunks += "1f4\r\n" + std::string(500, 'a') + "\r\n";
  EXPECT_EQ(Exchange(chunks).rfind("HTTP/1.1 413", 0), 0u);
  // At the limit: fine. A document route takes the server's large limit.
  std::string at = Exchange("POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1000\r\n\r\n" +
                            std::string(1000, 'b'));
  EXPECT_NE(at.find("got 1000"), std::string::npos) << at;
  std::string doc = Exchange("POST /document HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 500000\r\n\r\n" +
                             std::string(500000, 'c'));
  EXPECT_NE(doc.find("500000"), std::string::npos);
  std::string over = Exchange("POST /document HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n");
  EXPECT_EQ(over.rfind("HTTP/1.1 413", 0), 0u);
  // Inline reads take no body at all.
  EXPECT_EQ(Exchange("GET /fast HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n").rfind("HTTP/1.1 413", 0), 0u);
  // Unknown routes read no body: 404, and the connection closes.
  std::string unknown = Exchange("POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
  EXPECT_EQ(unknown.rfind("HTTP/1.1 404", 0), 0u) << unknown;
  EXPECT_NE(unknown.find("Connection: close"), std::string::npos);
}

TEST(Router, FindsTheRouteAndItsLimitBeforeTheBody) {
  Router r;
  r.Add(http::verb::get, "/a/{}", [](const Request&) { return Text("a"); }, {Exec::kInline, 0});
  r.Add(http::verb::post, "/a/{}", [](const Request&) { return Text("b"); }, {Exec::kWorker, kDocumentBody});
  r.Add(http::verb::get, "/t/*", [](const Request&) { return Text("t"); });
  auto get = r.Find(http::verb::get, "/a/7");
  ASSERT_NE(get.route, nullptr);
  EXPECT_EQ(get.route->options.exec, Exec::kInline);
  EXPECT_EQ(get.params, std::vector<std::string>{"7"});
  auto head = r.Find(http::verb::head, "/a/7");
  ASSERT_NE(head.route, nullptr);
  EXPECT_EQ(head.route->pattern, "/a/{}");
  auto post = r.Find(http::verb::post, "/a/7");
  ASSERT_NE(post.route, nullptr);
  EXPECT_EQ(post.route->options.body_limit, kDocumentBody);
  auto tile = r.Find(http::verb::get, "/t/0/x/001");
  ASSERT_NE(tile.route, nullptr);
  EXPECT_EQ(tile.params, std::vector<std::string>{"0/x/001"});
  EXPECT_EQ(tile.route->options.body_limit, kSmallBody);  // the default
  auto missing = r.Find(http::verb::get, "/b");
  EXPECT_EQ(missing.route, nullptr);
  EXPECT_EQ(missing.problem.status, 404u);
  auto wrong = r.Find(http::verb::delete_, "/a/7");
  EXPECT_EQ(wrong.route, nullptr);
  EXPECT_EQ(wrong.problem.status, 405u);
}

TEST_F(ServerTest, BodiesInFlightShareOneMemoryBudget) {
  Start(4, 64, /*body_budget=*/600000);
  // One upload of 500 kB in progress (its body not sent yet) holds 500 kB:
  // a second one does not fit and is refused before it is read.
  int first = Connect(server_->port());
  Send(first, "POST /document HTTP/1.1\r\nHost: x\r\nContent-Length: 500000\r\n\r\n");
  std::this_thread::sleep_for(100ms);
  std::string second = Exchange("POST /document HTTP/1.1\r\nHost: x\r\nContent-Length: 500000\r\n\r\n");
  EXPECT_EQ(second.rfind("HTTP/1.1 503", 0), 0u) << second;
  EXPECT_NE(second.find("Retry-After"), std::string::npos);
  // Small bodies still fit; the first one finishes and gives its share back.
  std::string small = Exchange("POST /document HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_NE(small.find("\r\n\r\n5"), std::string::npos) << small;
  Send(first, std::string(500000, 'a'));
  EXPECT_NE(ReadAll(first, 500ms).find("500000"), std::string::npos);
  ::close(first);
  std::string again = Exchange("POST /document HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 500000\r\n\r\n" +
                               std::string(500000, 'b'));
  EXPECT_NE(again.find("500000"), std::string::npos) << again.substr(0, 200);
}

TEST_F(ServerTest, AnAdmitCheckRefusesBeforeTheBodyIsRead) {
  router_.Add(http::verb::post, "/private", [](const Request&) { return Text("in"); },
              {Exec::kWorker, kDocumentBody, [](const http::fields& h) -> std::optional<Response> {
                 if (h.find(http::field::authorization) == h.end()) return Unauthorized("a token, please");
                 return std::nullopt;
               }});
  Start();
  // 900 kB announced, none sent: the answer comes at once, not after a read.
  const auto start = std::chrono::steady_clock::now();
  std::string refused = Exchange("POST /private HTTP/1.1\r\nHost: x\r\nContent-Length: 900000\r\n\r\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  EXPECT_EQ(refused.rfind("HTTP/1.1 401", 0), 0u) << refused;
  EXPECT_NE(refused.find("Connection: close"), std::string::npos);
  std::string in = Exchange("POST /private HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\nConnection: close\r\n"
                            "Content-Length: 2\r\n\r\nok");
  EXPECT_NE(in.find("\r\n\r\nin"), std::string::npos) << in;
}

// --- the worker pool ------------------------------------------------------------

TEST_F(ServerTest, SlowHandlersNeverHoldTheIoThreads) {
  Start(/*pool_threads=*/4);
  // More slow requests than I/O threads (2), all parked on the gate.
  std::vector<int> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(Connect(server_->port()));
    Send(slow.back(), "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  }
  while (gate_.waiting() < 4) std::this_thread::sleep_for(5ms);
  // Inline routes answer at once meanwhile.
  for (int i = 0; i < 20; ++i) {
    const auto start = std::chrono::steady_clock::now();
    std::string fast = Exchange("GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(fast.rfind("HTTP/1.1 200", 0), 0u);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  }
  gate_.Open();
  for (int fd : slow) {
    EXPECT_NE(ReadAll(fd, 1000ms).find("slow"), std::string::npos);
    ::close(fd);
  }
}

TEST_F(ServerTest, AFullPoolAnswers503WithRetryAfterAtOnce) {
  Start(/*pool_threads=*/1, /*pool_queue=*/1);
  int running = Connect(server_->port());
  Send(running, "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  while (gate_.waiting() < 1) std::this_thread::sleep_for(5ms);
  int queued = Connect(server_->port());
  Send(queued, "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  while (server_->pool_queued() < 1) std::this_thread::sleep_for(5ms);
  const std::string refused = Exchange("GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos);
  EXPECT_NE(refused.find("application/problem+json"), std::string::npos);
  gate_.Open();
  EXPECT_NE(ReadAll(running, 1000ms).find("slow"), std::string::npos);
  EXPECT_NE(ReadAll(queued, 1000ms).find("slow"), std::string::npos);
  ::close(running);
  ::close(queued);
}

TEST(WorkPool, RunsEveryQueuedJobAndRefusesBeyondItsQueue) {
  std::atomic<int> done{0};
  Gate gate;
  {
    WorkPool pool(1, 2);
    ASSERT_TRUE(pool.TrySubmit([&] { gate.Wait(); ++done; }));
    while (gate.waiting() < 1) std::this_thread::sleep_for(1ms);
    EXPECT_TRUE(pool.TrySubmit([&] { ++done; }));
    EXPECT_TRUE(pool.TrySubmit([&] { ++done; }));
    EXPECT_FALSE(pool.TrySubmit([&] { ++done; }));  // the queue holds 2
    EXPECT_EQ(pool.queued(), 2u);
    EXPECT_EQ(pool.running(), 1u);
    gate.Open();
    pool.Stop();
    EXPECT_FALSE(pool.TrySubmit([&] { ++done; }));
  }
  EXPECT_EQ(done, 3);
}

// --- errors ------------------------------------------------------------------------

TEST_F(ServerTest, A5xxTellsTheLogWhyAndTheClientNothingInternal) {
  Start();
  std::string fail = Exchange("GET /fail HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(fail.rfind("HTTP/1.1 500", 0), 0u);
  EXPECT_EQ(fail.find("/secret/place"), std::string::npos) << fail;
  std::string threw = Exchange("GET /throw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(threw.rfind("HTTP/1.1 500", 0), 0u);
  EXPECT_EQ(threw.find("boom"), std::string::npos);
  server_->Stop();
  const std::string log = Log();
  EXPECT_NE(log.find("\"event\":\"server_error\""), std::string::npos) << log;
  EXPECT_NE(log.find("the disk said no at /secret/place"), std::string::npos) << log;
  EXPECT_NE(log.find("handler threw: boom"), std::string::npos) << log;
}

}  // namespace
}  // namespace quipu::api
