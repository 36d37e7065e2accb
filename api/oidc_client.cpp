#include "api/oidc_client.h"

#include <nlohmann/json.hpp>

#include "api/http_client.h"
#include "crypto/encoding.h"
#include "crypto/random.h"
#include "crypto/sha256.h"

namespace quipu::api {
namespace {

using crypto::PercentEncode;

using nlohmann::json;

// Keys are read again at most this often when a token names an unknown
// key (so that a stream of forged kids cannot make the node hammer the
// provider).
constexpr auto kKeyRefreshInterval = std::chrono::seconds(60);

std::string RandomText(size_t bytes) { return crypto::Base64UrlEncode(crypto::RandomBytes(bytes)); }

// A GET of JSON from the provider, under the node's outbound policy.
OutboundRequest GetFrom(const OidcConfig& config, const std::string& url) {
  OutboundRequest req;
  req.method = "GET";
  req.url = url;
  req.timeout = config.timeout;
  req.policy = config.policy;
  req.headers.emplace_back("Accept", "application/json");
  return req;
}

Result<json> GetJson(const OidcConfig& config, const std::string& url, const char* what) {
  auto res = SendHttp(GetFrom(config, url));
  if (!res.ok()) return Unavailable(std::string(what) + ": " + res.status().message());
  if (res->status != 200) return Unavailable(std::string(what) + " answered HTTP " + std::to_string(res->status));
  json doc = json::parse(res->body, nullptr, false);
  if (!doc.is_object()) return InvalidArgument(std::string(what) + " is not a JSON object");
  return doc;
}

bool Lists(const json& doc, const char* field, std::string_view value) {
  auto it = doc.find(field);
  if (it == doc.end() || !it->is_array()) return false;
  for (const json& v : *it) {
    if (v.is_string() && v.get<std::string>() == value) return true;
  }
  return false;
}

std::string Field(const json& doc, const char* field) {
  auto it = doc.find(field);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace


Result<std::unique_ptr<OidcClient>> OidcClient::Discover(OidcConfig config) {
  std::string base = config.issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  QUIPU_ASSIGN_OR_RETURN(json doc, GetJson(config, base + "/.well-known/openid-configuration",
                                           "the identity provider's discovery document"));
  // Discovery §4.3: the issuer in the document is exactly the one configured.
  if (Field(doc, "issuer") != config.issuer) {
    return InvalidArgument("the provider's discovery document names issuer '" + Field(doc, "issuer") + "', not '" +
                           config.issuer + "'");
  }
  std::unique_ptr<OidcClient> client(new OidcClient(std::move(config)));
  client->authorization_endpoint_ = Field(doc, "authorization_endpoint");
  client->token_endpoint_ = Field(doc, "token_endpoint");
  client->jwks_uri_ = Field(doc, "jwks_uri");
  client->userinfo_endpoint_ = Field(doc, "userinfo_endpoint");  // optional (Discovery §3)
  if (client->authorization_endpoint_.empty() || client->token_endpoint_.empty() || client->jwks_uri_.empty()) {
    return InvalidArgument("the provider's discovery document lacks authorization_endpoint, token_endpoint or jwks_uri");
  }
  if (doc.contains("response_types_supported") && !Lists(doc, "response_types_supported", "code")) {
    return InvalidArgument("the provider does not offer the authorization code flow");
  }
  if (doc.contains("code_challenge_methods_supported") && !Lists(doc, "code_challenge_methods_supported", "S256")) {
    return InvalidArgument("the provider does not offer PKCE with S256");
  }
  // RFC 8414 / Discovery: client_secret_basic is the default.
  client->basic_auth_ = !doc.contains("token_endpoint_auth_methods_supported") ||
                        Lists(doc, "token_endpoint_auth_methods_supported", "client_secret_basic");
  if (!client->basic_auth_ && !Lists(doc, "token_endpoint_auth_methods_supported", "client_secret_post")) {
    return InvalidArgument("the provider offers neither client_secret_basic nor client_secret_post");
  }
  QUIPU_RETURN_IF_ERROR(client->RefreshKeys());
  return client;
}

Status OidcClient::RefreshKeys() {
  QUIPU_ASSIGN_OR_RETURN(json doc, GetJson(config_, jwks_uri_, "the identity provider's keys"));
  auto keys = crypto::JwkSet::Parse(doc.dump());
  if (!keys.ok()) return InvalidArgument("the identity provider's keys: " + keys.status().message());
  std::lock_guard lock(mu_);
  keys_ = std::make_shared<const crypto::JwkSet>(std::move(*keys));
  keys_read_ = std::chrono::steady_clock::now();
  return Status::Ok();
}

bool NeedsInteraction(std::string_view error) {
  return error == "login_required" || error == "consent_required" || error == "interaction_required" ||
         error == "account_selection_required";
}

OidcLogin OidcClient::Begin(bool silent) const {
  OidcLogin login;
  login.silent = silent;
  login.state = RandomText(24);
  login.nonce = RandomText(24);
  login.code_verifier = RandomText(32);  // 43 characters (RFC 7636 §4.1)
  const std::string challenge = crypto::Base64UrlEncode(crypto::Sha256(login.code_verifier));
  login.authorization_url = authorization_endpoint_ +
                            (authorization_endpoint_.find('?') == std::string::npos ? "?" : "&") +
                            "response_type=code&client_id=" + PercentEncode(config_.client_id) +
                            "&redirect_uri=" + PercentEncode(config_.redirect_uri) +
                            "&scope=" + PercentEncode(config_.scopes) + "&state=" + login.state +
                            "&nonce=" + login.nonce + "&code_challenge=" + challenge + "&code_challenge_method=S256" +
                            (silent ? "&prompt=none" : "");
  return login;
}

Result<node::Citizen> OidcClient::Finish(std::string_view code, const OidcLogin& login, int64_t now_seconds) {
  if (code.empty() || code.size() > 2048) return PermissionDenied("the provider's answer carries no usable code");
  OutboundRequest req;
  req.method = "POST";
  req.url = token_endpoint_;
  req.timeout = config_.timeout;
  req.policy = config_.policy;
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  req.headers.emplace_back("Accept", "application/json");
  req.body = "grant_type=authorization_code&code=" + PercentEncode(code) +
             "&redirect_uri=" + PercentEncode(config_.redirect_uri) + "&code_verifier=" + login.code_verifier;
  if (basic_auth_) {
    // RFC 6749 §2.3.1: both form-encoded, then Basic.
    const std::string pair = PercentEncode(config_.client_id) + ":" + PercentEncode(config_.client_secret);
    req.headers.emplace_back("Authorization", "Basic " + crypto::Base64Encode(crypto::AsBytes(pair)));
  } else {
    req.body += "&client_id=" + PercentEncode(config_.client_id) +
                "&client_secret=" + PercentEncode(config_.client_secret);
  }
  auto res = SendHttp(req);
  if (!res.ok()) return Unavailable("the identity provider's token endpoint: " + res.status().message());
  const json answer = json::parse(res->body, nullptr, false);
  if (res->status != 200 || !answer.is_object()) {
    const std::string error = answer.is_object() ? Field(answer, "error") : "";
    return PermissionDenied("the identity provider refused the login (HTTP " + std::to_string(res->status) +
                            (error.empty() ? "" : ", " + error) + ")");
  }
  const std::string id_token = Field(answer, "id_token");
  if (id_token.empty()) return PermissionDenied("the identity provider's answer has no id_token");
  node::IdTokenRules rules;
  rules.issuer = config_.issuer;
  rules.client_id = config_.client_id;
  rules.nonce = login.nonce;
  rules.document_claim = config_.document_claim;
  rules.now = now_seconds;
  rules.document_may_come_from_userinfo = !userinfo_endpoint_.empty();
  std::shared_ptr<const crypto::JwkSet> keys;
  std::chrono::steady_clock::time_point read;
  {
    std::lock_guard lock(mu_);
    keys = keys_;
    read = keys_read_;
  }
  auto citizen = node::CheckIdToken(*keys, id_token, rules);
  if (!citizen.ok() && citizen.status().code() == StatusCode::kNotFound &&
      std::chrono::steady_clock::now() - read > kKeyRefreshInterval && RefreshKeys().ok()) {
    std::lock_guard lock(mu_);
    keys = keys_;
    citizen = node::CheckIdToken(*keys, id_token, rules);
  }
  if (!citizen.ok() && citizen.status().code() == StatusCode::kNotFound) {
    return PermissionDenied(citizen.status().message());
  }
  if (!citizen.ok()) return citizen;
  // A strict provider gives the scopes' claims at userinfo only: ask it
  // for what the token lacks (the document number, or a contact).
  const bool lacks_document = citizen->document_number.empty();
  if (!lacks_document && !citizen->email.empty() && !citizen->phone.empty()) return citizen;
  if (userinfo_endpoint_.empty()) return citizen;
  auto completed = Userinfo(Field(answer, "access_token"), *citizen, rules);
  if (!completed.ok() && !lacks_document) return citizen;  // the contacts were a bonus
  return completed;
}

Result<node::Citizen> OidcClient::Userinfo(const std::string& access_token, const node::Citizen& citizen,
                                           const node::IdTokenRules& rules) const {
  if (access_token.empty() || access_token.size() > 8192) {
    return PermissionDenied("the identity provider's answer has no access_token to ask userinfo with");
  }
  OutboundRequest req = GetFrom(config_, userinfo_endpoint_);
  req.headers.emplace_back("Authorization", "Bearer " + access_token);
  auto res = SendHttp(req);
  if (!res.ok()) return Unavailable("the identity provider's userinfo endpoint: " + res.status().message());
  if (res->status != 200) {
    return PermissionDenied("the identity provider's userinfo endpoint answered HTTP " + std::to_string(res->status));
  }
  return node::WithUserinfo(citizen, res->body, rules);
}

Result<node::Citizen> OidcClient::CitizenOfAccessToken(const std::string& access_token) const {
  if (userinfo_endpoint_.empty()) return FailedPrecondition("the identity provider has no userinfo endpoint");
  if (access_token.empty() || access_token.size() > 8192) return PermissionDenied("an access token of 1 to 8192 bytes");
  OutboundRequest req = GetFrom(config_, userinfo_endpoint_);
  req.headers.emplace_back("Authorization", "Bearer " + access_token);
  auto res = SendHttp(req);
  if (!res.ok()) return Unavailable("the identity provider's userinfo endpoint: " + res.status().message());
  if (res->status == 400 || res->status == 401 || res->status == 403) {
    return PermissionDenied("the identity provider refused the access token (HTTP " + std::to_string(res->status) + ")");
  }
  if (res->status != 200) {
    return Unavailable("the identity provider's userinfo endpoint answered HTTP " + std::to_string(res->status));
  }
  node::IdTokenRules rules;
  rules.document_claim = config_.document_claim;
  return node::CitizenFromUserinfo(res->body, rules);
}

}  // namespace quipu::api
