#include "node/approvals.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "crypto/encoding.h"
#include "crypto/otp.h"
#include "crypto/random.h"
#include "crypto/sha256.h"
#include "ledger/entry.h"
#include "node/document.h"
#include "node/schema.h"
#include "node/secrets.h"

namespace quipu::node {
namespace {

using ledger::PrivateTable;
using ledger::PrivateTxn;
using nlohmann::json;

constexpr int kTotpDigits = 6;
constexpr int64_t kSecond = 1000000;
constexpr int64_t kOutboxGiveUp = 24 * 3600 * kSecond;

std::string SubjectKey(std::string_view id) { return "s:" + std::string(id); }
std::string RequestKey(std::string_view id) { return "r:" + std::string(id); }
std::string OutboxKey(int64_t created_us, std::string_view rid, std::string_view kind) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(created_us));
  return "o:" + std::string(buf) + ":" + std::string(rid) + ":" + std::string(kind);
}

int64_t SystemMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<json> ParseRecord(const std::string& v, const char* what) {
  json j = json::parse(v, nullptr, false);
  if (!j.is_object()) return Corruption(std::string(what) + " record is not JSON");
  return j;
}

Result<json> GetJson(PrivateTxn& txn, PrivateTable t, const std::string& key, const char* what) {
  QUIPU_ASSIGN_OR_RETURN(auto v, txn.Get(t, key));
  if (!v) return json();
  return ParseRecord(*v, what);
}

std::string CommitmentOf(const std::string& salt_hex, const std::string& id) {
  auto salt = crypto::HexDecode(salt_hex);
  std::string data(crypto::AsString(*salt));
  data += id;
  return crypto::HexEncode(crypto::Sha256(data));
}

// Sends a new outbox item (sealed secrets) inside the transaction.
Status PutOutbox(PrivateTxn& txn, const std::array<uint8_t, 32>& key, int64_t now, const std::string& rid,
                 const std::string& kind, const std::string& url, const std::string& bearer, const json& body) {
  const std::string okey = OutboxKey(now, rid, kind);
  QUIPU_ASSIGN_OR_RETURN(std::string body_sealed, SealSecret(key, body.dump(), "outbox:" + okey));
  json item = {{"kind", kind}, {"request", rid},      {"url", url},          {"attempts", 0},
               {"created_us", now}, {"next_us", now}, {"body_sealed", body_sealed}};
  if (!bearer.empty()) {
    QUIPU_ASSIGN_OR_RETURN(std::string bearer_sealed, SealSecret(key, bearer, "outbox-bearer:" + okey));
    item["bearer_sealed"] = bearer_sealed;
  }
  return txn.Put(tables::kOutbox, okey, item.dump());
}

std::string FormatMicros(int64_t us) { return ledger::FormatTime(us); }

// Why a code for `request` (its stored record, null when gone) must not be
// sent any more, or "": it is worth something only while the request
// waits for it, and a code that arrives later only confuses its reader.
std::string WhyCodeIsObsolete(const json& request, int64_t now) {
  if (!request.is_object()) return "the request no longer exists";
  const std::string status = request.value("status", "");
  if (status != "pending") return "the request is " + status;
  if (now > request.value("expires_us", int64_t{0})) return "the request expired";
  return "";
}

// What a client reads about a failed notification: never the transport's
// words (they would describe whatever answers at the registered address).
constexpr const char* kRetrying = "not delivered; the node will retry";
constexpr const char* kGaveUp = "not delivered; the node gave up after 24 hours of retries";

}  // namespace

bool IsValidSubjectId(std::string_view id) {
  if (id.size() < 4 || id.size() > 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-')) return false;
  }
  return true;
}

Approvals::Approvals(ledger::Log& log, Clients& clients, pdf::PdfEngine& pdf, const std::array<uint8_t, 32>& data_key,
                     ApprovalsOptions options)
    : log_(log), clients_(clients), pdf_(pdf), data_key_(data_key), options_(std::move(options)) {
  if (!options_.clock) options_.clock = SystemMicros;
}

// --- subjects ----------------------------------------------------------------

