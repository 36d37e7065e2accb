#include "api/access_log.h"

#include <chrono>
#include <ctime>

namespace quipu::api {
namespace {

std::string Now() {
  const auto now = std::chrono::system_clock::now();
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(micros % 1000000));
  return buf;
}

}  // namespace

void AccessLog::Request(std::string_view method, std::string_view route, std::string_view path,
                        unsigned status, size_t bytes, int64_t micros, std::string_view remote) {
  // On every request: written by hand (a JSON library here costs more than
  // the request), one write(2) a line.
  auto quoted = [](std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    for (unsigned char c : s.substr(0, 512)) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20 || c >= 0x7f) {
        out += "\\u00";  // bytes outside printable ASCII, escaped one by one
        out += kHex[c >> 4];
        out += kHex[c & 15];
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '"';
  };
  std::string line;
  line.reserve(256);
  line += "{\"bytes\":" + std::to_string(bytes) + ",\"event\":\"request\",\"method\":";
  quoted(line, method);
  line += ",\"path\":";
  quoted(line, path);
  line += ",\"remote\":";
  quoted(line, remote);
  line += ",\"route\":";
  quoted(line, route);
  line += ",\"status\":" + std::to_string(status) + ",\"ts\":\"" + Now() + "\",\"us\":" +
          std::to_string(micros) + "}\n";
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

void AccessLog::Event(std::string_view name, const nlohmann::json& fields) {
  nlohmann::json line = {{"ts", Now()}, {"event", std::string(name)}};
  for (const auto& [k, v] : fields.items()) line[k] = v;
  Write(std::move(line));
}

void AccessLog::Write(nlohmann::json line) {
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  std::lock_guard lock(mu_);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

}  // namespace quipu::api
