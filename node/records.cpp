#include "node/records.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/sha256.h"
#include "node/document.h"

namespace quipu::node::records {
namespace {

using nlohmann::json;

std::string Digits20(int64_t us) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(std::max<int64_t>(us, 0)));
  return buf;
}

// The stored object `bytes`, or kCorruption naming `what`.
Result<json> ParseObject(std::string_view bytes, const char* what) {
  json j = json::parse(bytes, nullptr, false);
  if (!j.is_object()) return Corruption(std::string(what) + " record is not JSON");
  return j;
}

// Thrown by a decoder for a field that holds the wrong value.
struct BadField {};

// Runs `decode` over the object in `bytes`; a field of the wrong type
// (nlohmann's value() throws then) or a bad value is kCorruption too.
template <typename T, typename F>
Result<T> DecodeWith(std::string_view bytes, const char* what, F decode) {
  QUIPU_ASSIGN_OR_RETURN(json j, ParseObject(bytes, what));
  try {
    return decode(j);
  } catch (const json::exception&) {
    return Corruption(std::string(what) + " record has a field of the wrong type");
  } catch (const BadField&) {
    return Corruption(std::string(what) + " record has a field of the wrong type");
  }
}

// An optional text field: written only when it is not empty.
void PutText(json& j, const char* name, const std::string& value) {
  if (!value.empty()) j[name] = value;
}

// An unsigned number (nlohmann would cast a negative one).
uint64_t Unsigned(const json& j) {
  if (!j.is_number_unsigned()) throw BadField();
  return j.get<uint64_t>();
}

json EncodeDocument(const ApprovalDocument& d) {
  json j = {{"sha256", crypto::HexEncode(d.sha256)}, {"media_type", MediaType(d.media)}};
  PutText(j, "name", d.name);
  if (d.content) j["content"] = true;
  if (d.size) j["size"] = *d.size;
  PutText(j, "key", d.client_key);
  return j;
}

ApprovalDocument DecodeDocument(const json& j) {
  ApprovalDocument d;
  auto raw = crypto::HexDecode(j.value("sha256", ""));
  if (!raw.ok() || raw->size() != d.sha256.size()) throw BadField();
  std::copy(raw->begin(), raw->end(), d.sha256.begin());
  d.media = ParseDocType(j.value("media_type", "")).value_or(DocType::kPdf);
  d.name = j.value("name", "");
  d.content = j.value("content", false);
  if (j.contains("size")) d.size = Unsigned(j["size"]);
  d.client_key = j.value("key", "");
  return d;
}

}  // namespace

// --- keys ------------------------------------------------------------------------

std::string SubjectKey(std::string_view subject_id) { return "s:" + std::string(subject_id); }

std::string ClientKey(std::string_view client_id) { return std::string(kClientPrefix) + std::string(client_id); }

std::string TokenKey(std::string_view api_token) { return "t:" + crypto::HexEncode(crypto::Sha256(api_token)); }

std::string RequestKey(std::string_view request_id) { return std::string(kRequestPrefix) + std::string(request_id); }

std::string CitizenIndexPrefix(std::string_view subject_id) { return "c:" + std::string(subject_id) + ":"; }

std::string CitizenIndexKey(std::string_view subject_id, int64_t created_us, std::string_view request_id) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t t = static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(std::max<int64_t>(created_us, 0));
  std::string time(16, '0');
  for (int i = 15; i >= 0; --i, t >>= 4) time[static_cast<size_t>(i)] = kHex[t & 15];
  return CitizenIndexPrefix(subject_id) + time + ":" + std::string(request_id);
}

std::string RequestIdOfIndexKey(std::string_view key) {
  if (key.substr(0, 2) != "c:") return "";
  const size_t last = key.rfind(':');
  return last == std::string_view::npos ? "" : std::string(key.substr(last + 1));
}

std::string ClientKeyKey(std::string_view client_id, std::string_view client_key) {
  return "i:" + std::string(client_id) + ":" + std::string(client_key);
}

std::string OutboxKey(int64_t created_us, std::string_view request_id, std::string_view kind) {
  return std::string(kOutboxPrefix) + Digits20(created_us) + ":" + std::string(request_id) + ":" + std::string(kind);
}

bool IsOutboxKeyOf(std::string_view key, std::string_view request_id, std::string_view kind) {
  const std::string tail = ":" + std::string(request_id) + ":" + std::string(kind);
  return key.substr(0, kOutboxPrefix.size()) == kOutboxPrefix && key.size() > tail.size() &&
         key.substr(key.size() - tail.size()) == tail;
}

