#include "api/agetic_json.h"

#include <algorithm>
#include <cctype>

#include "crypto/encoding.h"
#include "crypto/jcs.h"
#include "node/time.h"

namespace quipu::api::agetic {
namespace {

using nlohmann::json;

// A field's text: nullopt when absent or null; a refusal when not text.
std::optional<Refusal> Text(const json& body, const char* name, std::string& out) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return Refusal{400, std::string(name) + " debe ser un texto."};
  out = it->get<std::string>();
  return std::nullopt;
}

// A text field that must be there and not empty.
std::optional<Refusal> Required(const json& body, const char* name, std::string& out) {
  if (auto bad = Text(body, name, out)) return bad;
  if (out.empty()) return Refusal{400, std::string(name) + " no debe estar vacío."};
  return std::nullopt;
}

// 8-4-4-4-12 hexadecimal digits (any version), as lower case.
std::optional<std::string> Uuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string out(text);
  for (size_t i = 0; i < out.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (out[i] == '-')) return std::nullopt;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(out[i]))) return std::nullopt;
    out[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
  }
  return out;
}

std::optional<Refusal> RequiredUuid(const json& body, const char* name, std::string& out) {
  if (auto bad = Required(body, name, out)) return bad;
  auto uuid = Uuid(out);
  if (!uuid) return Refusal{400, std::string(name) + " debe ser un UUID."};
  out = *uuid;
  return std::nullopt;
}

// Base64 as integrators send it: padded (RFC 4648 §4), perhaps behind a
// data: URL's prefix.
Result<crypto::Bytes> DecodeFile(std::string_view text) {
  if (text.rfind("data:", 0) == 0) {
    const size_t comma = text.find(',');
    if (comma == std::string_view::npos || text.substr(0, comma).find(";base64") == std::string_view::npos) {
      return InvalidArgument("a data: URL that is not base64");
    }
    text.remove_prefix(comma + 1);
  }
  return crypto::Base64Decode(text);
}

bool SameHex(std::string_view given, const crypto::Digest& digest) {
  if (given.size() != 64) return false;
  std::string lower(given);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower == crypto::HexEncode(digest);
}

// One file: tipoDocumento, documento (base64), hashDocumento.
std::optional<Refusal> ReadFile(const json& d, node::RequestedDocument& out) {
  std::string tipo, hash;
  if (auto bad = Text(d, "tipoDocumento", tipo)) return bad;
  if (auto bad = Text(d, "hashDocumento", hash)) return bad;
  // The base64 text is read where it is (it may be 27 MB), not copied.
  const auto file = d.find("documento");
  if (file != d.end() && !file->is_null() && !file->is_string()) return Refusal{400, "documento debe ser un texto."};
  if (file == d.end() || file->is_null() || file->get_ref<const std::string&>().empty()) {
    return Refusal{400, "documento no debe estar vacío."};
  }
  const std::string& documento = file->get_ref<const std::string&>();
  std::transform(tipo.begin(), tipo.end(), tipo.begin(), [](unsigned char c) { return std::toupper(c); });
  if (tipo == "PDF") {
    out.document.media = node::DocType::kPdf;
  } else if (tipo == "JSON") {
    out.document.media = node::DocType::kJson;
  } else {
    return Refusal{400, "tipoDocumento debe ser PDF o JSON."};
  }
  if (hash.empty()) return Refusal{400, "hashDocumento no debe estar vacío."};
  // Before decoding: a base64 text of this length cannot hold 20 MB.
  if (documento.size() / 4 * 3 > kMaxFileBytes + 3) return Refusal{412, "El tamaño del archivo excede de 20 MB"};
  auto bytes = DecodeFile(documento);
  if (!bytes.ok()) return Refusal{400, "documento no válido"};
  if (bytes->size() > kMaxFileBytes) return Refusal{412, "El tamaño del archivo excede de 20 MB"};
  // Integrators hash either the file or the base64 text they send.
  if (!SameHex(hash, crypto::Sha256(*bytes)) && !SameHex(hash, crypto::Sha256(documento))) {
    return Refusal{412, "El hash generado no coincide con el de la solicitud"};
  }
  out.document.content = std::move(*bytes);
  return std::nullopt;
}

// Characters (code points) of UTF-8 text: the originals count characters.
size_t Chars(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xc0) != 0x80; }));
}

// A required text of at most `max` characters.
std::optional<Refusal> Bounded(const json& body, const char* name, size_t max, std::string& out) {
  if (auto bad = Required(body, name, out)) return bad;
  if (Chars(out) > max) {
    return Refusal{400, std::string(name) + " debe tener como máximo " + std::to_string(max) + " caracteres."};
  }
  return std::nullopt;
}

