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
constexpr size_t kMaxQrText = 8000;

}  // namespace

namespace qr_handlers {

Response Issue(node::QrService& qr, const node::ClientInfo& client, const Request& req, const ReceiptSource& receipts) {
  json body;
  if (auto bad = ReadJsonBody(req, body)) return *bad;
  auto request = QrIssueRequestFromJson(body, qr.NowMicros());
  if (!request.ok()) return ProblemFromStatus(request.status());
  auto issued = qr.Issue(client, *request);
  if (!issued.ok()) return ProblemFromStatus(issued.status());
  json out = QrIssuedJson(*issued);
  AddReceipt(out, issued->index, receipts);
  return Json(out, 201);
}

// The image of a code carries its text, and its text opens its fields:
// only the issuing client gets it (whoever holds the printed document has
// the code already).
Response Image(node::Clients& clients, const node::QrService& qr, const Request& req) {
  const std::string& name = req.params[0];
  const size_t dot = name.rfind('.');
  const std::string ext = dot == std::string::npos ? "" : name.substr(dot + 1);
  auto index = dot == std::string::npos ? Result<uint64_t>(InvalidArgument("no extension"))
                                        : ParseIndexParam(name.substr(0, dot), "the index");
  if ((ext != "svg" && ext != "png") || !index.ok()) {
    return Problem(404, "Not found", "QR images are /v1/qr/{index}.svg and /v1/qr/{index}.png");
  }
  auto client = AuthenticateClient(clients, req.headers);
  if (!client.ok()) return Unauthorized(client.status().message());
  auto text = qr.Text(*client, *index);
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
}

Response Verify(const node::QrService& qr, const Request& req, const ReceiptSource& receipts) {
  json body;
  if (auto bad = ReadJsonBody(req, body, 4)) return *bad;
  if (!body.is_object() || !body.contains("qr_text") || !body["qr_text"].is_string()) {
    return Problem(400, "Bad request", "send {\"qr_text\": \"QS1:...\"}");
  }
  const std::string text = body["qr_text"];
  if (text.size() > kMaxQrText) return Problem(400, "Bad request", "qr_text is too long");
  auto verified = qr.Verify(text);
  if (!verified.ok()) return ProblemFromStatus(verified.status());
  json out = QrVerificationJson(*verified);
  if (verified->record && verified->index) AddReceipt(out, *verified->index, receipts);
  return Json(out);
}

Response Revoke(node::QrService& qr, const node::ClientInfo& client, const Request& req) {
  auto index = ParseIndexParam(req.params[0], "the index");
  if (!index.ok()) return Problem(404, "Not found", "no such QR code");
  json body;
  if (auto bad = ReadJsonBody(req, body)) return *bad;
  if (!body.is_object() || !body.contains("reason") || !body["reason"].is_string()) {
    return Problem(400, "Bad request", "send {\"reason\": \"...\"}");
  }
  auto revoked = qr.Revoke(client, *index, body["reason"].get<std::string>());
  if (!revoked.ok()) return ProblemFromStatus(revoked.status());
  return Json(QrRevokedJson(*revoked));
}

Response Stamp(node::QrService& qr, const node::ClientInfo& client, const Request& req) {
  json body;
  if (auto bad = ReadJsonBody(req, body)) return *bad;
  if (!body.is_object() || !body.contains("pdf") || !body["pdf"].is_string()) {
    return Problem(400, "Bad request", "send {\"pdf\": base64, \"fields\": {...}, \"page\"?, \"corner\"?, \"caption\"?}");
  }
  for (const auto& [k, v] : body.items()) {
    if (k != "pdf" && k != "fields" && k != "page" && k != "corner" && k != "caption" && k != "expires_at") {
      return Problem(400, "Bad request", "unknown field '" + k + "'");
    }
  }
  auto where = QrStampRequestFromJson(body);
  if (!where.ok()) return ProblemFromStatus(where.status());
  std::optional<std::string> expires;
  if (body.contains("expires_at")) {
    if (!body["expires_at"].is_string()) return Problem(400, "Bad request", "expires_at: an RFC 3339 time");
    expires = body["expires_at"].get<std::string>();
  }
  auto plain = QrPlainFromJson(body.value("fields", json()), expires, qr.NowMicros());
  if (!plain.ok()) return ProblemFromStatus(plain.status());
  auto pdf = crypto::Base64Decode(body["pdf"].get<std::string>());
  if (!pdf.ok()) return Problem(400, "Bad request", "pdf: not base64");
  auto stamped = qr.Stamp(client, *pdf, *plain, *where);
  if (!stamped.ok()) return ProblemFromStatus(stamped.status());
  Response r;
  r.content_type = "application/pdf";
  r.body = std::move(stamped->pdf);
  r.headers.emplace_back("Cache-Control", "private, no-store");
  r.headers.emplace_back("X-Quipu-QR-Index", std::to_string(stamped->qr.index));
  r.headers.emplace_back("X-Quipu-QR-Text", stamped->qr.text);
  return r;
}

}  // namespace qr_handlers

void AddQrRoutes(Router& router, node::Clients& clients, node::QrService& qr, ReceiptSource receipts) {
  namespace h = qr_handlers;
  using node::ClientInfo;
  router.Add(http::verb::post, "/v1/qr",
             AsClient(clients, [&qr, receipts](const ClientInfo& c, const Request& req) {
               return h::Issue(qr, c, req, receipts);
             }),
             ForClients(clients, {Exec::kWorker, kDocumentBody}));
  router.Add(http::verb::get, "/v1/qr/{}", [&clients, &qr](const Request& req) { return h::Image(clients, qr, req); });
  router.Add(http::verb::post, "/v1/qr/verify", [&qr, receipts](const Request& req) { return h::Verify(qr, req, receipts); },
             RouteOptions{Exec::kWorker, kVerifyBody});
  router.Add(http::verb::post, "/v1/qr/{}/revoke",
             AsClient(clients, [&qr](const ClientInfo& c, const Request& req) { return h::Revoke(qr, c, req); }),
             ForClients(clients, {Exec::kWorker, kVerifyBody}));
  router.Add(http::verb::post, "/v1/qr/stamp",
             AsClient(clients, [&qr](const ClientInfo& c, const Request& req) { return h::Stamp(qr, c, req); }),
             ForClients(clients, {Exec::kWorker, kDocumentBody}));
}

}  // namespace quipu::api
