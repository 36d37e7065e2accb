#include "api/http_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <algorithm>
#include <optional>
#include <vector>

namespace quipu::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using node::ParsedUrl;

constexpr size_t kMaxResponseHeader = 64 * 1024;

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// host:port as it appears in error messages (brackets around IPv6).
std::string Authority(const ParsedUrl& url) {
  const bool v6 = url.host.find(':') != std::string::npos;
  return (v6 ? "[" + url.host + "]" : url.host) + ":" + url.port;
}

// The Host header: the port only when it is not the scheme's default.
std::string HostHeader(const ParsedUrl& url) {
  const bool v6 = url.host.find(':') != std::string::npos;
  std::string host = v6 ? "[" + url.host + "]" : url.host;
  const bool default_port = (url.scheme == "http" && url.port == "80") ||
                            (url.scheme == "https" && url.port == "443");
  return default_port ? host : host + ":" + url.port;
}

Result<http::request<http::string_body>> BuildRequest(const OutboundRequest& in, const ParsedUrl& url) {
  if (!IsToken(in.method)) return InvalidArgument("HTTP request: method is not a token");
  http::request<http::string_body> req;
  req.method_string(in.method);
  req.target(url.target);
  req.version(11);
  req.set(http::field::host, HostHeader(url));
  req.set(http::field::user_agent, "quipu");
  req.set(http::field::connection, "close");
  for (const auto& [name, value] : in.headers) {
    if (!IsToken(name)) return InvalidArgument("HTTP request: a header name is not a token");
    for (std::string_view reserved : {"host", "content-length", "transfer-encoding", "connection"}) {
      if (EqualsIgnoreCase(name, reserved)) {
        return InvalidArgument("HTTP request: header " + name + " is set by the client");
      }
    }
    for (char c : value) {
      // CR, LF or NUL would split the header (request smuggling); other
      // controls are refused too. The value itself is never echoed.
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
        return InvalidArgument("HTTP request: the value of header " + name + " holds a control character");
      }
    }
    req.insert(name, value);
  }
  req.body() = in.body;
  req.prepare_payload();
  return req;
}

node::IpAddress ToIpAddress(const asio::ip::address& a) {
  node::IpAddress out;
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), out.bytes.begin());
  } else {
    out.v6 = true;
    const auto b = a.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), out.bytes.begin());
  }
  return out;
}

// The resolved addresses that `policy` allows, in the resolver's order.
// kPermissionDenied, naming the first refused address, when none is.
Result<std::vector<tcp::endpoint>> AllowedEndpoints(const tcp::resolver::results_type& results,
                                                    const node::OutboundPolicy& policy, const ParsedUrl& url) {
  std::vector<tcp::endpoint> allowed;
  Status first_refusal;
  for (const auto& entry : results) {
    Status s = node::CheckOutboundAddress(ToIpAddress(entry.endpoint().address()), policy);
    if (s.ok()) {
      allowed.push_back(entry.endpoint());
    } else if (first_refusal.ok()) {
      first_refusal = std::move(s);
    }
  }
  if (allowed.empty()) {
    if (first_refusal.ok()) return Unavailable("HTTP error while resolving " + Authority(url) + ": no address");
    return PermissionDenied("HTTP request to " + Authority(url) + " refused: " + first_refusal.message());
  }
  return allowed;
}

// One exchange on a plain or TLS stream, driven by callbacks on a private
// io_context; `timer` bounds the whole of it.
template <class Stream>
class Exchange {
 public:
  Exchange(asio::io_context& ioc, Stream& stream, const ParsedUrl& url, http::request<http::string_body>& req,
           std::chrono::milliseconds timeout, const node::OutboundPolicy& policy)
      : stream_(stream), url_(url), req_(req), timeout_(timeout), policy_(policy), resolver_(ioc), timer_(ioc) {}

  void Start() {
    timer_.expires_after(timeout_);
    timer_.async_wait([this](beast::error_code ec) {
      if (ec || done_) return;
      timed_out_ = true;
      resolver_.cancel();
      beast::get_lowest_layer(stream_).close();
    });
    stage_ = "resolving";
    resolver_.async_resolve(url_.host, url_.port,
                            [this](beast::error_code ec, tcp::resolver::results_type results) {
                              if (ec) return Fail(ec);
                              auto allowed = AllowedEndpoints(results, policy_, url_);
                              if (!allowed.ok()) return Finish(allowed.status());
                              // Only the addresses just checked: the name is
                              // not resolved again before connecting.
                              endpoints_ = std::move(*allowed);
                              stage_ = "connecting to";
                              beast::get_lowest_layer(stream_).async_connect(
                                  endpoints_, [this](beast::error_code ec, const tcp::endpoint&) {
                                    if (ec) return Fail(ec);
                                    Connected();
                                  });
                            });
  }

  Result<OutboundResponse> result() && {
    if (!status_.ok()) return status_;
    if (!done_) return Internal("HTTP exchange with " + Authority(url_) + " did not finish");
    OutboundResponse out;
    out.status = parser_.get().result_int();
    out.body = std::move(parser_.get().body());
    return out;
  }