Result<Approvals::Enrollment> Approvals::EnrollTotp(const ClientInfo& client, const std::string& subject_id) {
  if (!IsValidSubjectId(subject_id)) return InvalidArgument("subject: 4 to 32 letters, digits or '-'");
  crypto::Bytes secret = crypto::RandomBytes(20);
  Enrollment e;
  e.secret_base32 = crypto::Base32Encode(secret);
  e.otpauth_uri = crypto::OtpauthUri(options_.issuer, subject_id, secret, kTotpDigits, crypto::OtpHash::kSha1, 30);
  QUIPU_ASSIGN_OR_RETURN(std::string sealed,
                         SealSecret(data_key_, std::string(crypto::AsString(secret)), "totp:" + subject_id));
  sodium_memzero(secret.data(), secret.size());
  ledger::AppendRequest req;
  const std::string salt = crypto::HexEncode(crypto::RandomBytes(32));
  const std::string client_id = client.id;
  req.apply = [&, salt, sealed, client_id](PrivateTxn& txn, uint64_t, const std::string& time) -> Status {
    QUIPU_ASSIGN_OR_RETURN(json s, GetJson(txn, tables::kSubjects, SubjectKey(subject_id), "subject"));
    if (s.is_null()) s = json{{"salt", salt}, {"last_step", 0}};
    s["totp"] = sealed;
    s["enrolled_by"] = client_id;
    s["enrolled"] = time;
    return txn.Put(tables::kSubjects, SubjectKey(subject_id), s.dump());
  };
  auto r = log_.Append(std::move(req)).get();
  if (!r.ok()) return r.status();
  return e;
}

