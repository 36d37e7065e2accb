// Routes requests to handlers by method and path pattern. Patterns are
// literal segments, "{}" for one segment (captured into Request::params),
// and a final "*" for the rest of the path (captured too). Each route says
// how large its body may be (checked before the body is read) and whether
// its handler is quick enough for the I/O threads.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/http.h"

namespace quipu::api {

using Handler = std::function<Response(const Request&)>;

// Where a handler runs.
enum class Exec {
  // On the I/O thread, at once: only for handlers that never wait (reads of
  // the ledger's memory map, static pages, health). They never queue behind
  // the others.
  kInline,
  // On the server's bounded worker pool (api/server.h): anything that may
  // wait — a PDF parse, a ledger commit, an outbound call, a large hash.
  kWorker,
};

// The body limit that means "the server's document limit" (--body-limit).
inline constexpr size_t kDocumentBody = SIZE_MAX;
// The default body limit for JSON-only routes.
inline constexpr size_t kSmallBody = 64 * 1024;

// Asked with the headers, before any of the body is read: the problem to
// answer (a 401 for a missing or unknown client token), or nullopt to go
// on. Runs on an I/O thread: quick checks only. The handler checks again.
using AdmitCheck = std::function<std::optional<Response>(const http::fields& headers)>;

struct RouteOptions {
  RouteOptions() = default;
  RouteOptions(Exec e, size_t limit, AdmitCheck check = nullptr)
      : exec(e), body_limit(limit), admit(std::move(check)) {}
  Exec exec = Exec::kWorker;
  size_t body_limit = kSmallBody;  // or kDocumentBody
  AdmitCheck admit;
};

class Router {
 public:
  // Adds a route; its pattern doubles as its name in metrics and logs.
  void Add(http::verb method, std::string pattern, Handler handler, RouteOptions options = {});

  struct RouteInfo {
    http::verb method;
    std::string pattern;
    std::vector<std::string> segments;
    bool prefix = false;
    Handler handler;
    RouteOptions options;
  };
  // The route for a method and path, found before the body is read: the
  // route and what its {} and * matched, or the problem to answer (404 for
  // an unknown path, 405 with Allow for a known path and another method).
  // HEAD is served by the GET route.
  struct Found {
    const RouteInfo* route = nullptr;
    std::vector<std::string> params;
    Response problem;  // when route is null
  };
  Found Find(http::verb method, std::string_view path) const;

  // Runs `route`'s handler on `req` (params filled). A handler that throws
  // gives a 500 problem (the exception text is logged, not sent).
  static Response Run(const RouteInfo& route, const Request& req);

  struct Routed {
    Response response;
    std::string_view route;  // the matched pattern, or "unmatched"
  };
  // Find and Run in one step, for tests and callers without a socket.
  Routed Route(Request& req) const;

 private:
  static bool Match(const RouteInfo& r, std::string_view path, std::vector<std::string>& params);
  std::vector<RouteInfo> routes_;
};

}  // namespace quipu::api
