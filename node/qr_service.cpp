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

using records::QrDraftKey;
using records::QrDraftLapseKey;
using records::QrDraftRecord;
using records::QrIssuedKey;
using records::QrRecord;
using records::QrRevokedKey;

// What the first data key that opens a code gives, trying the newest first
// (docs/qr-seguro.md §4: a wrong key fails with certainty); nullopt when
// none does.
template <typename T, typename Open>
std::optional<T> OpenWithRing(const QrKeyRing& ring, Open open) {
  for (auto it = ring.keys.rbegin(); it != ring.keys.rend(); ++it) {
    auto opened = open(it->second);
    if (opened.ok()) return std::move(opened).value();
  }
  return std::nullopt;
}

// The qr_revoke of the code at `index` whose document is `doc`.
json RevokeEntry(const std::string& client, uint64_t index, json doc, std::string_view reason) {
  return {{"type", "qr_revoke"}, {"client", client}, {"target", index}, {"doc", std::move(doc)},
          {"reason", std::string(reason)}};
}

json CodeDoc(const crypto::Digest& code_digest) {
  return {{"sha256", crypto::HexEncode(code_digest)}, {"media_type", kQr2CodeMediaType}};
}

QrDraftState StateOf(const QrDraftRecord& r) {
  switch (r.state) {
    case QrDraftRecord::State::kPending: return QrDraftState::kPending;
    case QrDraftRecord::State::kConfirmed: return QrDraftState::kConfirmed;
    case QrDraftRecord::State::kAnnulled: return QrDraftState::kAnnulled;
  }
  return QrDraftState::kPending;
}

QrDraft DraftOf(std::string_view client_key, const QrDraftRecord& r, bool replayed) {
  return QrDraft{std::string(client_key), r.text, r.created, StateOf(r), r.index, replayed};
}

Result<std::optional<QrDraftRecord>> GetDraft(PrivateTxn& txn, const std::string& key) {
  QUIPU_ASSIGN_OR_RETURN(auto v, txn.Get(tables::kQr, key));
  if (!v) return std::optional<QrDraftRecord>();
  auto r = records::DecodeQrDraft(*v);
  if (!r.ok()) return r.status();
  return std::optional<QrDraftRecord>(std::move(*r));
}

// Unconfirmed a day after it was generated.
bool Lapsed(const QrDraftRecord& r, int64_t now_us) {
  return r.state == QrDraftRecord::State::kPending && r.lapses_us <= now_us;
}

// Never confirmed, and past its day: its record goes (its key may name a
// new code).
bool Droppable(const QrDraftRecord& r, int64_t now_us) { return !r.index && r.lapses_us <= now_us; }

// What an apply hook answers when another request changed the code between
// the read outside the transaction and the write (it also sets its
// caller's flag): the caller reads again and answers from what it finds.
Status Changed(bool& changed) {
  changed = true;
  return Unavailable("qr: the code changed meanwhile; try again");
}

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
      clock_(clock ? std::move(clock) : std::function<int64_t()>(SystemMicros)),
      drafts_(kQrDraftsPerClientHour, kQrDraftsBurst, clock_) {}

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
  if (qr_text.substr(0, 4) == kQr2Prefix) return VerifyQs2(qr_text);
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
  out.record = QrVerification::Record();
  QrVerification::Record& rec = *out.record;
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
  std::optional<QrPlain> plain = OpenWithRing<QrPlain>(keys_, [&](const auto& key) { return OpenQr(q, key); });
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
  ledger::AppendRequest req(std::vector<json>{RevokeEntry(client.id, index, entry["doc"], reason)});
  req.apply = [&](PrivateTxn& txn, uint64_t first, const std::string&) -> Status {
    QUIPU_ASSIGN_OR_RETURN(auto existing, txn.Get(tables::kQr, QrRevokedKey(index)));
    if (existing) return FailedPrecondition("QR code " + std::to_string(index) + " is already revoked");
    return txn.Put(tables::kQr, QrRevokedKey(index), std::to_string(first));
  };
  auto done = log_.Append(std::move(req)).get();
  if (!done.ok()) return done.status();
  return QrRevoked{done->first_index, index, done->time, done->checkpoint};
}