Status Approvals::ForgetSubject(const std::string& subject_id) {
  if (!IsValidSubjectId(subject_id)) return InvalidArgument("subject: 4 to 32 letters, digits or '-'");
  ledger::AppendRequest req;
  req.apply = [&](PrivateTxn& txn, uint64_t, const std::string&) -> Status {
    QUIPU_ASSIGN_OR_RETURN(auto v, txn.Get(tables::kSubjects, SubjectKey(subject_id)));
    if (!v) return NotFound("no subject " + subject_id);
    return txn.Delete(tables::kSubjects, SubjectKey(subject_id));
  };
  auto r = log_.Append(std::move(req)).get();
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::optional<std::string>> Approvals::Commitment(const std::string& subject_id) const {
  if (!IsValidSubjectId(subject_id)) return InvalidArgument("subject: 4 to 32 letters, digits or '-'");
  QUIPU_ASSIGN_OR_RETURN(auto v, log_.ReadPrivate(tables::kSubjects, SubjectKey(subject_id)));
  if (!v) return std::optional<std::string>();
  QUIPU_ASSIGN_OR_RETURN(json s, ParseRecord(*v, "subject"));
  return std::optional<std::string>(CommitmentOf(s.value("salt", ""), subject_id));
}

// --- requests ------------------------------------------------------------------

Result<json> Approvals::Create(const ClientInfo& client, const json& body) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  for (const auto& [k, v] : body.items()) {
    if (k != "subject" && k != "documents" && k != "factor" && k != "channel") {
      return InvalidArgument("unknown field '" + k + "'");
    }
  }
  if (!body.contains("subject") || !body["subject"].is_string() ||
      !IsValidSubjectId(body["subject"].get<std::string>())) {
    return InvalidArgument("subject: the document number, 4 to 32 letters, digits or '-'");
  }
  const std::string subject = body["subject"];
  const std::string factor = body.value("factor", "totp");
  if (factor != "totp" && factor != "message") return InvalidArgument("factor must be totp or message");
  std::string channel;
  if (factor == "message") {
    if (options_.delivery_webhook.empty()) {
      return FailedPrecondition("this node has no delivery webhook: the message factor is unavailable");
    }
    channel = body.value("channel", "sms");
    if (channel != "sms" && channel != "email") return InvalidArgument("channel must be sms or email");
  }
  if (!body.contains("documents") || !body["documents"].is_array() || body["documents"].empty() ||
      body["documents"].size() > 100) {
    return InvalidArgument("documents: an array of 1 to 100 documents");
  }
  json docs = json::array();
  std::set<std::string> seen;
  for (size_t i = 0; i < body["documents"].size(); ++i) {
    const json& d = body["documents"][i];
    const std::string where = "documents[" + std::to_string(i) + "]";
    if (!d.is_object()) return InvalidArgument(where + ": must be an object");
    for (const auto& [k, v] : d.items()) {
      if (k != "sha256" && k != "content" && k != "media_type" && k != "name") {
        return InvalidArgument(where + ": unknown field '" + k + "'");
      }
    }
    const std::string media = d.value("media_type", "");
    if (media != "application/pdf" && media != "application/json") {
      return InvalidArgument(where + ".media_type: application/pdf or application/json");
    }
    std::string sha;
    if (d.contains("content")) {
      if (!d["content"].is_string()) return InvalidArgument(where + ".content: base64 text");
      auto bytes = crypto::Base64Decode(d["content"].get<std::string>());
      if (!bytes.ok()) return InvalidArgument(where + ".content: not base64 (" + bytes.status().message() + ")");
      if (bytes->size() > options_.max_document_bytes) return InvalidArgument(where + ".content: too large");
      auto hashed = HashDocument(pdf_, *bytes, media == "application/pdf" ? DocType::kPdf : DocType::kJson);
      if (!hashed.ok()) return hashed.status().WithContext(where + ".content");
      sha = crypto::HexEncode(hashed->sha256);
    }
    if (d.contains("sha256")) {
      if (!d["sha256"].is_string()) return InvalidArgument(where + ".sha256: 64 lower-case hex digits");
      const std::string given = d["sha256"];
      auto raw = crypto::HexDecode(given);
      if (given.size() != 64 || !raw.ok() || crypto::HexEncode(*raw) != given) {
        return InvalidArgument(where + ".sha256: 64 lower-case hex digits");
      }
      if (!sha.empty() && sha != given) return InvalidArgument(where + ": sha256 does not match the content");
      sha = given;
    }
    if (sha.empty()) return InvalidArgument(where + ": give sha256 or content");
    if (!seen.insert(sha).second) return InvalidArgument(where + ": the same document twice in one request");
    json doc = {{"sha256", sha}, {"media_type", media}};
    if (d.contains("name")) {
      if (!d["name"].is_string() || d["name"].get<std::string>().size() > 200) {
        return InvalidArgument(where + ".name: text up to 200 bytes");
      }
      doc["name"] = d["name"];
    }
    docs.push_back(std::move(doc));
  }

  if (factor == "totp") {
    QUIPU_ASSIGN_OR_RETURN(auto s, log_.ReadPrivate(tables::kSubjects, SubjectKey(subject)));
    bool enrolled = false;
    if (s) {
      QUIPU_ASSIGN_OR_RETURN(json sj, ParseRecord(*s, "subject"));
      enrolled = sj.contains("totp");
    }
    if (!enrolled) {
      return FailedPrecondition("subject has no TOTP enrolled (POST /v1/subjects/{id}/totp first)");
    }
  }

  const std::string rid = "r_" + crypto::HexEncode(crypto::RandomBytes(10));
  const int64_t now = options_.clock();
  json stored = {{"id", rid},
                 {"client", client.id},
                 {"subject", subject},
                 {"factor", factor},
                 {"status", "pending"},
                 {"created_us", now},
                 {"expires_us", now + options_.ttl_seconds * kSecond},
                 {"documents", docs},
                 {"wrong_codes", 0},
                 {"notification", {{"state", "none"}, {"attempts", 0}}}};
  std::string code;
  if (factor == "message") {
    // A uniform 6-digit code; only its hash is kept with the request.
    uint32_t r;
    do {
      crypto::RandomBytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&r), sizeof r));
    } while (r >= 4294000000u);
    code = std::to_string(r % 1000000);
    code = std::string(6 - code.size(), '0') + code;
    stored["code_hash"] = crypto::HexEncode(crypto::Sha256(rid + ":" + code));
    stored["channel"] = channel;
  }
  ledger::AppendRequest req;
  const std::string fresh_salt = crypto::HexEncode(crypto::RandomBytes(32));
  req.apply = [&](PrivateTxn& txn, uint64_t, const std::string&) -> Status {
    QUIPU_ASSIGN_OR_RETURN(json s, GetJson(txn, tables::kSubjects, SubjectKey(subject), "subject"));
    if (s.is_null()) {
      if (factor == "totp") return FailedPrecondition("subject has no TOTP enrolled");
      s = json{{"salt", fresh_salt}, {"last_step", 0}};
      QUIPU_RETURN_IF_ERROR(txn.Put(tables::kSubjects, SubjectKey(subject), s.dump()));
    }
    QUIPU_RETURN_IF_ERROR(txn.Put(tables::kApprovals, RequestKey(rid), stored.dump()));
    if (factor == "message") {
      const json delivery = {{"request", rid}, {"subject", subject}, {"channel", channel}, {"code", code}};
      QUIPU_RETURN_IF_ERROR(PutOutbox(txn, data_key_, now, rid, "deliver", options_.delivery_webhook,
                                      options_.delivery_token, delivery));
    }
    return Status::Ok();
  };
  auto r = log_.Append(std::move(req)).get();
  sodium_memzero(code.data(), code.size());
  if (!r.ok()) return r.status();
  if (factor == "message" && options_.on_outbox) options_.on_outbox();
  json out = {{"id", rid}, {"status", "pending"}, {"expires_at", FormatMicros(now + options_.ttl_seconds * kSecond)},
              {"factor", factor}, {"documents", json::array()}};
  for (const json& d : docs) out["documents"].push_back({{"sha256", d["sha256"]}, {"media_type", d["media_type"]}});
  return out;
}

