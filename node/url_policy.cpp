#include "node/url_policy.h"

#include <arpa/inet.h>

namespace quipu::node {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool IsHexNumber(std::string_view s) {  // "0x" and hex digits, as WHATWG reads it ("0x" alone is 0)
  if (s.size() < 2 || s[0] != '0' || s[1] != 'x') return false;
  for (char c : s.substr(2)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// WHATWG URL "ends in a number": such a host is an IPv4 address to a
// browser and to getaddrinfo (inet_aton forms), whatever it looks like.
bool EndsInANumber(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  const size_t dot = host.rfind('.');
  const std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  return IsDigits(last) || IsHexNumber(last);
}

// Four decimal parts 0..255, no leading zeros: the one spelling that
// every reader takes for the same address.
bool IsCanonicalIpv4(std::string_view host) {
  int parts = 0;
  for (size_t start = 0;;) {
    const size_t dot = host.find('.', start);
    const std::string_view part = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!IsDigits(part) || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return false;
    unsigned value = 0;
    for (char c : part) value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

bool IsLocalhostName(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  constexpr std::string_view kSuffix = ".localhost";
  return host == "localhost" ||
         (host.size() > kSuffix.size() && host.substr(host.size() - kSuffix.size()) == kSuffix);
}

// The class of a non-public IPv4 address (bytes a.b.c.d), or "".
std::string_view Ipv4Class(const uint8_t* a) {
  if (a[0] == 0) return "in this network (0/8)";
  if (a[0] == 10) return "private (10/8)";
  if (a[0] == 100 && (a[1] & 0xc0) == 64) return "shared address space (100.64/10, CGNAT)";
  if (a[0] == 127) return "loopback (127/8)";
  if (a[0] == 169 && a[1] == 254) return "link-local (169.254/16)";
  if (a[0] == 172 && (a[1] & 0xf0) == 16) return "private (172.16/12)";
  if (a[0] == 192 && a[1] == 0 && a[2] == 0) return "reserved for IETF protocols (192.0.0/24)";
  if (a[0] == 192 && a[1] == 168) return "private (192.168/16)";
  if (a[0] == 198 && (a[1] & 0xfe) == 18) return "reserved for benchmarking (198.18/15)";
  if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255) return "broadcast (255.255.255.255)";
  if ((a[0] & 0xf0) == 224) return "multicast (224/4)";
  if ((a[0] & 0xf0) == 240) return "reserved (240/4)";
  return "";
}

bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

}  // namespace

Result<ParsedUrl> ParseUrl(std::string_view url) {
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return InvalidArgument("holds a space or a control character");
    }
  }
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return InvalidArgument("no scheme (expected http:// or https://)");
  }
  ParsedUrl out;
  for (char c : url.substr(0, sep)) out.scheme += Lower(c);
  if (out.scheme != "http" && out.scheme != "https") {
    return InvalidArgument("unsupported scheme '" + out.scheme + "' (expected http or https)");
  }
  std::string_view rest = url.substr(sep + 3);
  const size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgument("user info (user@host) is not supported");
  }
  std::string_view host, port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgument("unterminated IPv6 literal");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgument("junk after the IPv6 literal");
      port = after.substr(1);
      if (port.empty()) return InvalidArgument("empty port");
    }
    for (char c : host) out.host += Lower(c);
    auto literal = ParseIpLiteral(out.host);
    if (!literal || !literal->v6) return InvalidArgument("malformed IPv6 literal");
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return InvalidArgument("empty port");
    }
    if (host.empty()) return InvalidArgument("empty host");
    for (char c : host) {
      const char l = Lower(c);
      if (!IsHostChar(l)) return InvalidArgument("host holds a character outside [A-Za-z0-9._-]");
      out.host += l;
    }
    if (out.host.front() == '.' || out.host.front() == '-' || out.host.find("..") != std::string::npos) {
      return InvalidArgument("malformed host name");
    }
    if (EndsInANumber(out.host) && !IsCanonicalIpv4(out.host)) {
      return InvalidArgument("host '" + out.host +
                             "' is an IPv4 address in a non-canonical form; write four decimal numbers "
                             "0..255, like 192.0.2.1");
    }
  }
  if (port.empty()) {
    out.port = out.scheme == "https" ? "443" : "80";
  } else {
    if (port.size() > 5) return InvalidArgument("port out of range 1..65535");
    unsigned value = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return InvalidArgument("port is not a decimal number");
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value < 1 || value > 65535) return InvalidArgument("port out of range 1..65535");
    out.port = std::to_string(value);
  }
  tail = tail.substr(0, tail.find('#'));
  if (tail.empty()) {
    out.target = "/";
  } else if (tail.front() == '?') {
    out.target = "/" + std::string(tail);
  } else {
    out.target = std::string(tail);
  }
  return out;
}

