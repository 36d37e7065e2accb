#include "api/http_fetcher.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <zlib.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <vector>

#include "node/url_policy.h"

namespace quipu::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr size_t kMaxHeader = 64 * 1024;

// A gzip body decoded, at most `max` bytes; nullopt when it is not gzip or
// decodes to more.
std::optional<std::string> Gunzip(const std::string& in, size_t max) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return std::nullopt;
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  char buf[65536];
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(buf, sizeof buf - z.avail_out);
    if (out.size() > max) rc = Z_MEM_ERROR;
  }
  const bool ok = rc == Z_STREAM_END && z.avail_in == 0;
  inflateEnd(&z);
  if (!ok) return std::nullopt;
  return out;
}

// One kept connection, plain or TLS, with the io_context that drives it.
struct Connection {
  asio::io_context ioc{1};
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  bool open = false;

  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*tls); }
  void Close() {
    beast::error_code ignored;
    if (plain || tls) lowest().socket().close(ignored);
    plain.reset();
    tls.reset();
    buffer.clear();
    open = false;
  }
};

// Runs the async operation started by `start` (which sets `ec` when done)
// to its end.
template <typename Start>
beast::error_code RunOp(Connection& c, Start start) {
  beast::error_code ec = asio::error::would_block;
  start(ec);
  c.ioc.restart();
  c.ioc.run();
  return ec;
}

}  // namespace

struct HttpFetcher::Impl {
  std::string base;
  node::ParsedUrl url;
  std::string prefix;  // the URL's path without its final "/"
  std::string host_header;
  Options options;
  std::optional<ssl::context> ctx;
  std::mutex mu;
  std::vector<std::unique_ptr<Connection>> idle;

  std::string Authority() const {
    return (url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host) + ":" + url.port;
  }

  Status Connect(Connection& c) {
    c.Close();
    tcp::resolver resolver(c.ioc);
    beast::error_code ec;
    auto results = resolver.resolve(url.host, url.port, ec);
    if (ec) return Unavailable("resolving " + Authority() + ": " + ec.message());
    if (ctx) {
      c.tls.emplace(c.ioc, *ctx);
    } else {
      c.plain.emplace(c.ioc);
    }
    c.lowest().expires_after(options.timeout);
    ec = RunOp(c, [&](beast::error_code& out) {
      c.lowest().async_connect(results, [&out](beast::error_code e, const tcp::endpoint&) { out = e; });
    });
    if (ec) return Unavailable("connecting to " + Authority() + ": " + ec.message());
    // Requests and answers then go by blocking calls bounded by the
    // socket's own timeouts: a tile is one or two reads, not one trip
    // through the reactor per segment.
    auto& socket = c.lowest().socket();
    const auto ms = options.timeout.count();
    timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    socket.set_option(tcp::no_delay(true), ec);
    if (c.tls) {
      boost::system::error_code not_ip;
      asio::ip::make_address(url.host, not_ip);
      if (not_ip && !SSL_set_tlsext_host_name(c.tls->native_handle(), url.host.c_str())) {
        return Unavailable("TLS with " + Authority() + ": cannot set the server name");
      }
      c.tls->set_verify_mode(ssl::verify_peer);
      c.tls->set_verify_callback(ssl::host_name_verification(url.host));
      ec = RunOp(c, [&](beast::error_code& out) {
        c.tls->async_handshake(ssl::stream_base::client, [&out](beast::error_code e) { out = e; });
      });
      if (ec) {
        const long verify = SSL_get_verify_result(c.tls->native_handle());
        std::string detail = ec.message();
        if (verify != X509_V_OK) detail = std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify);
        return Unavailable("TLS handshake with " + Authority() + ": " + detail);
      }
    }
    c.open = true;
    return Status::Ok();
  }

  // One exchange on `c`; `reused` says whether it was kept from before.
  Result<OutboundResponse> Exchange(Connection& c, const std::string& target) {
    if (!c.open) QUIPU_RETURN_IF_ERROR(Connect(c));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, host_header);
    req.set(http::field::user_agent, "quipu");
    beast::error_code ec;
    if (c.tls) {
      http::write(*c.tls, req, ec);
    } else {
      http::write(c.plain->socket(), req, ec);
    }
    if (ec) {
      c.Close();
      return Unavailable("sending to " + Authority() + ": " + ec.message());
    }
    http::response_parser<http::string_body> parser;
    parser.header_limit(kMaxHeader);
    parser.body_limit(options.max_body);
    // Each read is bounded by the socket's timeout, the whole answer by
    // the deadline (a server trickling bytes cannot hold us longer).
    const auto deadline = std::chrono::steady_clock::now() + options.timeout;
    while (!ec && !parser.is_done()) {
      if (std::chrono::steady_clock::now() > deadline) {
        ec = beast::error::timeout;
        break;
      }
      if (c.tls) {
        http::read_some(*c.tls, c.buffer, parser, ec);
      } else {
        http::read_some(c.plain->socket(), c.buffer, parser, ec);
      }
    }
    if (ec) {
      c.Close();
      if (ec == http::error::body_limit) {
        return Unavailable("a response from " + Authority() + " is over " + std::to_string(options.max_body) + " bytes");
      }
      if (ec == beast::error::timeout || ec == asio::error::would_block || ec == asio::error::try_again) {
        return Unavailable("reading from " + Authority() + ": timed out after " + std::to_string(options.timeout.count()) + " ms");
      }
      return Unavailable("reading from " + Authority() + ": " + ec.message());
    }
    OutboundResponse out;
    out.status = parser.get().result_int();
    if (!parser.get().keep_alive()) c.Close();
    out.body = std::move(parser.get().body());
    const auto encoding = parser.get()[http::field::content_encoding];
    if (beast::iequals(encoding, "gzip")) {
      auto plain = Gunzip(out.body, options.max_body);
      if (!plain) return Unavailable("a gzip response from " + Authority() + " does not decode within " +
                                     std::to_string(options.max_body) + " bytes");
      out.body = std::move(*plain);
    } else if (!encoding.empty() && !beast::iequals(encoding, "identity")) {
      return Unavailable("a response from " + Authority() + " has Content-Encoding " + std::string(encoding));
    }
    return out;
  }
};

