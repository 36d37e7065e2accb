// A small outbound HTTP/1.1 client for the node's notifications and
// delivery webhooks. One request per connection (`Connection: close`), a
// hard deadline on the whole exchange, verified TLS only: there is no
// switch to turn certificate or host name checks off. Every request obeys
// node/url_policy.h: the URL is checked, and only the resolved addresses
// that the policy allows are connected to.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/status.h"
#include "node/url_policy.h"

namespace quipu::api {

struct OutboundRequest {
  std::string method = "POST";
  std::string url;  // must pass node::CheckOutboundUrl under `policy`
  // Extra headers. Host, Content-Length, Transfer-Encoding and Connection
  // are set by the client and refused here. Values may hold secrets
  // (Authorization): they never appear in an error message.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};  // the whole exchange
  // Public https destinations only, unless allow_local (development).
  node::OutboundPolicy policy;
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
// The host name is resolved and each address checked with
// node::CheckOutboundAddress; the connection is tried only on the
// addresses that passed, in the resolver's order.
// Errors: kInvalidArgument for a URL that is malformed or refused by
// node::CheckOutboundUrl, a bad method or header; kPermissionDenied when
// every resolved address is refused by the policy (the message names the
// first one and its class); kUnavailable for resolution and network errors,
// refused connections, TLS failures ("certificate verification failed:
// ..."), "timed out", a malformed response or a body over 1 MiB. Messages
// name host:port and the stage, never header values, the path or the body.
// Any HTTP status (also 4xx/5xx) is a success: the caller decides.
// Thread-safe: each call has its own io_context; it blocks the caller.
Result<OutboundResponse> SendHttp(const OutboundRequest& request);

}  // namespace quipu::api
