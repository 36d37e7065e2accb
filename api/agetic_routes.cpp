#include "api/agetic_routes.h"

#include "api/agetic_json.h"
#include "api/client_auth.h"

#include <algorithm>
#include <chrono>

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
Response RefuseStatus(const Status& s) {
  Response r = agetic::Refuse(agetic::RefusalFor(s));
  if (r.status >= 500) r.log_detail = s.ToString();
  return r;
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
  if (!routes.citizen_of_token || routes.page_base.empty()) {
    return agetic::Envelope(503, false, "El nodo no tiene configurado el inicio de sesión ciudadano");
  }
  // A bearer token is visible ASCII (RFC 6750 §2.1): anything else is not
  // one, and is not sent to the provider.
  if (s.access_token.size() > 8192 || std::any_of(s.access_token.begin(), s.access_token.end(),
                                                  [](char c) { return c < 0x21 || c > 0x7e; })) {
    return agetic::Envelope(412, false, "Token inválido");
  }
  if (token_checks && !token_checks->Allow(client.id)) {
    return agetic::Envelope(429, false, "Demasiadas verificaciones de token; intente en " +
                                            std::to_string(std::max<int64_t>(1, token_checks->WaitMicros(client.id) /
                                                                                    1000000)) +
                                            " s");
  }
  // The token binds the request to its citizen, who then logs in on the
  // approval page and gives their second factor there.
  auto citizen = routes.citizen_of_token(s.access_token);
  if (!citizen.ok()) {
    if (citizen.status().code() == StatusCode::kPermissionDenied) return agetic::Envelope(412, false, "Token inválido");
    if (citizen.status().code() == StatusCode::kFailedPrecondition) {
      return agetic::Envelope(503, false, "El proveedor de identidad del nodo no ofrece userinfo");
    }
    Response r = agetic::Envelope(503, false, "El servicio de identidad no responde; intente más tarde");
    r.log_detail = citizen.status().ToString();
    return r;
  }
  node::ApprovalRequest request;
  request.subject = citizen->document_number;
  request.fingerprint = agetic::Fingerprint(s, multiple ? "/api/solicitudes/multiples" : "/api/solicitudes",
                                            citizen->document_number);
  request.documents = std::move(s.documents);
  request.description = std::move(s.descripcion);
  request.client_key = s.id_tramite;
  request.dialect = node::Dialect::kAgetic;
  auto created = routes.approvals->Create(client, request);
  if (!created.ok()) return RefuseStatus(created.status());
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
  router.Add(http::verb::post, "/api/documentos/verificar",
             AsClient(
                 clients, [shared](const node::ClientInfo&, const Request& req) { return h::Verificar(*shared, req); },
                 agetic::Unauthorized),
             options);
}

}  // namespace quipu::api
