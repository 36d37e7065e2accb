// The JSON of documents' answers (README "Public API"): GET
// /v1/documents/{sha256} and POST /v1/verify, and the proof arrays every
// ledger answer carries. Wire conversion only: the answers are node's.
#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/status.h"
#include "node/document.h"
#include "node/verify.h"

namespace quipu::api {

// The name of a client (institution) by id, "" when unknown.
using ClientNamer = std::function<std::string(const std::string& client_id)>;

// Proof hashes as a JSON array of base64 strings.
nlohmann::json ProofJson(const std::vector<node::Hash>& proof);
// Stored entry bytes as a JSON value (null if they are not JSON).
nlohmann::json EntryJson(const std::string& entry);

// {"sha256", "found", "records": [{index, type, time, client, client_name?,
//  entry, leaf_hash, proof, tree_size}], "tree_size", "checkpoint",
//  "truncated"}; client_name when `names` is given.
nlohmann::json DocumentAnswerJson(const node::DocumentAnswer& answer, const ClientNamer& names = nullptr);
// The document's answer and "media_type"; for a PDF "revisions": [{length,
// sha256, found, records}], "revisions_total", "revisions_truncated"; for a
// PDF the parser could not read, "pdf_readable": false and "pdf_error".
nlohmann::json VerificationJson(const node::Verification& v, const ClientNamer& names = nullptr);

// A document named in a request body: {sha256?: 64 lower-case hex digits,
// content?: base64 of at most `max_content` bytes, media_type:
// "application/pdf" | "application/json"}, plus the keys in `also`.
// kInvalidArgument naming the field (prefixed with `where`).
Result<node::DocumentRef> DocumentRefFromJson(const nlohmann::json& d, std::string_view where, size_t max_content,
                                              std::initializer_list<std::string_view> also = {});

}  // namespace quipu::api
