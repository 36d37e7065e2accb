// JSON Web Signatures (RFC 7515, compact serialization) checked against a
// JSON Web Key Set (RFC 7517): what an OpenID Connect relying party needs
// to trust an ID token. The signature work is libcjose's (Debian
// libcjose-dev, over OpenSSL); this file chooses the key and refuses what a
// relying party must never accept: "none", HMAC (an attacker who knows the
// public key could forge), a key of another type than the algorithm's, a
// `crit` header, oversized inputs.
#pragma once

#include <cstddef>
#include <array>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/status.h"

namespace quipu::crypto {

// Bounds on what a provider may send.
inline constexpr size_t kMaxJwsBytes = 16 * 1024;
inline constexpr size_t kMaxJwksBytes = 256 * 1024;
inline constexpr size_t kMaxJwksKeys = 32;

// The asymmetric algorithms accepted unless a caller narrows them.
inline constexpr std::array<std::string_view, 3> kDefaultJwsAlgs = {"RS256", "PS256", "ES256"};

struct VerifiedJws {
  std::string payload;  // the signed bytes (for an ID token: its JSON claims)
  std::string alg;
  std::string kid;  // "" when the header named none
};

// A parsed JWK Set: its signing keys, each usable for verification.
class JwkSet {
 public:
  // `json` is the document a provider's jwks_uri serves: {"keys": [...]}.
  // Keys that are not public signing keys quipu can use (use "enc", an
  // unknown kty, an HMAC secret) are skipped. kInvalidArgument for a
  // document that is not a JWK Set, is over kMaxJwksBytes or holds more
  // than kMaxJwksKeys keys, or has no usable key.
  static Result<JwkSet> Parse(std::string_view json);

  JwkSet(JwkSet&&) noexcept;
  JwkSet& operator=(JwkSet&&) noexcept;
  JwkSet(const JwkSet&) = delete;
  JwkSet& operator=(const JwkSet&) = delete;
  ~JwkSet();

  size_t size() const { return keys_.size(); }

  // Verifies `compact` (header.payload.signature): its header's `alg` must
  // be one of `algs` and match the key's type (RS/PS: RSA, ES256: EC
  // P-256); the key is the one whose `kid` the header names, or, when the
  // header names none, any key of that type (each is tried). Errors:
  // kInvalidArgument for a malformed or oversized token or one with a
  // `crit` header; kNotFound when no key of the set fits (the provider may
  // have rotated: read its keys again); kPermissionDenied for an algorithm
  // refused or a signature that does not verify.
  Result<VerifiedJws> Verify(std::string_view compact,
                             std::span<const std::string_view> algs = kDefaultJwsAlgs) const;

 private:
  struct Key {
    std::string kid;
    std::string kty;  // "RSA" | "EC"
    std::string crv;  // EC only
    std::string alg;  // "" when the key does not say
    void* jwk = nullptr;  // cjose_jwk_t*, owned
  };
  JwkSet() = default;
  std::vector<Key> keys_;
};

}  // namespace quipu::crypto
