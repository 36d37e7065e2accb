#include "node/id_token.h"

#include <optional>

#include <nlohmann/json.hpp>

#include "node/approvals.h"

namespace quipu::node {
namespace {

using nlohmann::json;

std::string Text(const json& claims, const char* name) {
  auto it = claims.find(name);
  return it != claims.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A NumericDate claim (seconds; a provider may write a fraction).
std::optional<int64_t> Seconds(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  if (!(v >= 0 && v < 1e13)) return std::nullopt;
  return static_cast<int64_t>(v);
}

// True only for a claim that is the boolean true: a contact a code may be
// sent to must be one the provider verified.
bool IsTrue(const json& claims, const char* name) {
  auto it = claims.find(name);
  return it != claims.end() && it->is_boolean() && it->get<bool>();
}

// The citizen's claims from `claims` (an ID token's or userinfo's), each
// only where `c` has none yet.
void TakeClaims(const json& claims, const IdTokenRules& rules, Citizen& c) {
  auto take = [](std::string& into, std::string value) {
    if (into.empty()) into = std::move(value);
  };
  take(c.document_number, Text(claims, rules.document_claim.c_str()));
  take(c.name, Text(claims, "name"));
  if (IsTrue(claims, "email_verified")) take(c.email, Text(claims, "email"));
  if (IsTrue(claims, "phone_number_verified")) take(c.phone, Text(claims, "phone_number"));
}

}  // namespace

Result<Citizen> CheckIdToken(const crypto::JwkSet& keys, std::string_view token, const IdTokenRules& rules) {
  QUIPU_ASSIGN_OR_RETURN(crypto::VerifiedJws jws, keys.Verify(token));
  const json claims = json::parse(jws.payload, nullptr, false);
  if (!claims.is_object()) return PermissionDenied("the ID token's claims are not a JSON object");
  if (Text(claims, "iss") != rules.issuer) return PermissionDenied("the ID token's issuer is not the configured provider");
  const json aud = claims.value("aud", json());
  bool audience = false;
  if (aud.is_string()) {
    audience = aud.get<std::string>() == rules.client_id;
  } else if (aud.is_array()) {
    for (const json& a : aud) audience = audience || (a.is_string() && a.get<std::string>() == rules.client_id);
    if (audience && aud.size() > 1 && Text(claims, "azp") != rules.client_id) {
      return PermissionDenied("the ID token has several audiences and its azp is not quipu");
    }
  }
  if (!audience) return PermissionDenied("the ID token is not for quipu (aud)");
  const auto exp = Seconds(claims, "exp");
  const auto iat = Seconds(claims, "iat");
  if (!exp || *exp + rules.leeway_seconds <= rules.now) return PermissionDenied("the ID token has expired (exp)");
  if (!iat || *iat > rules.now + rules.leeway_seconds) return PermissionDenied("the ID token is issued in the future (iat)");
  if (*iat + rules.max_age_seconds + rules.leeway_seconds < rules.now) return PermissionDenied("the ID token is stale (iat)");
  if (rules.nonce.empty() || Text(claims, "nonce") != rules.nonce) {
    return PermissionDenied("the ID token does not answer this login (nonce)");
  }
  Citizen c;
  c.subject = Text(claims, "sub");
  if (c.subject.empty()) return PermissionDenied("the ID token names no subject (sub)");
  TakeClaims(claims, rules, c);
  const bool absent = !claims.contains(rules.document_claim);
  if (!IsValidSubjectId(c.document_number) && !(absent && rules.document_may_come_from_userinfo)) {
    return PermissionDenied("the ID token carries no document number in '" + rules.document_claim + "'");
  }
  return c;
}

Result<Citizen> WithUserinfo(Citizen c, std::string_view userinfo_json, const IdTokenRules& rules) {
  const json claims = json::parse(userinfo_json, nullptr, false);
  if (!claims.is_object()) return PermissionDenied("the provider's userinfo answer is not a JSON object");
  if (Text(claims, "sub") != c.subject) {
    return PermissionDenied("the provider's userinfo answer is about another subject (sub)");
  }
  TakeClaims(claims, rules, c);
  if (!IsValidSubjectId(c.document_number)) {
    return PermissionDenied("neither the ID token nor userinfo carries a document number in '" +
                            rules.document_claim + "'");
  }
  return c;
}

Result<Citizen> CitizenFromUserinfo(std::string_view userinfo_json, const IdTokenRules& rules) {
  const json claims = json::parse(userinfo_json, nullptr, false);
  if (!claims.is_object()) return PermissionDenied("the provider's userinfo answer is not a JSON object");
  Citizen c;
  c.subject = Text(claims, "sub");
  if (c.subject.empty()) return PermissionDenied("the provider's userinfo answer names no subject (sub)");
  return WithUserinfo(std::move(c), userinfo_json, rules);
}

}  // namespace quipu::node
