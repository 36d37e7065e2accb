#include "node/qr_service.h"

#include <sys/stat.h>

#include <charconv>
#include <chrono>
#include <filesystem>

#include "crypto/encoding.h"
#include "crypto/jcs.h"
#include "crypto/random.h"
#include "ledger/entry.h"
#include "node/document.h"
#include "node/qr_format.h"
#include "node/qr_render.h"
#include "node/schema.h"
#include "node/secrets.h"
#include "node/time.h"
#include "pdf/stamp.h"

namespace quipu::node {
namespace {

using ledger::PrivateTable;
using ledger::PrivateTxn;
using nlohmann::json;

// Ledger indices stay below 2^53 (docs/ledger.md): a code for this index
// is the longest a code with given fields can be.
constexpr uint64_t kLongestIndex = (uint64_t{1} << 53) - 1;
constexpr int kMaxStampPage = 100000;

std::string IssuedKey(uint64_t index) { return "q:" + std::to_string(index); }
std::string RevokedKey(uint64_t index) { return "qrev:" + std::to_string(index); }

int64_t SystemMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<QrKeyRing> LoadQrKeys(const std::string& data_dir, bool create) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(data_dir) / "qr-keys";
  QrKeyRing ring;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    for (const auto& f : fs::directory_iterator(dir)) {
      if (f.path().extension() != ".key") continue;
      const std::string stem = f.path().stem().string();
      if (stem.empty() || stem.size() > 9 || stem.find_first_not_of("0123456789") != std::string::npos) continue;
      QUIPU_ASSIGN_OR_RETURN(auto key, ReadHexKeyFile(f.path().string()));
      ring.keys[static_cast<uint32_t>(std::stoul(stem))] = key;
    }
  }
  if (ring.keys.empty() && create) {
    QUIPU_RETURN_IF_ERROR(RotateQrKey(data_dir).status());
    return LoadQrKeys(data_dir, false);
  }
  if (ring.keys.empty()) return NotFound("no QR data keys in " + dir.string());
  return ring;
}

Result<uint32_t> RotateQrKey(const std::string& data_dir) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(data_dir) / "qr-keys";
  std::error_code ec;
  fs::create_directories(dir, ec);
  ::chmod(dir.c_str(), 0700);
  uint32_t next = 1;
  for (const auto& f : fs::directory_iterator(dir)) {
    const std::string stem = f.path().stem().string();
    if (f.path().extension() == ".key" && !stem.empty() && stem.find_first_not_of("0123456789") == std::string::npos) {
      next = std::max<uint32_t>(next, static_cast<uint32_t>(std::stoul(stem)) + 1);
    }
  }
  QUIPU_RETURN_IF_ERROR(CreateHexKeyFile((dir / (std::to_string(next) + ".key")).string()));
  return next;
}

QrService::QrService(ledger::Log& log, Clients& clients, pdf::PdfEngine& pdf, crypto::NoteSigner signer,
                     QrKeyRing keys, std::function<int64_t()> clock)
    : log_(log),
      clients_(clients),
      pdf_(pdf),
      signer_(std::move(signer)),
      keys_(std::move(keys)),
      clock_(std::move(clock)) {
  if (!clock_) clock_ = SystemMicros;
}

Result<QrPlain> ParseQrPlain(const json& fields, const std::optional<std::string>& expires_at, int64_t now_us) {
  QrPlain plain;
  if (!fields.is_null()) {
    if (!fields.is_object()) return InvalidArgument("fields: a JSON object");
    plain.fields = fields;
  }
  if (expires_at) {
    auto t = ParseRfc3339(*expires_at);
    if (!t.ok()) return InvalidArgument("expires_at: " + t.status().message());
    if (*t <= now_us) return InvalidArgument("expires_at: " + *expires_at + " is not in the future");
    plain.expires_at = *t / 1000000;
  }
  // The fields must encode (CBOR, at most kMaxQrFieldsBytes): checked now,
  // not first inside the sequencer.
  QUIPU_RETURN_IF_ERROR(EncodeQrPlain(plain).status());
  return plain;
}

