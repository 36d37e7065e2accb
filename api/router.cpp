#include "api/router.h"

#include <cstdio>
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

void Router::Add(http::verb method, std::string pattern, Handler handler) {
  Route_ r;
  r.method = method;
  r.pattern = pattern;
  for (std::string_view s : Split(pattern)) r.segments.emplace_back(s);
  if (!r.segments.empty() && r.segments.back() == "*") {
    r.prefix = true;
    r.segments.pop_back();
  }
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

bool Router::Match(const Route_& r, std::string_view path, std::vector<std::string>& params) {
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

Router::Routed Router::Route(Request& req) const {
  const http::verb want = req.method == http::verb::head ? http::verb::get : req.method;
  std::set<std::string> allowed;
  std::vector<std::string> params;
  for (const Route_& r : routes_) {
    if (!Match(r, req.path, params)) continue;
    if (r.method == want) {
      req.params = std::move(params);
      try {
        return {r.handler(req), r.pattern};
      } catch (...) {
        std::fprintf(stderr, "{\"event\":\"handler_exception\",\"route\":\"%s\"}\n", r.pattern.c_str());
        return {Problem(500, "Internal error", "the request could not be handled"), r.pattern};
      }
    }
    allowed.insert(std::string(http::to_string(r.method)));
    if (r.method == http::verb::get) allowed.insert("HEAD");
  }
  if (allowed.empty()) {
    return {Problem(404, "Not found", "no resource at " + req.path.substr(0, 200)), "unmatched"};
  }
  std::string allow;
  for (const std::string& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
  Response r = Problem(405, "Method not allowed",
                       std::string(http::to_string(req.method)) + " is not allowed here; use " + allow);
  r.headers.emplace_back("Allow", allow);
  return {std::move(r), "unmatched"};
}

}  // namespace quipu::api