Result<json> Approvals::LoadRequest(const ClientInfo& client, const std::string& id) const {
  if (id.size() > 64) return NotFound("no approval request " + id.substr(0, 64));
  QUIPU_ASSIGN_OR_RETURN(auto v, log_.ReadPrivate(tables::kApprovals, RequestKey(id)));
  if (!v) return NotFound("no approval request " + id);
  QUIPU_ASSIGN_OR_RETURN(json r, ParseRecord(*v, "approval request"));
  // Another client's request does not exist, as far as this client knows.
  if (r.value("client", "") != client.id) return NotFound("no approval request " + id);
  return r;
}

json Approvals::PublicView(const json& r) const {
  std::string status = r.value("status", "");
  if (status == "pending" && options_.clock() > r.value("expires_us", int64_t{0})) status = "expired";
  json out = {{"id", r["id"]},
              {"status", status},
              {"factor", r.value("factor", "totp")},
              {"created_at", FormatMicros(r.value("created_us", int64_t{0}))},
              {"expires_at", FormatMicros(r.value("expires_us", int64_t{0}))},
              {"documents", json::array()}};
  for (const json& d : r["documents"]) out["documents"].push_back({{"sha256", d["sha256"]}, {"media_type", d["media_type"]}});
  if (r.contains("decided_at")) out["decided_at"] = r["decided_at"];
  if (status == "pending") out["attempts_left"] = options_.max_wrong_codes - r.value("wrong_codes", 0);
  const json& n = r["notification"];
  const std::string state = n.value("state", "none");
  json& shown = out["notification"] = {{"state", state}, {"attempts", n.value("attempts", 0)}};
  // The words come from the state, not from the record: records written
  // before this rule held the transport's error text.
  if (state == "retrying") shown["last_error"] = kRetrying;
  if (state == "failed") shown["last_error"] = kGaveUp;
  if (n.contains("last_http_status")) shown["last_http_status"] = n["last_http_status"];
  if (n.contains("next_attempt_at")) shown["next_attempt_at"] = n["next_attempt_at"];
  if (n.contains("delivered_at")) shown["delivered_at"] = n["delivered_at"];
  return out;
}

Result<json> Approvals::Get(const ClientInfo& client, const std::string& id) const {
  QUIPU_ASSIGN_OR_RETURN(json r, LoadRequest(client, id));
  json out = PublicView(r);
  if (r.contains("entries")) {
    // Each entry with its inclusion proof to the current checkpoint.
    const ledger::LogHead head = log_.Head();
    json entries = json::array();
    const json& indices = r["entries"];
    for (size_t i = 0; i < indices.size(); ++i) {
      const uint64_t index = indices[i];
      auto p = log_.ProveInclusion(index, head.tree_size);
      if (!p.ok()) return p.status();
      json proof = json::array();
      for (const auto& h : p->proof) proof.push_back(crypto::Base64Encode(h));
      entries.push_back({{"index", index},
                         {"sha256", r["documents"][i]["sha256"]},
                         {"leaf_hash", crypto::Base64Encode(p->leaf_hash)},
                         {"proof", std::move(proof)}});
    }
    out["entries"] = std::move(entries);
    out["tree_size"] = head.tree_size;
    out["checkpoint"] = head.checkpoint;
    auto c = clients_.Get(client.id);
    if (c.ok()) {
      out["redirect_url"] = c->redirect_uri + (c->redirect_uri.find('?') == std::string::npos ? "?" : "&") +
                            "request=" + r["id"].get<std::string>() + "&status=" + r["status"].get<std::string>();
    }
  }
  return out;
}