Result<QrStampRequest> ParseQrStampRequest(const json& options) {
  QrStampRequest where;
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

Result<QrIssued> QrService::Issue(const ClientInfo& client, const QrIssueRequest& request) {
  if (client.disabled) return PermissionDenied("client " + client.id + " is disabled");
  if (request.media != DocType::kPdf && request.media != DocType::kJson) {
    return InvalidArgument("document.media_type: application/pdf or application/json");
  }
  if (request.plain.expires_at && *request.plain.expires_at * 1000000 <= clock_()) {
    return InvalidArgument("expires_at is not in the future");
  }
  QUIPU_RETURN_IF_ERROR(EncodeQrPlain(request.plain).status());
  const std::string sha = crypto::HexEncode(request.document_sha256);
  const std::string media(MediaType(request.media));

  // Sealed in the sequencer, with the index the entry gets; the last
  // attempt's result is the one committed.
  QrSealed sealed;
  bool sealed_ok = false;
  const uint32_t data_key_id = keys_.newest();
  const auto& data_key = keys_.keys.at(data_key_id);
  ledger::AppendRequest req;
  req.late_count = 1;
  req.apply = [&](PrivateTxn& txn, uint64_t first, const std::string& time) -> Status {
    QUIPU_ASSIGN_OR_RETURN(sealed, SealQr(request.plain, first, signer_.key_hash(), data_key, signer_.key()));
    sealed_ok = true;
    json record = {{"text", QrText(sealed)}, {"client", client.id}, {"issued", time}};
    return txn.Put(tables::kQr, IssuedKey(first), record.dump());
  };
  req.late_entries = [&](uint64_t) -> Result<std::vector<json>> {
    if (!sealed_ok) return Internal("qr: not sealed");
    return std::vector<json>{{{"type", "qr_issue"},
                              {"client", client.id},
                              {"doc", {{"sha256", sha}, {"media_type", media}}},
                              {"payload", crypto::HexEncode(QrPayloadHash(sealed))}}};
  };
  auto done = log_.Append(std::move(req)).get();
  if (!done.ok()) return done.status();
  return QrIssued{done->first_index, QrText(sealed), done->time, done->checkpoint};
}

Result<json> QrService::Issue(const ClientInfo& client, const json& body) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  for (const auto& [k, v] : body.items()) {
    if (k != "document" && k != "fields" && k != "expires_at") return InvalidArgument("unknown field '" + k + "'");
  }
  const json doc = body.value("document", json());
  if (!doc.is_object()) return InvalidArgument("document: {sha256 | content, media_type}");
  QrIssueRequest request;
  const auto media = ParseDocType(doc.value("media_type", ""));
  if (!media || *media == DocType::kRaw || doc.value("media_type", "").find('/') == std::string::npos) {
    return InvalidArgument("document.media_type: application/pdf or application/json");
  }
  request.media = *media;
  std::optional<std::string> sha;
  if (doc.contains("content")) {
    if (!doc["content"].is_string()) return InvalidArgument("document.content: base64 text");
    auto bytes = crypto::Base64Decode(doc["content"].get<std::string>());
    if (!bytes.ok()) return InvalidArgument("document.content: not base64");
    auto hashed = HashDocument(pdf_, *bytes, request.media);
    if (!hashed.ok()) return hashed.status().WithContext("document.content");
    sha = crypto::HexEncode(hashed->sha256);
  }
  if (doc.contains("sha256")) {
    const std::string given = doc["sha256"].is_string() ? doc["sha256"].get<std::string>() : "";
    auto raw = crypto::HexDecode(given);
    if (given.size() != 64 || !raw.ok() || crypto::HexEncode(*raw) != given) {
      return InvalidArgument("document.sha256: 64 lower-case hex digits");
    }
    if (sha && *sha != given) return InvalidArgument("document.sha256 does not match its content");
    sha = given;
  }
  if (!sha) return InvalidArgument("document: give sha256 or content");
  std::copy_n(crypto::HexDecode(*sha)->begin(), 32, request.document_sha256.begin());
  std::optional<std::string> expires;
  if (body.contains("expires_at")) {
    if (!body["expires_at"].is_string()) return InvalidArgument("expires_at: an RFC 3339 time");
    expires = body["expires_at"].get<std::string>();
  }
  QUIPU_ASSIGN_OR_RETURN(request.plain, ParseQrPlain(body.value("fields", json()), expires, clock_()));
  QUIPU_ASSIGN_OR_RETURN(QrIssued issued, Issue(client, request));
  return json{{"qr_text", issued.text},
              {"index", issued.index},
              {"document_sha256", *sha},
              {"issued_at", issued.issued_at},
              {"svg_url", "/v1/qr/" + std::to_string(issued.index) + ".svg"},
              {"png_url", "/v1/qr/" + std::to_string(issued.index) + ".png"},
              {"checkpoint", issued.checkpoint}};
}

