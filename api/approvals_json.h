// The JSON of the approval routes (README "Approvals") and of `quipu
// client`: requests read into node's types, answers written from them.
// Wire conversion only: the checks that are not about JSON are node's.
#pragma once

#include <nlohmann/json.hpp>

#include "crypto/status.h"
#include "node/approvals.h"
#include "node/clients.h"

namespace quipu::api {

// POST /v1/approvals: {subject, documents: [{sha256 | content, media_type,
// name?}], factor?: "totp" | "message", channel?: "sms" | "email", state?:
// text given back at the redirect URI}.
// kInvalidArgument naming the field.
Result<node::ApprovalRequest> ApprovalRequestFromJson(const nlohmann::json& body);

// Create's answer: {id, status, expires_at, factor, documents: [{sha256, media_type}]}.
nlohmann::json ApprovalCreatedJson(const node::ApprovalView& v);
// Get's: {id, status, factor, created_at, expires_at, documents,
// decided_at?, attempts_left?, notification: {state, attempts,
// last_error?, last_http_status?, next_attempt_at?, delivered_at?}; once
// decided entries: [{index, sha256, leaf_hash, proof}], tree_size,
// checkpoint, redirect_url}.
nlohmann::json ApprovalJson(const node::ApprovalView& v);
// Decide's: {id, status, decided_at, entries: [{index, sha256}], tree_size,
// checkpoint, redirect_url}.
nlohmann::json DecisionJson(const node::ApprovalView& v);
// Where the client's citizen returns: the redirect URI with
// request=<id>&status=<status>[&state=<the client's state>] added to its
// query.
std::string RedirectUrl(const node::ApprovalView& v);

// {client_id, name, redirect_uri, notify_uri, disabled, created}: never a secret.
nlohmann::json ClientJson(const node::ClientInfo& c);

}  // namespace quipu::api
