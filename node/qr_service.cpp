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
#include "node/records.h"
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

using records::QrIssuedKey;
using records::QrRecord;
using records::QrRevokedKey;

int64_t SystemMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The key files in `dir` and their ids (<id>.key, the id 1 to 9 digits:
// other names are not keys), without throwing: kIoError when it cannot be
// listed.
Result<std::vector<std::pair<uint32_t, std::filesystem::path>>> KeyFiles(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::vector<std::pair<uint32_t, fs::path>> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& f = it->path();
    const std::string stem = f.stem().string();
    if (f.extension() != ".key" || stem.empty() || stem.size() > 9 ||
        stem.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    files.emplace_back(static_cast<uint32_t>(std::stoul(stem)), f);
  }
  if (ec) return IoError("cannot list " + dir.string() + ": " + ec.message());
  return files;
}

}  // namespace

Result<QrKeyRing> LoadQrKeys(const std::string& data_dir, bool create) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(data_dir) / "qr-keys";
  QrKeyRing ring;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    QUIPU_ASSIGN_OR_RETURN(const auto files, KeyFiles(dir));
    for (const auto& [id, path] : files) {
      QUIPU_ASSIGN_OR_RETURN(auto key, ReadHexKeyFile(path.string()));
      ring.keys[id] = key;
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
  QUIPU_ASSIGN_OR_RETURN(const auto files, KeyFiles(dir));
  for (const auto& file : files) next = std::max(next, file.first + 1);
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

Result<QrPlain> MakeQrPlain(std::string fields, const std::optional<std::string>& expires_at, int64_t now_us) {
  QrPlain plain;
  if (!json::parse(fields, nullptr, false).is_object()) return InvalidArgument("fields: a JSON object");
  plain.fields = std::move(fields);
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

Result<QrIssued> QrService::Issue(const ClientInfo& client, const QrIssueRequest& request) {
  if (client.disabled) return PermissionDenied("client " + client.id + " is disabled");
  if (request.plain.expires_at && *request.plain.expires_at * 1000000 <= clock_()) {
    return InvalidArgument("expires_at is not in the future");
  }
  QUIPU_RETURN_IF_ERROR(EncodeQrPlain(request.plain).status());
  QUIPU_ASSIGN_OR_RETURN(const crypto::Digest digest, ResolveDocument(pdf_, request.document, "document"));
  const std::string sha = crypto::HexEncode(digest);
  const std::string media(MediaType(request.document.media));

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
    return txn.Put(tables::kQr, QrIssuedKey(first), records::Encode(QrRecord{QrText(sealed), client.id, time}));
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
  return QrIssued{done->first_index, QrText(sealed), digest, done->time, done->checkpoint};
}

Result<QrVerification> QrService::Verify(std::string_view qr_text) const {
  QrVerification out;
  auto parsed = ParseQrText(qr_text);
  if (!parsed.ok()) {
    out.reasons.push_back("malformed: " + parsed.status().message());
    return out;
  }
  const QrSealed& q = *parsed;
  out.index = q.index;
  if (q.key_id != signer_.key_hash()) {
    out.reasons.push_back("issued by another node's key");
  } else if (!VerifyQrSignature(q, signer_.public_key())) {
    out.reasons.push_back("signature invalid");
  }
  // The ledger record.
  const ledger::LogHead head = log_.Head();
  if (q.index >= head.tree_size) {
    out.reasons.push_back("not in ledger");
    return out;
  }
  QUIPU_ASSIGN_OR_RETURN(std::string bytes, log_.Entry(q.index));
  const json entry = json::parse(bytes, nullptr, false);
  if (!entry.is_object() || entry.value("type", "") != "qr_issue") {
    out.reasons.push_back("not in ledger: entry " + std::to_string(q.index) + " is not a QR issue");
    return out;
  }
  QrVerification::Record& rec = out.record.emplace();
  rec.entry = std::move(bytes);
  rec.issued_at = entry.value("time", "");
  rec.client = entry.value("client", "");
  if (auto c = clients_.Get(rec.client); c.ok()) rec.client_name = c->name;
  rec.document_sha256 = entry.contains("doc") ? entry["doc"].value("sha256", "") : "";
  if (entry.value("payload", "") != crypto::HexEncode(QrPayloadHash(q))) {
    out.reasons.push_back("ledger entry differs from the code");
  }
  QUIPU_ASSIGN_OR_RETURN(auto proof, log_.ProveInclusion(q.index, head.tree_size));
  rec.leaf_hash = proof.leaf_hash;
  rec.proof = std::move(proof.proof);
  rec.tree_size = head.tree_size;
  rec.checkpoint = head.checkpoint;
  // Revocation.
  QUIPU_ASSIGN_OR_RETURN(std::optional<uint64_t> rev, RevocationOf(q.index));
  if (rev) {
    if (auto rbytes = log_.Entry(*rev); rbytes.ok()) {
      const json r = json::parse(*rbytes, nullptr, false);
      rec.revocation = QrRevocation{*rev, r.is_object() ? r.value("time", "") : "",
                                    r.is_object() ? r.value("reason", "") : ""};
      out.reasons.push_back("revoked");
    }
  }
  // The fields, if this node can read them.
  std::optional<QrPlain> plain;
  for (auto it = keys_.keys.rbegin(); it != keys_.keys.rend() && !plain; ++it) {
    auto opened = OpenQr(q, it->second);
    if (opened.ok()) plain = *opened;
  }
  if (!plain) {
    out.reasons.push_back("cannot decrypt the fields");
  } else if (plain->expires_at) {
    rec.expires_at = plain->expires_at;
    if (clock_() / 1000000 > *plain->expires_at) {
      rec.expired = true;
      out.reasons.push_back("expired");
    }
  }
  if (plain && out.reasons.empty()) {
    out.valid = true;
    out.fields = std::move(plain->fields);
  }
  return out;
}

Result<QrRevoked> QrService::Revoke(const ClientInfo& client, uint64_t index, std::string_view reason) {
  if (client.disabled) return PermissionDenied("client " + client.id + " is disabled");
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
                                               {"reason", std::string(reason)}}});
  req.apply = [&](PrivateTxn& txn, uint64_t first, const std::string&) -> Status {
    QUIPU_ASSIGN_OR_RETURN(auto existing, txn.Get(tables::kQr, QrRevokedKey(index)));
    if (existing) return FailedPrecondition("QR code " + std::to_string(index) + " is already revoked");
    return txn.Put(tables::kQr, QrRevokedKey(index), std::to_string(first));
  };
  auto done = log_.Append(std::move(req)).get();
  if (!done.ok()) return done.status();
  return QrRevoked{done->first_index, index, done->time, done->checkpoint};
}

Result<std::optional<uint64_t>> QrService::RevocationOf(uint64_t index) const {
  QUIPU_ASSIGN_OR_RETURN(auto v, log_.ReadPrivate(tables::kQr, QrRevokedKey(index)));
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
  QUIPU_ASSIGN_OR_RETURN(auto v, log_.ReadPrivate(tables::kQr, QrIssuedKey(index)));
  if (!v) return none;
  auto record = records::DecodeQr(*v);
  if (!record.ok()) return record.status().WithContext("QR code " + std::to_string(index));
  if (record->client != client.id) return none;
  return std::move(record->text);
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
  request.document = DocumentRef{DocType::kPdf, doc.sha256, std::nullopt};
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
