#include "api/client_auth.h"

namespace quipu::api {

Result<node::ClientInfo> AuthenticateClient(node::Clients& clients, const http::fields& headers) {
  std::string_view token = BearerToken(headers);
  if (token.empty()) return PermissionDenied("send Authorization: Bearer <client token>");
  return clients.Authenticate(token);
}

Handler AsClient(node::Clients& clients, ClientHandler handler) {
  return [&clients, handler = std::move(handler)](const Request& req) {
    auto client = AuthenticateClient(clients, req.headers);
    if (!client.ok()) return Unauthorized(client.status().message());
    return handler(*client, req);
  };
}

RouteOptions ForClients(node::Clients& clients, RouteOptions options) {
  options.admit = [&clients](const http::fields& headers) -> std::optional<Response> {
    auto client = AuthenticateClient(clients, headers);
    if (!client.ok()) return Unauthorized(client.status().message());
    return std::nullopt;
  };
  return options;
}

}  // namespace quipu::api