// DD/MM/YYYY as days since 1970-01-01.
std::optional<int64_t> Day(std::string_view text) {
  if (text.size() != 10 || text[2] != '/' || text[5] != '/') return std::nullopt;
  const std::string rfc3339 = std::string(text.substr(6, 4)) + "-" + std::string(text.substr(3, 2)) + "-" +
                              std::string(text.substr(0, 2)) + "T00:00:00Z";
  auto t = node::ParseRfc3339(rfc3339);
  if (!t.ok()) return std::nullopt;
  return *t / (int64_t{86400} * 1000000);
}

std::optional<Refusal> RequiredDay(const json& body, const char* name, int64_t& out) {
  std::string text;
  if (auto bad = Required(body, name, text)) return bad;
  auto day = Day(text);
  if (!day) return Refusal{400, std::string(name) + " debe ser una fecha DD/MM/AAAA."};
  out = *day;
  return std::nullopt;
}

// A list field: absent or null is empty.
std::optional<Refusal> List(const json& body, const char* name, const json*& out) {
  static const json kEmpty = json::array();
  const auto it = body.find(name);
  out = &kEmpty;
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_array()) return Refusal{400, std::string(name) + " debe ser una lista."};
  out = &*it;
  return std::nullopt;
}

std::optional<Refusal> ReadTitular(const json& t, node::QrHolder& out) {
  if (!t.is_object()) return Refusal{400, "cada titular debe ser un objeto JSON."};
  if (auto bad = Bounded(t, "nombreCompleto", kMaxNombreCompleto, out.name)) return bad;
  std::string tipo;
  if (auto bad = Required(t, "tipoDocumento", tipo)) return bad;
  if (tipo == "CI") {
    out.id_type = node::QrHolder::IdType::kCi;
  } else if (tipo == "CIE") {
    out.id_type = node::QrHolder::IdType::kCie;
  } else {
    return Refusal{400, "tipoDocumento debe ser CI o CIE."};
  }
  if (auto bad = Bounded(t, "numeroDocumento", kMaxNumeroDocumento, out.id_number)) return bad;
  return Bounded(t, "rol", kMaxRol, out.role);
}

}  // namespace

Response Envelope(unsigned status, bool finalizado, std::string_view mensaje, json datos) {
  return Json({{"finalizado", finalizado}, {"mensaje", std::string(mensaje)}, {"datos", std::move(datos)}}, status);
}

Response Unauthorized(std::string_view) {
  Response r = Envelope(401, false, "No autorizado: envíe Authorization: Bearer <token de la institución>");
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"quipu\"");
  return r;
}

std::optional<Refusal> ReadSolicitud(const json& body, bool multiple, Solicitud& out) {
  if (!body.is_object()) return Refusal{400, "La solicitud debe ser un objeto JSON."};
  if (auto bad = Required(body, "accessToken", out.access_token)) return bad;
  if (auto bad = RequiredUuid(body, "idTramite", out.id_tramite)) return bad;
  if (!multiple) {
    if (auto bad = Required(body, "descripcion", out.descripcion)) return bad;
    node::RequestedDocument doc;
    if (auto bad = ReadFile(body, doc)) return bad;
    out.documents.push_back(std::move(doc));
    return std::nullopt;
  }
  const auto list = body.find("documentos");
  if (list == body.end() || list->is_null()) return Refusal{400, "documentos no debe estar vacío."};
  if (!list->is_array()) return Refusal{400, "documentos debe ser una lista."};
  if (list->empty()) return Refusal{400, "documentos no debe estar vacío."};
  for (const json& d : *list) {
    if (!d.is_object()) return Refusal{400, "cada documento debe ser un objeto JSON."};
    node::RequestedDocument doc;
    std::string descripcion;
    if (auto bad = Required(d, "descripcion", descripcion)) return bad;
    if (auto bad = RequiredUuid(d, "uuidDocumento", doc.client_key)) return bad;
    if (auto bad = ReadFile(d, doc)) return bad;
    doc.name = std::move(descripcion);
    out.documents.push_back(std::move(doc));
  }
  return std::nullopt;
}

crypto::Digest Fingerprint(const Solicitud& s, std::string_view route, std::string_view document_number) {
  // Length-prefixed fields, so that no two requests share a message; each
  // file by its SHA-256 (the request is hashed once more, not copied).
  std::string message;
  auto field = [&message](std::string_view v) {
    message += std::to_string(v.size());
    message.push_back(':');
    message.append(v);
  };
  field("quipu/agetic/fingerprint/v1");
  field(route);
  field(document_number);
  field(s.id_tramite);
  field(s.descripcion);
  for (const node::RequestedDocument& d : s.documents) {
    field(node::DocTypeName(d.document.media));
    field(d.name.value_or(""));
    field(d.client_key);
    field(crypto::HexEncode(crypto::Sha256(d.document.content ? *d.document.content : std::vector<uint8_t>())));
  }
  return crypto::Sha256(message);
}

