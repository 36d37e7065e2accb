// quipu as an OpenID Connect relying party (OpenID Connect Core 1.0 and
// Discovery 1.0): the citizen logs in at the identity provider (Ciudadanía
// Digital; in development the provider in dev/oidc/) with the
// authorization code flow, PKCE (S256), `state` and `nonce`. This file
// talks to the provider (discovery, keys, the token endpoint); the rules
// on the ID token are node/id_token.h's.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "crypto/jose.h"
#include "crypto/status.h"
#include "node/id_token.h"
#include "node/url_policy.h"

namespace quipu::api {

struct OidcConfig {
  std::string issuer;         // e.g. https://id.gob.bo (its discovery document must name exactly this)
  std::string client_id;      // quipu's registration at the provider
  std::string client_secret;  // read from a file (mode 0600); never logged
  std::string redirect_uri;   // the node's callback, as registered: <public URL>/aprobar/callback
  std::string scopes = "openid profile email phone";
  std::string document_claim = "document_number";
  node::OutboundPolicy policy;  // a development provider on 127.0.0.1 needs allow_local
  std::chrono::milliseconds timeout{10000};
};

// One login in flight: what the authorization request sent and the
// callback must match. Kept by the node (api/citizen_sessions.h), never
// given to the browser except `state` (in the URL).
struct OidcLogin {
  std::string state;
  std::string nonce;
  std::string code_verifier;
  std::string authorization_url;  // where the browser is sent
  // Asked with prompt=none (OpenID Connect Core §3.1.2.1): the provider
  // answers at once, logged in when the browser has a session and consent
  // there, else with an error (login_required, consent_required, ...).
  bool silent = false;
};

// Whether a callback's `error` is a silent login's "the citizen must see
// the provider" (OpenID Connect Core §3.1.2.6), to be asked again aloud.
bool NeedsInteraction(std::string_view error);

// Thread-safe.
class OidcClient {
 public:
  // Reads the provider's discovery document
  // (<issuer>/.well-known/openid-configuration) and its JWK Set. Errors:
  // kUnavailable for a provider that cannot be reached or answers other
  // than 200; kInvalidArgument for a document whose issuer is not
  // `config.issuer`, that lacks the endpoints, does not offer the code
  // flow or S256, or whose keys are not a usable JWK Set.
  static Result<std::unique_ptr<OidcClient>> Discover(OidcConfig config);

  // A new login: fresh random state, nonce and PKCE verifier, and the
  // authorization URL that carries the state, nonce and S256 challenge
  // (and prompt=none when `silent`).
  OidcLogin Begin(bool silent = false) const;

  // The callback's `code` exchanged at the token endpoint (with the
  // login's verifier, the client's secret by HTTP Basic or in the body as
  // the provider offers) and the ID token checked (node::CheckIdToken with
  // the login's nonce; the keys are read again once when the token names
  // a key the node does not know: the provider rotated). When the token
  // lacks the document claim, or every contact claim, and the provider has
  // a userinfo endpoint, the rest is read there with the access token
  // (node::WithUserinfo: the same `sub`). Errors: kUnavailable (the
  // provider), kPermissionDenied (the provider refused the code, or the
  // token or userinfo fails a check).
  Result<node::Citizen> Finish(std::string_view code, const OidcLogin& login, int64_t now_seconds);

  // The citizen an access token was issued for (to quipu or to another
  // client of the same provider, such as an institution), asked at the
  // userinfo endpoint with the token (node::CitizenFromUserinfo). Errors:
  // kFailedPrecondition when the provider has no userinfo endpoint,
  // kPermissionDenied when it refuses the token (HTTP 400, 401 or 403) or
  // the answer fails a check, kUnavailable otherwise.
  Result<node::Citizen> CitizenOfAccessToken(const std::string& access_token) const;

  const OidcConfig& config() const { return config_; }

 private:
  OidcClient(OidcConfig config) : config_(std::move(config)) {}
  Status RefreshKeys();
  Result<node::Citizen> Userinfo(const std::string& access_token, const node::Citizen& citizen,
                                 const node::IdTokenRules& rules) const;

  const OidcConfig config_;
  std::string authorization_endpoint_;
  std::string token_endpoint_;
  std::string jwks_uri_;
  std::string userinfo_endpoint_;  // "" when the provider names none
  bool basic_auth_ = true;
  mutable std::mutex mu_;
  std::shared_ptr<const crypto::JwkSet> keys_;
  std::chrono::steady_clock::time_point keys_read_{};
};

}  // namespace quipu::api
