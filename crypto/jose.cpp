#include "crypto/jose.h"

#include <cjose/cjose.h>

#include <algorithm>
#include <memory>

#include <nlohmann/json.hpp>

namespace quipu::crypto {
namespace {

using nlohmann::json;

struct JwsDeleter {
  void operator()(cjose_jws_t* jws) const { cjose_jws_release(jws); }
};

// The JSON object a base64url segment encodes, or a discarded value.
json DecodeSegment(std::string_view b64) {
  uint8_t* raw = nullptr;
  size_t len = 0;
  cjose_err err;
  if (!cjose_base64url_decode(b64.data(), b64.size(), &raw, &len, &err)) return json(json::value_t::discarded);
  json out = json::parse(reinterpret_cast<const char*>(raw), reinterpret_cast<const char*>(raw) + len, nullptr, false);
  cjose_get_dealloc()(raw);
  return out;
}

bool AlgFitsKey(std::string_view alg, const std::string& kty, const std::string& crv) {
  if (alg == "RS256" || alg == "PS256") return kty == "RSA";
  if (alg == "ES256") return kty == "EC" && crv == "P-256";
  return false;
}

}  // namespace

JwkSet::JwkSet(JwkSet&& other) noexcept : keys_(std::move(other.keys_)) { other.keys_.clear(); }
JwkSet& JwkSet::operator=(JwkSet&& other) noexcept {
  if (this != &other) {
    for (Key& k : keys_) cjose_jwk_release(static_cast<cjose_jwk_t*>(k.jwk));
    keys_ = std::move(other.keys_);
    other.keys_.clear();
  }
  return *this;
}
JwkSet::~JwkSet() {
  for (Key& k : keys_) cjose_jwk_release(static_cast<cjose_jwk_t*>(k.jwk));
}

Result<JwkSet> JwkSet::Parse(std::string_view text) {
  if (text.size() > kMaxJwksBytes) return InvalidArgument("the JWK Set is over " + std::to_string(kMaxJwksBytes) + " bytes");
  const json doc = json::parse(text, nullptr, false);
  if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    return InvalidArgument("not a JWK Set: {\"keys\": [...]} expected");
  }
  if (doc["keys"].size() > kMaxJwksKeys) return InvalidArgument("the JWK Set holds over " + std::to_string(kMaxJwksKeys) + " keys");
  JwkSet set;
  for (const json& k : doc["keys"]) {
    if (!k.is_object()) continue;
    const std::string kty = k.value("kty", "");
    if (kty != "RSA" && kty != "EC") continue;        // oct (HMAC) and others: never for a relying party
    if (k.value("use", "sig") != "sig") continue;     // encryption keys
    if (k.contains("d")) continue;                    // a private key published by mistake: not ours to use
    cjose_err err;
    const std::string one = k.dump();
    cjose_jwk_t* jwk = cjose_jwk_import(one.data(), one.size(), &err);
    if (jwk == nullptr) continue;
    set.keys_.push_back({k.value("kid", ""), kty, k.value("crv", ""), k.value("alg", ""), jwk});
  }
  if (set.keys_.empty()) return InvalidArgument("the JWK Set has no RSA or EC signing key");
  return set;
}

Result<VerifiedJws> JwkSet::Verify(std::string_view compact, std::span<const std::string_view> algs) const {
  if (compact.size() > kMaxJwsBytes) return InvalidArgument("the token is over " + std::to_string(kMaxJwsBytes) + " bytes");
  if (std::count(compact.begin(), compact.end(), '.') != 2) return InvalidArgument("not a compact JWS (three parts)");
  const json header = DecodeSegment(compact.substr(0, compact.find('.')));
  if (!header.is_object()) return InvalidArgument("the token's header is not a JSON object");
  if (header.contains("crit")) return InvalidArgument("the token has critical header parameters quipu does not know");
  const std::string alg = header.contains("alg") && header["alg"].is_string() ? header["alg"].get<std::string>() : "";
  if (std::find(algs.begin(), algs.end(), alg) == algs.end()) {
    return PermissionDenied("algorithm '" + alg + "' is not accepted");
  }
  const std::string kid = header.contains("kid") && header["kid"].is_string() ? header["kid"].get<std::string>() : "";
  std::vector<const Key*> candidates;
  for (const Key& k : keys_) {
    if (!AlgFitsKey(alg, k.kty, k.crv) || (!k.alg.empty() && k.alg != alg)) continue;
    if (!kid.empty() && k.kid != kid) continue;
    candidates.push_back(&k);
  }
  if (candidates.empty()) {
    return NotFound("no key of the provider's set fits the token (kid '" + kid + "', " + alg + ")");
  }
  cjose_err err;
  std::unique_ptr<cjose_jws_t, JwsDeleter> jws(cjose_jws_import(compact.data(), compact.size(), &err));
  if (!jws) return InvalidArgument(std::string("not a compact JWS: ") + err.message);
  // A header without kid is tried against every key that fits: the
  // signature must still be the provider's.
  bool verified = false;
  for (const Key* key : candidates) {
    if (cjose_jws_verify(jws.get(), static_cast<const cjose_jwk_t*>(key->jwk), &err)) {
      verified = true;
      break;
    }
  }
  if (!verified) return PermissionDenied("the token's signature does not verify");
  uint8_t* plain = nullptr;
  size_t plain_len = 0;
  if (!cjose_jws_get_plaintext(jws.get(), &plain, &plain_len, &err)) {
    return InvalidArgument(std::string("the token has no payload: ") + err.message);
  }
  VerifiedJws out;
  out.payload.assign(reinterpret_cast<const char*>(plain), plain_len);  // owned by the jws
  out.alg = alg;
  out.kid = kid;
  return out;
}

}  // namespace quipu::crypto
