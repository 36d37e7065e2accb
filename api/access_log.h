// One JSON line per request on stderr (or another FILE*), and lines for
// the node's events (start, stop). Never logs a query string, a header or
// a body: tokens and document numbers travel there.
#pragma once

#include <cstdio>
#include <mutex>
#include <string_view>

#include <nlohmann/json.hpp>

namespace quipu::api {

class AccessLog {
 public:
  explicit AccessLog(std::FILE* out = stderr) : out_(out) {}
  // {"ts","event":"request","method","route","path","status","bytes","us","remote"}
  void Request(std::string_view method, std::string_view route, std::string_view path, unsigned status,
               size_t bytes, int64_t micros, std::string_view remote);
  // {"ts","event":name, ...fields}
  void Event(std::string_view name, const nlohmann::json& fields = nlohmann::json::object());

 private:
  void Write(nlohmann::json line);
  std::FILE* out_;
  std::mutex mu_;
};

}  // namespace quipu::api