Result<QrVerification> QrService::VerifyQs2(std::string_view qr_text) const {
  QrVerification out;
  out.version = 2;
  auto parsed = ParseQr2Text(qr_text);
  if (!parsed.ok()) {
    out.reasons.push_back("malformed: " + parsed.status().message());
    return out;
  }
  const QrSealed2& q = *parsed;
  if (q.key_id != signer_.key_hash()) {
    out.reasons.push_back("issued by another node's key");
  } else if (!VerifyQrSignature(q, signer_.public_key())) {
    out.reasons.push_back("signature invalid");
  }
  // The code's qr_issue, by the private record its confirmation wrote: what
  // else the log indexes under the same digest (anyone may write entries
  // naming any hash) can neither hide it nor stand in for it.
  const crypto::Digest digest = QrCodeDigest(q);
  const ledger::LogHead head = log_.Head();
  QUIPU_ASSIGN_OR_RETURN(auto at, log_.ReadPrivate(tables::kQr, records::QrCodeDigestKey(digest)));
  uint64_t index = 0;
  if (at) {
    auto [end, ec] = std::from_chars(at->data(), at->data() + at->size(), index);
    if (ec != std::errc() || end != at->data() + at->size()) {
      return Corruption("the digest record of a QR code is not an index");
    }
  }
  if (!at || index >= head.tree_size) {
    out.reasons.push_back("not in ledger (not confirmed)");
    return out;
  }
  QUIPU_ASSIGN_OR_RETURN(std::string bytes, log_.Entry(index));
  const json entry = json::parse(bytes, nullptr, false);
  const std::string payload = crypto::HexEncode(QrPayloadHash(q));
  if (!entry.is_object() || entry.value("type", "") != "qr_issue" || !entry.contains("doc") ||
      entry["doc"].value("media_type", "") != kQr2CodeMediaType ||
      entry["doc"].value("sha256", "") != crypto::HexEncode(digest)) {
    return Corruption("the digest record of a QR code names entry " + std::to_string(index) + ", not its issue");
  }
  out.index = index;
  out.record = QrVerification::Record();
  QrVerification::Record& rec = *out.record;
  rec.entry = std::move(bytes);
  rec.issued_at = entry.value("time", "");
  rec.client = entry.value("client", "");
  if (auto c = clients_.Get(rec.client); c.ok()) rec.client_name = c->name;
  rec.document_sha256 = entry["doc"].value("sha256", "");
  // A code with this nonce but another ciphertext (forged, or altered) is
  // not the one the entry commits to.
  if (entry.value("payload", "") != payload) out.reasons.push_back("ledger entry differs from the code");
  QUIPU_ASSIGN_OR_RETURN(auto proof, log_.ProveInclusion(index, head.tree_size));
  rec.leaf_hash = proof.leaf_hash;
  rec.proof = std::move(proof.proof);
  rec.tree_size = head.tree_size;
  rec.checkpoint = head.checkpoint;
  QUIPU_ASSIGN_OR_RETURN(std::optional<uint64_t> rev, RevocationOf(index));
  if (rev) {
    QUIPU_ASSIGN_OR_RETURN(std::string rbytes, log_.Entry(*rev));
    const json r = json::parse(rbytes, nullptr, false);
    rec.revocation = QrRevocation{*rev, r.is_object() ? r.value("time", "") : "",
                                  r.is_object() ? r.value("reason", "") : ""};
    out.reasons.push_back("revoked");
  }
  std::optional<QrDocument> document =
      OpenWithRing<QrDocument>(keys_, [&](const auto& key) { return OpenQrDocument(q, key); });
  if (!document) {
    out.reasons.push_back("cannot decrypt the fields");
  } else if (auto expires = QrDocumentExpiresAt(*document)) {
    rec.expires_at = expires;
    if (clock_() / 1000000 >= *expires) {
      rec.expired = true;
      out.reasons.push_back("expired");
    }
  }
  if (document && out.reasons.empty()) {
    out.valid = true;
    out.document = std::move(document);
  }
  return out;
}

