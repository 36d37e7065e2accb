#include "api/agetic_routes.h"

#include "api/agetic_json.h"
#include "api/client_auth.h"

#include <algorithm>
#include <chrono>

#include "crypto/encoding.h"
#include "node/qr_render.h"

namespace quipu::api {
namespace {

using nlohmann::json;

// The body as JSON, or the envelope that refuses it.
std::optional<Response> ReadBody(const Request& req, json& body) {
  if (auto bad = ReadJsonBody(req, body)) {
    return agetic::Envelope(bad->status == 415 ? 415 : 400, false, "El cuerpo de la solicitud no es JSON válido");
  }
  return std::nullopt;
}

// A refusal for a Status, with the Status kept for the node's log when the
// fault is the node's.
Response RefuseStatus(const Status& s, const agetic::Refusal& refusal) {
  Response r = agetic::Refuse(refusal);
  if (r.status >= 500) r.log_detail = s.ToString();
  return r;
}
Response RefuseStatus(const Status& s) {
  Response r = agetic::Refuse(agetic::RefusalFor(s));
  if (r.status >= 500) r.log_detail = s.ToString();
  return r;
}

// The citizen an access token names, asked at the provider; the refusal
// otherwise (412 for a token that is not one or that the provider refuses,
// 429 beyond the client's lookups, 503 when there is no provider or it
// does not answer).
std::optional<Response> CitizenOfToken(const AgeticRoutes& routes, const node::ClientInfo& client,
                                       const std::string& token, node::RateLimiter* token_checks,
                                       node::Citizen& out) {
  if (!routes.citizen_of_token) {
    return agetic::Envelope(503, false, "El nodo no tiene configurado el inicio de sesión ciudadano");
  }
  // A bearer token is visible ASCII (RFC 6750 §2.1): anything else is not
  // one, and is not sent to the provider.
  if (token.size() > 8192 ||
      std::any_of(token.begin(), token.end(), [](char c) { return c < 0x21 || c > 0x7e; })) {
    return agetic::Envelope(412, false, "Token inválido");
  }
  if (token_checks && !token_checks->Allow(client.id)) {
    return agetic::Envelope(429, false, "Demasiadas verificaciones de token; intente en " +
                                            std::to_string(std::max<int64_t>(1, token_checks->WaitMicros(client.id) /
                                                                                    1000000)) +
                                            " s");
  }
  auto citizen = routes.citizen_of_token(token);
  if (!citizen.ok()) {
    if (citizen.status().code() == StatusCode::kPermissionDenied) return agetic::Envelope(412, false, "Token inválido");
    if (citizen.status().code() == StatusCode::kFailedPrecondition) {
      return agetic::Envelope(503, false, "El proveedor de identidad del nodo no ofrece userinfo");
    }
    Response r = agetic::Envelope(503, false, "El servicio de identidad no responde; intente más tarde");
    r.log_detail = citizen.status().ToString();
    return r;
  }
  out = std::move(*citizen);
  return std::nullopt;
}

}  // namespace

namespace agetic_handlers {

Response Solicitud(const AgeticRoutes& routes, const node::ClientInfo& client, const Request& req, bool multiple,
                   node::RateLimiter* token_checks) {
  json body;
  if (auto bad = ReadBody(req, body)) return *bad;
  agetic::Solicitud s;
  if (auto refused = agetic::ReadSolicitud(body, multiple, s)) return agetic::Refuse(*refused);
  body = json();  // the files, decoded into `s`, are not kept twice
  if (routes.page_base.empty()) {
    return agetic::Envelope(503, false, "El nodo no tiene configurado el inicio de sesión ciudadano");
  }
  node::Citizen citizen;
  if (auto refused = CitizenOfToken(routes, client, s.access_token, token_checks, citizen)) return *refused;
  node::ApprovalRequest request;
  request.subject = citizen.document_number;
  request.fingerprint = agetic::Fingerprint(s, multiple ? "/api/solicitudes/multiples" : "/api/solicitudes",
                                            citizen.document_number);
  request.documents = std::move(s.documents);
  request.description = std::move(s.descripcion);
  request.client_key = s.id_tramite;
  request.dialect = node::Dialect::kAgetic;
  auto created = routes.approvals->Create(client, request);
  if (!created.ok()) return RefuseStatus(created.status());
  // The page the link opens asks the citizen to log in (silently, when
  // their browser holds the provider's session from the institution's own
  // login) and for their second factor: docs/agetic-api.md says why the
  // access token alone does not open it.
  return agetic::Created(*created, routes.page_base + "/aprobar/" + created->id);
}

Response Verificar(const AgeticRoutes& routes, const Request& req) {
  json body;
  if (auto bad = ReadBody(req, body)) return *bad;
  std::vector<uint8_t> bytes;
  if (auto refused = agetic::ReadArchivo(body, bytes)) return agetic::Refuse(*refused);
  body = json();
  const node::DocType type = node::SniffDocType(bytes);
  if (type == node::DocType::kRaw) return agetic::Envelope(412, false, "El documento enviado no es válido");
  auto v = node::VerifyDocument(*routes.ledger, *routes.pdf, bytes, type, routes.revocations);
  if (!v.ok()) {
    const StatusCode code = v.status().code();
    if (code == StatusCode::kUnprocessable || code == StatusCode::kInvalidArgument) {
      return agetic::Envelope(412, false, "El documento enviado no es válido");
    }
    return RefuseStatus(v.status());
  }
  return agetic::Verified(*v, routes.client_name);
}

Response QrGenerar(const AgeticRoutes& routes, const node::ClientInfo& client, const Request& req,
                   node::RateLimiter* token_checks) {
  json body;
  if (auto bad = ReadBody(req, body)) return *bad;
  agetic::QrGenerar g;
  if (auto refused = agetic::ReadQrGenerar(body, g)) return agetic::Refuse(*refused);
  node::Citizen citizen;
  if (auto refused = CitizenOfToken(routes, client, g.access_token, token_checks, citizen)) return *refused;
  node::QrDraftRequest request;
  request.client_key = g.codigo_transaccion;
  request.fingerprint = agetic::QrFingerprint(g, citizen.document_number);
  request.document = std::move(g.document);
  auto draft = routes.qr->Prepare(client, request);
  if (!draft.ok()) return RefuseStatus(draft.status(), agetic::QrRefusalFor(draft.status(), agetic::QrStep::kGenerar));
  auto m = node::EncodeQr(draft->text, 'M');
  if (!m.ok()) return RefuseStatus(m.status());
  auto png = node::QrPng(*m, 4, 4);
  if (!png.ok()) return RefuseStatus(png.status());
  const std::string link = g.mostrar_enlace ? routes.public_url + "/?qr=" + crypto::PercentEncode(draft->text) : "";
  return agetic::QrGenerated(*draft, crypto::Base64Encode(*png), link);
}

Response QrConfirmacion(const AgeticRoutes& routes, const node::ClientInfo& client, const Request& req) {
  json body;
  if (auto bad = ReadBody(req, body)) return *bad;
  std::string codigo;
  if (auto refused = agetic::ReadCodigoTransaccion(body, codigo)) return agetic::Refuse(*refused);
  auto confirmed = routes.qr->Confirm(client, codigo);
  if (!confirmed.ok()) return RefuseStatus(confirmed.status(), agetic::QrRefusalFor(confirmed.status(), agetic::QrStep::kConfirmar));
  return agetic::QrConfirmedAnswer(codigo, *confirmed);
}

Response QrAnulacion(const AgeticRoutes& routes, const node::ClientInfo& client, const Request& req) {
  json body;
  if (auto bad = ReadBody(req, body)) return *bad;
  std::string codigo;
  if (auto refused = agetic::ReadCodigoTransaccion(body, codigo)) return agetic::Refuse(*refused);
  auto annulled = routes.qr->Annul(client, codigo, agetic::kAnnulmentReason);
  if (!annulled.ok()) return RefuseStatus(annulled.status(), agetic::QrRefusalFor(annulled.status(), agetic::QrStep::kAnular));
  return agetic::QrAnnulledAnswer(codigo, *annulled);
}

}  // namespace agetic_handlers

void AddAgeticRoutes(Router& router, AgeticRoutes routes) {
  namespace h = agetic_handlers;
  if (!routes.clock) {
    routes.clock = [] {
      return std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  auto token_checks = std::make_shared<node::RateLimiter>(routes.token_checks_per_client_hour,
                                                          routes.token_checks_burst, routes.clock);
  auto shared = std::make_shared<const AgeticRoutes>(std::move(routes));
  node::Clients& clients = *shared->clients;
  const RouteOptions options = ForClients(clients, {Exec::kWorker, kDocumentBody}, agetic::Unauthorized);
  for (bool multiple : {false, true}) {
    router.Add(http::verb::post, multiple ? "/api/solicitudes/multiples" : "/api/solicitudes",
               AsClient(
                   clients,
                   [shared, multiple, token_checks](const node::ClientInfo& c, const Request& req) {
                     return h::Solicitud(*shared, c, req, multiple, token_checks.get());
                   },
                   agetic::Unauthorized),
               options);
  }
  const RouteOptions small = ForClients(clients, {Exec::kWorker, kSmallBody}, agetic::Unauthorized);
  router.Add(http::verb::post, "/api/qr/generar",
             AsClient(
                 clients,
                 [shared, token_checks](const node::ClientInfo& c, const Request& req) {
                   return h::QrGenerar(*shared, c, req, token_checks.get());
                 },
                 agetic::Unauthorized),
             small);
  router.Add(http::verb::post, "/api/qr/confirmacion",
             AsClient(
                 clients, [shared](const node::ClientInfo& c, const Request& req) { return h::QrConfirmacion(*shared, c, req); },
                 agetic::Unauthorized),
             small);
  router.Add(http::verb::post, "/api/qr/anulacion",
             AsClient(
                 clients, [shared](const node::ClientInfo& c, const Request& req) { return h::QrAnulacion(*shared, c, req); },
                 agetic::Unauthorized),
             small);
  router.Add(http::verb::post, "/api/documentos/verificar",
             AsClient(
                 clients, [shared](const node::ClientInfo&, const Request& req) { return h::Verificar(*shared, req); },
                 agetic::Unauthorized),
             options);
}

}  // namespace quipu::api