Response Created(const node::ApprovalView& view, const std::string& link) {
  return Envelope(201, true, "Solicitud de aprobación registrada",
                  {{"link", link},
                   {"requestUuid", view.uuid},
                   {"codigoOperacion", view.id},
                   {"idTramite", view.client_key},
                   {"fechaExpiracion", view.expires_at}});
}

Refusal RefusalFor(const Status& s) {
  const std::string& m = s.message();
  switch (s.code()) {
    case StatusCode::kUnprocessable:
      return {400, "documento no válido"};
    case StatusCode::kInvalidArgument:
      // The node names a document's fault as documents[i] (node/document.h).
      if (m.rfind("documents[", 0) == 0) return {400, "documento no válido"};
      return {400, "Solicitud no válida: " + m};
    case StatusCode::kAlreadyExists:
      return {409, "El identificador ya fue usado con otra solicitud"};
    case StatusCode::kResourceExhausted:
      return {429, "Demasiadas solicitudes: " + m};
    case StatusCode::kPermissionDenied:
      return {412, "Token inválido"};
    case StatusCode::kNotFound:
      return {409, "No existe"};
    case StatusCode::kFailedPrecondition:
    case StatusCode::kExpired:
      return {409, "La operación no es posible en el estado actual: " + m};
    case StatusCode::kUnavailable:
      return {503, "Servicio no disponible; intente más tarde"};
    default:
      return {500, "Error interno del nodo"};
  }
}

std::optional<Refusal> ReadArchivo(const json& body, std::vector<uint8_t>& out) {
  if (!body.is_object()) return Refusal{400, "La solicitud debe ser un objeto JSON."};
  const auto file = body.find("archivo");
  if (file != body.end() && !file->is_null() && !file->is_string()) return Refusal{400, "archivo debe ser un texto."};
  if (file == body.end() || file->is_null() || file->get_ref<const std::string&>().empty()) {
    return Refusal{400, "archivo no debe estar vacío."};
  }
  const std::string& archivo = file->get_ref<const std::string&>();  // not copied
  if (archivo.size() / 4 * 3 > kMaxFileBytes + 3) return Refusal{412, "El tamaño del archivo excede de 20 MB"};
  auto bytes = DecodeFile(archivo);
  if (!bytes.ok() || bytes->empty()) return Refusal{412, "El documento enviado no es válido"};
  if (bytes->size() > kMaxFileBytes) return Refusal{412, "El tamaño del archivo excede de 20 MB"};
  out = std::move(*bytes);
  return std::nullopt;
}

Response Verified(const node::Verification& v, const ClientNamer& names) {
  json registros = json::array();
  auto add = [&](const node::DocumentAnswer& a, std::optional<uint64_t> revision) {
    for (const node::DocumentRecord& r : a.records) {
      json reg = {{"fecha", r.time},
                  {"institucion", names ? names(r.client) : std::string()},
                  {"cliente", r.client},
                  {"tipo", r.type},
                  {"indice", r.index},
                  {"hashDocumento", crypto::HexEncode(a.sha256)},
                  {"entrada", EntryJson(r.entry)},
                  {"hashHoja", crypto::Base64Encode(r.leaf_hash)},
                  {"prueba", ProofJson(r.proof)},
                  {"tamanoArbol", a.tree_size}};
      if (revision) reg["revision"] = *revision;  // the bytes of an earlier revision
      registros.push_back(std::move(reg));
    }
  };
  add(v.document, std::nullopt);
  for (const node::RevisionAnswer& rev : v.revisions) add(rev.answer, rev.length);
  return Envelope(201, true, v.found() ? "El documento tiene registros en el nodo" : "El documento no tiene registros",
                  {{"verificacionExitosa", v.found()},
                   {"registros", std::move(registros)},
                   {"checkpoint", v.document.checkpoint},
                   {"tamanoArbol", v.document.tree_size}});
}