Result<json> Approvals::Decide(const ClientInfo& client, const std::string& id, const json& body, bool approve) {
  if (!body.is_object() || !body.contains("code") || !body["code"].is_string()) {
    return InvalidArgument("send {\"code\": \"123456\"}");
  }
  const std::string code = body["code"];
  if (code.size() < 6 || code.size() > 8 || code.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("code: 6 to 8 digits");
  }
  QUIPU_ASSIGN_OR_RETURN(json r, LoadRequest(client, id));
  const int64_t now = options_.clock();
  auto check_state = [&](const json& req) -> Status {
    const std::string status = req.value("status", "");
    if (status == "locked") return FailedPrecondition("request " + id + " is locked after too many wrong codes");
    if (status != "pending") return FailedPrecondition("request " + id + " is already " + status);
    if (now > req.value("expires_us", int64_t{0})) return Expired("request " + id + " expired");
    return Status::Ok();
  };
  QUIPU_RETURN_IF_ERROR(check_state(r));
  const std::string subject = r["subject"];

  // Check the code against the factor.
  std::optional<uint64_t> step;
  std::string salt;
  {
    QUIPU_ASSIGN_OR_RETURN(auto sv, log_.ReadPrivate(tables::kSubjects, SubjectKey(subject)));
    if (!sv) return FailedPrecondition("the subject was forgotten; the request cannot be decided");
    QUIPU_ASSIGN_OR_RETURN(json s, ParseRecord(*sv, "subject"));
    salt = s.value("salt", "");
    if (r.value("factor", "totp") == "totp") {
      if (!s.contains("totp")) return FailedPrecondition("the subject has no TOTP key");
      QUIPU_ASSIGN_OR_RETURN(std::string key, OpenSecret(data_key_, s["totp"].get<std::string>(), "totp:" + subject));
      auto matched = crypto::VerifyTotp(crypto::AsBytes(key), code, static_cast<uint64_t>(now / kSecond), 1,
                                        kTotpDigits, crypto::OtpHash::kSha1);
      sodium_memzero(key.data(), key.size());
      QUIPU_RETURN_IF_ERROR(matched.status());
      step = *matched;
    } else {
      const std::string want = r.value("code_hash", "");
      const std::string got = crypto::HexEncode(crypto::Sha256(id + ":" + code));
      if (want.size() == got.size() && sodium_memcmp(want.data(), got.data(), got.size()) == 0) step = 0;
    }
  }

  if (!step) {
    // Count the wrong code durably; lock at the limit.
    int left = 0;
    ledger::AppendRequest req;
    req.apply = [&](PrivateTxn& txn, uint64_t, const std::string&) -> Status {
      QUIPU_ASSIGN_OR_RETURN(json cur, GetJson(txn, tables::kApprovals, RequestKey(id), "approval request"));
      QUIPU_RETURN_IF_ERROR(check_state(cur));
      const int wrong = cur.value("wrong_codes", 0) + 1;
      cur["wrong_codes"] = wrong;
      if (wrong >= options_.max_wrong_codes) cur["status"] = "locked";
      left = std::max(0, options_.max_wrong_codes - wrong);
      return txn.Put(tables::kApprovals, RequestKey(id), cur.dump());
    };
    auto w = log_.Append(std::move(req)).get();
    if (!w.ok()) return w.status();
    if (left == 0) return FailedPrecondition("wrong code; request " + id + " is now locked");
    return PermissionDenied("wrong code (" + std::to_string(left) + " attempts left)");
  }

  // One entry per document, the request's new state, the subject's used
  // step and the notification: one commit.
  const std::string commitment = CommitmentOf(salt, subject);
  ledger::AppendRequest req;
  for (const json& d : r["documents"]) {
    req.entries.push_back({{"type", approve ? "approval" : "rejection"},
                           {"client", client.id},
                           {"request", id},
                           {"subject", commitment},
                           {"doc", {{"sha256", d["sha256"]}, {"media_type", d["media_type"]}}}});
  }
  const std::string status = approve ? "approved" : "rejected";
  const bool totp = r.value("factor", "totp") == "totp";
  auto notify_token = clients_.NotifyToken(client.id);
  if (!notify_token.ok()) return notify_token.status();
  auto current = clients_.Get(client.id);
  if (!current.ok()) return current.status();
  const std::string notify_uri = current->notify_uri;
  req.apply = [&](PrivateTxn& txn, uint64_t first, const std::string& time) -> Status {
    QUIPU_ASSIGN_OR_RETURN(json cur, GetJson(txn, tables::kApprovals, RequestKey(id), "approval request"));
    QUIPU_RETURN_IF_ERROR(check_state(cur));
    QUIPU_ASSIGN_OR_RETURN(json s, GetJson(txn, tables::kSubjects, SubjectKey(subject), "subject"));
    if (s.is_null() || s.value("salt", "") != salt) return FailedPrecondition("the subject was forgotten meanwhile");
    if (totp) {
      // A code is accepted once per subject: its step must be newer.
      if (*step <= s.value("last_step", uint64_t{0})) return PermissionDenied("this code was already used");
      s["last_step"] = *step;
      QUIPU_RETURN_IF_ERROR(txn.Put(tables::kSubjects, SubjectKey(subject), s.dump()));
    }
    json indices = json::array();
    json notified = json::array();
    for (size_t i = 0; i < cur["documents"].size(); ++i) {
      indices.push_back(first + i);
      notified.push_back({{"sha256", cur["documents"][i]["sha256"]}, {"index", first + i}});
    }
    cur["status"] = status;
    cur["decided_at"] = time;
    cur["entries"] = indices;
    cur["notification"] = {{"state", "pending"}, {"attempts", 0}};
    cur.erase("code_hash");
    QUIPU_RETURN_IF_ERROR(txn.Put(tables::kApprovals, RequestKey(id), cur.dump()));
    const json note = {{"request", id}, {"status", status}, {"documents", notified}};
    return PutOutbox(txn, data_key_, now, id, "notify", notify_uri, *notify_token, note);
  };
  auto done = log_.Append(std::move(req)).get();
  if (!done.ok()) return done.status();
  if (options_.on_outbox) options_.on_outbox();
  json entries = json::array();
  for (size_t i = 0; i < r["documents"].size(); ++i) {
    entries.push_back({{"index", done->first_index + i}, {"sha256", r["documents"][i]["sha256"]}});
  }
  return json{{"id", id},
              {"status", status},
              {"decided_at", done->time},
              {"entries", std::move(entries)},
              {"tree_size", done->tree_size},
              {"checkpoint", done->checkpoint},
              {"redirect_url", current->redirect_uri +
                                   (current->redirect_uri.find('?') == std::string::npos ? "?" : "&") +
                                   "request=" + id + "&status=" + status}};
}

