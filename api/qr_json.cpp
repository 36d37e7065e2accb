#include "api/qr_json.h"

#include <cstdint>

#include "api/documents_json.h"
#include "crypto/encoding.h"
#include "crypto/jcs.h"
#include "node/time.h"

namespace quipu::api {
namespace {

using nlohmann::json;

constexpr int kMaxStampPage = 100000;
// A QR request's inline document: as large as the server lets its body be.
constexpr size_t kMaxQrContent = SIZE_MAX;

}  // namespace

Result<node::QrPlain> QrPlainFromJson(const json& fields, const std::optional<std::string>& expires_at,
                                      int64_t now_us) {
  std::string text = "{}";
  if (!fields.is_null()) {
    if (!fields.is_object()) return InvalidArgument("fields: a JSON object");
    QUIPU_ASSIGN_OR_RETURN(text, crypto::CanonicalDump(fields));
  }
  return node::MakeQrPlain(std::move(text), expires_at, now_us);
}

Result<node::QrIssueRequest> QrIssueRequestFromJson(const json& body, int64_t now_us) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  for (const auto& [k, v] : body.items()) {
    if (k != "document" && k != "fields" && k != "expires_at") return InvalidArgument("unknown field '" + k + "'");
  }
  node::QrIssueRequest request;
  QUIPU_ASSIGN_OR_RETURN(request.document, DocumentRefFromJson(body.value("document", json()), "document", kMaxQrContent));
  std::optional<std::string> expires;
  if (body.contains("expires_at")) {
    if (!body["expires_at"].is_string()) return InvalidArgument("expires_at: an RFC 3339 time");
    expires = body["expires_at"].get<std::string>();
  }
  QUIPU_ASSIGN_OR_RETURN(request.plain, QrPlainFromJson(body.value("fields", json()), expires, now_us));
  return request;
}

Result<node::QrStampRequest> QrStampRequestFromJson(const json& options) {
  node::QrStampRequest where;
  if (!options.is_object()) return InvalidArgument("stamp options: a JSON object");
  if (auto p = options.find("page"); p != options.end()) {
    // 1e10 or 1.5 are not pages: only integers written as such.
    if (!p->is_number_integer() || p->get<int64_t>() < 0 || p->get<int64_t>() > kMaxStampPage) {
      return InvalidArgument("page: an integer 1.." + std::to_string(kMaxStampPage) + " (0 = the last page)");
    }
    where.page = static_cast<int>(p->get<int64_t>());
  }
  if (auto c = options.find("corner"); c != options.end()) {
    const std::string corner = c->is_string() ? c->get<std::string>() : "";
    if (corner == "bottom-right") where.corner = pdf::Corner::kBottomRight;
    else if (corner == "bottom-left") where.corner = pdf::Corner::kBottomLeft;
    else if (corner == "top-right") where.corner = pdf::Corner::kTopRight;
    else if (corner == "top-left") where.corner = pdf::Corner::kTopLeft;
    else return InvalidArgument("corner: bottom-right, bottom-left, top-right or top-left");
  }
  if (auto c = options.find("caption"); c != options.end()) {
    if (!c->is_string()) return InvalidArgument("caption: text");
    where.caption = c->get<std::string>();
  }
  return where;
}

json QrIssuedJson(const node::QrIssued& issued) {
  const std::string index = std::to_string(issued.index);
  return {{"qr_text", issued.text},
          {"index", issued.index},
          {"document_sha256", crypto::HexEncode(issued.document_sha256)},
          {"issued_at", issued.issued_at},
          {"svg_url", "/v1/qr/" + index + ".svg"},
          {"png_url", "/v1/qr/" + index + ".png"},
          {"checkpoint", issued.checkpoint}};
}

namespace {

// Days since 1970-01-01 as DD/MM/YYYY, the original's dates.
std::string DayText(int64_t day) {
  const std::string t = node::FormatRfc3339(day * 86400 * 1000000);  // YYYY-MM-DDT...
  return t.substr(8, 2) + "/" + t.substr(5, 2) + "/" + t.substr(0, 4);
}

}  // namespace

json QrDocumentJson(const node::QrDocument& d) {
  json validez = {{"fechaEmision", DayText(d.issued_day)}};
  if (d.expires_day) validez["fechaExpiracion"] = DayText(*d.expires_day);
  json titulares = json::array();
  for (const node::QrHolder& h : d.holders) {
    titulares.push_back({{"nombreCompleto", h.name},
                         {"tipoDocumento", h.id_type == node::QrHolder::IdType::kCie ? "CIE" : "CI"},
                         {"numeroDocumento", h.id_number},
                         {"rol", h.role}});
  }
  json out = {{"codigoDocumento", d.code}, {"nombreDocumento", d.name}, {"validez", std::move(validez)},
              {"titulares", std::move(titulares)}};
  if (d.description) out["descripcionDocumento"] = *d.description;
  if (!d.metadata.empty()) {
    json metadatos = json::array();
    for (const auto& [k, v] : d.metadata) metadatos.push_back({{"clave", k}, {"valor", v}});
    out["metadatos"] = std::move(metadatos);
  }
  return out;
}

json QrVerificationJson(const node::QrVerification& v) {
  json out = {{"valid", v.valid}, {"reasons", v.reasons}, {"format", v.version == 2 ? "QS2" : "QS1"}};
  if (v.index) out["index"] = *v.index;
  if (v.record) {
    const node::QrVerification::Record& r = *v.record;
    out["entry"] = EntryJson(r.entry);
    out["issued_at"] = r.issued_at;
    out["client"] = r.client;
    if (!r.client_name.empty()) out["client_name"] = r.client_name;
    out["document_sha256"] = r.document_sha256;
    out["leaf_hash"] = crypto::Base64Encode(r.leaf_hash);
    out["proof"] = ProofJson(r.proof);
    out["tree_size"] = r.tree_size;
    out["checkpoint"] = r.checkpoint;
    out["revoked"] = r.revocation.has_value();
    out["revocation"] = r.revocation ? json{{"index", r.revocation->index},
                                            {"time", r.revocation->time},
                                            {"reason", r.revocation->reason}}
                                     : json(nullptr);
    out["expired"] = r.expired;
    out["expires_at"] = r.expires_at ? json(node::FormatRfc3339(*r.expires_at * 1000000)) : json(nullptr);
  }
  if (v.valid && v.fields) out["fields"] = json::parse(*v.fields, nullptr, false);
  if (v.valid && v.document) out["fields"] = QrDocumentJson(*v.document);
  return out;
}

json QrRevokedJson(const node::QrRevoked& r) {
  return {{"index", r.index}, {"target", r.target}, {"revoked_at", r.revoked_at}, {"checkpoint", r.checkpoint}};
}

}  // namespace quipu::api