std::string ContentKey(int64_t expires_us, std::string_view request_id, size_t i) {
  char tail[8];
  std::snprintf(tail, sizeof tail, ":%03zu", i % 1000);
  return std::string(kContentPrefix) + Digits20(expires_us) + ":" + std::string(request_id) + tail;
}

int64_t ExpiryOfContentKey(std::string_view key) {
  if (key.size() < 23 || key.substr(0, 2) != kContentPrefix || key[22] != ':') return -1;
  int64_t t = 0;
  for (char c : key.substr(2, 20)) {
    if (c < '0' || c > '9' || t > (INT64_MAX - (c - '0')) / 10) return -1;
    t = t * 10 + (c - '0');
  }
  return t;
}

std::string QrIssuedKey(uint64_t index) { return "q:" + std::to_string(index); }
std::string QrRevokedKey(uint64_t index) { return "qrev:" + std::to_string(index); }

std::string QrDraftKey(std::string_view client_id, std::string_view client_key) {
  return "d:" + std::string(client_id) + ":" + std::string(client_key);
}

std::string WitnessStateKey(std::string_view origin) { return "w:" + std::string(origin); }

std::string CosignedKey(uint64_t tree_size) {
  return std::string(kCosignedPrefix) + Digits20(static_cast<int64_t>(std::min<uint64_t>(tree_size, INT64_MAX)));
}