// --- outbox ----------------------------------------------------------------------

Result<std::vector<OutboxItem>> Approvals::DueOutbox(size_t max, const OutboxFilter& want) const {
  const int64_t now = options_.clock();
  std::vector<std::pair<std::string, json>> due;
  Status bad = Status::Ok();
  if (max == 0) return std::vector<OutboxItem>();
  QUIPU_RETURN_IF_ERROR(log_.ScanPrivate(tables::kOutbox, "o:", [&](std::string_view k, std::string_view v) {
    auto j = ParseRecord(std::string(v), "outbox");
    if (!j.ok()) {
      bad = j.status();
      return false;
    }
    if (j->value("next_us", int64_t{0}) > now) return true;
    if (want && !want(k, j->value("url", ""))) return true;
    due.emplace_back(std::string(k), std::move(*j));
    return due.size() < max;
  }));
  QUIPU_RETURN_IF_ERROR(bad);
  // Requests are read after the scan: one read snapshot at a time.
  std::vector<OutboxItem> out;
  for (auto& [key, j] : due) {
    OutboxItem item;
    item.key = key;
    item.kind = j.value("kind", "");
    item.request_id = j.value("request", "");
    item.url = j.value("url", "");
    item.attempts = j.value("attempts", 0);
    item.created_us = j.value("created_us", int64_t{0});
    if (item.kind == "deliver") {
      QUIPU_ASSIGN_OR_RETURN(auto rv, log_.ReadPrivate(tables::kApprovals, RequestKey(item.request_id)));
      json request;
      if (rv) {
        QUIPU_ASSIGN_OR_RETURN(request, ParseRecord(*rv, "approval request"));
      }
      item.obsolete = WhyCodeIsObsolete(request, now);
      if (!item.obsolete.empty()) {
        out.push_back(std::move(item));  // no secrets: it is never sent
        continue;
      }
    }
    QUIPU_ASSIGN_OR_RETURN(std::string body, OpenSecret(data_key_, j.value("body_sealed", ""), "outbox:" + item.key));
    item.body = json::parse(body, nullptr, false);
    sodium_memzero(body.data(), body.size());
    if (j.contains("bearer_sealed")) {
      QUIPU_ASSIGN_OR_RETURN(item.bearer,
                             OpenSecret(data_key_, j["bearer_sealed"].get<std::string>(), "outbox-bearer:" + item.key));
    }
    out.push_back(std::move(item));
  }
  return out;
}