std::optional<json> Callback(const json& n, const std::string& public_url) {
  if (!n.is_object() || n.value("dialect", "") != "agetic") return std::nullopt;
  const bool approved = n.value("status", "") == "approved";
  const json documents = n.value("documents", json::array());
  // One document: its hash; several: the SHA-256 of their hashes in order.
  std::string hash_datos;
  json documentos = json::array();
  json entries = json::array();
  std::string concatenated;
  for (const json& d : documents) {
    const std::string sha = d.value("sha256", "");
    auto raw = crypto::HexDecode(sha);
    if (raw.ok()) concatenated.append(raw->begin(), raw->end());
    json one = {{"hashDocumento", sha}, {"indice", d.value("index", uint64_t{0})}};
    if (d.contains("client_key")) one["uuidDocumento"] = d["client_key"];
    documentos.push_back(std::move(one));
    entries.push_back({{"index", d.value("index", uint64_t{0})}, {"sha256", sha}});
  }
  hash_datos = documents.size() == 1 ? documents[0].value("sha256", "") : crypto::HexEncode(crypto::Sha256(concatenated));
  const std::string request = n.value("request", "");
  return json{{"aceptado", approved},
              {"introducido", true},  // sent only after the decision's entries are committed
              {"requestUuid", n.value("uuid", "")},
              {"idTramite", n.value("client_key", "")},
              {"codigoOperacion", request},
              {"mensaje", approved ? "El ciudadano aprobó la solicitud" : "El ciudadano rechazó la solicitud"},
              {"transaction_id", documents.empty() ? "" : std::to_string(documents[0].value("index", uint64_t{0}))},
              {"fechaHoraSolicitud", n.value("created_at", "")},
              {"fechaHoraDecision", n.value("decided_at", "")},
              {"hashDatos", hash_datos},
              {"documentos", std::move(documentos)},
              {"quipu",
               {{"request", request},
                {"status", n.value("status", "")},
                {"entries", std::move(entries)},
                {"checkpoint", n.value("checkpoint", "")},
                {"proofs", public_url + "/v1/approvals/" + request}}}};
}

bool CallbackAccepted(std::string_view answer) {
  const json j = json::parse(answer, nullptr, false);
  return j.is_object() && j.contains("finalizado") && j["finalizado"] == true;
}

std::optional<Refusal> ReadQrGenerar(const json& body, QrGenerar& out) {
  if (!body.is_object()) return Refusal{400, "La solicitud debe ser un objeto JSON."};
  if (auto bad = Required(body, "accessToken", out.access_token)) return bad;
  if (const auto m = body.find("mostrarEnlace"); m != body.end() && !m->is_null()) {
    if (!m->is_boolean()) return Refusal{400, "mostrarEnlace debe ser un booleano."};
    out.mostrar_enlace = m->get<bool>();
  }
  if (auto bad = RequiredUuid(body, "codigoTransaccion", out.codigo_transaccion)) return bad;
  const auto d = body.find("documentoDigital");
  if (d == body.end() || d->is_null()) return Refusal{400, "documentoDigital no debe estar vacío."};
  if (!d->is_object()) return Refusal{400, "documentoDigital debe ser un objeto JSON."};
  node::QrDocument& doc = out.document;
  if (auto bad = Bounded(*d, "codigoDocumento", kMaxCodigoDocumento, doc.code)) return bad;
  if (auto bad = Bounded(*d, "nombreDocumento", kMaxNombreDocumento, doc.name)) return bad;
  std::string descripcion;
  if (auto bad = Text(*d, "descripcionDocumento", descripcion)) return bad;
  if (!descripcion.empty()) {
    if (Chars(descripcion) > kMaxDescripcionDocumento) {
      return Refusal{400, "descripcionDocumento debe tener como máximo " + std::to_string(kMaxDescripcionDocumento) +
                              " caracteres."};
    }
    doc.description = std::move(descripcion);
  }
  const auto v = d->find("validez");
  if (v == d->end() || v->is_null()) return Refusal{400, "validez no debe estar vacío."};
  if (!v->is_object()) return Refusal{400, "validez debe ser un objeto JSON."};
  if (auto bad = RequiredDay(*v, "fechaEmision", doc.issued_day)) return bad;
  std::string expiracion;
  if (auto bad = Text(*v, "fechaExpiracion", expiracion)) return bad;
  if (!expiracion.empty()) {
    auto day = Day(expiracion);
    if (!day) return Refusal{400, "fechaExpiracion debe ser una fecha DD/MM/AAAA."};
    if (*day < doc.issued_day) return Refusal{400, "fechaExpiracion no debe ser anterior a fechaEmision."};
    doc.expires_day = *day;
  }
  const json* titulares = nullptr;
  if (auto bad = List(*d, "titulares", titulares)) return bad;
  if (titulares->empty()) return Refusal{400, "titulares no debe estar vacío."};
  if (titulares->size() > kMaxTitulares) {
    return Refusal{400, "titulares debe tener como máximo " + std::to_string(kMaxTitulares) + " elementos."};
  }
  for (const json& t : *titulares) {
    node::QrHolder holder;
    if (auto bad = ReadTitular(t, holder)) return bad;
    doc.holders.push_back(std::move(holder));
  }
  const json* metadatos = nullptr;
  if (auto bad = List(*d, "metadatos", metadatos)) return bad;
  if (metadatos->size() > kMaxMetadatos) {
    return Refusal{400, "metadatos debe tener como máximo " + std::to_string(kMaxMetadatos) + " elementos."};
  }
  for (const json& m : *metadatos) {
    if (!m.is_object()) return Refusal{400, "cada metadato debe ser un objeto JSON."};
    std::pair<std::string, std::string> kv;
    if (auto bad = Bounded(m, "clave", kMaxClaveValor, kv.first)) return bad;
    if (auto bad = Bounded(m, "valor", kMaxClaveValor, kv.second)) return bad;
    doc.metadata.push_back(std::move(kv));
  }
  auto encoded = node::EncodeQrDocument(doc);
  if (!encoded.ok()) {
    return Refusal{400, "documentoDigital no cabe en un QR Seguro: como máximo " +
                            std::to_string(node::kMaxQrDocumentBytes) + " bytes codificado (" +
                            encoded.status().message() + ")"};
  }
  return std::nullopt;
}

