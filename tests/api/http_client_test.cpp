// The outbound client against a real api::Server (plain HTTP) and a small
// TLS server with a throw-away self-signed certificate made by the openssl
// command: headers and bodies arrive intact, statuses pass through, the
// deadline holds, the 1 MiB cap holds, TLS refuses an untrusted
// certificate or a wrong host name, and the outbound policy holds at send
// time (a name that resolves to loopback is refused before connecting).
#include "api/http_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include "api/server.h"
#include "tests/common/net.h"
#include "tests/common/process.h"

namespace quipu::api {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// The servers here listen on 127.0.0.1: every request but the policy's own
// tests is made as a development node makes them.
OutboundRequest Local() {
  OutboundRequest req;
  req.policy.allow_local = true;
  return req;
}

Response Echo(const Request& req) {
  return Json({{"method", std::string(http::to_string(req.method))},
               {"target", req.target},
               {"authorization", std::string(req.header("Authorization"))},
               {"x_note", std::string(req.header("X-Note"))},
               {"content_type", std::string(req.header("Content-Type"))},
               {"connection", std::string(req.header("Connection"))},
               {"body", req.body}});
}

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add(http::verb::post, "/echo", Echo, RouteOptions{Exec::kWorker, kDocumentBody});
    router_.Add(http::verb::put, "/echo", Echo, RouteOptions{Exec::kWorker, kDocumentBody});
    router_.Add(http::verb::get, "/echo", Echo);
    router_.Add(http::verb::get, "/fail", [](const Request&) { return Problem(500, "Boom", "on purpose"); });
    router_.Add(http::verb::get, "/created", [](const Request&) { return Text("made", 201); });
    router_.Add(http::verb::get, "/slow", [](const Request&) {
      std::this_thread::sleep_for(std::chrono::seconds(3));
      return Text("late");
    });
    router_.Add(http::verb::get, "/big", [](const Request&) { return Text(std::string(2 << 20, 'x')); });
    router_.Add(http::verb::get, "/limit", [](const Request&) {
      return Text(std::string(kMaxOutboundResponseBody, 'y'));
    });
    ServerOptions options;
    options.port = 0;
    options.threads = 2;
    options.drain_timeout = milliseconds(100);
    auto server = Server::Start(options, router_, metrics_, log_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (log_file_) std::fclose(log_file_);
  }

  Router router_;
  Metrics metrics_;
  std::FILE* log_file_ = std::fopen("/dev/null", "w");
  AccessLog log_{log_file_};
  std::unique_ptr<Server> server_;
  std::string base_;
};

TEST_F(HttpClientTest, PostWithAuthorizationArrivesIntact) {
  OutboundRequest req = Local();
  req.url = base_ + "/echo?event=approved&n=1";
  req.headers = {{"Authorization", "Bearer tok.en-123_~+/="}, {"X-Note", "a b\tc"},
                 {"Content-Type", "application/json"}};
  req.body = R"({"doc":"ñandú","n":1})";
  auto res = SendHttp(req);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200u);
  json got = json::parse(res->body);
  EXPECT_EQ(got["method"], "POST");
  EXPECT_EQ(got["target"], "/echo?event=approved&n=1");
  EXPECT_EQ(got["authorization"], "Bearer tok.en-123_~+/=");
  EXPECT_EQ(got["x_note"], "a b\tc");
  EXPECT_EQ(got["content_type"], "application/json");
  EXPECT_EQ(got["connection"], "close");
  EXPECT_EQ(got["body"], req.body);
}

TEST_F(HttpClientTest, OtherMethodsAndLargeRequestBody) {
  OutboundRequest req = Local();
  req.method = "PUT";
  req.url = base_ + "/echo";
  req.body = std::string(300000, 'z');
  auto res = SendHttp(req);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  json got = json::parse(res->body);
  EXPECT_EQ(got["method"], "PUT");
  EXPECT_EQ(got["body"], req.body);

  req.method = "GET";
  req.body.clear();
  res = SendHttp(req);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(json::parse(res->body)["method"], "GET");
}

TEST_F(HttpClientTest, StatusCodesPassThrough) {
  OutboundRequest req = Local();
  req.method = "GET";
  req.url = base_ + "/fail";
  auto res = SendHttp(req);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 500u);
  EXPECT_EQ(json::parse(res->body)["title"], "Boom");

  req.url = base_ + "/created";
  res = SendHttp(req);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 201u);
  EXPECT_EQ(res->body, "made");

  req.url = base_ + "/nowhere";
  res = SendHttp(req);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 404u);
}

