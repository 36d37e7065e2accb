// The HTTP vocabulary of quipu's API layer: a parsed request, a response
// value, and RFC 9457 problem responses. Handlers are plain functions from
// Request to Response; api/server.h does the wire.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "crypto/status.h"

namespace quipu::api {

namespace http = boost::beast::http;

struct Request {
  http::verb method = http::verb::get;
  std::string target;  // as sent: path and query
  std::string path;    // percent-decoded path, without the query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  http::fields headers;
  std::string body;
  std::vector<std::string> params;  // what the route's {} and * matched
  std::string remote;               // peer address, for logs and rate limits

  // The first value of query parameter `name`, if present.
  std::optional<std::string> query_param(std::string_view name) const;
  // A header's value, or "" when absent.
  std::string_view header(std::string_view name) const;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  // Why a 5xx happened, for the node's log only (never sent; no secrets).
  std::string log_detail;
};

// A JSON response (compact, UTF-8).
Response Json(const nlohmann::json& value, unsigned status = 200);
// A text/plain; charset=utf-8 response.
Response Text(std::string body, unsigned status = 200);
// An RFC 9457 application/problem+json response:
// {"type":"about:blank","title":...,"status":...,"detail":...}.
Response Problem(unsigned status, std::string_view title, std::string_view detail);

// The problem response for a Status: 400 invalid argument, 403 permission
// denied, 404 not found, 409 already exists or failed precondition, 410
// expired, 422 unprocessable (a document that cannot be read), 429 resource
// exhausted and 503 unavailable (both with Retry-After), 500 otherwise
// (without the internal message, which goes to log_detail).
Response ProblemFromStatus(const Status& status);

// RFC 9112 §6 message framing of a request, checked on its headers before
// any body is read: a Transfer-Encoding other than a single `chunked` is
// 501 (no other coding is implemented; `chunked, gzip` and `gzip` would
// otherwise leave the body to be read as the next request: smuggling);
// `chunked` twice is 400; Transfer-Encoding with Content-Length, or in an
// HTTP/1.0 request, is 400. Returns the problem to answer (the caller then
// closes the connection), or nullopt for a request framed correctly.
std::optional<Response> CheckFraming(const http::fields& headers, unsigned version);

// Reads a JSON request body into `out`: strictly parsed (crypto::
// ParseJsonStrict, at most `max_depth` levels). Returns the problem to
// answer instead: 415 for a Content-Type other than application/json
// (none, and curl's default form-urlencoded, are taken as JSON: the body
// must parse either way), 400 for a body that is not JSON or holds more
// than kMaxBodyValues values (a parsed value costs ~80 bytes: the bound
// keeps a body's tree near its own size).
inline constexpr size_t kMaxBodyValues = 100000;
std::optional<Response> ReadJsonBody(const Request& req, nlohmann::json& out, size_t max_depth = 16);

// The text of `body[field]`, or "" when `body` is not an object or the
// field is absent or not a string (the caller's check then refuses "").
std::string TextField(const nlohmann::json& body, std::string_view field);

// The token of "Authorization: Bearer <token>" (scheme case-insensitive), or "".
std::string_view BearerToken(const Request& req);
std::string_view BearerToken(const http::fields& headers);
// 401 with `WWW-Authenticate: Bearer realm="quipu"`.
Response Unauthorized(std::string_view detail);

// Decodes %XX escapes (and '+' as a space when `plus_is_space`). nullopt
// for a malformed escape or a decoded NUL.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);

// Splits a request target into the decoded path and query. False when the
// target is not origin-form ("/...") or has a malformed escape.
bool ParseTarget(std::string_view target, std::string& path,
                 std::vector<std::pair<std::string, std::string>>& query);

}  // namespace quipu::api
