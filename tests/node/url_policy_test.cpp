// The outbound URL policy (node/url_policy.h): one table of URLs with the
// verdict with and without the development flag (including every URL on
// which the two checks that it replaced disagreed), the address classes at
// their edges, the IPv6 forms that carry an IPv4 address, and IPv4 written
// in the spellings that resolvers read as numbers. Send-time resolution is
// tested in tests/api (http_client_test, notify_test).
#include "node/url_policy.h"

#include <gtest/gtest.h>

namespace quipu::node {
namespace {

const OutboundPolicy kProduction{};
const OutboundPolicy kDevelopment{.allow_local = true};

struct Row {
  const char* url;
  bool production;   // allowed without --allow-local-callbacks
  bool development;  // allowed with it
};

TEST(CheckOutboundUrl, TheTable) {
  const Row rows[] = {
      // Public https: allowed.
      {"https://app.example.org/callback", true, true},
      {"HTTPS://App.Example.ORG/cb?x=1#frag", true, true},  // scheme and host are case-insensitive
      {"https://192.0.2.1:8443/cb", true, true},          // documentation range: reaches nothing inside
      {"https://[2001:db8::1]/", true, true},
      {"https://[2606:4700::1111]:443/x", true, true},
      {"https://8.8.8.8/", true, true},
      {"https://a1/", true, true},        // a last label with a letter is a name
      {"https://0xfg.com/", true, true},  // so is one that only starts like a number
      // Where the two old checks disagreed (clients.cpp allowed, http_client refused, or
      // the other way round), now one verdict.
      {"https://user:pw@host/", false, false},
      {"https://x@y/", false, false},
      {"https://host:99999/", false, false},
      {"https://host:0/", false, false},
      {"https://host:-1/", false, false},
      {"https://host:/", false, false},
      {"https://host:8a/", false, false},
      {"https://x:1:2/", false, false},
      {"https://host:000000443/", false, false},
      {"https://[::1/", false, false},
      {"https://[zz::1]/", false, false},
      {"https://[::1]:/", false, false},
      {"https://ex%61mple.org/", false, false},
      {"https://.x/", false, false},
      {"https://a..b/", false, false},
      {"https://-a/", false, false},
      {"https://ho\\st/", false, false},
      {"http://[::1]:99999/", false, false},
      {"http://localhost:0/", false, false},
      {"http://127.0.0.1:/", false, false},
      {"http://[::1]x/", false, false},
      {"http://localhost:abc/", false, false},
      {"http://LOCALHOST/", false, true},
      // http: only to the three local names, only for development.
      {"http://localhost/cb", false, true},
      {"http://localhost:3000/cb", false, true},
      {"http://127.0.0.1:9/x", false, true},
      {"http://[::1]:8080/cb", false, true},
      {"http://example.org/cb", false, false},
      {"http://127.0.0.2/cb", false, false},
      {"http://10.0.0.1/cb", false, false},
      {"http://localhost.example.org/cb", false, false},
      {"http://localhost@evil.example/cb", false, false},
      // Non-public literals and localhost names over https: development only.
      {"https://localhost/", false, true},
      {"https://localhost./", false, true},
      {"https://api.localhost/", false, true},
      {"https://127.0.0.1/", false, true},
      {"https://10.1.2.3:8443/", false, true},
      {"https://172.16.0.1/", false, true},
      {"https://192.168.1.1/", false, true},
      {"https://100.64.0.1/", false, true},
      {"https://169.254.169.254/latest/meta-data/", false, true},
      {"https://0.0.0.0/", false, true},
      {"https://224.0.0.1/", false, true},
      {"https://255.255.255.255/", false, true},
      {"https://[::1]/", false, true},
      {"https://[::]/", false, true},
      {"https://[fe80::1]/", false, true},
      {"https://[fd00::1]/", false, true},
      {"https://[ff02::1]/", false, true},
      {"https://[::ffff:10.0.0.1]/", false, true},
      {"https://[::ffff:127.0.0.1]/", false, true},
      {"https://[::ffff:169.254.169.254]/", false, true},
      {"https://[64:ff9b::10.0.0.1]/", false, true},
      {"https://[2002:a00:1::1]/", false, true},  // 6to4 of 10.0.0.1
      // IPv4 spelled as a number: never, flag or not (resolvers read 127.0.0.1 in each).
      {"https://2130706433/", false, false},
      {"https://0x7f.1/", false, false},
      {"https://0x7f000001/", false, false},
      {"https://0177.0.0.1/", false, false},
      {"https://127.1/", false, false},
      {"https://127.0.0.01/", false, false},
      {"https://1.2.3.4./", false, false},
      {"https://999.1.1.1/", false, false},
      {"https://example.123/", false, false},
      // Not URLs at all.
      {"", false, false},
      {"https://", false, false},
      {"ftp://localhost/", false, false},
      {"javascript:alert(1)", false, false},
      {"file:///etc/passwd", false, false},
      {"https://host/a b", false, false},
  };
  for (const Row& row : rows) {
    const Status production = CheckOutboundUrl(row.url, kProduction);
    const Status development = CheckOutboundUrl(row.url, kDevelopment);
    EXPECT_EQ(production.ok(), row.production) << row.url << ": " << production.message();
    EXPECT_EQ(development.ok(), row.development) << row.url << " (development): " << development.message();
    if (!production.ok()) {
      EXPECT_EQ(production.code(), StatusCode::kInvalidArgument) << row.url;
    }
    // What only development allows says which flag allows it.
    if (!row.production && row.development) {
      EXPECT_NE(production.message().find("--allow-local-callbacks"), std::string::npos)
          << row.url << ": " << production.message();
    }
  }
}

TEST(CheckOutboundUrl, MessagesNameTheRule) {
  EXPECT_NE(CheckOutboundUrl("http://example.org/", kProduction).message().find("https://"), std::string::npos);
  EXPECT_NE(CheckOutboundUrl("https://u@x/", kProduction).message().find("user info"), std::string::npos);
  EXPECT_NE(CheckOutboundUrl("https://x:99999/", kProduction).message().find("1..65535"), std::string::npos);
  EXPECT_NE(CheckOutboundUrl("https://10.0.0.1/", kProduction).message().find("private (10/8)"), std::string::npos);
  EXPECT_NE(CheckOutboundUrl("https://169.254.169.254/", kProduction).message().find("link-local"),
            std::string::npos);
  EXPECT_NE(CheckOutboundUrl("https://[::ffff:10.0.0.1]/", kProduction).message().find("IPv4-mapped"),
            std::string::npos);
  EXPECT_NE(CheckOutboundUrl("https://2130706433/", kProduction).message().find("non-canonical"),
            std::string::npos);
}

// ---- addresses ----

std::string ClassOf(const char* literal) {
  auto a = ParseIpLiteral(literal);
  EXPECT_TRUE(a.has_value()) << literal;
  return a ? NonPublicAddressClass(*a) : "unparsed";
}

TEST(NonPublicAddressClass, IPv4RangesAtTheirEdges) {
  for (const char* refused :
       {"0.0.0.0", "0.255.255.255", "10.0.0.0", "10.255.255.255", "100.64.0.0", "100.127.255.255",
        "127.0.0.1", "127.255.255.254", "169.254.0.1", "169.254.169.254", "172.16.0.0", "172.31.255.255",
        "192.0.0.8", "192.168.0.1", "192.168.255.255", "198.18.0.1", "198.19.255.255", "224.0.0.1",
        "239.255.255.255", "240.0.0.1", "255.255.255.254", "255.255.255.255"}) {
    EXPECT_NE(ClassOf(refused), "") << refused;
  }
  for (const char* allowed : {"1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0", "100.63.255.255",
                              "100.128.0.0", "126.255.255.255", "128.0.0.0", "169.253.255.255", "169.255.0.0",
                              "172.15.255.255", "172.32.0.0", "192.0.1.0", "192.0.2.1", "192.167.255.255",
                              "192.169.0.0", "198.17.255.255", "198.20.0.0", "223.255.255.255"}) {
    EXPECT_EQ(ClassOf(allowed), "") << allowed;
  }
  EXPECT_EQ(ClassOf("10.1.2.3"), "private (10/8)");
  EXPECT_EQ(ClassOf("100.100.0.1"), "shared address space (100.64/10, CGNAT)");
  EXPECT_EQ(ClassOf("255.255.255.255"), "broadcast (255.255.255.255)");
}

TEST(NonPublicAddressClass, IPv6AndTheFormsThatCarryIPv4) {
  for (const char* refused :
       {"::", "::1", "fe80::1", "febf:ffff::1", "fec0::1", "fc00::1", "fdff:ffff::1", "ff02::1", "ff0e::1",
        "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:192.168.0.1",
        "::ffff:0:10.0.0.1", "64:ff9b::10.0.0.1", "64:ff9b::127.0.0.1", "64:ff9b:1::1", "2002:a00:1::1",
        "2002:7f00:1::", "::10.0.0.1", "::8.8.8.8", "2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2"}) {
    EXPECT_NE(ClassOf(refused), "") << refused;
  }
  for (const char* allowed : {"2001:db8::1", "2606:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8",
                              "::ffff:0:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1", "fe00::1",
                              "2001:1::1"}) {
    EXPECT_EQ(ClassOf(allowed), "") << allowed;
  }
  EXPECT_NE(ClassOf("::ffff:10.0.0.1").find("private (10/8)"), std::string::npos);
}

TEST(CheckOutboundAddress, RefusesNonPublicUnlessDevelopment) {
  const IpAddress metadata = *ParseIpLiteral("169.254.169.254");
  const Status s = CheckOutboundAddress(metadata, kProduction);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("169.254.169.254"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("--allow-local-callbacks"), std::string::npos) << s.message();
  EXPECT_TRUE(CheckOutboundAddress(metadata, kDevelopment).ok());
  EXPECT_TRUE(CheckOutboundAddress(*ParseIpLiteral("8.8.8.8"), kProduction).ok());
}

TEST(ParseIpLiteral, CanonicalFormsOnly) {
  EXPECT_FALSE(ParseIpLiteral("2130706433"));
  EXPECT_FALSE(ParseIpLiteral("0x7f.1"));
  EXPECT_FALSE(ParseIpLiteral("127.1"));
  EXPECT_FALSE(ParseIpLiteral("localhost"));
  EXPECT_FALSE(ParseIpLiteral(""));
  EXPECT_FALSE(ParseIpLiteral("fe80::1%eth0"));
  auto v4 = ParseIpLiteral("192.0.2.1");
  ASSERT_TRUE(v4);
  EXPECT_FALSE(v4->v6);
  EXPECT_EQ(v4->ToString(), "192.0.2.1");
  auto v6 = ParseIpLiteral("2001:DB8:0::1");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->v6);
  EXPECT_EQ(v6->ToString(), "2001:db8::1");
}

// ---- the parser (moved here from api/http_client) ----

TEST(ParseUrl, GoodUrls) {
  auto u = ParseUrl("https://Hooks.Example.org/notify?a=1&b=%20#frag");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "hooks.example.org");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->target, "/notify?a=1&b=%20");

  u = ParseUrl("HTTP://127.0.0.1:8080");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, "8080");
  EXPECT_EQ(u->target, "/");

  u = ParseUrl("http://[::1]:9/x/y");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "9");
  EXPECT_EQ(u->target, "/x/y");

  u = ParseUrl("https://[2001:DB8::1]/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "2001:db8::1");
  EXPECT_EQ(u->port, "443");

  u = ParseUrl("http://host?q=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->target, "/?q=1");

  u = ParseUrl("http://a:65535/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, "65535");
}

TEST(ParseUrl, BadUrls) {
  for (const char* bad : {"", "example.org/path", "//example.org/", "://x", "ftp://example.org/",
                          "file:///etc/passwd", "http://", "https://", "http:///path", "http://:80/",
                          "http://host:99999/", "http://host:0/", "http://host:-1/", "http://host:8a/",
                          "http://host:/", "http://user:pw@host/", "http://ho st/", "http://host/a b",
                          "http://host/\r\nX: y", "http://[::1/", "http://[zz::1]/", "http://[::1]x/",
                          "http://[1.2.3.4]/", "http://ex%61mple.org/", "http://.example.org/", "http://a..b/",
                          "http://host:000000080/", "http://2130706433/", "http://0x7f.1/"}) {
    auto u = ParseUrl(bad);
    EXPECT_FALSE(u.ok()) << "accepted: " << bad;
    if (!u.ok()) {
      EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
  EXPECT_NE(ParseUrl("ftp://x/").status().message().find("unsupported scheme"), std::string::npos);
  EXPECT_NE(ParseUrl("http://x:99999/").status().message().find("port"), std::string::npos);
  EXPECT_NE(ParseUrl("http:///").status().message().find("empty host"), std::string::npos);
}

}  // namespace
}  // namespace quipu::node
