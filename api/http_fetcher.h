// A keep-alive HTTP/1.1 GET client for one site, for tools that read a
// whole log over its public read API (`quipu audit URL`): connections are
// kept open and reused, one per calling thread at a time, so thousands of
// tiles cost no handshake each. https verifies the certificate and the host
// name against the system store, as api/http_client.h does. The URL is the
// user's own choice (an auditor names the log): no outbound address policy.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "api/http_client.h"
#include "crypto/status.h"

namespace quipu::api {

class HttpFetcher {
 public:
  struct Options {
    // Connecting; each send and receive; a whole answer.
    std::chrono::milliseconds timeout{30000};
    // Larger bodies are refused: the largest C2SP entry bundle (256 entries
    // of 65,535 bytes and their lengths) and a little more.
    size_t max_body = size_t{17} << 20;
  };
  // `base_url`: "http(s)://host[:port][/prefix]". kInvalidArgument for a
  // malformed URL.
  static Result<std::unique_ptr<HttpFetcher>> Create(std::string_view base_url, Options options);
  static Result<std::unique_ptr<HttpFetcher>> Create(std::string_view base_url) { return Create(base_url, Options()); }
  ~HttpFetcher();
  HttpFetcher(const HttpFetcher&) = delete;
  HttpFetcher& operator=(const HttpFetcher&) = delete;

  // GET <prefix>/<path>: the status and body (any status; a body sent with
  // Content-Encoding: gzip, as tlog-tiles lets logs do, is decoded, within
  // max_body). kUnavailable for
  // network and TLS errors, a timeout, a malformed response or one over
  // max_body; a request on a kept connection that the server had closed is
  // sent once more on a new one. Thread-safe.
  Result<OutboundResponse> Get(std::string_view path);
  // The base URL, for messages.
  const std::string& url() const;

 private:
  struct Impl;
  explicit HttpFetcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace quipu::api