Result<std::unique_ptr<HttpFetcher>> HttpFetcher::Create(std::string_view base_url, Options options) {
  QUIPU_ASSIGN_OR_RETURN(node::ParsedUrl url, node::ParseUrl(base_url));
  if (url.target.find('?') != std::string::npos) return InvalidArgument("the log's URL must not have a query");
  auto impl = std::make_unique<Impl>();
  impl->base = std::string(base_url);
  impl->url = url;
  impl->prefix = url.target;
  while (!impl->prefix.empty() && impl->prefix.back() == '/') impl->prefix.pop_back();
  const bool v6 = url.host.find(':') != std::string::npos;
  const std::string host = v6 ? "[" + url.host + "]" : url.host;
  const bool default_port = (url.scheme == "http" && url.port == "80") || (url.scheme == "https" && url.port == "443");
  impl->host_header = default_port ? host : host + ":" + url.port;
  impl->options = options;
  if (url.scheme == "https") {
    impl->ctx.emplace(ssl::context::tls_client);
    if (SSL_CTX_set_min_proto_version(impl->ctx->native_handle(), TLS1_2_VERSION) != 1) {
      return Internal("TLS: cannot require TLS 1.2");
    }
    boost::system::error_code ec;
    impl->ctx->set_default_verify_paths(ec);
    if (ec) return Unavailable("TLS: cannot load the system certificate store: " + ec.message());
  }
  return std::unique_ptr<HttpFetcher>(new HttpFetcher(std::move(impl)));
}

HttpFetcher::HttpFetcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpFetcher::~HttpFetcher() = default;

const std::string& HttpFetcher::url() const { return impl_->base; }

Result<OutboundResponse> HttpFetcher::Get(std::string_view path) {
  std::unique_ptr<Connection> c;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (!impl_->idle.empty()) {
      c = std::move(impl_->idle.back());
      impl_->idle.pop_back();
    }
  }
  if (!c) c = std::make_unique<Connection>();
  const std::string target = impl_->prefix + "/" + std::string(path);
  try {
    const bool reused = c->open;
    auto got = impl_->Exchange(*c, target);
    // A kept connection the server closed meanwhile: once more, afresh.
    if (!got.ok() && reused) got = impl_->Exchange(*c, target);
    if (c->open) {
      std::lock_guard<std::mutex> lock(impl_->mu);
      impl_->idle.push_back(std::move(c));
    }
    return got;
  } catch (const std::exception& e) {
    return Unavailable("HTTP to " + impl_->Authority() + ": " + e.what());
  }
}

}  // namespace quipu::api