std::optional<uint64_t> SizeOfCosignedKey(std::string_view key) {
  if (key.size() != 22 || key.substr(0, 2) != kCosignedPrefix) return std::nullopt;
  uint64_t n = 0;
  for (char c : key.substr(2)) {
    if (c < '0' || c > '9' || n > (UINT64_MAX - static_cast<uint64_t>(c - '0')) / 10) return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

std::string CosignerKey(std::string_view witness) { return "p:" + std::string(witness); }

std::string QrCodeDigestKey(const crypto::Digest& code_digest) { return "qd:" + crypto::HexEncode(code_digest); }

std::string QrDraftLapseKey(int64_t lapses_us, std::string_view client_id, std::string_view client_key) {
  return std::string(kQrDraftLapsePrefix) + Digits20(lapses_us) + ":" + std::string(client_id) + ":" +
         std::string(client_key);
}

int64_t LapseOfQrDraftLapseKey(std::string_view key) {
  if (key.size() < 24 || key.substr(0, 3) != kQrDraftLapsePrefix || key[23] != ':') return -1;
  int64_t t = 0;
  for (char c : key.substr(3, 20)) {
    if (c < '0' || c > '9' || t > (INT64_MAX - (c - '0')) / 10) return -1;
    t = t * 10 + (c - '0');
  }
  return t;
}

std::string QrDraftKeyOfLapseKey(std::string_view key) {
  if (LapseOfQrDraftLapseKey(key) < 0) return "";
  return "d:" + std::string(key.substr(24));
}

// --- values ----------------------------------------------------------------------

Result<SubjectRecord> DecodeSubject(std::string_view bytes) {
  return DecodeWith<SubjectRecord>(bytes, "subject", [](const json& j) {
    SubjectRecord s;
    s.salt = j.value("salt", "");
    s.last_step = j.value("last_step", uint64_t{0});
    s.totp = j.value("totp", "");
    s.totp_pending = j.value("totp_pending", "");
    s.enrolled_by = j.value("enrolled_by", "");
    s.enrolled = j.value("enrolled", "");
    s.wrong_codes = j.value("wrong_codes", 0);
    s.lockouts = j.value("lockouts", 0);
    s.locked_until_us = j.value("locked_until_us", int64_t{0});
    for (const json& r : j.value("factor_resets", json::array())) {
      s.factor_resets.push_back({r.value("by", ""), r.value("at", ""), r.value("reason", "")});
    }
    return s;
  });
}

std::string Encode(const SubjectRecord& s) {
  json j = {{"salt", s.salt}, {"last_step", s.last_step}};
  PutText(j, "totp", s.totp);
  PutText(j, "totp_pending", s.totp_pending);
  PutText(j, "enrolled_by", s.enrolled_by);
  PutText(j, "enrolled", s.enrolled);
  if (s.wrong_codes != 0) j["wrong_codes"] = s.wrong_codes;
  if (s.lockouts != 0) j["lockouts"] = s.lockouts;
  if (s.locked_until_us != 0) j["locked_until_us"] = s.locked_until_us;
  if (!s.factor_resets.empty()) {
    json resets = json::array();
    for (const FactorReset& r : s.factor_resets) resets.push_back({{"by", r.by}, {"at", r.at}, {"reason", r.reason}});
    j["factor_resets"] = std::move(resets);
  }
  return j.dump();
}

Result<ClientRecord> DecodeClient(std::string_view bytes) {
  return DecodeWith<ClientRecord>(bytes, "a client", [](const json& j) {
    ClientRecord c;
    c.info.id = j.value("id", "");
    c.info.name = j.value("name", "");
    c.info.redirect_uri = j.value("redirect_uri", "");
    c.info.notify_uri = j.value("notify_uri", "");
    c.info.disabled = j.value("disabled", false);
    c.info.created = j.value("created", "");
    c.notify_token_sealed = j.value("notify_token_sealed", "");
    c.token_key = j.value("token_key", "");
    return c;
  });
}

std::string Encode(const ClientRecord& c) {
  return json{{"id", c.info.id},
              {"name", c.info.name},
              {"redirect_uri", c.info.redirect_uri},
              {"notify_uri", c.info.notify_uri},
              {"disabled", c.info.disabled},
              {"created", c.info.created},
              {"notify_token_sealed", c.notify_token_sealed},
              {"token_key", c.token_key}}
      .dump();
}

Result<RequestRecord> DecodeRequest(std::string_view bytes) {
  return DecodeWith<RequestRecord>(bytes, "approval request", [](const json& j) {
    RequestRecord r;
    r.id = j.value("id", "");
    r.client = j.value("client", "");
    r.subject = j.value("subject", "");
    r.factor = ParseFactor(j.value("factor", "totp")).value_or(Factor::kTotp);
    if (j.contains("channel")) r.channel = ParseChannel(j["channel"].get<std::string>());
    r.status = j.value("status", "pending");
    r.created_us = j.value("created_us", int64_t{0});
    r.expires_us = j.value("expires_us", int64_t{0});
    for (const json& d : j.value("documents", json::array())) r.documents.push_back(DecodeDocument(d));
    r.wrong_codes = j.value("wrong_codes", 0);
    const json n = j.value("notification", json::object());
    r.notification.state = n.value("state", "none");
    r.notification.attempts = n.value("attempts", 0);
    r.notification.next_attempt_at = n.value("next_attempt_at", "");
    r.notification.delivered_at = n.value("delivered_at", "");
    if (n.contains("last_http_status")) r.notification.last_http_status = static_cast<unsigned>(Unsigned(n["last_http_status"]));
    r.return_state = j.value("return_state", "");
    r.description = j.value("description", "");
    r.decided_at = j.value("decided_at", "");
    r.entries = j.value("entries", std::vector<uint64_t>());
    r.code_hash = j.value("code_hash", "");
    r.forgotten = j.value("forgotten", false);
    r.client_key = j.value("client_key", "");
    r.uuid = j.value("uuid", "");
    if (j.contains("dialect")) {
      r.dialect = ParseDialect(j["dialect"].get<std::string>()).value_or(Dialect::kQuipu);
    }
    return r;
  });
}

std::string Encode(const RequestRecord& r) {
  json docs = json::array();
  for (const ApprovalDocument& d : r.documents) docs.push_back(EncodeDocument(d));
  json n = {{"state", r.notification.state}, {"attempts", r.notification.attempts}};
  PutText(n, "next_attempt_at", r.notification.next_attempt_at);
  PutText(n, "delivered_at", r.notification.delivered_at);
  if (r.notification.last_http_status) n["last_http_status"] = *r.notification.last_http_status;
  json j = {{"id", r.id},
            {"client", r.client},
            {"subject", r.subject},
            {"factor", FactorName(r.factor)},
            {"status", r.status},
            {"created_us", r.created_us},
            {"expires_us", r.expires_us},
            {"documents", std::move(docs)},
            {"wrong_codes", r.wrong_codes},
            {"notification", std::move(n)}};
  if (r.channel) j["channel"] = ChannelName(*r.channel);
  PutText(j, "return_state", r.return_state);
  PutText(j, "description", r.description);
  PutText(j, "decided_at", r.decided_at);
  if (!r.entries.empty()) j["entries"] = r.entries;
  PutText(j, "code_hash", r.code_hash);
  if (r.forgotten) j["forgotten"] = true;
  PutText(j, "client_key", r.client_key);
  PutText(j, "uuid", r.uuid);
  if (r.dialect != Dialect::kQuipu) j["dialect"] = DialectName(r.dialect);
  return j.dump();
}

Result<ClientKeyRecord> DecodeClientKey(std::string_view bytes) {
  return DecodeWith<ClientKeyRecord>(bytes, "a client key's", [](const json& j) {
    return ClientKeyRecord{j.value("request", ""), j.value("fingerprint", "")};
  });
}

std::string Encode(const ClientKeyRecord& k) {
  return json{{"request", k.request}, {"fingerprint", k.fingerprint}}.dump();
}

Result<OutboxRecord> DecodeOutbox(std::string_view bytes) {
  return DecodeWith<OutboxRecord>(bytes, "outbox", [](const json& j) {
    OutboxRecord o;
    o.kind = j.value("kind", "");
    o.request = j.value("request", "");
    o.url = j.value("url", "");
    o.attempts = j.value("attempts", 0);
    o.created_us = j.value("created_us", int64_t{0});
    o.next_us = j.value("next_us", int64_t{0});
    o.body_sealed = j.value("body_sealed", "");
    o.bearer_sealed = j.value("bearer_sealed", "");
    return o;
  });
}

std::string Encode(const OutboxRecord& o) {
  json j = {{"kind", o.kind},       {"request", o.request}, {"url", o.url},
            {"attempts", o.attempts}, {"created_us", o.created_us}, {"next_us", o.next_us},
            {"body_sealed", o.body_sealed}};
  PutText(j, "bearer_sealed", o.bearer_sealed);
  return j.dump();
}

Result<QrRecord> DecodeQr(std::string_view bytes) {
  return DecodeWith<QrRecord>(bytes, "a QR code's", [](const json& j) {
    return QrRecord{j.value("text", ""), j.value("client", ""), j.value("issued", "")};
  });
}

std::string Encode(const QrRecord& q) {
  return json{{"text", q.text}, {"client", q.client}, {"issued", q.issued}}.dump();
}

namespace {

const std::string_view kDraftStates[] = {"pending", "confirmed", "annulled"};

}  // namespace

Result<QrDraftRecord> DecodeQrDraft(std::string_view bytes) {
  return DecodeWith<QrDraftRecord>(bytes, "a two-phase QR code's", [](const json& j) {
    QrDraftRecord d;
    const std::string state = j.value("state", "pending");
    const auto* known = std::find(std::begin(kDraftStates), std::end(kDraftStates), state);
    if (known == std::end(kDraftStates)) throw BadField();
    d.state = static_cast<QrDraftRecord::State>(known - std::begin(kDraftStates));
    d.text = j.value("text", "");
    d.fingerprint = j.value("fingerprint", "");
    d.created = j.value("created", "");
    d.lapses_us = j.value("lapses_us", int64_t{0});
    if (j.contains("index")) d.index = Unsigned(j.at("index"));
    d.confirmed = j.value("confirmed", "");
    if (j.contains("revocation")) d.revocation = Unsigned(j.at("revocation"));
    d.annulled = j.value("annulled", "");
    return d;
  });
}

std::string Encode(const QrDraftRecord& d) {
  json j = {{"state", std::string(kDraftStates[static_cast<int>(d.state)])},
            {"text", d.text},
            {"fingerprint", d.fingerprint},
            {"created", d.created},
            {"lapses_us", d.lapses_us}};
  if (d.index) j["index"] = *d.index;
  PutText(j, "confirmed", d.confirmed);
  if (d.revocation) j["revocation"] = *d.revocation;
  PutText(j, "annulled", d.annulled);
  return j.dump();
}

Result<WitnessStateRecord> DecodeWitnessState(std::string_view bytes) {
  return DecodeWith<WitnessStateRecord>(bytes, "a witness state", [](const json& j) {
    WitnessStateRecord w;
    w.size = Unsigned(j.at("size"));
    auto root = crypto::Base64Decode(j.at("root").get<std::string>());
    if (!root.ok() || root->size() != w.root.size()) throw BadField();
    std::copy(root->begin(), root->end(), w.root.begin());
    w.checkpoint = j.value("checkpoint", "");
    w.time = j.value("time", "");
    return w;
  });
}

std::string Encode(const WitnessStateRecord& w) {
  return json{{"size", w.size}, {"root", crypto::Base64Encode(w.root)}, {"checkpoint", w.checkpoint}, {"time", w.time}}
      .dump();
}

Result<CosignedRecord> DecodeCosigned(std::string_view bytes) {
  return DecodeWith<CosignedRecord>(bytes, "a cosigned checkpoint", [](const json& j) {
    CosignedRecord c;
    c.note = j.at("note").get<std::string>();
    c.quorum = j.value("quorum", false);
    return c;
  });
}

std::string Encode(const CosignedRecord& c) {
  json j = {{"note", c.note}};
  if (c.quorum) j["quorum"] = true;
  return j.dump();
}

Result<CosignerRecord> DecodeCosigner(std::string_view bytes) {
  return DecodeWith<CosignerRecord>(bytes, "a cosigner", [](const json& j) {
    CosignerRecord c;
    c.size = Unsigned(j.at("size"));
    c.time = j.value("time", "");
    return c;
  });
}

std::string Encode(const CosignerRecord& c) {
  json j = {{"size", c.size}};
  PutText(j, "time", c.time);
  return j.dump();
}

}  // namespace quipu::node::records
