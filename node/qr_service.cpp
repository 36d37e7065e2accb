#include "node/qr_service.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>

#include "crypto/encoding.h"
#include "crypto/jcs.h"
#include "crypto/random.h"
#include "ledger/entry.h"
#include "node/document.h"
#include "node/qr_format.h"
#include "node/qr_render.h"
#include "node/secrets.h"
#include "pdf/stamp.h"

namespace quipu::node {
namespace {

using ledger::PrivateTable;
using ledger::PrivateTxn;
using nlohmann::json;

constexpr size_t kMaxFieldsBytes = 512;

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

QrService::QrService(ledger::Log& log, Clients& clients, crypto::NoteSigner signer, QrKeyRing keys,
                     std::function<int64_t()> clock)
    : log_(log), clients_(clients), signer_(std::move(signer)), keys_(std::move(keys)), clock_(std::move(clock)) {
  if (!clock_) clock_ = SystemMicros;
}

Result<json> QrService::Issue(const ClientInfo& client, const json& body) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  for (const auto& [k, v] : body.items()) {
    if (k != "document" && k != "fields" && k != "expires_at") return InvalidArgument("unknown field '" + k + "'");
  }
  const json doc = body.value("document", json());
  if (!doc.is_object()) return InvalidArgument("document: {sha256 | content, media_type}");
  const std::string media = doc.value("media_type", "");
  if (media != "application/pdf" && media != "application/json") {
    return InvalidArgument("document.media_type: application/pdf or application/json");
  }
  std::string sha;
  if (doc.contains("content")) {
    if (!doc["content"].is_string()) return InvalidArgument("document.content: base64 text");
    auto bytes = crypto::Base64Decode(doc["content"].get<std::string>());
    if (!bytes.ok()) return InvalidArgument("document.content: not base64");
    auto hashed = HashDocument(*bytes, media == "application/pdf" ? DocType::kPdf : DocType::kJson);
    if (!hashed.ok()) return InvalidArgument("document.content: " + hashed.status().message());
    sha = crypto::HexEncode(hashed->sha256);
  }
  if (doc.contains("sha256")) {
    const std::string given = doc.value("sha256", "");
    auto raw = crypto::HexDecode(given);
    if (given.size() != 64 || !raw.ok() || crypto::HexEncode(*raw) != given) {
      return InvalidArgument("document.sha256: 64 lower-case hex digits");
    }
    if (!sha.empty() && sha != given) return InvalidArgument("document.sha256 does not match its content");
    sha = given;
  }
  if (sha.empty()) return InvalidArgument("document: give sha256 or content");
  const json fields = body.value("fields", json::object());
  if (!fields.is_object()) return InvalidArgument("fields: a JSON object");
  std::optional<int64_t> expires;
  if (body.contains("expires_at")) {
    if (!body["expires_at"].is_string()) return InvalidArgument("expires_at: RFC 3339 UTC with microseconds");
    auto t = ledger::ParseTime(body["expires_at"].get<std::string>());
    if (!t.ok()) return InvalidArgument("expires_at: " + t.status().message());
    expires = *t / 1000000;
  }
  QrPlain plain;
  plain.fields = fields;
  plain.expires_at = expires;

  // Sealed in the sequencer, with the index the entry gets; the last
  // attempt's result is the one committed.
  QrSealed sealed;
  bool sealed_ok = false;
  const uint32_t data_key_id = keys_.newest();
  const auto& data_key = keys_.keys.at(data_key_id);
  ledger::AppendRequest req;
  req.late_count = 1;
  req.apply = [&](PrivateTxn& txn, uint64_t first, const std::string& time) -> Status {
    QUIPU_ASSIGN_OR_RETURN(sealed, SealQr(plain, first, signer_.key_hash(), data_key, signer_.key()));
    sealed_ok = true;
    json record = {{"text", QrText(sealed)}, {"client", client.id}, {"issued", time}};
    return txn.Put(PrivateTable::kApprovals, IssuedKey(first), record.dump());
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
  const uint64_t index = done->first_index;
  return json{{"qr_text", QrText(sealed)},
              {"index", index},
              {"document_sha256", sha},
              {"issued_at", done->time},
              {"svg_url", "/v1/qr/" + std::to_string(index) + ".svg"},
              {"png_url", "/v1/qr/" + std::to_string(index) + ".png"},
              {"checkpoint", done->checkpoint}};
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
  QUIPU_ASSIGN_OR_RETURN(auto rev, log_.ReadPrivate(PrivateTable::kApprovals, RevokedKey(q.index)));
  if (rev) {
    const uint64_t rindex = std::stoull(*rev);
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
  ledger::AppendRequest req(std::vector<json>{
      {{"type", "qr_revoke"}, {"client", client.id}, {"target", index}, {"reason", reason}}});
  req.apply = [&](PrivateTxn& txn, uint64_t first, const std::string&) -> Status {
    QUIPU_ASSIGN_OR_RETURN(auto existing, txn.Get(PrivateTable::kApprovals, RevokedKey(index)));
    if (existing) return FailedPrecondition("QR code " + std::to_string(index) + " is already revoked");
    return txn.Put(PrivateTable::kApprovals, RevokedKey(index), std::to_string(first));
  };
  auto done = log_.Append(std::move(req)).get();
  if (!done.ok()) return done.status();
  return json{{"index", done->first_index}, {"target", index}, {"revoked_at", done->time}, {"checkpoint", done->checkpoint}};
}

Result<std::string> QrService::Text(uint64_t index) const {
  QUIPU_ASSIGN_OR_RETURN(auto v, log_.ReadPrivate(PrivateTable::kApprovals, IssuedKey(index)));
  if (!v) return NotFound("no QR code issued at index " + std::to_string(index));
  json j = json::parse(*v, nullptr, false);
  return j.value("text", "");
}

Result<QrService::Stamped> QrService::Stamp(const ClientInfo& client, std::span<const uint8_t> pdf_bytes,
                                            const json& fields, const json& options) {
  QUIPU_ASSIGN_OR_RETURN(HashedDocument doc, HashDocument(pdf_bytes, DocType::kPdf));
  json body = {{"document", {{"sha256", crypto::HexEncode(doc.sha256)}, {"media_type", "application/pdf"}}},
               {"fields", fields}};
  if (options.contains("expires_at")) body["expires_at"] = options["expires_at"];
  QUIPU_ASSIGN_OR_RETURN(json issued, Issue(client, body));
  QUIPU_ASSIGN_OR_RETURN(QrMatrix m, EncodeQr(issued["qr_text"].get<std::string>()));
  pdf::StampOptions so;
  so.page = options.value("page", 1);
  const std::string corner = options.value("corner", "bottom-right");
  if (corner == "bottom-left") so.corner = pdf::Corner::kBottomLeft;
  else if (corner == "top-right") so.corner = pdf::Corner::kTopRight;
  else if (corner == "top-left") so.corner = pdf::Corner::kTopLeft;
  else if (corner != "bottom-right") return InvalidArgument("corner: bottom-right, bottom-left, top-right or top-left");
  so.caption = options.value("caption", "QR Seguro - verifique en " + std::string("quipu"));
  QUIPU_ASSIGN_OR_RETURN(crypto::Bytes stamped, pdf::StampQr(pdf_bytes, m.dark, m.size, so));
  return Stamped{issued, std::string(crypto::AsString(stamped))};
}

}  // namespace quipu::node