Result<QrDraft> QrService::Prepare(const ClientInfo& client, const QrDraftRequest& request) {
  if (client.disabled) return PermissionDenied("client " + client.id + " is disabled");
  if (!IsValidClientKey(request.client_key)) return InvalidArgument("client key: 1 to 64 of [0-9A-Za-z._:-]");
  const int64_t now = clock_();
  if (auto expires = QrDocumentExpiresAt(request.document); expires && *expires <= now / 1000000) {
    return Expired("the document's expiry day is past");
  }
  QUIPU_RETURN_IF_ERROR(EncodeQrDocument(request.document).status());
  const std::string key = QrDraftKey(client.id, request.client_key);
  const std::string fingerprint = crypto::HexEncode(request.fingerprint);
  // A replay is answered from the record, before any limit is counted.
  QUIPU_ASSIGN_OR_RETURN(auto stored, log_.ReadPrivate(tables::kQr, key));
  const bool maybe_replay = stored.has_value();
  if (!maybe_replay && !drafts_.Allow(client.id)) {
    return ResourceExhausted("QR codes generated by this client: retry in " +
                             std::to_string(std::max<int64_t>(1, drafts_.WaitMicros(client.id) / 1000000)) + " s");
  }
  QUIPU_ASSIGN_OR_RETURN(QrSealed2 sealed,
                         SealQrDocument(request.document, signer_.key_hash(), keys_.keys.at(keys_.newest()), signer_.key()));
  QrDraft answer;
  ledger::AppendRequest req;
  req.apply = [&](PrivateTxn& txn, uint64_t, const std::string& time) -> Status {
    QUIPU_ASSIGN_OR_RETURN(std::optional<QrDraftRecord> old, GetDraft(txn, key));
    if (old && !Droppable(*old, now)) {
      if (old->fingerprint != fingerprint) {
        return AlreadyExists("the client key " + request.client_key + " names another code");
      }
      if (old->state == QrDraftRecord::State::kAnnulled) return FailedPrecondition("the code is annulled");
      if (old->index) {
        QUIPU_ASSIGN_OR_RETURN(auto revoked, txn.Get(tables::kQr, QrRevokedKey(*old->index)));
        if (revoked) return FailedPrecondition("the code is revoked");
      }
      answer = DraftOf(request.client_key, *old, true);
      return Status::Ok();
    }
    if (old) QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kQr, QrDraftLapseKey(old->lapses_us, client.id, request.client_key)));
    QrDraftRecord r;
    r.text = QrText(sealed);
    r.fingerprint = fingerprint;
    r.created = time;
    r.lapses_us = now + kQrDraftLifetimeSeconds * 1000000;
    QUIPU_RETURN_IF_ERROR(txn.Put(tables::kQr, key, records::Encode(r)));
    QUIPU_RETURN_IF_ERROR(txn.Put(tables::kQr, QrDraftLapseKey(r.lapses_us, client.id, request.client_key), ""));
    answer = DraftOf(request.client_key, r, false);
    return Status::Ok();
  };
  auto done = log_.Append(std::move(req)).get();
  if (!done.ok()) return done.status();
  return answer;
}

Result<QrConfirmed> QrService::Confirm(const ClientInfo& client, std::string_view client_key) {
  if (client.disabled) return PermissionDenied("client " + client.id + " is disabled");
  const std::string key = QrDraftKey(client.id, client_key);
  const Status none = NotFound("no code to confirm for the client key " + std::string(client_key));
  for (int attempt = 0;; ++attempt) {
    QUIPU_ASSIGN_OR_RETURN(auto v, log_.ReadPrivate(tables::kQr, key));
    if (!v) return none;
    QUIPU_ASSIGN_OR_RETURN(QrDraftRecord draft, records::DecodeQrDraft(*v));
    const int64_t now = clock_();
    if (Lapsed(draft, now)) return Expired("the code of the client key " + std::string(client_key) + " lapsed unconfirmed");
    if (draft.state == QrDraftRecord::State::kAnnulled) return FailedPrecondition("the code is annulled");
    QUIPU_ASSIGN_OR_RETURN(QrSealed2 sealed, ParseQr2Text(draft.text));
    const crypto::Digest digest = QrCodeDigest(sealed);
    if (draft.state == QrDraftRecord::State::kConfirmed && draft.index) {
      QUIPU_ASSIGN_OR_RETURN(std::optional<uint64_t> rev, RevocationOf(*draft.index));
      if (rev) return FailedPrecondition("the code is revoked");
      return QrConfirmed{*draft.index, draft.text, digest, draft.confirmed, log_.Head().checkpoint, true};
    }
    bool changed = false;
    ledger::AppendRequest req(std::vector<json>{{{"type", "qr_issue"},
                                                 {"client", client.id},
                                                 {"doc", CodeDoc(digest)},
                                                 {"payload", crypto::HexEncode(QrPayloadHash(sealed))}}});
    req.apply = [&](PrivateTxn& txn, uint64_t first, const std::string& time) -> Status {
      QUIPU_ASSIGN_OR_RETURN(std::optional<QrDraftRecord> now_draft, GetDraft(txn, key));
      if (!now_draft || now_draft->state != QrDraftRecord::State::kPending || now_draft->text != draft.text ||
          Lapsed(*now_draft, clock_())) {
        return Changed(changed);
      }
      QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kQr, QrDraftLapseKey(draft.lapses_us, client.id, client_key)));
      draft.state = QrDraftRecord::State::kConfirmed;
      draft.index = first;
      draft.confirmed = time;
      QUIPU_RETURN_IF_ERROR(txn.Put(tables::kQr, key, records::Encode(draft)));
      QUIPU_RETURN_IF_ERROR(txn.Put(tables::kQr, records::QrCodeDigestKey(digest), std::to_string(first)));
      return txn.Put(tables::kQr, QrIssuedKey(first), records::Encode(QrRecord{draft.text, client.id, time}));
    };
    auto done = log_.Append(std::move(req)).get();
    if (done.ok()) return QrConfirmed{done->first_index, draft.text, digest, done->time, done->checkpoint, false};
    if (!changed || attempt > 0) return done.status();
  }
}

