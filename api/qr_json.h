// The JSON of QR Seguro's routes (README "QR Seguro") and of `quipu qr`:
// requests read into node's types, answers written from them. Wire
// conversion only: the checks that are not about JSON are node's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "crypto/status.h"
#include "node/qr_service.h"

namespace quipu::api {

// `fields` a JSON object (null: {}), written canonically (RFC 8785), and
// `expires_at` as node::MakeQrPlain checks them. kInvalidArgument naming
// what is wrong.
Result<node::QrPlain> QrPlainFromJson(const nlohmann::json& fields, const std::optional<std::string>& expires_at,
                                      int64_t now_us);
// POST /v1/qr: {document: {sha256 | content, media_type}, fields?: {...},
// expires_at?: RFC 3339}. kInvalidArgument naming the field.
Result<node::QrIssueRequest> QrIssueRequestFromJson(const nlohmann::json& body, int64_t now_us);
// {page?, corner?, caption?}: page an integer 0..100000, corner one of
// bottom-right, bottom-left, top-right, top-left, caption text.
Result<node::QrStampRequest> QrStampRequestFromJson(const nlohmann::json& options);

// {qr_text, index, document_sha256, issued_at, svg_url, png_url, checkpoint}
nlohmann::json QrIssuedJson(const node::QrIssued& issued);
// A QS2 code's digital document in the AGETIC API's names
// (docs/agetic-api.md): {codigoDocumento, nombreDocumento,
// descripcionDocumento?, validez: {fechaEmision, fechaExpiracion?} as
// DD/MM/YYYY, titulares: [{nombreCompleto, tipoDocumento, numeroDocumento,
// rol}], metadatos?: [{clave, valor}]}.
nlohmann::json QrDocumentJson(const node::QrDocument& document);
// {valid, reasons, format: "QS1" | "QS2", index?; with the ledger's record:
//  entry, issued_at, client, client_name?, document_sha256, leaf_hash,
//  proof, tree_size, checkpoint, revoked, revocation: {index, time, reason}
//  | null, expired, expires_at: RFC 3339 | null; fields only when valid (a
//  QS2 code's: QrDocumentJson)}
nlohmann::json QrVerificationJson(const node::QrVerification& v);
// {index, target, revoked_at, checkpoint}
nlohmann::json QrRevokedJson(const node::QrRevoked& revoked);

}  // namespace quipu::api
