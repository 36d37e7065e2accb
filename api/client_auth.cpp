#include "api/client_auth.h"

namespace quipu::api {

Result<node::ClientInfo> AuthenticateClient(node::Clients& clients, const http::fields& headers) {
  std::string_view token = BearerToken(headers);
  if (token.empty()) return PermissionDenied("send Authorization: Bearer <client token>");
  return clients.Authenticate(token);
}

namespace {

RefuseClient OrUnauthorized(RefuseClient refuse) {
  if (refuse) return refuse;
  return [](std::string_view why) { return Unauthorized(why); };
}

}  // namespace

Handler AsClient(node::Clients& clients, ClientHandler handler, RefuseClient refuse) {
  return [&clients, handler = std::move(handler), refuse = OrUnauthorized(std::move(refuse))](const Request& req) {
    auto client = AuthenticateClient(clients, req.headers);
    if (!client.ok()) return refuse(client.status().message());
    return handler(*client, req);
  };
}

RouteOptions ForClients(node::Clients& clients, RouteOptions options, RefuseClient refuse) {
  options.admit = [&clients, refuse = OrUnauthorized(std::move(refuse))](
                      const http::fields& headers) -> std::optional<Response> {
    auto client = AuthenticateClient(clients, headers);
    if (!client.ok()) return refuse(client.status().message());
    return std::nullopt;
  };
  return options;
}

}  // namespace quipu::api
