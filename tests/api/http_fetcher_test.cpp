// The keep-alive GET client of `quipu audit URL` (api/http_fetcher.h)
// against quipu's own server: connections are reused, a prefix is kept, a
// gzip body (which tlog-tiles lets a log send unasked) is decoded within the
// limit, and what it cannot take is named.
#include "api/http_fetcher.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "api/access_log.h"
#include "api/metrics.h"
#include "api/router.h"
#include "api/server.h"

namespace quipu::api {
namespace {

std::string Gzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

struct Site {
  Site() {
    router.Add(http::verb::get, "/log/*", [this](const Request& req) {
      ++requests;
      Response r = Text("path " + req.path);
      if (req.path == "/log/gz") {
        r.body = Gzip(std::string(100000, 'a'));
        r.headers.emplace_back("Content-Encoding", "gzip");
      } else if (req.path == "/log/bomb") {
        r.body = Gzip(std::string(3 << 20, 'a'));  // 3 MiB from a few KiB
        r.headers.emplace_back("Content-Encoding", "gzip");
      } else if (req.path == "/log/badgz") {
        r.body = "not gzip at all";
        r.headers.emplace_back("Content-Encoding", "gzip");
      } else if (req.path == "/log/br") {
        r.headers.emplace_back("Content-Encoding", "br");
      } else if (req.path == "/log/missing") {
        r = Problem(404, "Not found", "no");
      }
      return r;
    }, RouteOptions{Exec::kInline, 0});
    ServerOptions o;
    o.port = 0;
    o.threads = 2;
    auto started = Server::Start(o, router, metrics, log);
    EXPECT_TRUE(started.ok());
    server = std::move(*started);
  }
  std::string Url(const std::string& p) const { return "http://127.0.0.1:" + std::to_string(server->port()) + p; }
  Router router;
  Metrics metrics;
  AccessLog log{std::fopen("/dev/null", "w")};
  std::unique_ptr<Server> server;
  std::atomic<int> requests{0};
};

TEST(HttpFetcher, ReusesConnectionsKeepsThePrefixAndDecodesGzip) {
  Site site;
  auto f = HttpFetcher::Create(site.Url("/log/"));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  for (int i = 0; i < 50; ++i) {
    auto r = (*f)->Get("tile/0/00" + std::to_string(i % 10));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200u);
    EXPECT_EQ(r->body, "path /log/tile/0/00" + std::to_string(i % 10));
  }
  EXPECT_EQ(site.requests.load(), 50);
  // From many threads at once.
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) good += (*f)->Get("x").ok() ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 160);
  auto gz = (*f)->Get("gz");
  ASSERT_TRUE(gz.ok()) << gz.status().ToString();
  EXPECT_EQ(gz->body, std::string(100000, 'a'));
  auto missing = (*f)->Get("missing");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404u);
}

TEST(HttpFetcher, WhatItCannotTakeIsNamed) {
  Site site;
  HttpFetcher::Options o;
  o.max_body = 1 << 20;
  auto f = HttpFetcher::Create(site.Url("/log"), o);
  ASSERT_TRUE(f.ok());
  auto bomb = (*f)->Get("bomb");
  EXPECT_EQ(bomb.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(bomb.status().message().find("does not decode within"), std::string::npos) << bomb.status().message();
  EXPECT_EQ((*f)->Get("badgz").status().code(), StatusCode::kUnavailable);
  auto br = (*f)->Get("br");
  EXPECT_NE(br.status().message().find("Content-Encoding br"), std::string::npos) << br.status().message();
  // Still usable afterwards.
  EXPECT_TRUE((*f)->Get("fine").ok());
  // Nobody listening, and URLs that are not http(s).
  auto down = HttpFetcher::Create("http://127.0.0.1:9/");
  ASSERT_TRUE(down.ok());
  auto r = (*down)->Get("checkpoint");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("127.0.0.1:9"), std::string::npos);
  EXPECT_EQ(HttpFetcher::Create("ftp://x/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpFetcher::Create("http://x/?q=1").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace quipu::api
