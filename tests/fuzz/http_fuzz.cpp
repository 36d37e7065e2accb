// libFuzzer target for what the server does with the bytes of a request
// before any handler runs: Beast's request parser with the server's limits,
// then quipu's RFC 9112 framing check, the target parse and the route
// lookup (with the node's own route patterns). Nothing may crash; a request
// the framing check accepts must have one unambiguous body length.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "api/http.h"
#include "api/router.h"

namespace {

const quipu::api::Router& NodeRoutes() {
  static const quipu::api::Router* router = [] {
    auto* r = new quipu::api::Router;
    using quipu::api::http::verb;
    auto ok = [](const quipu::api::Request&) { return quipu::api::Text("ok"); };
    for (const char* p : {"/checkpoint", "/tile/*", "/v1/log", "/v1/entries/{}", "/v1/documents/{}", "/v1/qr/{}",
                          "/v1/approvals/{}", "/healthz"}) {
      r->Add(verb::get, p, ok, {quipu::api::Exec::kInline, 0});
    }
    for (const char* p : {"/v1/verify", "/v1/qr", "/v1/qr/verify", "/v1/qr/stamp", "/v1/qr/{}/revoke",
                          "/v1/approvals", "/v1/citizen/approvals/{}/confirm"}) {
      r->Add(verb::post, p, ok, {quipu::api::Exec::kWorker, quipu::api::kDocumentBody});
    }
    return r;
  }();
  return *router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace http = boost::beast::http;
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  boost::beast::error_code ec;
  size_t used = 0;
  // Fed in two pieces, as a network would.
  const size_t split = size / 2;
  used += parser.put(boost::asio::buffer(data, split), ec);
  if (ec == http::error::need_more) ec = {};
  if (!ec && used < size) {
    size_t more = parser.put(boost::asio::buffer(data + used, size - used), ec);
    used += more;
  }
  if (!parser.is_header_done()) return 0;
  const auto& req = parser.get();
  auto refused = quipu::api::CheckFraming(req.base(), req.version());
  if (!refused) {
    // Accepted framing: a length or chunked, never both, never another coding.
    if (req.count(http::field::transfer_encoding) > 0 && req.count(http::field::content_length) > 0) std::abort();
    if (req.count(http::field::transfer_encoding) > 0 && !parser.chunked()) std::abort();
  } else if (refused->status != 400 && refused->status != 501) {
    std::abort();
  }
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  if (quipu::api::ParseTarget(std::string(req.target()), path, query)) {
    auto found = NodeRoutes().Find(req.method(), path);
    if (found.route == nullptr && found.problem.status != 404 && found.problem.status != 405) std::abort();
  }
  return 0;
}
