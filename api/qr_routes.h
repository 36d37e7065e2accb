// QR Seguro over HTTP: issue (client), render (SVG, PNG: the issuing client
// only), verify (public: whoever holds the code), revoke (the issuing
// client), stamp a PDF (client). README "QR Seguro".
#pragma once

#include "api/router.h"
#include "node/clients.h"
#include "node/qr_service.h"

namespace quipu::api {

void AddQrRoutes(Router& router, node::Clients& clients, node::QrService& qr);

}  // namespace quipu::api
