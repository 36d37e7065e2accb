#include "api/qr_routes.h"

#include "api/client_auth.h"
#include "api/params.h"
#include "api/qr_json.h"

#include "crypto/encoding.h"
#include "node/qr_render.h"

namespace quipu::api {
namespace {

using nlohmann::json;

// A QR text is at most a few kilobytes: so is its verification request.
constexpr size_t kVerifyBody = 16 * 1024;

bool ParseIndex(std::string_view s, uint64_t& v) {
  auto parsed = ParseIndexParam(s, "the index");
  if (parsed.ok()) v = *parsed;
  return parsed.ok();
}

}  // namespace

void AddQrRoutes(Router& router, node::Clients& clients, node::QrService& qr) {
  auto client_of = [&clients](const Request& req) { return AuthenticateClient(clients, req.headers); };

  router.Add(http::verb::post, "/v1/qr", [&qr, client_of](const Request& req) {
    auto client = client_of(req);
    if (!client.ok()) return Unauthorized(client.status().message());
    json body_value;
    if (auto bad = ReadJsonBody(req, body_value)) return *bad;
    const json* body = &body_value;
    auto request = QrIssueRequestFromJson(*body, qr.NowMicros());
    if (!request.ok()) return ProblemFromStatus(request.status());
    auto issued = qr.Issue(*client, *request);
    if (!issued.ok()) return ProblemFromStatus(issued.status());
    return Json(QrIssuedJson(*issued), 201);
  }, ForClients(clients, {Exec::kWorker, kDocumentBody}));

  // The image of a code carries its text, and its text opens its fields:
  // only the issuing client gets it (whoever holds the printed document has
  // the code already).
  router.Add(http::verb::get, "/v1/qr/{}", [&qr, client_of](const Request& req) {
    const std::string& name = req.params[0];
    const size_t dot = name.rfind('.');
    const std::string ext = dot == std::string::npos ? "" : name.substr(dot + 1);
    uint64_t index = 0;
    if (dot == std::string::npos || (ext != "svg" && ext != "png") || !ParseIndex(name.substr(0, dot), index)) {
      return Problem(404, "Not found", "QR images are /v1/qr/{index}.svg and /v1/qr/{index}.png");
    }
    auto client = client_of(req);
    if (!client.ok()) return Unauthorized(client.status().message());
    auto text = qr.Text(*client, index);
    if (!text.ok()) return ProblemFromStatus(text.status());
    auto m = node::EncodeQr(*text, 'M');
    if (!m.ok()) return ProblemFromStatus(m.status());
    Response r;
    r.headers.emplace_back("Cache-Control", "private, no-store");
    if (ext == "svg") {
      r.content_type = "image/svg+xml";
      r.body = node::QrSvg(*m);
    } else {
      auto png = node::QrPng(*m, 4, 4);
      if (!png.ok()) return ProblemFromStatus(png.status());
      r.content_type = "image/png";
      r.body = std::string(crypto::AsString(*png));
    }
    return r;
  });

  router.Add(http::verb::post, "/v1/qr/verify", [&qr](const Request& req) {
    json body_value;
    if (auto bad = ReadJsonBody(req, body_value, 4)) return *bad;
    const json* body = &body_value;
    if (!body->is_object() || !body->contains("qr_text") || !(*body)["qr_text"].is_string()) {
      return Problem(400, "Bad request", "send {\"qr_text\": \"QS1:...\"}");
    }
    const std::string text = (*body)["qr_text"];
    if (text.size() > 8000) return Problem(400, "Bad request", "qr_text is too long");
    auto verified = qr.Verify(text);
    if (!verified.ok()) return ProblemFromStatus(verified.status());
    return Json(QrVerificationJson(*verified));
  }, RouteOptions{Exec::kWorker, kVerifyBody});

  router.Add(http::verb::post, "/v1/qr/{}/revoke", [&qr, client_of](const Request& req) {
    auto client = client_of(req);
    if (!client.ok()) return Unauthorized(client.status().message());
    uint64_t index = 0;
    if (!ParseIndex(req.params[0], index)) return Problem(404, "Not found", "no such QR code");
    json body_value;
    if (auto bad = ReadJsonBody(req, body_value)) return *bad;
    const json* body = &body_value;
    if (!body->is_object() || !body->contains("reason") || !(*body)["reason"].is_string()) {
      return Problem(400, "Bad request", "send {\"reason\": \"...\"}");
    }
    auto revoked = qr.Revoke(*client, index, (*body)["reason"].get<std::string>());
    if (!revoked.ok()) return ProblemFromStatus(revoked.status());
    return Json(QrRevokedJson(*revoked));
  }, ForClients(clients, {Exec::kWorker, kVerifyBody}));

  router.Add(http::verb::post, "/v1/qr/stamp", [&qr, client_of](const Request& req) {
    auto client = client_of(req);
    if (!client.ok()) return Unauthorized(client.status().message());
    json body_value;
    if (auto bad = ReadJsonBody(req, body_value)) return *bad;
    const json* body = &body_value;
    if (!body->is_object() || !body->contains("pdf") || !(*body)["pdf"].is_string()) {
      return Problem(400, "Bad request", "send {\"pdf\": base64, \"fields\": {...}, \"page\"?, \"corner\"?, \"caption\"?}");
    }
    for (const auto& [k, v] : body->items()) {
      if (k != "pdf" && k != "fields" && k != "page" && k != "corner" && k != "caption" && k != "expires_at") {
        return Problem(400, "Bad request", "unknown field '" + k + "'");
      }
    }
    auto where = QrStampRequestFromJson(*body);
    if (!where.ok()) return ProblemFromStatus(where.status());
    std::optional<std::string> expires;
    if (body->contains("expires_at")) {
      if (!(*body)["expires_at"].is_string()) return Problem(400, "Bad request", "expires_at: an RFC 3339 time");
      expires = (*body)["expires_at"].get<std::string>();
    }
    auto plain = QrPlainFromJson(body->value("fields", json()), expires, qr.NowMicros());
    if (!plain.ok()) return ProblemFromStatus(plain.status());
    auto pdf = crypto::Base64Decode((*body)["pdf"].get<std::string>());
    if (!pdf.ok()) return Problem(400, "Bad request", "pdf: not base64");
    auto stamped = qr.Stamp(*client, *pdf, *plain, *where);
    if (!stamped.ok()) return ProblemFromStatus(stamped.status());
    Response r;
    r.content_type = "application/pdf";
    r.body = std::move(stamped->pdf);
    r.headers.emplace_back("Cache-Control", "private, no-store");
    r.headers.emplace_back("X-Quipu-QR-Index", std::to_string(stamped->qr.index));
    r.headers.emplace_back("X-Quipu-QR-Text", stamped->qr.text);
    return r;
  }, ForClients(clients, {Exec::kWorker, kDocumentBody}));
}

}  // namespace quipu::api