Result<json> QrService::Verify(std::string_view qr_text) const {
  json out = {{"valid", false}, {"reasons", json::array()}};
  auto reason = [&](std::string r) { out["reasons"].push_back(std::move(r)); };
  auto parsed = ParseQrText(qr_text);
  if (!parsed.ok()) {
    reason("malformed: " + parsed.status().message());
    return out;
  }
  const QrSealed& q = *parsed;
  out["index"] = q.index;
  bool ok = true;
  if (q.key_id != signer_.key_hash()) {
    reason("issued by another node's key");
    ok = false;
  } else if (!VerifyQrSignature(q, signer_.public_key())) {
    reason("signature invalid");
    ok = false;
  }
  // The ledger record.
  json entry;
  const ledger::LogHead head = log_.Head();
  if (q.index >= head.tree_size) {
    reason("not in ledger");
    return out;
  }
  QUIPU_ASSIGN_OR_RETURN(std::string bytes, log_.Entry(q.index));
  entry = json::parse(bytes, nullptr, false);
  if (entry.value("type", "") != "qr_issue") {
    reason("not in ledger: entry " + std::to_string(q.index) + " is not a QR issue");
    return out;
  }
  out["entry"] = entry;
  out["issued_at"] = entry["time"];
  out["client"] = entry["client"];
  if (auto c = clients_.Get(entry["client"]); c.ok()) out["client_name"] = c->name;
  out["document_sha256"] = entry["doc"]["sha256"];
  if (entry.value("payload", "") != crypto::HexEncode(QrPayloadHash(q))) {
    reason("ledger entry differs from the code");
    ok = false;
  }
  QUIPU_ASSIGN_OR_RETURN(auto proof, log_.ProveInclusion(q.index, head.tree_size));
  out["leaf_hash"] = crypto::Base64Encode(proof.leaf_hash);
  json path = json::array();
  for (const auto& h : proof.proof) path.push_back(crypto::Base64Encode(h));
  out["proof"] = std::move(path);
  out["tree_size"] = head.tree_size;
  out["checkpoint"] = head.checkpoint;
  // Revocation.
  out["revoked"] = false;
  out["revocation"] = nullptr;
  QUIPU_ASSIGN_OR_RETURN(std::optional<uint64_t> rev, RevocationOf(q.index));
  if (rev) {
    const uint64_t rindex = *rev;
    auto rbytes = log_.Entry(rindex);
    if (rbytes.ok()) {
      json r = json::parse(*rbytes, nullptr, false);
      out["revoked"] = true;
      out["revocation"] = {{"index", rindex}, {"time", r["time"]}, {"reason", r["reason"]}};
      reason("revoked");
      ok = false;
    }
  }
  // The fields, if this node can read them.
  std::optional<QrPlain> plain;
  for (auto it = keys_.keys.rbegin(); it != keys_.keys.rend() && !plain; ++it) {
    auto opened = OpenQr(q, it->second);
    if (opened.ok()) plain = *opened;
  }
  out["expired"] = false;
  out["expires_at"] = nullptr;
  if (!plain) {
    reason("cannot decrypt the fields");
    ok = false;
  } else {
    if (plain->expires_at) {
      out["expires_at"] = ledger::FormatTime(*plain->expires_at * 1000000);
      if (clock_() / 1000000 > *plain->expires_at) {
        out["expired"] = true;
        reason("expired");
        ok = false;
      }
    }
  }
  if (ok && plain && out["reasons"].empty()) {
    out["valid"] = true;
    out["fields"] = plain->fields;
  }
  return out;
}

Result<json> QrService::Revoke(const ClientInfo& client, uint64_t index, const json& body) {
  if (!body.is_object() || !body.contains("reason") || !body["reason"].is_string()) {
    return InvalidArgument("send {\"reason\": \"...\"}");
  }
  const std::string reason = body["reason"];
  if (reason.empty() || reason.size() > 256) return InvalidArgument("reason: 1 to 256 bytes");
  if (index >= log_.Head().tree_size) return NotFound("no QR code at index " + std::to_string(index));
  QUIPU_ASSIGN_OR_RETURN(std::string bytes, log_.Entry(index));
  json entry = json::parse(bytes, nullptr, false);
  if (entry.value("type", "") != "qr_issue" || entry.value("client", "") != client.id) {
    return NotFound("no QR code of this client at index " + std::to_string(index));
  }
  // The revocation names the code's document too, so that the document's
  // lookup (page, API, mirrors) finds it beside the issue.
  ledger::AppendRequest req(std::vector<json>{{{"type", "qr_revoke"},
                                               {"client", client.id},
                                               {"target", index},
                                               {"doc", entry["doc"]},
                                               {"reason", reason}}});
  req.apply = [&](PrivateTxn& txn, uint64_t first, const std::string&) -> Status {
    QUIPU_ASSIGN_OR_RETURN(auto existing, txn.Get(tables::kQr, RevokedKey(index)));
    if (existing) return FailedPrecondition("QR code " + std::to_string(index) + " is already revoked");
    return txn.Put(tables::kQr, RevokedKey(index), std::to_string(first));
  };
  auto done = log_.Append(std::move(req)).get();
  if (!done.ok()) return done.status();
  return json{{"index", done->first_index}, {"target", index}, {"revoked_at", done->time}, {"checkpoint", done->checkpoint}};
}

