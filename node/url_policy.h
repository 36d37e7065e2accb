// Where the node may send things: the one policy for every outbound URL
// (client notification URIs, client redirect URIs, the delivery webhook).
// A client registers a URI once and the node POSTs to it for years, from
// inside the operator's network: the URI must not be a way to reach that
// network (cloud metadata at 169.254.169.254, an admin port on localhost,
// a database on 10/8). Two checks, one policy:
//
//   CheckOutboundUrl      at registration and before each send: the URL's
//                         text (https only, no user info, a valid port, no
//                         non-public IP literal, no localhost name);
//   CheckOutboundAddress  at send time, on every address the host name
//                         resolved to; the sender connects only to the
//                         addresses that passed, so a name that resolves
//                         to a public address when registered and to a
//                         private one later (DNS rebinding) reaches nothing.
//
// OutboundPolicy::allow_local (`quipu serve --allow-local-callbacks`) is
// for development: it admits http:// to localhost, 127.0.0.1 and [::1] and
// any non-public address. This file knows no sockets and no resolver.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/status.h"

namespace quipu::node {

// The flag that sets OutboundPolicy::allow_local, named in error messages
// so that whoever meets the refusal learns how development setups pass.
inline constexpr std::string_view kAllowLocalCallbacksFlag = "--allow-local-callbacks";

struct OutboundPolicy {
  // Development only: http://localhost, http://127.0.0.1 and http://[::1]
  // URLs, and loopback, private and link-local addresses, are allowed.
  bool allow_local = false;
};

struct ParsedUrl {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // lower case; an IPv6 literal without its brackets
  std::string port;    // decimal 1..65535; 80 or 443 when absent
  std::string target;  // path and query ("/" when absent), fragment dropped
};

// Parses "scheme://host[:port][/path][?query][#fragment]"; the host may be
// an IPv6 literal in brackets. Syntax only: no policy (see
// CheckOutboundUrl). A host whose last label is a number (all digits, or
// 0x and hex digits) is an IPv4 address as browsers read it (WHATWG URL),
// and must then be written as four decimal numbers 0..255 without leading
// zeros: "2130706433", "0x7f.1", "0177.0.0.1" and "127.1" are refused,
// because resolvers read them as 127.0.0.1 while they look like names.
// Errors (kInvalidArgument; the message says which part is wrong and
// leaves naming the URL to the caller, as do all messages here): no
// "://", a scheme other than http/https, user info, an empty or malformed
// host, a non-canonical IPv4 address, a port outside 1..65535, spaces or
// control characters anywhere.
// Thread-safe (pure).
Result<ParsedUrl> ParseUrl(std::string_view url);

// Whether `url` may be registered or sent to under `policy`:
//   - https:// only; http:// only to localhost, 127.0.0.1 or [::1], and
//     only with policy.allow_local;
//   - no user info (user:pw@host), a port in 1..65535;
//   - an IP literal host must pass CheckOutboundAddress; the names
//     "localhost" and "*.localhost" (RFC 6761: always loopback) need
//     policy.allow_local.
// Host names are not resolved here: SendHttp checks each resolved address.
// Errors: kInvalidArgument, with a message that names the rule and, for
// what only development allows, the flag (kAllowLocalCallbacksFlag).
// Thread-safe (pure).
Status CheckOutboundUrl(std::string_view url, const OutboundPolicy& policy);

// An IPv4 (4 bytes) or IPv6 (16 bytes) address, network byte order.
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4
  std::string ToString() const;     // 192.0.2.1, 2001:db8::1
};

// An IP literal as it stands in a URL's host (IPv6 without brackets), in
// the canonical textual forms only (inet_pton: no octal, hex or short
// IPv4); nullopt for anything else, host names included. Thread-safe.
std::optional<IpAddress> ParseIpLiteral(std::string_view text);

// Why an address is not public ("private (10/8)"), or "" when it is. Refused:
//   IPv4  0/8 (this network), 10/8, 172.16/12, 192.168/16 (private),
//         100.64/10 (shared CGNAT space), 127/8 (loopback), 169.254/16
//         (link-local, cloud metadata), 192.0.0/24 (IETF protocol
//         assignments), 198.18/15 (benchmarking), 224/4 (multicast),
//         240/4 (reserved), 255.255.255.255 (broadcast);
//   IPv6  :: (unspecified), ::1 (loopback), fe80::/10 (link-local),
//         fec0::/10 (site-local), fc00::/7 (unique local), ff00::/8
//         (multicast), 2001::/32 (Teredo), 64:ff9b:1::/48 (local NAT64),
//         the deprecated IPv4-compatible ::/96, and the forms that carry
//         an IPv4 address, judged by that address: ::ffff:a.b.c.d
//         (mapped), ::ffff:0:a.b.c.d (translated), 64:ff9b::a.b.c.d
//         (NAT64), 2002:AABB:CCDD::/48 (6to4).
// Documentation ranges (192.0.2/24, 2001:db8::/32, ...) are not refused:
// they reach nothing inside a network. Thread-safe (pure).
std::string NonPublicAddressClass(const IpAddress& address);

// Ok for a public address, or any address under policy.allow_local.
// Errors: kPermissionDenied "address 10.0.0.1 is private (10/8); outbound
// requests go to public addresses only (--allow-local-callbacks for
// development)". Thread-safe (pure).
Status CheckOutboundAddress(const IpAddress& address, const OutboundPolicy& policy);

}  // namespace quipu::node