crypto::Digest QrFingerprint(const QrGenerar& g, std::string_view document_number) {
  std::string message;
  auto field = [&message](std::string_view v) {
    message += std::to_string(v.size());
    message.push_back(':');
    message.append(v);
  };
  field("quipu/agetic/qr-fingerprint/v1");
  field(document_number);
  field(g.codigo_transaccion);
  field(g.mostrar_enlace ? "1" : "0");
  // The document as it is sealed: its encoding is deterministic.
  auto encoded = node::EncodeQrDocument(g.document);
  field(encoded.ok() ? std::string_view(crypto::AsString(*encoded)) : std::string_view());
  return crypto::Sha256(message);
}

std::optional<Refusal> ReadCodigoTransaccion(const json& body, std::string& codigo) {
  if (!body.is_object()) return Refusal{400, "La solicitud debe ser un objeto JSON."};
  return RequiredUuid(body, "codigoTransaccion", codigo);
}

Response QrGenerated(const node::QrDraft& draft, const std::string& png_base64, const std::string& link) {
  json datos = {{"qrImagen", png_base64},
                {"codigoTransaccion", draft.client_key},
                {"estado", draft.state == node::QrDraftState::kPending     ? "GENERADO"
                           : draft.state == node::QrDraftState::kConfirmed ? "CONFIRMADO"
                                                                           : "ANULADO"},
                {"textoQr", draft.text},
                {"fechaGeneracion", draft.created_at}};
  if (!link.empty()) datos["enlace"] = link;
  return Envelope(201, true,
                  draft.state == node::QrDraftState::kConfirmed ? "QR ya confirmado"
                                                                : "QR generado; confírmelo para que sea válido",
                  std::move(datos));
}

Response QrConfirmedAnswer(std::string_view codigo, const node::QrConfirmed& c) {
  return Envelope(201, true, "QR confirmado",
                  {{"codigoTransaccion", std::string(codigo)},
                   {"indice", c.index},
                   {"hashCodigo", crypto::HexEncode(c.code_digest)},
                   {"fechaConfirmacion", c.confirmed_at},
                   {"checkpoint", c.checkpoint}});
}

Response QrAnnulledAnswer(std::string_view codigo, const node::QrAnnulled& a) {
  return Envelope(202, true, "QR anulado",
                  {{"codigoTransaccion", std::string(codigo)},
                   {"indice", a.revocation ? json(*a.revocation) : json(nullptr)},
                   {"fechaAnulacion", a.annulled_at}});
}

Refusal QrRefusalFor(const Status& s, QrStep step) {
  switch (s.code()) {
    case StatusCode::kAlreadyExists:
      return {409, "El codigoTransaccion ya fue usado con otra solicitud"};
    case StatusCode::kExpired:
      if (step == QrStep::kGenerar) return {400, "fechaExpiracion ya pasó: el documento no está vigente."};
      return {409, "El QR generado con ese codigoTransaccion venció sin confirmarse"};
    case StatusCode::kNotFound:
      return {409, "No existe un QR generado con ese codigoTransaccion"};
    case StatusCode::kFailedPrecondition:
      return {409, step == QrStep::kAnular ? "El QR ya fue anulado" : "El QR fue anulado"};
    default:
      return RefusalFor(s);
  }
}

}  // namespace quipu::api::agetic
