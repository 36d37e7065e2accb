// Client (institution) authentication for the routes only clients call:
// the bearer token of the headers, checked against node::Clients. The same
// check runs twice: with the headers, before a body is read (so an
// anonymous client cannot make the node read 64 MiB), and in the handler.
#pragma once

#include <functional>

#include "api/http.h"
#include "api/router.h"
#include "node/clients.h"

namespace quipu::api {

// The client behind "Authorization: Bearer <token>". kPermissionDenied when
// there is no token, or it is unknown or its client disabled.
Result<node::ClientInfo> AuthenticateClient(node::Clients& clients, const http::fields& headers);

// A handler for a request whose client is authenticated.
using ClientHandler = std::function<Response(const node::ClientInfo& client, const Request& req)>;
// What a request without a valid client token is answered: by default an
// RFC 9457 401 (Unauthorized); another API answers in its own shape.
using RefuseClient = std::function<Response(std::string_view why)>;

// `handler` behind the client check: `refuse` (401 with WWW-Authenticate)
// unless the request carries a valid client token. `clients` must outlive it.
Handler AsClient(node::Clients& clients, ClientHandler handler, RefuseClient refuse = nullptr);

// `options` with an admit check that answers `refuse` (401) unless the
// headers carry a valid client token. `clients` must outlive the router.
RouteOptions ForClients(node::Clients& clients, RouteOptions options, RefuseClient refuse = nullptr);

}  // namespace quipu::api
