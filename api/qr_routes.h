// QR Seguro over HTTP: issue (client), render (SVG, PNG: the issuing client
// only), verify (public: whoever holds the code), revoke (the issuing
// client), stamp a PDF (client). README "QR Seguro".
#pragma once

#include "api/receipts.h"
#include "api/router.h"
#include "node/clients.h"
#include "node/qr_service.h"

namespace quipu::api {

// Adds the routes to `router`; `clients` and `qr` must outlive its use.
// Every route runs on the worker pool (a PDF parse, a commit, a PNG).
// `receipts` (optional) adds each named entry's receipt to the answers of
// issue and verify (api/receipts.h).
void AddQrRoutes(Router& router, node::Clients& clients, node::QrService& qr, ReceiptSource receipts = {});

// The handlers, each a plain function (for tests without a socket). Those
// that take a client run behind AsClient (api/client_auth.h).
namespace qr_handlers {
// POST /v1/qr: 201 with the code (and its entry's receipt, given
// `receipts`); 400 naming the field; 422 for content that is not a
// readable PDF.
Response Issue(node::QrService& qr, const node::ClientInfo& client, const Request& req,
               const ReceiptSource& receipts = {});
// GET /v1/qr/{index}.svg|.png (params[0] "N.svg"): 404 for another name
// (before the client is asked for), 401 without a client, 404 for another
// client's code (as for none).
Response Image(node::Clients& clients, const node::QrService& qr, const Request& req);
// POST /v1/qr/verify {qr_text}: 200 with the verification (valid or not);
// 400 for a body without qr_text or a text over 8000 bytes.
Response Verify(const node::QrService& qr, const Request& req, const ReceiptSource& receipts = {});
// POST /v1/qr/{index}/revoke {reason}: 200 with the qr_revoke entry; 404
// for another client's code; 409 when revoked already.
Response Revoke(node::QrService& qr, const node::ClientInfo& client, const Request& req);
// POST /v1/qr/stamp {pdf: base64, fields?, expires_at?, page?, corner?,
// caption?}: 200 application/pdf with X-Quipu-QR-Index and X-Quipu-QR-Text.
Response Stamp(node::QrService& qr, const node::ClientInfo& client, const Request& req);
}  // namespace qr_handlers

}  // namespace quipu::api
