// The JSON of the AGETIC-compatible API (docs/agetic-api.md): the shapes
// that integrations written against Ciudadanía Digital's approval service
// send and expect, read into quipu's typed requests and written from its
// answers. Every message is the original's, in Spanish; the rules behind
// the answers are the node's services' (node/approvals.h, node/verify.h),
// not this file's: here only the shapes, the encodings and the limits of
// the original API (20 MB per file, UUIDs).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/documents_json.h"
#include "api/http.h"
#include "crypto/sha256.h"
#include "node/approvals.h"
#include "node/qr_service.h"
#include "node/verify.h"

namespace quipu::api::agetic {

// The original's limit on one file: 20 MiB of decoded bytes.
inline constexpr size_t kMaxFileBytes = size_t{20} << 20;

// {"finalizado": finalizado, "mensaje": mensaje, "datos": datos}, as
// application/json with `status`.
Response Envelope(unsigned status, bool finalizado, std::string_view mensaje,
                  nlohmann::json datos = nlohmann::json::object());

// Why a request is refused: the status and the original's message.
struct Refusal {
  unsigned status = 400;
  std::string mensaje;
};
inline Response Refuse(const Refusal& r) { return Envelope(r.status, false, r.mensaje); }

// The 401 of a missing, unknown or disabled institution token.
Response Unauthorized(std::string_view why);

// An approval request as POST /api/solicitudes or /api/solicitudes/multiples
// sends it, its fields checked and its files decoded (not yet hashed as
// quipu records them: the node does that).
struct Solicitud {
  std::string access_token;  // the citizen's, at the identity provider
  std::string id_tramite;    // a UUID, lower case: the client's key
  std::string descripcion;   // the single request's; "" for a multiple one
  std::vector<node::RequestedDocument> documents;
};

// Reads the body of POST /api/solicitudes (`multiple` false) or
// /api/solicitudes/multiples (true) into `out`; the refusal otherwise: 400
// for a field missing, empty or of the wrong type, a non-UUID id, a file
// that is not base64; 412 for a file over kMaxFileBytes or whose
// hashDocumento is neither the SHA-256 of its bytes nor that of its base64
// text as sent. Unknown fields are ignored.
std::optional<Refusal> ReadSolicitud(const nlohmann::json& body, bool multiple, Solicitud& out);

// What the client sent, for the idempotency of its idTramite: the request
// as read (every field but the access token, so that a token refreshed
// between two retries is the same request; each file by its SHA-256; fields
// the API ignores ignored here too), bound to the citizen the token named
// and to the route.
crypto::Digest Fingerprint(const Solicitud& solicitud, std::string_view route, std::string_view document_number);

// The 201 answer to a request: datos.link (where the citizen approves),
// requestUuid, codigoOperacion (quipu's request id), idTramite.
Response Created(const node::ApprovalView& view, const std::string& link);

// The refusal for a Status the node's services answered.
Refusal RefusalFor(const Status& status);

// POST /api/documentos/verificar's `archivo`, decoded; the refusal
// otherwise (400 missing or empty, 412 not base64 or over kMaxFileBytes).
std::optional<Refusal> ReadArchivo(const nlohmann::json& body, std::vector<uint8_t>& out);

// Its 201 answer: datos.verificacionExitosa (anything recorded about the
// file or an earlier revision) and datos.registros, each with when, which
// institution, the ledger index, the entry and its inclusion proof, and
// the signed checkpoint they are proven against.
Response Verified(const node::Verification& v, const ClientNamer& names);

// The callback an AGETIC client receives when its citizen decided,
// rendered at send time from the node's notification (its `dialect`
// "agetic"); `public_url` makes the link to the proofs. nullopt for a
// notification of another dialect.
std::optional<nlohmann::json> Callback(const nlohmann::json& notification, const std::string& public_url);

// Whether the client's answer to a callback says it took it:
// {"finalizado": true, ...}. Anything else is retried.
bool CallbackAccepted(std::string_view answer);

// --- QR Seguro ---------------------------------------------------------------------

// The original's limits on a digital document's texts, in characters, and
// quipu's where the original states none (docs/agetic-api.md).
inline constexpr size_t kMaxCodigoDocumento = 100;
inline constexpr size_t kMaxNombreDocumento = 200;
inline constexpr size_t kMaxDescripcionDocumento = 300;
inline constexpr size_t kMaxNombreCompleto = 150;
inline constexpr size_t kMaxNumeroDocumento = 15;
inline constexpr size_t kMaxRol = 50;
inline constexpr size_t kMaxTitulares = 10;
inline constexpr size_t kMaxClaveValor = 50;
inline constexpr size_t kMaxMetadatos = 20;

// POST /api/qr/generar, read.
struct QrGenerar {
  std::string access_token;
  bool mostrar_enlace = false;
  std::string codigo_transaccion;  // a UUID, lower case: the client's key
  node::QrDocument document;
};

// Reads the body of POST /api/qr/generar into `out`; the refusal otherwise:
// 400 for a field missing, empty, of the wrong type or over its limit, a
// non-UUID codigoTransaccion, a date that is not DD/MM/YYYY, an expiry
// before the issue, and a document too large for a QR Seguro code
// (node::kMaxQrDocumentBytes encoded). Unknown fields are ignored.
std::optional<Refusal> ReadQrGenerar(const nlohmann::json& body, QrGenerar& out);
// What the client sent with its codigoTransaccion, for its idempotency:
// every field but the access token, bound to the token's citizen.
crypto::Digest QrFingerprint(const QrGenerar& generar, std::string_view document_number);
// {codigoTransaccion} of /api/qr/confirmacion and /api/qr/anulacion.
std::optional<Refusal> ReadCodigoTransaccion(const nlohmann::json& body, std::string& codigo);
// The public reason of an annulment's qr_revoke: always this text, never
// the client's words (which could name the holder in the public log).
inline constexpr char kAnnulmentReason[] = "Anulado por la institución";

// 201, datos: qrImagen (base64 PNG), codigoTransaccion, estado, and with
// mostrarEnlace the link to the public page that verifies the code.
Response QrGenerated(const node::QrDraft& draft, const std::string& png_base64, const std::string& link);
// 201, datos: codigoTransaccion, indice (the qr_issue), fechaConfirmacion,
// hashCodigo (the entry's doc.sha256), checkpoint.
Response QrConfirmedAnswer(std::string_view codigo, const node::QrConfirmed& confirmed);
// 202, datos: codigoTransaccion, indice (the qr_revoke, null when the code
// was never confirmed), fechaAnulacion.
Response QrAnnulledAnswer(std::string_view codigo, const node::QrAnnulled& annulled);
// What a QR route asked the service.
enum class QrStep { kGenerar, kConfirmar, kAnular };
// The refusal for a Status the QR service answered: 409 for unknown,
// lapsed, annulled and reused codes; 400 for a document expired already.
Refusal QrRefusalFor(const Status& status, QrStep step);

}  // namespace quipu::api::agetic