Result<std::optional<uint64_t>> QrService::RevocationOf(uint64_t index) const {
  QUIPU_ASSIGN_OR_RETURN(auto v, log_.ReadPrivate(tables::kQr, RevokedKey(index)));
  if (!v) return std::optional<uint64_t>();
  uint64_t by = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), by);
  if (ec != std::errc() || end != v->data() + v->size()) {
    return Corruption("the revocation record of QR code " + std::to_string(index) + " is not an index");
  }
  return std::optional<uint64_t>(by);
}

Result<std::string> QrService::Text(const ClientInfo& client, uint64_t index) const {
  const Status none = NotFound("no QR code of this client at index " + std::to_string(index));
  QUIPU_ASSIGN_OR_RETURN(auto v, log_.ReadPrivate(tables::kQr, IssuedKey(index)));
  if (!v) return none;
  json j = json::parse(*v, nullptr, false);
  if (!j.is_object()) return Corruption("the record of QR code " + std::to_string(index) + " is not JSON");
  if (j.value("client", "") != client.id) return none;
  return j.value("text", "");
}

Result<QrService::Stamped> QrService::Stamp(const ClientInfo& client, std::span<const uint8_t> pdf_bytes,
                                            const QrPlain& plain, const QrStampRequest& where) {
  // 1. The document: parsed (in the engine), hashed, its pages counted.
  QUIPU_ASSIGN_OR_RETURN(HashedDocument doc, HashDocument(pdf_, pdf_bytes, DocType::kPdf));
  if (doc.pages <= 0) return Unprocessable("the PDF has no readable pages (encrypted?)");
  if (where.page > doc.pages) {
    return InvalidArgument("page " + std::to_string(where.page) + " is out of range: the PDF has " +
                           std::to_string(doc.pages) + " page(s)");
  }
  // 2. The room for the code: the version of the longest code these fields
  // can give (the index is not known yet; the real code is never longer).
  QUIPU_RETURN_IF_ERROR(EncodeQrPlain(plain).status());
  QUIPU_ASSIGN_OR_RETURN(QrSealed longest, SealQr(plain, kLongestIndex, signer_.key_hash(),
                                                   keys_.keys.at(keys_.newest()), signer_.key()));
  QUIPU_ASSIGN_OR_RETURN(QrMatrix room, EncodeQr(QrText(longest), 'M'));
  // 3. The stamp, with a placeholder where the code goes: every check of
  // page, corner, caption and the PDF's structure happens here.
  pdf::StampOptions so;
  so.page = where.page;
  so.corner = where.corner;
  so.caption = where.caption;
  pdf::QrPlaceholder placeholder{room.size, pdf::NewPlaceholderMarker()};
  QUIPU_ASSIGN_OR_RETURN(crypto::Bytes stamped, pdf_.StampPlaceholder(pdf_bytes, placeholder, so));
  if (stamped.size() < pdf_bytes.size() || !std::equal(pdf_bytes.begin(), pdf_bytes.end(), stamped.begin())) {
    return Unprocessable("the stamped PDF does not start with the original bytes");
  }
  // The room is there, once and whole: what comes after the entry cannot fail.
  QUIPU_RETURN_IF_ERROR(pdf::FindQrPlaceholder(stamped, pdf_bytes.size(), placeholder).status());
  // 4. The code, in the ledger.
  QrIssueRequest request;
  request.document_sha256 = doc.sha256;
  request.media = DocType::kPdf;
  request.plain = plain;
  QUIPU_ASSIGN_OR_RETURN(QrIssued issued, Issue(client, request));
  // 5. Its pixels, into the room made for them: no parser, no failure but a
  // broken invariant (the real code is at most as long as the longest).
  auto m = EncodeQr(issued.text, 'M', room.version);
  Status filled = m.ok() ? pdf::FillQrPlaceholder(stamped, pdf_bytes.size(), placeholder, m->dark, m->size)
                         : m.status();
  if (!filled.ok()) return Internal("QR code " + std::to_string(issued.index) + " issued but not drawn: " + filled.message());
  return Stamped{issued, crypto::HexEncode(doc.sha256), std::string(crypto::AsString(stamped))};
}

}  // namespace quipu::node