Result<QrAnnulled> QrService::Annul(const ClientInfo& client, std::string_view client_key, std::string_view reason) {
  if (client.disabled) return PermissionDenied("client " + client.id + " is disabled");
  if (reason.empty() || reason.size() > 256) return InvalidArgument("reason: 1 to 256 bytes");
  const std::string key = QrDraftKey(client.id, client_key);
  for (int attempt = 0;; ++attempt) {
    QUIPU_ASSIGN_OR_RETURN(auto v, log_.ReadPrivate(tables::kQr, key));
    if (!v) return NotFound("no code for the client key " + std::string(client_key));
    QUIPU_ASSIGN_OR_RETURN(QrDraftRecord draft, records::DecodeQrDraft(*v));
    if (Lapsed(draft, clock_())) return Expired("the code of the client key " + std::string(client_key) + " lapsed unconfirmed");
    if (draft.state == QrDraftRecord::State::kAnnulled) return FailedPrecondition("the code is annulled already");
    const QrDraftRecord::State was = draft.state;
    bool changed = false;
    ledger::AppendRequest req;
    if (was == QrDraftRecord::State::kConfirmed) {
      QUIPU_ASSIGN_OR_RETURN(QrSealed2 sealed, ParseQr2Text(draft.text));
      if (!draft.index) return Corruption("a confirmed QR code's record has no index");
      req.entries.push_back(RevokeEntry(client.id, *draft.index, CodeDoc(QrCodeDigest(sealed)), reason));
    }
    req.apply = [&](PrivateTxn& txn, uint64_t first, const std::string& time) -> Status {
      QUIPU_ASSIGN_OR_RETURN(std::optional<QrDraftRecord> now_draft, GetDraft(txn, key));
      if (!now_draft || now_draft->state != was || now_draft->text != draft.text) return Changed(changed);
      draft.state = QrDraftRecord::State::kAnnulled;
      draft.annulled = time;
      if (was == QrDraftRecord::State::kConfirmed) {
        // Revoked already by POST /v1/qr/{index}/revoke: refused here, as
        // Confirm and Prepare refuse it; no second qr_revoke.
        QUIPU_ASSIGN_OR_RETURN(auto revoked, txn.Get(tables::kQr, QrRevokedKey(*draft.index)));
        if (revoked) return FailedPrecondition("the code is revoked already");
        QUIPU_RETURN_IF_ERROR(txn.Put(tables::kQr, QrRevokedKey(*draft.index), std::to_string(first)));
        draft.revocation = first;
      } else {
        // Never valid: only its fingerprint is kept (the key stays taken),
        // until it would have lapsed; then DropLapsedDrafts drops it.
        draft.text.clear();
      }
      return txn.Put(tables::kQr, key, records::Encode(draft));
    };
    auto done = log_.Append(std::move(req)).get();
    if (done.ok()) {
      if (was != QrDraftRecord::State::kConfirmed) return QrAnnulled{std::nullopt, std::nullopt, done->time, ""};
      return QrAnnulled{done->first_index, draft.index, done->time, done->checkpoint};
    }
    if (!changed || attempt > 0) return done.status();
  }
}

Result<size_t> QrService::DropLapsedDrafts(size_t max) {
  const int64_t now = clock_();
  std::vector<std::string> lapse_keys;
  QUIPU_RETURN_IF_ERROR(log_.ScanPrivate(tables::kQr, records::kQrDraftLapsePrefix,
                                         [&](std::string_view k, std::string_view) {
                                           const int64_t t = records::LapseOfQrDraftLapseKey(k);
                                           if (t < 0 || t > now || lapse_keys.size() >= max) return false;
                                           lapse_keys.emplace_back(k);
                                           return true;
                                         }));
  if (lapse_keys.empty()) return size_t{0};
  size_t dropped = 0;
  ledger::AppendRequest req;
  req.apply = [&](PrivateTxn& txn, uint64_t, const std::string&) -> Status {
    dropped = 0;
    for (const std::string& lk : lapse_keys) {
      const std::string key = records::QrDraftKeyOfLapseKey(lk);
      QUIPU_ASSIGN_OR_RETURN(std::optional<QrDraftRecord> draft, GetDraft(txn, key));
      if (draft && Droppable(*draft, now)) {
        QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kQr, key));
        ++dropped;
      }
      QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kQr, lk));
    }
    return Status::Ok();
  };
  auto done = log_.Append(std::move(req)).get();
  if (!done.ok()) return done.status();
  return dropped;
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
