// Routes requests to handlers by method and path pattern. Patterns are
// literal segments, "{}" for one segment (captured into Request::params),
// and a final "*" for the rest of the path (captured too).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/http.h"

namespace quipu::api {

using Handler = std::function<Response(const Request&)>;

class Router {
 public:
  // Adds a route; its pattern doubles as its name in metrics and logs.
  void Add(http::verb method, std::string pattern, Handler handler);

  struct Routed {
    Response response;
    std::string_view route;  // the matched pattern, or "unmatched"
  };
  // Finds the handler for req.method and req.path (HEAD is served by the
  // GET route), fills req.params and runs it. 404 problem for an unknown
  // path, 405 with Allow for a known path and another method. A handler
  // that throws gives a 500 problem (the exception text is not sent).
  Routed Route(Request& req) const;

 private:
  struct Route_ {
    http::verb method;
    std::string pattern;
    std::vector<std::string> segments;
    bool prefix = false;
    Handler handler;
  };
  static bool Match(const Route_& r, std::string_view path, std::vector<std::string>& params);
  std::vector<Route_> routes_;
};

}  // namespace quipu::api
