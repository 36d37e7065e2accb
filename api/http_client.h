// A small outbound HTTP/1.1 client for the node's notifications and
// delivery webhooks. One request per connection (`Connection: close`), a
// hard deadline on the whole exchange, verified TLS only: there is no
// switch to turn certificate or host name checks off.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/status.h"

namespace quipu::api {

struct OutboundRequest {
  std::string method = "POST";
  std::string url;  // http:// or https://, see ParseUrl
  // Extra headers. Host, Content-Length, Transfer-Encoding and Connection
  // are set by the client and refused here. Values may hold secrets
  // (Authorization): they never appear in an error message.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};  // the whole exchange
};

struct OutboundResponse {
  unsigned status = 0;
  std::string body;  // at most kMaxOutboundResponseBody bytes
};

// Responses with a larger body are refused (kUnavailable).
inline constexpr size_t kMaxOutboundResponseBody = size_t{1} << 20;

// Sends one request on a new connection and reads the whole response.
// https verifies the server certificate against the system store (OpenSSL's
// default paths, so SSL_CERT_FILE / SSL_CERT_DIR are honoured) and the host
// name (SNI sent for names), TLS 1.2 or later. Resolve, connect, handshake,
// write and read must all finish within request.timeout.
// Errors: kInvalidArgument for a malformed URL, an unsupported scheme, a
// bad method or header; kUnavailable for resolution and network errors,
// refused connections, TLS failures ("certificate verification failed:
// ..."), "timed out", a malformed response or a body over 1 MiB. Messages
// name host:port and the stage, never header values, the path or the body.
// Any HTTP status (also 4xx/5xx) is a success: the caller decides.
// Thread-safe: each call has its own io_context; it blocks the caller.
Result<OutboundResponse> SendHttp(const OutboundRequest& request);

struct ParsedUrl {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // lower case; an IPv6 literal without its brackets
  std::string port;    // decimal 1..65535; 80 or 443 when absent
  std::string target;  // path and query ("/" when absent), fragment dropped
};

// Parses "scheme://host[:port][/path][?query][#fragment]"; the host may be
// an IPv6 literal in brackets. Errors (kInvalidArgument): no "://", a
// scheme other than http/https, user info, an empty or malformed host, a
// port outside 1..65535, spaces or control characters anywhere.
Result<ParsedUrl> ParseUrl(std::string_view url);

// True for https URLs, and for http to localhost, 127.0.0.1 or [::1]
// (development only): what client redirect and notification URIs must
// satisfy. False for anything ParseUrl refuses.
bool IsAllowedCallbackUrl(std::string_view url);

}  // namespace quipu::api
