#include "api/router.h"

#include <set>

namespace quipu::api {
namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 1;  // paths start with '/'
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    const size_t end = slash == std::string_view::npos ? path.size() : slash;
    out.push_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

}  // namespace

void Router::Add(http::verb method, std::string pattern, Handler handler, RouteOptions options) {
  RouteInfo r;
  r.method = method;
  r.pattern = pattern;
  for (std::string_view seg : Split(pattern)) r.segments.emplace_back(seg);
  if (!r.segments.empty() && r.segments.back() == "*") {
    r.prefix = true;
    r.segments.pop_back();
  }
  r.handler = std::move(handler);
  r.options = options;
  routes_.push_back(std::move(r));
}

bool Router::Match(const RouteInfo& r, std::string_view path, std::vector<std::string>& params) {
  params.clear();
  if (path.empty() || path[0] != '/') return false;
  const std::vector<std::string_view> parts = Split(path);
  if (r.prefix ? parts.size() <= r.segments.size() : parts.size() != r.segments.size()) return false;
  for (size_t i = 0; i < r.segments.size(); ++i) {
    if (r.segments[i] == "{}") {
      if (parts[i].empty()) return false;
      params.emplace_back(parts[i]);
    } else if (r.segments[i] != parts[i]) {
      return false;
    }
  }
  if (r.prefix) {
    // The rest of the path after the fixed segments, without its leading '/'.
    size_t at = 0;
    for (size_t i = 0; i <= r.segments.size(); ++i) at = path.find('/', at) + 1;
    params.emplace_back(path.substr(at));
  }
  return true;
}

Router::Found Router::Find(http::verb method, std::string_view path) const {
  const http::verb want = method == http::verb::head ? http::verb::get : method;
  std::set<std::string> allowed;
  std::vector<std::string> params;
  Found found;
  for (const RouteInfo& r : routes_) {
    if (!Match(r, path, params)) continue;
    if (r.method == want) {
      found.route = &r;
      found.params = std::move(params);
      return found;
    }
    allowed.insert(std::string(http::to_string(r.method)));
    if (r.method == http::verb::get) allowed.insert("HEAD");
  }
  if (allowed.empty()) {
    found.problem = Problem(404, "Not found", "no resource at " + std::string(path.substr(0, 200)));
    return found;
  }
  std::string allow;
  for (const std::string& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
  found.problem = Problem(405, "Method not allowed",
                          std::string(http::to_string(method)) + " is not allowed here; use " + allow);
  found.problem.headers.emplace_back("Allow", allow);
  return found;
}

Response Router::Run(const RouteInfo& route, const Request& req) {
  try {
    return route.handler(req);
  } catch (const std::exception& e) {
    Response r = Problem(500, "Internal error", "the request could not be handled");
    r.log_detail = std::string("handler threw: ") + e.what();
    return r;
  } catch (...) {
    Response r = Problem(500, "Internal error", "the request could not be handled");
    r.log_detail = "handler threw a non-standard exception";
    return r;
  }
}

Router::Routed Router::Route(Request& req) const {
  Found found = Find(req.method, req.path);
  if (found.route == nullptr) return {std::move(found.problem), "unmatched"};
  req.params = std::move(found.params);
  return {Run(*found.route, req), found.route->pattern};
}

}  // namespace quipu::api
