// Who logged in: an OpenID Connect ID token (OpenID Connect Core 1.0,
// §3.1.3.7) checked against the provider's keys and the login it answers,
// and the citizen it names. The signature check is crypto/jose's; this
// file holds the rules about the claims.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/jose.h"
#include "crypto/status.h"

namespace quipu::node {

// What a token must say to be accepted for one login.
struct IdTokenRules {
  std::string issuer;     // exactly the provider's `issuer`
  std::string client_id;  // quipu's client id at the provider: in `aud`
  std::string nonce;      // the one sent with this login's authorization request
  // The claim that carries the citizen's document number (Ciudadanía
  // Digital's own name for it is configured per node).
  std::string document_claim = "document_number";
  int64_t now = 0;                   // unix seconds
  int64_t leeway_seconds = 60;       // clock skew allowed on exp and iat
  int64_t max_age_seconds = 600;     // a token issued longer ago is stale
  // A token without the document claim is accepted (document_number "")
  // when the caller will ask userinfo for it (WithUserinfo); a document
  // claim that is there but malformed is refused either way.
  bool document_may_come_from_userinfo = false;
};

// The citizen an accepted token names.
struct Citizen {
  std::string subject;          // `sub`: the provider's stable id
  std::string document_number;  // the document claim (IsValidSubjectId's shape)
  std::string name;             // `name`, when given
  std::string email;            // `email`, when given with `email_verified` true
  std::string phone;            // `phone_number`, when given with `phone_number_verified` true
};

// Checks `token`'s signature (RS256, PS256 or ES256 by one of `keys`) and
// its claims: `iss` equal to the rules' issuer; `aud` the client id or a
// list holding it (with `azp` equal to it when there are several); `exp`
// in the future and `iat` neither in the future nor older than
// max_age_seconds (both with leeway); `nonce` equal; a `sub`; the
// document claim a document number. Errors: crypto::JwkSet::Verify's
// (kNotFound: no key fits), kPermissionDenied naming the claim that fails.
Result<Citizen> CheckIdToken(const crypto::JwkSet& keys, std::string_view token, const IdTokenRules& rules);

// The citizen of a checked ID token completed from the provider's userinfo
// answer (OpenID Connect Core §5.3, a JSON object): a strict provider gives
// the scopes' claims (the document number, name, e-mail, phone) only there.
// Its `sub` must be the token's (§5.3.4; kPermissionDenied otherwise);
// what the token already said is kept; afterwards the document claim must
// be a document number (kPermissionDenied).
Result<Citizen> WithUserinfo(Citizen from_token, std::string_view userinfo_json, const IdTokenRules& rules);

// The citizen of a userinfo answer to an access token alone, with no ID
// token beside it (an institution's token for the citizen: AGETIC's
// accessToken): `sub` and the document claim (a document number) must be
// there, the contact claims are taken as WithUserinfo takes them.
// kPermissionDenied naming what is missing.
Result<Citizen> CitizenFromUserinfo(std::string_view userinfo_json, const IdTokenRules& rules);

}  // namespace quipu::node