 private:
  void Connected() {
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      stage_ = "TLS handshake with";
      boost::system::error_code ignored;
      // Name-based virtual hosting needs SNI; IP literals must not be sent.
      asio::ip::make_address(url_.host, ignored);
      if (ignored && !SSL_set_tlsext_host_name(stream_.native_handle(), url_.host.c_str())) {
        return Fail(beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()));
      }
      stream_.set_verify_mode(ssl::verify_peer);
      stream_.set_verify_callback(ssl::host_name_verification(url_.host));
      stream_.async_handshake(ssl::stream_base::client, [this](beast::error_code ec) {
        if (ec) return Fail(ec);
        Write();
      });
    } else {
      Write();
    }
  }

  void Write() {
    stage_ = "sending the request to";
    http::async_write(stream_, req_, [this](beast::error_code ec, size_t) {
      if (ec) return Fail(ec);
      stage_ = "reading the response from";
      parser_.header_limit(kMaxResponseHeader);
      parser_.body_limit(kMaxOutboundResponseBody);
      http::async_read(stream_, buffer_, parser_, [this](beast::error_code ec, size_t) {
        // The parser's body_limit should stop this earlier; checked again
        // because a response over the cap must never reach the caller.
        if (!ec && parser_.get().body().size() > kMaxOutboundResponseBody) ec = http::error::body_limit;
        if (ec) return Fail(ec);
        Finish(Status::Ok());
      });
    });
  }

  void Fail(beast::error_code ec) {
    if (done_) return;
    const std::string where = std::string(stage_) + " " + Authority(url_);
    if (timed_out_) {
      return Finish(Unavailable("HTTP request to " + Authority(url_) + " timed out after " +
                                std::to_string(timeout_.count()) + " ms (while " + where + ")"));
    }
    if (ec == http::error::body_limit) {
      return Finish(Unavailable("HTTP response from " + Authority(url_) + " has a body over " +
                                std::to_string(kMaxOutboundResponseBody) + " bytes; cut"));
    }
    if (ec == http::error::header_limit) {
      return Finish(Unavailable("HTTP response from " + Authority(url_) + " has headers over " +
                                std::to_string(kMaxResponseHeader) + " bytes; cut"));
    }
    std::string detail = ec.message();
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      const long verify = SSL_get_verify_result(stream_.native_handle());
      if (ec.category() == asio::error::get_ssl_category() && verify != X509_V_OK) {
        detail = std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify);
      } else if (ec.category() == asio::error::get_ssl_category() &&
                 ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        detail = "certificate verification failed: " + detail;
      }
    }
    Finish(Unavailable("HTTP error while " + where + ": " + detail));
  }

  void Finish(Status status) {
    if (done_) return;
    done_ = true;
    status_ = std::move(status);
    timer_.cancel();
    resolver_.cancel();
    // No TLS close_notify: the response is complete (or the exchange
    // failed), and a peer that never answers one must not stall us.
    beast::get_lowest_layer(stream_).close();
  }

  Stream& stream_;
  const ParsedUrl& url_;
  http::request<http::string_body>& req_;
  std::chrono::milliseconds timeout_;
  const node::OutboundPolicy& policy_;
  tcp::resolver resolver_;
  std::vector<tcp::endpoint> endpoints_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  const char* stage_ = "starting";
  bool timed_out_ = false;
  bool done_ = false;
  Status status_;
};

template <class Stream>
Result<OutboundResponse> Run(asio::io_context& ioc, Stream& stream, const ParsedUrl& url,
                             http::request<http::string_body>& req, const OutboundRequest& request) {
  Exchange<Stream> exchange(ioc, stream, url, req, request.timeout, request.policy);
  exchange.Start();
  // Every path ends in Finish(), which cancels everything left, so run()
  // returns; the timer guarantees that happens by the deadline (a hung
  // system resolver is bounded by its own timeouts).
  ioc.run();
  return std::move(exchange).result();
}

}  // namespace

Result<OutboundResponse> SendHttp(const OutboundRequest& request) {
  QUIPU_RETURN_IF_ERROR(node::CheckOutboundUrl(request.url, request.policy).WithContext("URL"));
  QUIPU_ASSIGN_OR_RETURN(ParsedUrl url, node::ParseUrl(request.url));
  QUIPU_ASSIGN_OR_RETURN(auto req, BuildRequest(request, url));
  if (request.timeout.count() <= 0) return InvalidArgument("HTTP request: timeout must be positive");
  try {
    asio::io_context ioc(1);
    if (url.scheme == "http") {
      beast::tcp_stream stream(ioc);
      return Run(ioc, stream, url, req, request);
    }
    ssl::context ctx(ssl::context::tls_client);
    if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1) {
      return Internal("TLS: cannot require TLS 1.2");
    }
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
    boost::system::error_code ec;
    ctx.set_default_verify_paths(ec);
    if (ec) return Unavailable("TLS: cannot load the system certificate store: " + ec.message());
    ctx.set_verify_mode(ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    return Run(ioc, stream, url, req, request);
  } catch (const std::exception& e) {
    // Asio throws only on resource exhaustion here (no fds, no memory).
    return Unavailable(std::string("HTTP request to ") + Authority(url) + ": " + e.what());
  }
}

}  // namespace quipu::api