TEST_F(HttpClientTest, ABodyOfExactlyOneMebibyteIsRead) {
  OutboundRequest req = Local();
  req.method = "GET";
  req.url = base_ + "/limit";
  auto res = SendHttp(req);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->body.size(), kMaxOutboundResponseBody);
}

// ---- error paths ----

TEST_F(HttpClientTest, TimeoutIsEnforcedAndNamesNoSecret) {
  OutboundRequest req = Local();
  req.method = "GET";
  req.url = base_ + "/slow";
  req.headers = {{"Authorization", "Bearer very-secret-token"}};
  req.timeout = milliseconds(500);
  const auto start = steady_clock::now();
  auto res = SendHttp(req);
  const auto took = steady_clock::now() - start;
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(res.status().message().find("timed out"), std::string::npos) << res.status().message();
  EXPECT_EQ(res.status().message().find("very-secret-token"), std::string::npos);
  EXPECT_EQ(res.status().message().find("/slow"), std::string::npos);
  EXPECT_GE(took, milliseconds(450));
  EXPECT_LT(took, milliseconds(1200));
}

TEST_F(HttpClientTest, ABodyOverOneMebibyteIsCut) {
  OutboundRequest req = Local();
  req.method = "GET";
  req.url = base_ + "/big";
  auto res = SendHttp(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(res.status().message().find("body over"), std::string::npos) << res.status().message();
}

TEST(HttpClient, ConnectionRefusedIsUnavailableAndQuick) {
  uint16_t port;
  {
    asio::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = acceptor.local_endpoint().port();
  }  // closed: nothing listens there now
  OutboundRequest req = Local();
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  req.headers = {{"Authorization", "Bearer very-secret-token"}};
  const auto start = steady_clock::now();
  auto res = SendHttp(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(res.status().message().find("connecting to 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << res.status().message();
  EXPECT_EQ(res.status().message().find("very-secret-token"), std::string::npos);
  EXPECT_LT(steady_clock::now() - start, milliseconds(1000));
}

TEST(HttpClient, UnresolvableHostIsUnavailable) {
  OutboundRequest req = Local();
  req.url = "https://no-such-host.invalid/hook";  // RFC 6761: never resolves
  req.timeout = milliseconds(3000);
  auto res = SendHttp(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kUnavailable) << res.status().ToString();
}

TEST(HttpClient, BadRequestsAreRefusedBeforeAnyConnection) {
  OutboundRequest req = Local();
  req.url = "ftp://127.0.0.1/x";
  EXPECT_EQ(SendHttp(req).status().code(), StatusCode::kInvalidArgument);
  req.url = "http://127.0.0.1:1/x";
  req.headers = {{"X-Evil", "a\r\nX-Injected: secret-value"}};
  auto res = SendHttp(req);
  EXPECT_EQ(res.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(res.status().message().find("secret-value"), std::string::npos) << res.status().message();
  req.headers = {{"Bad Name", "v"}};
  EXPECT_EQ(SendHttp(req).status().code(), StatusCode::kInvalidArgument);
  req.headers = {{"content-length", "5"}};
  EXPECT_EQ(SendHttp(req).status().code(), StatusCode::kInvalidArgument);
  req.headers = {{"Host", "other"}};
  EXPECT_EQ(SendHttp(req).status().code(), StatusCode::kInvalidArgument);
  req.headers.clear();
  req.method = "PO ST";
  EXPECT_EQ(SendHttp(req).status().code(), StatusCode::kInvalidArgument);
  req.method = "POST";
  req.timeout = milliseconds(0);
  EXPECT_EQ(SendHttp(req).status().code(), StatusCode::kInvalidArgument);
}

// ---- the outbound policy at send time ----

TEST(HttpClientPolicy, ALocalUrlIsRefusedWithoutTheFlagBeforeAnyConnection) {
  testing::HangingServer hanging;
  ASSERT_TRUE(hanging.ok());
  OutboundRequest req;  // production policy
  req.url = "http://127.0.0.1:" + std::to_string(hanging.port()) + "/hook";
  req.timeout = milliseconds(2000);
  auto res = SendHttp(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kInvalidArgument) << res.status().ToString();
  EXPECT_NE(res.status().message().find("--allow-local-callbacks"), std::string::npos) << res.status().message();
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(hanging.accepted(), 0);
}

// The name passes the URL's check (it is no IP literal and not localhost);
// what it resolves to does not.
TEST(HttpClientPolicy, ANameThatResolvesToLoopbackIsRefusedAtSendTime) {
  const std::string name = testing::LoopbackHostName();
  if (name.empty()) GTEST_SKIP() << "no name in /etc/hosts resolves to loopback only";
  testing::HangingServer hanging;
  ASSERT_TRUE(hanging.ok());
  OutboundRequest req;
  req.url = "https://" + name + ":" + std::to_string(hanging.port()) + "/hook";
  req.headers = {{"Authorization", "Bearer very-secret-token"}};
  req.timeout = milliseconds(2000);
  ASSERT_TRUE(node::CheckOutboundUrl(req.url, req.policy).ok());
  auto res = SendHttp(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kPermissionDenied) << res.status().ToString();
  EXPECT_NE(res.status().message().find("loopback"), std::string::npos) << res.status().message();
  EXPECT_NE(res.status().message().find("127."), std::string::npos) << res.status().message();
  EXPECT_EQ(res.status().message().find("very-secret-token"), std::string::npos);
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(hanging.accepted(), 0);

  // A development node connects (and then times out: nothing answers).
  req.policy.allow_local = true;
  req.timeout = milliseconds(300);
  res = SendHttp(req);
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.status().message().find("timed out"), std::string::npos) << res.status().message();
  EXPECT_EQ(hanging.accepted(), 1);
}

// ---- TLS ----

// A TLS server on 127.0.0.1 with a certificate for "localhost" only; answers
// every request with 200 "tls ok". Runs on its own thread until destroyed.
class TlsServer {
 public:
  TlsServer(const std::string& cert, const std::string& key) : ctx_(asio::ssl::context::tls_server) {
    ctx_.use_certificate_chain_file(cert);
    ctx_.use_private_key_file(key, asio::ssl::context::pem);
    acceptor_.open(tcp::v4());
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TlsServer() {
    ioc_.stop();
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int handshakes_ok() const { return handshakes_ok_; }
  int handshakes_failed() const { return handshakes_failed_; }

 private:
  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      // One connection at a time, blocking: enough for a test.
      asio::ssl::stream<tcp::socket> stream(std::move(socket), ctx_);
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (ec) {
        ++handshakes_failed_;
      } else {
        ++handshakes_ok_;
        asio::streambuf buf;
        asio::read_until(stream, buf, "\r\n\r\n", ec);
        const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\ntls ok";
        asio::write(stream, asio::buffer(answer), ec);
        stream.shutdown(ec);
      }
      Accept();
    });
  }

  asio::io_context ioc_;
  asio::ssl::context ctx_;
  tcp::acceptor acceptor_{ioc_};
  uint16_t port_ = 0;
  std::atomic<int> handshakes_ok_{0}, handshakes_failed_{0};
  std::thread thread_;
};

class HttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = dir_.File("cert.pem");
    key_ = dir_.File("key.pem");
    auto r = testing::RunShell(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost -days 1 -keyout " +
        testing::ShellQuote(key_) + " -out " + testing::ShellQuote(cert_));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    server_ = std::make_unique<TlsServer>(cert_, key_);
  }
  void TearDown() override { ::unsetenv("SSL_CERT_FILE"); }

  testing::TempDir dir_;
  std::string cert_, key_;
  std::unique_ptr<TlsServer> server_;
};

TEST_F(HttpsTest, AnUntrustedCertificateIsRefused) {
  OutboundRequest req = Local();
  req.url = "https://localhost:" + std::to_string(server_->port()) + "/hook";
  req.headers = {{"Authorization", "Bearer very-secret-token"}};
  req.timeout = milliseconds(3000);
  auto res = SendHttp(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(res.status().message().find("certificate verification failed"), std::string::npos)
      << res.status().message();
  EXPECT_EQ(res.status().message().find("very-secret-token"), std::string::npos);
  EXPECT_EQ(server_->handshakes_ok(), 0);
}

// With the certificate made trusted (OpenSSL's default paths honour
// SSL_CERT_FILE), the same server is accepted under its name, and refused
// under an address the certificate does not name: host names are checked.
TEST_F(HttpsTest, ATrustedCertificateIsAcceptedOnlyForItsHostName) {
  ASSERT_EQ(::setenv("SSL_CERT_FILE", cert_.c_str(), 1), 0);
  OutboundRequest req = Local();
  req.method = "GET";
  req.url = "https://localhost:" + std::to_string(server_->port()) + "/hook";
  req.timeout = milliseconds(3000);
  auto res = SendHttp(req);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(res->body, "tls ok");

  req.url = "https://127.0.0.1:" + std::to_string(server_->port()) + "/hook";
  res = SendHttp(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(res.status().message().find("certificate verification failed"), std::string::npos)
      << res.status().message();
}

TEST_F(HttpsTest, PlainHttpToATlsPortFailsCleanly) {
  OutboundRequest req = Local();
  req.url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/hook";
  req.timeout = milliseconds(2000);
  auto res = SendHttp(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kUnavailable) << res.status().ToString();
}

}  // namespace
}  // namespace quipu::api
