// The approval service's HTTP API: clients (admin), subjects' TOTP
// enrollment, approval requests and their decisions, and the
// authenticated `?subject=` question on /v1/documents. README "Approvals".
#pragma once

#include <functional>
#include <optional>

#include "api/router.h"
#include "node/approvals.h"
#include "node/clients.h"
#include "node/secrets.h"
#include "node/verify.h"

namespace quipu::api {

// `qr_svg(text)` renders an SVG QR code of `text` (for the otpauth URI),
// or returns "" when rendering is unavailable.
void AddApprovalRoutes(Router& router, node::Clients& clients, node::Approvals& approvals,
                       const node::NodeSecrets& secrets, std::function<std::string(const std::string&)> qr_svg);

// The handler for `GET /v1/documents/{sha256}?subject=ID` (see
// LedgerRoutesOptions::subject_query): an authenticated client, at most
// `per_minute` such questions a minute per client.
using SubjectQuery =
    std::function<std::optional<Response>(const Request&, const node::DocumentAnswer&, bool& approved)>;
SubjectQuery MakeSubjectQuery(node::Clients& clients, node::Approvals& approvals, int per_minute = 30);

}  // namespace quipu::api