Status CheckOutboundUrl(std::string_view url, const OutboundPolicy& policy) {
  QUIPU_ASSIGN_OR_RETURN(ParsedUrl u, ParseUrl(url));
  const std::string flag(kAllowLocalCallbacksFlag);
  if (u.scheme == "http") {
    const bool local = u.host == "localhost" || u.host == "127.0.0.1" || u.host == "::1";
    if (!local) return InvalidArgument("must be https:// (http:// only to localhost, for development)");
    if (!policy.allow_local) {
      const std::string host = u.host == "::1" ? "[::1]" : u.host;
      return InvalidArgument("http://" + host + " is for development only: allowed with " + flag +
                             " (otherwise use https://)");
    }
    return Status::Ok();
  }
  if (policy.allow_local) return Status::Ok();
  if (IsLocalhostName(u.host)) {
    return InvalidArgument("host '" + u.host + "' is loopback: allowed only with " + flag + " (development)");
  }
  if (auto literal = ParseIpLiteral(u.host)) {
    Status s = CheckOutboundAddress(*literal, policy);
    if (!s.ok()) return InvalidArgument(s.message());
  }
  return Status::Ok();
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (!::inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf)) return "?";
  return buf;
}

std::optional<IpAddress> ParseIpLiteral(std::string_view text) {
  // inet_pton needs a NUL-terminated string; a literal longer than the
  // longest IPv6 text is no literal.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string s(text);
  IpAddress a;
  if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  a.v6 = true;
  if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

std::string NonPublicAddressClass(const IpAddress& address) {
  const uint8_t* b = address.bytes.data();
  if (!address.v6) return std::string(Ipv4Class(b));
  if (AllZero(b, 16)) return "unspecified (::)";
  if (AllZero(b, 15) && b[15] == 1) return "loopback (::1)";
  // Forms that carry an IPv4 address, judged by that address: a resolver
  // or a NAT64 gateway would take them there.
  auto carried = [](std::string_view form, const uint8_t* v4) -> std::string {
    const std::string_view why = Ipv4Class(v4);
    return why.empty() ? std::string() : std::string(form) + " of an address that is " + std::string(why);
  };
  if (AllZero(b, 10) && b[10] == 0xff && b[11] == 0xff) return carried("an IPv4-mapped form (::ffff:0:0/96)", b + 12);
  if (AllZero(b, 8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0) {
    return carried("an IPv4-translated form (::ffff:0:0:0/96)", b + 12);
  }
  const bool nat64_prefix = b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b;
  if (nat64_prefix && AllZero(b + 4, 8)) return carried("a NAT64 form (64:ff9b::/96)", b + 12);
  if (nat64_prefix && b[4] == 0 && b[5] == 1) return "local-use NAT64 (64:ff9b:1::/48)";
  if (AllZero(b, 12)) return "an IPv4-compatible address (::/96, deprecated)";
  if (b[0] == 0x20 && b[1] == 0x02) return carried("a 6to4 form (2002::/16)", b + 2);
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) return "a Teredo tunnel address (2001::/32)";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local (fe80::/10)";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "site-local (fec0::/10, deprecated)";
  if ((b[0] & 0xfe) == 0xfc) return "unique local (fc00::/7)";
  if (b[0] == 0xff) return "multicast (ff00::/8)";
  return "";
}

Status CheckOutboundAddress(const IpAddress& address, const OutboundPolicy& policy) {
  if (policy.allow_local) return Status::Ok();
  const std::string why = NonPublicAddressClass(address);
  if (why.empty()) return Status::Ok();
  return PermissionDenied("address " + address.ToString() + " is " + why +
                          "; outbound requests go to public addresses only (" +
                          std::string(kAllowLocalCallbacksFlag) + " for development)");
}

}  // namespace quipu::node