Result<std::optional<int64_t>> Approvals::NextDue(const OutboxFilter& consider) const {
  std::optional<int64_t> next;
  Status bad = Status::Ok();
  QUIPU_RETURN_IF_ERROR(log_.ScanPrivate(tables::kOutbox, "o:", [&](std::string_view k, std::string_view v) {
    auto j = ParseRecord(std::string(v), "outbox");
    if (!j.ok()) {
      bad = j.status();
      return false;
    }
    if (consider && !consider(k, j->value("url", ""))) return true;
    const int64_t due = j->value("next_us", int64_t{0});
    if (!next || due < *next) next = due;
    return true;
  }));
  QUIPU_RETURN_IF_ERROR(bad);
  return next;
}

Status Approvals::RecordAttempt(const OutboxItem& item, const DeliveryAttempt& attempt) {
  const int64_t now = options_.clock();
  ledger::AppendRequest req;
  req.apply = [&](PrivateTxn& txn, uint64_t, const std::string& time) -> Status {
    QUIPU_ASSIGN_OR_RETURN(json o, GetJson(txn, tables::kOutbox, item.key, "outbox"));
    if (o.is_null()) return Status::Ok();  // already recorded
    QUIPU_ASSIGN_OR_RETURN(json r, GetJson(txn, tables::kApprovals, RequestKey(item.request_id), "approval request"));
    const int attempts = o.value("attempts", 0) + 1;
    const bool give_up = !attempt.delivered && now - o.value("created_us", int64_t{0}) >= kOutboxGiveUp;
    // A code is retried only while its request still waits for it.
    const bool obsolete_code = item.kind == "deliver" && !WhyCodeIsObsolete(r, now).empty();
    // 1 s, 2 s, 4 s, ... up to an hour between attempts.
    const int64_t next_us = now + std::min<int64_t>(int64_t{1} << std::min(attempts - 1, 12), 3600) * kSecond;
    if (attempt.delivered || give_up || obsolete_code) {
      QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kOutbox, item.key));
    } else {
      o["attempts"] = attempts;
      o["next_us"] = next_us;
      QUIPU_RETURN_IF_ERROR(txn.Put(tables::kOutbox, item.key, o.dump()));
    }
    if (item.kind != "notify" || r.is_null()) return Status::Ok();
    json& n = r["notification"];
    n["attempts"] = attempts;
    n.erase("last_error");  // earlier versions stored the transport's text here
    n.erase("next_attempt_at");
    n.erase("last_http_status");
    if (attempt.delivered) {
      n["state"] = "delivered";
      n["delivered_at"] = time;
    } else {
      n["state"] = give_up ? "failed" : "retrying";
      if (!give_up) n["next_attempt_at"] = FormatMicros(next_us);
      if (attempt.http_status != 0) n["last_http_status"] = attempt.http_status;
    }
    return txn.Put(tables::kApprovals, RequestKey(item.request_id), r.dump());
  };
  auto r = log_.Append(std::move(req)).get();
  return r.ok() ? Status::Ok() : r.status();
}

Status Approvals::DropOutbox(const OutboxItem& item) {
  ledger::AppendRequest req;
  req.apply = [&](PrivateTxn& txn, uint64_t, const std::string&) -> Status {
    QUIPU_ASSIGN_OR_RETURN(auto v, txn.Get(tables::kOutbox, item.key));
    if (!v) return Status::Ok();
    return txn.Delete(tables::kOutbox, item.key);
  };
  auto r = log_.Append(std::move(req)).get();
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace quipu::node
