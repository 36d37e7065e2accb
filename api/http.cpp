#include "api/http.h"

#include "crypto/jcs.h"

#include <cctype>

namespace quipu::api {

std::optional<std::string> Request::query_param(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::string_view Request::header(std::string_view name) const {
  auto it = headers.find(boost::beast::string_view(name.data(), name.size()));
  if (it == headers.end()) return {};
  return std::string_view(it->value().data(), it->value().size());
}

Response Json(const nlohmann::json& value, unsigned status) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  // Invalid UTF-8 cannot reach here from quipu's own data; replace rather
  // than throw if it ever does.
  r.body = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response Text(std::string body, unsigned status) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Response Problem(unsigned status, std::string_view title, std::string_view detail) {
  Response r = Json({{"type", "about:blank"},
                     {"title", std::string(title)},
                     {"status", status},
                     {"detail", std::string(detail)}},
                    status);
  r.content_type = "application/problem+json";
  return r;
}

Response ProblemFromStatus(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument: return Problem(400, "Bad request", s.message());
    case StatusCode::kPermissionDenied: return Problem(403, "Forbidden", s.message());
    case StatusCode::kNotFound: return Problem(404, "Not found", s.message());
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition: return Problem(409, "Conflict", s.message());
    case StatusCode::kExpired: return Problem(410, "Gone", s.message());
    case StatusCode::kUnprocessable: return Problem(422, "Unprocessable content", s.message());
    case StatusCode::kResourceExhausted: {
      Response r = Problem(429, "Too many requests", s.message());
      r.headers.emplace_back("Retry-After", "60");
      return r;
    }
    case StatusCode::kUnavailable: {
      Response r = Problem(503, "Service unavailable", s.message());
      r.headers.emplace_back("Retry-After", "1");
      r.log_detail = s.ToString();
      return r;
    }
    default: {
      Response r = Problem(500, "Internal error", "the request could not be completed; see the node's log");
      r.log_detail = s.ToString();
      return r;
    }
  }
}

std::optional<Response> CheckFraming(const http::fields& headers, unsigned version) {
  std::vector<std::string> codings;
  bool has_te = false, has_length = false;
  for (const auto& field : headers) {
    if (field.name() == http::field::content_length) has_length = true;
    if (field.name() != http::field::transfer_encoding) continue;
    has_te = true;
    // A comma-separated list of codings, each maybe with parameters.
    std::string_view list(field.value().data(), field.value().size());
    while (!list.empty()) {
      const size_t comma = list.find(',');
      std::string_view item = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (item.empty()) continue;
      std::string lower(item);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      codings.push_back(std::move(lower));
    }
  }
  if (!has_te) return std::nullopt;
  if (version < 11) {
    return Problem(400, "Bad request", "Transfer-Encoding is not allowed in an HTTP/1.0 request");
  }
  if (has_length) {
    return Problem(400, "Bad request", "a request may not have both Content-Length and Transfer-Encoding");
  }
  for (const std::string& c : codings) {
    if (c != "chunked") {
      Response r = Problem(501, "Not implemented",
                           "transfer coding '" + c.substr(0, 40) +
                               "' is not supported; send the body with Content-Length or Transfer-Encoding: chunked");
      return r;
    }
  }
  if (codings.size() != 1) return Problem(400, "Bad request", "Transfer-Encoding: chunked may be applied once only");
  return std::nullopt;
}

std::string_view BearerToken(const Request& req) { return BearerToken(req.headers); }

std::string_view BearerToken(const http::fields& headers) {
  auto it = headers.find(http::field::authorization);
  std::string_view h = it == headers.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
  if (h.size() < 7) return {};
  for (size_t i = 0; i < 7; ++i) {
    if (std::tolower(static_cast<unsigned char>(h[i])) != "bearer "[i]) return {};
  }
  h.remove_prefix(7);
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  return h;
}

Response Unauthorized(std::string_view detail) {
  Response r = Problem(401, "Unauthorized", detail);
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"quipu\"");
  return r;
}

std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      if (c == '\0') return std::nullopt;
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    out += c;
  }
  return out;
}

bool ParseTarget(std::string_view target, std::string& path,
                 std::vector<std::pair<std::string, std::string>>& query) {
  if (target.empty() || target[0] != '/') return false;
  const size_t q = target.find('?');
  auto decoded = PercentDecode(target.substr(0, q), false);
  if (!decoded) return false;
  path = std::move(*decoded);
  query.clear();
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq), true);
    auto value = PercentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!key || !value) return false;
    query.emplace_back(std::move(*key), std::move(*value));
  }
  return true;
}

std::string TextField(const nlohmann::json& body, std::string_view field) {
  if (!body.is_object()) return "";
  auto it = body.find(field);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<Response> ReadJsonBody(const Request& req, nlohmann::json& out, size_t max_depth) {
  std::string_view ct = req.header("Content-Type");
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  if (!ct.empty() && ct != "application/json" && ct != "application/x-www-form-urlencoded") {
    return Problem(415, "Unsupported media type", "send application/json");
  }
  crypto::JcsLimits limits;
  limits.max_depth = max_depth;
  limits.max_values = kMaxBodyValues;
  auto parsed = crypto::ParseJsonStrict(req.body, limits);
  if (!parsed.ok()) return Problem(400, "Bad request", "the body is not valid JSON: " + parsed.status().message());
  out = std::move(*parsed);
  return std::nullopt;
}

}  // namespace quipu::api
