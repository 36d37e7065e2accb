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
#include "node/records.h"
#include "node/schema.h"
#include "node/secrets.h"

namespace quipu::node {

using namespace records;  // the stored records and their keys

namespace {

using ledger::PrivateTable;
using ledger::PrivateTxn;
using nlohmann::json;

constexpr int kTotpDigits = 6;
constexpr int64_t kSecond = 1000000;
constexpr size_t kResetsKept = 10;  // factor resets remembered per citizen
constexpr int64_t kOutboxGiveUp = 24 * 3600 * kSecond;

int64_t SystemMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A citizen first named: only their salt.
SubjectRecord NewSubject(const std::string& salt) {
  SubjectRecord s;
  s.salt = salt;
  return s;
}

// The records read inside a commit; nullopt when there is none.
Result<std::optional<SubjectRecord>> GetSubject(PrivateTxn& txn, std::string_view id) {
  QUIPU_ASSIGN_OR_RETURN(auto v, txn.Get(tables::kSubjects, SubjectKey(id)));
  if (!v) return std::optional<SubjectRecord>();
  QUIPU_ASSIGN_OR_RETURN(SubjectRecord s, DecodeSubject(*v));
  return std::optional<SubjectRecord>(std::move(s));
}

Result<std::optional<RequestRecord>> GetRequest(PrivateTxn& txn, std::string_view id) {
  QUIPU_ASSIGN_OR_RETURN(auto v, txn.Get(tables::kApprovals, RequestKey(id)));
  if (!v) return std::optional<RequestRecord>();
  QUIPU_ASSIGN_OR_RETURN(RequestRecord r, DecodeRequest(*v));
  return std::optional<RequestRecord>(std::move(r));
}

Status PutSubject(PrivateTxn& txn, std::string_view id, const SubjectRecord& s) {
  return txn.Put(tables::kSubjects, SubjectKey(id), Encode(s));
}

Status PutRequest(PrivateTxn& txn, const RequestRecord& r) {
  return txn.Put(tables::kApprovals, RequestKey(r.id), Encode(r));
}

// The subject `id` in the log's current snapshot; nullopt when there is none.
Result<std::optional<SubjectRecord>> ReadSubject(const ledger::Log& log, std::string_view id) {
  QUIPU_ASSIGN_OR_RETURN(auto v, log.ReadPrivate(tables::kSubjects, SubjectKey(id)));
  if (!v) return std::optional<SubjectRecord>();
  QUIPU_ASSIGN_OR_RETURN(SubjectRecord s, DecodeSubject(*v));
  return std::optional<SubjectRecord>(std::move(s));
}

// The subject commitment of a citizen in one client's entries
// (docs/ledger.md): HMAC-SHA-256 under the citizen's salt of the context,
// the client id and the document number. Another client's entries for the
// same citizen carry another commitment, and without the salt nobody can
// tell that two commitments name the same person.
std::string CommitmentOf(const std::string& salt_hex, const std::string& client_id, const std::string& id) {
  auto salt = crypto::HexDecode(salt_hex);
  if (!salt.ok()) return "";
  std::string message = "quipu/subject/v2";
  message += '\0';
  message += client_id;
  message += '\0';
  message += id;
  return crypto::HexEncode(crypto::HmacSha256(*salt, message));
}

// The commitment entries written before v2 carried: SHA-256(salt || id),
// the same for every client.
std::string CommitmentV1(const std::string& salt_hex, const std::string& id) {
  auto salt = crypto::HexDecode(salt_hex);
  if (!salt.ok()) return "";
  std::string data(crypto::AsString(*salt));
  data += id;
  return crypto::HexEncode(crypto::Sha256(data));
}

// Sends a new outbox item (sealed secrets) inside the transaction.
Status PutOutbox(PrivateTxn& txn, const std::array<uint8_t, 32>& key, int64_t now, const std::string& rid,
                 const std::string& kind, const std::string& url, const std::string& bearer, const json& body) {
  const std::string okey = OutboxKey(now, rid, kind);
  OutboxRecord item{kind, rid, url, 0, now, now, "", ""};
  QUIPU_ASSIGN_OR_RETURN(item.body_sealed, SealSecret(key, body.dump(), "outbox:" + okey));
  if (!bearer.empty()) {
    QUIPU_ASSIGN_OR_RETURN(item.bearer_sealed, SealSecret(key, bearer, "outbox-bearer:" + okey));
  }
  return txn.Put(tables::kOutbox, okey, Encode(item));
}

std::string FormatMicros(int64_t us) { return ledger::FormatTime(us); }

// What a request keeps of its message code: hex(HMAC-SHA-256(data key,
// "quipu/code/v1" 0x00 request id 0x00 code)), so that a copy of the data
// file alone does not give the code away (a million guesses would).
std::string CodeHash(const std::array<uint8_t, 32>& key, std::string_view rid, std::string_view code) {
  std::string message = "quipu/code/v1";
  message.push_back('\0');
  message.append(rid);
  message.push_back('\0');
  message.append(code);
  return crypto::HexEncode(crypto::HmacSha256(key, message));
}

// The purpose a document's content is sealed for: bound to its request and place.
std::string ContentPurpose(std::string_view rid, size_t i) {
  return "content:" + std::string(rid) + ":" + std::to_string(i);
}

// Deletes the contents a request kept for its citizen's page (in the
// commit that decides, locks or forgets it).
Status DropContents(PrivateTxn& txn, const RequestRecord& r) {
  for (size_t i = 0; i < r.documents.size(); ++i) {
    if (r.documents[i].content) QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kContents, ContentKey(r.expires_us, r.id, i)));
  }
  return Status::Ok();
}

// Why a code for `request` (its stored record, null when gone) must not be
// sent any more, or "": it is worth something only while the request
// waits for it, and a code that arrives later only confuses its reader.
std::string WhyCodeIsObsolete(const std::optional<RequestRecord>& request, int64_t now) {
  if (!request) return "the request no longer exists";
  if (request->forgotten) return "its citizen was forgotten";
  if (request->status != "pending") return "the request is " + request->status;
  if (now > request->expires_us) return "the request expired";
  return "";
}

// What a client reads about a failed notification: never the transport's
// words (they would describe whatever answers at the registered address).
constexpr const char* kRetrying = "not delivered; the node will retry";
constexpr const char* kGaveUp = "not delivered; the node gave up after 24 hours of retries";

ApprovalsOptions WithClock(ApprovalsOptions options) {
  if (!options.clock) options.clock = SystemMicros;
  return options;
}

// The problem for a rate limit: which, and when to try again.
Status LimitReached(const std::string& what, int64_t wait_us) {
  return ResourceExhausted(what + "; try again in " + std::to_string(std::max<int64_t>(1, wait_us / kSecond)) + " s");
}

// The citizen's lockout: kCitizenWrongCodes wrong codes in a row, over
// all their requests at every client, lock the citizen out for
// kFirstLockout, doubling with each lockout up to kLongestLockout; a right
// code ends the count.
constexpr int kCitizenWrongCodes = 5;
constexpr int64_t kFirstLockout = 15 * 60 * kSecond;
constexpr int64_t kLongestLockout = 24 * 3600 * kSecond;

// kResourceExhausted while the subject record says the citizen is locked out.
Status CheckNotLockedOut(const SubjectRecord& subject, int64_t now) {
  if (subject.locked_until_us <= now) return Status::Ok();
  return ResourceExhausted("too many wrong codes: the citizen's codes are refused until " +
                           FormatMicros(subject.locked_until_us));
}

// Counts one wrong code in the subject record; returns whether it locked.
bool CountCitizenWrongCode(SubjectRecord& subject, int64_t now) {
  if (++subject.wrong_codes < kCitizenWrongCodes) return false;
  subject.locked_until_us = now + std::min(kLongestLockout, kFirstLockout << std::min(subject.lockouts, 7));
  subject.lockouts += 1;
  subject.wrong_codes = 0;
  return true;
}

// A right code ends the count of wrong ones and any lockout.
void ClearWrongCodes(SubjectRecord& subject) {
  subject.wrong_codes = 0;
  subject.lockouts = 0;
  subject.locked_until_us = 0;
}

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
    : log_(log),
      clients_(clients),
      pdf_(pdf),
      data_key_(data_key),
      options_(WithClock(std::move(options))),
      per_client_(options_.requests_per_client_hour, options_.requests_per_client_hour / 60, options_.clock),
      per_citizen_(options_.requests_per_citizen_hour, options_.requests_per_citizen_hour, options_.clock),
      deliveries_(options_.deliveries_per_citizen_hour, options_.deliveries_per_citizen_hour, options_.clock),
      content_bytes_(options_.content_bytes_per_client_hour, options_.content_bytes_per_client_burst, options_.clock) {}

// --- subjects ----------------------------------------------------------------

Status Approvals::ResetFactor(const std::string& subject_id, const std::string& by, const std::string& reason) {
  if (!IsValidSubjectId(subject_id)) return InvalidArgument("subject: 4 to 32 letters, digits or '-'");
  auto printable = [](const std::string& t) {
    return std::all_of(t.begin(), t.end(), [](unsigned char c) { return c >= 0x20 && c != 0x7f; });
  };
  if (by.empty() || by.size() > 128 || !printable(by)) return InvalidArgument("by: who resets, 1 to 128 characters");
  if (reason.empty() || reason.size() > 512 || !printable(reason)) {
    return InvalidArgument("reason: why, 1 to 512 characters");
  }
  ledger::AppendRequest req;
  req.apply = [&](PrivateTxn& txn, uint64_t, const std::string& time) -> Status {
    QUIPU_ASSIGN_OR_RETURN(std::optional<SubjectRecord> s, GetSubject(txn, subject_id));
    if (!s) return NotFound("no subject " + subject_id);
    s->totp.clear();
    s->totp_pending.clear();
    ClearWrongCodes(*s);
    // Who reset it, when and why: the last resets stay with the citizen.
    s->factor_resets.push_back({by, time, reason});
    while (s->factor_resets.size() > kResetsKept) s->factor_resets.erase(s->factor_resets.begin());
    return PutSubject(txn, subject_id, *s);
  };
  auto r = log_.Append(std::move(req)).get();
  return r.ok() ? Status::Ok() : r.status();
}

Status Approvals::ForgetSubject(const std::string& subject_id) {
  if (!IsValidSubjectId(subject_id)) return InvalidArgument("subject: 4 to 32 letters, digits or '-'");
  // The subject's requests, and the outbox items that go with them (read
  // first: a transaction cannot scan). Their records lose the id; codes
  // waiting to be sent (which name the subject) are dropped.
  std::vector<std::string> requests;
  Status bad = Status::Ok();
  QUIPU_RETURN_IF_ERROR(log_.ScanPrivate(tables::kApprovals, kRequestPrefix, [&](std::string_view k, std::string_view v) {
    auto r = DecodeRequest(v);
    if (!r.ok()) {
      bad = r.status();
      return false;
    }
    if (r->subject == subject_id) requests.emplace_back(k.substr(kRequestPrefix.size()));
    return true;
  }));
  QUIPU_RETURN_IF_ERROR(bad);
  std::vector<std::string> indexed;
  QUIPU_RETURN_IF_ERROR(log_.ScanPrivate(tables::kApprovals, CitizenIndexPrefix(subject_id),
                                         [&](std::string_view k, std::string_view) {
                                           indexed.emplace_back(k);
                                           return true;
                                         }));
  std::vector<std::string> codes;
  QUIPU_RETURN_IF_ERROR(log_.ScanPrivate(tables::kOutbox, kOutboxPrefix, [&](std::string_view k, std::string_view) {
    for (const std::string& rid : requests) {
      if (IsOutboxKeyOf(k, rid, "deliver")) codes.emplace_back(k);
    }
    return true;
  }));
  ledger::AppendRequest req;
  req.apply = [&](PrivateTxn& txn, uint64_t, const std::string&) -> Status {
    QUIPU_ASSIGN_OR_RETURN(auto v, txn.Get(tables::kSubjects, SubjectKey(subject_id)));
    if (!v && requests.empty()) return NotFound("no subject " + subject_id);
    if (v) QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kSubjects, SubjectKey(subject_id)));
    for (const std::string& rid : requests) {
      QUIPU_ASSIGN_OR_RETURN(std::optional<RequestRecord> r, GetRequest(txn, rid));
      if (!r || r->subject != subject_id) continue;
      QUIPU_RETURN_IF_ERROR(DropContents(txn, *r));
      r->subject.clear();
      r->forgotten = true;
      r->code_hash.clear();
      r->description.clear();  // the institution's words may name the citizen
      // The client-key record goes too: its fingerprint is bound to the
      // document number (a guess could be checked against it).
      if (!r->client_key.empty()) QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kApprovals, ClientKeyKey(r->client, r->client_key)));
      QUIPU_RETURN_IF_ERROR(PutRequest(txn, *r));
    }
    for (const std::string& key : codes) QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kOutbox, key));
    for (const std::string& key : indexed) QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kApprovals, key));
    return Status::Ok();
  };
  auto r = log_.Append(std::move(req)).get();
  if (!r.ok()) return r.status();
  per_citizen_.Forget(subject_id);
  deliveries_.Forget(subject_id);
  return Status::Ok();
}

// --- the citizen's own factor ----------------------------------------------------

Result<Approvals::CitizenFactor> Approvals::FactorOf(std::string_view document_number) const {
  if (!IsValidSubjectId(document_number)) return InvalidArgument("subject: 4 to 32 letters, digits or '-'");
  QUIPU_ASSIGN_OR_RETURN(std::optional<SubjectRecord> s, ReadSubject(log_, document_number));
  CitizenFactor out;
  if (!s) return out;
  out.enrolled = !s->totp.empty();
  out.enrolling = !s->totp_pending.empty();
  if (s->locked_until_us > options_.clock()) out.locked_until = FormatMicros(s->locked_until_us);
  return out;
}

namespace {

// A TOTP code checked against a sealed key of the subject record; the
// step it matched, or nullopt.
Result<std::optional<uint64_t>> MatchTotp(const std::array<uint8_t, 32>& data_key, const std::string& sealed,
                                          const std::string& purpose, std::string_view code, int64_t now) {
  QUIPU_ASSIGN_OR_RETURN(std::string key, OpenSecret(data_key, sealed, purpose));
  auto matched = crypto::VerifyTotp(crypto::AsBytes(key), code, static_cast<uint64_t>(now / kSecond), 1, kTotpDigits,
                                    crypto::OtpHash::kSha1);
  sodium_memzero(key.data(), key.size());
  return matched;
}

bool IsCode(std::string_view code) {
  return code.size() >= 6 && code.size() <= 8 && code.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

Result<Approvals::Enrollment> Approvals::BeginTotp(std::string_view document_number, std::string_view current_code) {
  if (!IsValidSubjectId(document_number)) return InvalidArgument("subject: 4 to 32 letters, digits or '-'");
  const std::string subject(document_number);
  crypto::Bytes secret = crypto::RandomBytes(20);
  Enrollment e;
  e.secret_base32 = crypto::Base32Encode(secret);
  e.otpauth_uri = crypto::OtpauthUri(options_.issuer, subject, secret, kTotpDigits, crypto::OtpHash::kSha1, 30);
  QUIPU_ASSIGN_OR_RETURN(std::string sealed,
                         SealSecret(data_key_, std::string(crypto::AsString(secret)), "totp-pending:" + subject));
  sodium_memzero(secret.data(), secret.size());
  const int64_t now = options_.clock();
  const std::string salt = crypto::HexEncode(crypto::RandomBytes(32));
  Status refusal = Status::Ok();  // a wrong current code: counted, then answered
  ledger::AppendRequest req;
  req.apply = [&](PrivateTxn& txn, uint64_t, const std::string&) -> Status {
    refusal = Status::Ok();
    QUIPU_ASSIGN_OR_RETURN(std::optional<SubjectRecord> found, GetSubject(txn, subject));
    SubjectRecord s = found.value_or(NewSubject(salt));
    QUIPU_RETURN_IF_ERROR(CheckNotLockedOut(s, now));
    if (!s.totp.empty()) {
      // Replacing the factor needs the factor.
      std::optional<uint64_t> step;
      if (IsCode(current_code)) {
        QUIPU_ASSIGN_OR_RETURN(step, MatchTotp(data_key_, s.totp, "totp:" + subject, current_code, now));
      }
      if (!step || *step <= s.last_step) {
        const bool locked = CountCitizenWrongCode(s, now);
        refusal = locked ? ResourceExhausted("wrong code; too many wrong codes in a row: locked out for a while")
                         : PermissionDenied("to replace your authenticator, give a current code from it");
        return PutSubject(txn, subject, s);
      }
      s.last_step = *step;
    }
    s.totp_pending = sealed;
    return PutSubject(txn, subject, s);
  };
  auto r = log_.Append(std::move(req)).get();
  if (!r.ok()) return r.status();
  if (!refusal.ok()) return refusal;
  return e;
}

Status Approvals::ConfirmTotp(std::string_view document_number, std::string_view code) {
  if (!IsValidSubjectId(document_number)) return InvalidArgument("subject: 4 to 32 letters, digits or '-'");
  if (!IsCode(code)) return InvalidArgument("code: 6 to 8 digits");
  const std::string subject(document_number);
  const int64_t now = options_.clock();
  Status refusal = Status::Ok();
  ledger::AppendRequest req;
  req.apply = [&](PrivateTxn& txn, uint64_t, const std::string& time) -> Status {
    refusal = Status::Ok();
    QUIPU_ASSIGN_OR_RETURN(std::optional<SubjectRecord> found, GetSubject(txn, subject));
    if (!found || found->totp_pending.empty()) return FailedPrecondition("no new authenticator waits for its first code");
    SubjectRecord& s = *found;
    QUIPU_RETURN_IF_ERROR(CheckNotLockedOut(s, now));
    const std::string pending = s.totp_pending;
    QUIPU_ASSIGN_OR_RETURN(std::optional<uint64_t> step, MatchTotp(data_key_, pending, "totp-pending:" + subject, code, now));
    if (!step) {
      refusal = CountCitizenWrongCode(s, now)
                    ? ResourceExhausted("wrong code; too many wrong codes in a row: locked out for a while")
                    : PermissionDenied("wrong code: give the code your authenticator shows now");
      return PutSubject(txn, subject, s);
    }
    // The key moves to its place, sealed for it.
    QUIPU_ASSIGN_OR_RETURN(std::string key, OpenSecret(data_key_, pending, "totp-pending:" + subject));
    auto resealed = SealSecret(data_key_, key, "totp:" + subject);
    sodium_memzero(key.data(), key.size());
    if (!resealed.ok()) return resealed.status();
    s.totp = *resealed;
    s.totp_pending.clear();
    s.last_step = std::max(*step, s.last_step);
    s.enrolled_by = "citizen";
    s.enrolled = time;
    ClearWrongCodes(s);
    return PutSubject(txn, subject, s);
  };
  auto r = log_.Append(std::move(req)).get();
  if (!r.ok()) return r.status();
  return refusal;
}

Result<std::optional<std::string>> Approvals::Commitment(const ClientInfo& client,
                                                         const std::string& subject_id) const {
  if (!IsValidSubjectId(subject_id)) return InvalidArgument("subject: 4 to 32 letters, digits or '-'");
  QUIPU_ASSIGN_OR_RETURN(std::optional<SubjectRecord> s, ReadSubject(log_, subject_id));
  if (!s) return std::optional<std::string>();
  return std::optional<std::string>(CommitmentOf(s->salt, client.id, subject_id));
}

Result<bool> Approvals::SubjectApproved(const ClientInfo& client, const std::string& subject_id,
                                        const DocumentAnswer& answer) const {
  if (!IsValidSubjectId(subject_id)) return InvalidArgument("subject: 4 to 32 letters, digits or '-'");
  QUIPU_ASSIGN_OR_RETURN(std::optional<SubjectRecord> s, ReadSubject(log_, subject_id));
  if (!s) return false;
  const std::string& salt = s->salt;
  const std::string mine = CommitmentOf(salt, client.id, subject_id);
  const std::string old = CommitmentV1(salt, subject_id);
  for (const DocumentRecord& r : answer.records) {
    // Only about the asking client's own entries.
    if (r.type != "approval" || r.client != client.id) continue;
    const json entry = json::parse(r.entry, nullptr, false);
    if (!entry.is_object()) continue;
    const std::string subject = entry.value("subject", "");
    if (subject == mine || subject == old) return true;
  }
  return false;
}

// --- requests ------------------------------------------------------------------

namespace {

// The stored request `id`; kNotFound when there is none.
Result<RequestRecord> ReadRequest(const ledger::Log& log, const std::string& id) {
  if (id.size() > 64) return NotFound("no approval request " + id.substr(0, 64));
  QUIPU_ASSIGN_OR_RETURN(auto v, log.ReadPrivate(tables::kApprovals, RequestKey(id)));
  if (!v) return NotFound("no approval request " + id);
  return DecodeRequest(*v);
}

// The request as `client` may see it: another client's is kNotFound too
// (the same answer: another client's request does not exist, as far as
// this client knows).
Result<RequestRecord> LoadRequest(const ledger::Log& log, const ClientInfo& client, const std::string& id) {
  QUIPU_ASSIGN_OR_RETURN(RequestRecord r, ReadRequest(log, id));
  if (r.client != client.id) return NotFound("no approval request " + id);
  return r;
}

// Whether `r` names the citizen logged in with `document_number`: another
// citizen's request (or a forgotten one's) is kPermissionDenied.
Status CheckCitizen(const RequestRecord& r, std::string_view document_number) {
  if (document_number.empty() || r.subject != document_number) {
    return PermissionDenied("this request is for another citizen: log in as the citizen it names");
  }
  return Status::Ok();
}

Result<RequestRecord> LoadCitizensRequest(const ledger::Log& log, std::string_view document_number,
                                          const std::string& id) {
  QUIPU_ASSIGN_OR_RETURN(RequestRecord r, ReadRequest(log, id));
  QUIPU_RETURN_IF_ERROR(CheckCitizen(r, document_number));
  return r;
}

// What a client may see of a stored request.
ApprovalView ViewOf(const RequestRecord& r, int64_t now, int max_wrong_codes) {
  ApprovalView v;
  v.id = r.id;
  v.status = r.status;
  if (v.status == "pending" && now > r.expires_us) v.status = "expired";
  v.factor = r.factor;
  v.created_at = FormatMicros(r.created_us);
  v.expires_at = FormatMicros(r.expires_us);
  v.documents = r.documents;
  v.decided_at = r.decided_at;
  v.client_key = r.client_key;
  v.uuid = r.uuid;
  v.dialect = r.dialect;
  if (v.status == "pending") v.attempts_left = max_wrong_codes - r.wrong_codes;
  const NotificationRecord& n = r.notification;
  NotificationView& shown = v.notification.emplace();
  shown.state = n.state;
  shown.attempts = n.attempts;
  // The words come from the state, not from the record: records written
  // before this rule held the transport's error text.
  if (shown.state == "retrying") shown.last_error = kRetrying;
  if (shown.state == "failed") shown.last_error = kGaveUp;
  shown.last_http_status = n.last_http_status;
  shown.next_attempt_at = n.next_attempt_at;
  shown.delivered_at = n.delivered_at;
  return v;
}

// A uniform 6-digit code.
std::string NewMessageCode() {
  uint32_t r;
  do {
    crypto::RandomBytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&r), sizeof r));
  } while (r >= 4294000000u);
  std::string code = std::to_string(r % 1000000);
  return std::string(6 - code.size(), '0') + code;
}

}  // namespace

std::string MessageText(const std::string& institution, size_t documents, const std::string& code,
                        int64_t ttl_seconds) {
  const std::string what = documents == 1 ? "1 documento" : std::to_string(documents) + " documentos";
  // The name is the administrator's text: no control character reaches a phone.
  std::string name = institution;
  for (char& c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  // Whole minutes, rounded down (never promise more time than is left), at least one.
  const int64_t minutes = std::max<int64_t>(1, ttl_seconds / 60);
  return name + " le pide aprobar " + what + " en quipu. Su código: " + code + ". Vale " +
         (minutes == 1 ? std::string("1 minuto") : std::to_string(minutes) + " minutos") +
         ". Escríbalo solo en la página de aprobación; nadie se lo pedirá por otro medio.";
}

std::string_view DialectName(Dialect d) { return d == Dialect::kAgetic ? "agetic" : "quipu"; }
std::optional<Dialect> ParseDialect(std::string_view name) {
  if (name == "quipu") return Dialect::kQuipu;
  if (name == "agetic") return Dialect::kAgetic;
  return std::nullopt;
}

bool IsValidClientKey(std::string_view key) {
  if (key.empty() || key.size() > 64) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '.' || c == '_' ||
           c == ':' || c == '-';
  });
}

std::string_view FactorName(Factor f) { return f == Factor::kTotp ? "totp" : "message"; }
std::string_view ChannelName(Channel c) { return c == Channel::kSms ? "sms" : "email"; }
std::optional<Factor> ParseFactor(std::string_view name) {
  if (name == "totp") return Factor::kTotp;
  if (name == "message") return Factor::kMessage;
  return std::nullopt;
}
std::optional<Channel> ParseChannel(std::string_view name) {
  if (name == "sms") return Channel::kSms;
  if (name == "email") return Channel::kEmail;
  return std::nullopt;
}

namespace {

// The request's documents checked and hashed, as the stored record keeps them.
Result<std::vector<ApprovalDocument>> CheckedDocuments(pdf::PdfEngine& engine, const ApprovalRequest& request,
                                                       size_t max_document_bytes) {
  if (request.documents.empty() || request.documents.size() > 100) {
    return InvalidArgument("documents: an array of 1 to 100 documents");
  }
  std::vector<ApprovalDocument> docs;
  std::set<crypto::Digest> seen;
  for (size_t i = 0; i < request.documents.size(); ++i) {
    const RequestedDocument& d = request.documents[i];
    const std::string where = "documents[" + std::to_string(i) + "]";
    if (d.document.content && d.document.content->size() > max_document_bytes) {
      return InvalidArgument(where + ".content: too large");
    }
    QUIPU_ASSIGN_OR_RETURN(const crypto::Digest sha, ResolveDocument(engine, d.document, where));
    if (!seen.insert(sha).second) return InvalidArgument(where + ": the same document twice in one request");
    ApprovalDocument doc;
    doc.sha256 = sha;
    doc.media = d.document.media;
    // Kept (sealed) for the citizen's page while the request is pending.
    if (d.document.content) {
      doc.content = true;
      doc.size = d.document.content->size();
    }
    if (d.name) {
      if (d.name->size() > 200) return InvalidArgument(where + ".name: text up to 200 bytes");
      doc.name = *d.name;
    }
    doc.client_key = d.client_key;
    docs.push_back(std::move(doc));
  }
  return docs;
}

// The request's own words within their limits.
Status CheckRequestTexts(const ApprovalRequest& request) {
  if (!IsValidSubjectId(request.subject)) {
    return InvalidArgument("subject: the document number, 4 to 32 letters, digits or '-'");
  }
  if (request.return_state.size() > 512 ||
      std::any_of(request.return_state.begin(), request.return_state.end(), [](char c) { return c < 0x20 || c > 0x7e; })) {
    return InvalidArgument("state: up to 512 printable ASCII characters");
  }
  if (request.description.size() > 1000 ||
      std::any_of(request.description.begin(), request.description.end(),
                  [](char c) { return (static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f; })) {
    return InvalidArgument("description: text up to 1000 bytes, no control character but newline");
  }
  if (!request.client_key.empty() && !IsValidClientKey(request.client_key)) {
    return InvalidArgument("client_key: 1 to 64 letters, digits or . _ : -");
  }
  for (size_t i = 0; i < request.documents.size(); ++i) {
    const std::string& key = request.documents[i].client_key;
    if (!key.empty() && !IsValidClientKey(key)) {
      return InvalidArgument("documents[" + std::to_string(i) + "].client_key: 1 to 64 letters, digits or . _ : -");
    }
  }
  return Status::Ok();
}

// A random (version 4) UUID, RFC 9562 §5.4, in its lower-case text form.
std::string NewUuid() {
  crypto::Bytes b = crypto::RandomBytes(16);
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  const std::string hex = crypto::HexEncode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20);
}

}  // namespace

Status Approvals::AdmitRequest(const ClientInfo& client, const ApprovalRequest& request) {
  const std::string& subject = request.subject;
  // The limits, the same for a citizen who is enrolled and one who is not.
  if (!per_client_.Allow(client.id)) {
    return LimitReached("this client creates too many requests", per_client_.WaitMicros(client.id));
  }
  if (!per_citizen_.Allow(subject)) {
    return LimitReached("too many requests for this citizen in an hour", per_citizen_.WaitMicros(subject));
  }
  // Content is kept until the request ends: its bytes are budgeted per client.
  double content_bytes = 0;
  for (const RequestedDocument& d : request.documents) {
    if (d.document.content) content_bytes += static_cast<double>(d.document.content->size());
  }
  if (content_bytes > 0 && !content_bytes_.Allow(client.id, content_bytes)) {
    return LimitReached("this client sends too much document content for the citizens' pages in an hour "
                        "(send documents by their sha256, or wait)",
                        content_bytes_.WaitMicros(client.id, content_bytes));
  }
  return Status::Ok();
}

Result<std::optional<ApprovalView>> Approvals::Replay(const ClientInfo& client, const ApprovalRequest& request) const {
  if (request.client_key.empty()) return std::optional<ApprovalView>();
  QUIPU_ASSIGN_OR_RETURN(auto v, log_.ReadPrivate(tables::kApprovals, ClientKeyKey(client.id, request.client_key)));
  if (!v) return std::optional<ApprovalView>();
  QUIPU_ASSIGN_OR_RETURN(ClientKeyRecord earlier, DecodeClientKey(*v));
  const std::string mine = crypto::HexEncode(request.fingerprint);
  if (earlier.fingerprint.size() != mine.size() ||
      sodium_memcmp(earlier.fingerprint.data(), mine.data(), mine.size()) != 0) {
    return AlreadyExists("client key " + request.client_key + " names another request of this client");
  }
  QUIPU_ASSIGN_OR_RETURN(ApprovalView view, Get(client, earlier.request));
  view.replayed = true;
  return std::optional<ApprovalView>(std::move(view));
}

Result<ApprovalView> Approvals::Create(const ClientInfo& client, const ApprovalRequest& request) {
  QUIPU_RETURN_IF_ERROR(CheckRequestTexts(request));
  // The client's key again: the first answer, before any limit or document.
  QUIPU_ASSIGN_OR_RETURN(std::optional<ApprovalView> replayed, Replay(client, request));
  if (replayed) return std::move(*replayed);
  const std::string& subject = request.subject;
  const bool message = request.factor == Factor::kMessage;
  if (message && options_.delivery_webhook.empty()) {
    return FailedPrecondition("this node has no delivery webhook: the message factor is unavailable");
  }
  QUIPU_RETURN_IF_ERROR(AdmitRequest(client, request));
  // Whether the citizen has enrolled a factor is not asked here: the answer
  // is the same for every citizen (the citizen enrols on the node's page).
  QUIPU_ASSIGN_OR_RETURN(std::vector<ApprovalDocument> docs, CheckedDocuments(pdf_, request, options_.max_document_bytes));

  const std::string rid = "r_" + crypto::HexEncode(crypto::RandomBytes(10));
  const int64_t now = options_.clock();
  const int64_t expires_us = now + options_.ttl_seconds * kSecond;
  RequestRecord stored;
  stored.id = rid;
  stored.client = client.id;
  stored.subject = subject;
  stored.factor = request.factor;
  stored.created_us = now;
  stored.expires_us = expires_us;
  stored.documents = std::move(docs);
  stored.return_state = request.return_state;
  stored.description = request.description;
  stored.client_key = request.client_key;
  stored.dialect = request.dialect;
  if (request.dialect == Dialect::kAgetic) stored.uuid = NewUuid();
  // The contents, sealed before the commit (not inside the writer).
  std::vector<std::pair<std::string, std::string>> contents;
  for (size_t i = 0; i < request.documents.size(); ++i) {
    const auto& content = request.documents[i].document.content;
    if (!content) continue;
    QUIPU_ASSIGN_OR_RETURN(std::string sealed,
                           SealBytes(data_key_, crypto::AsString(*content), ContentPurpose(rid, i)));
    contents.emplace_back(ContentKey(expires_us, rid, i), std::move(sealed));
  }
  // The message factor's code is made and sent only when the citizen, on
  // the page, asks for it (SendCode): to the contact their login gives.
  if (message) stored.channel = request.channel;
  ledger::AppendRequest req;
  const std::string fresh_salt = crypto::HexEncode(crypto::RandomBytes(32));
  req.apply = [&](PrivateTxn& txn, uint64_t, const std::string&) -> Status {
    if (!stored.client_key.empty()) {
      // Taken meanwhile by the same client: Replay answers (below).
      const std::string key = ClientKeyKey(client.id, stored.client_key);
      QUIPU_ASSIGN_OR_RETURN(auto taken, txn.Get(tables::kApprovals, key));
      if (taken) return AlreadyExists("client key " + stored.client_key + " was taken meanwhile");
      QUIPU_RETURN_IF_ERROR(
          txn.Put(tables::kApprovals, key, Encode(ClientKeyRecord{rid, crypto::HexEncode(request.fingerprint)})));
    }
    QUIPU_ASSIGN_OR_RETURN(auto known, txn.Get(tables::kSubjects, SubjectKey(subject)));
    if (!known) QUIPU_RETURN_IF_ERROR(PutSubject(txn, subject, NewSubject(fresh_salt)));
    QUIPU_RETURN_IF_ERROR(PutRequest(txn, stored));
    for (const auto& [key, sealed] : contents) QUIPU_RETURN_IF_ERROR(txn.Put(tables::kContents, key, sealed));
    QUIPU_RETURN_IF_ERROR(txn.Put(tables::kApprovals, CitizenIndexKey(subject, now, rid), ""));
    // This directory's requests are indexed (node/upgrade.h): said once.
    QUIPU_ASSIGN_OR_RETURN(auto mark, txn.Get(tables::kApprovals, kCitizenIndexMark));
    if (mark) return Status::Ok();
    return txn.Put(tables::kApprovals, kCitizenIndexMark, "1");
  };
  auto r = log_.Append(std::move(req)).get();
  if (r.status().code() == StatusCode::kAlreadyExists && !request.client_key.empty()) {
    QUIPU_ASSIGN_OR_RETURN(std::optional<ApprovalView> raced, Replay(client, request));
    if (raced) return std::move(*raced);
  }
  if (!r.ok()) return r.status();
  ApprovalView out;
  out.id = rid;
  out.status = "pending";
  out.factor = request.factor;
  out.created_at = FormatMicros(now);
  out.client_key = stored.client_key;
  out.uuid = stored.uuid;
  out.dialect = stored.dialect;
  out.expires_at = FormatMicros(expires_us);
  out.documents = std::move(stored.documents);
  return out;
}

Result<CitizenRequestView> Approvals::GetForCitizen(std::string_view document_number, const std::string& id) const {
  QUIPU_ASSIGN_OR_RETURN(RequestRecord r, LoadCitizensRequest(log_, document_number, id));
  const ApprovalView view = ViewOf(r, options_.clock(), options_.max_wrong_codes);
  CitizenRequestView out;
  out.id = view.id;
  out.status = view.status;
  out.factor = view.factor;
  out.created_at = view.created_at;
  out.expires_at = view.expires_at;
  out.documents = view.documents;
  out.description = r.description;
  out.decided_at = view.decided_at;
  out.entries = r.entries;
  auto c = clients_.Get(r.client);
  out.institution = c.ok() ? c->name : "";
  return out;
}

Result<std::vector<CitizenRequestView>> Approvals::ListForCitizen(std::string_view document_number,
                                                                  size_t max) const {
  if (!IsValidSubjectId(document_number)) return InvalidArgument("subject: 4 to 32 letters, digits or '-'");
  // The index sorts newest first: read no more than `max` of it.
  std::vector<std::string> ids;
  QUIPU_RETURN_IF_ERROR(log_.ScanPrivate(tables::kApprovals, CitizenIndexPrefix(document_number),
                                         [&](std::string_view k, std::string_view) {
                                           ids.push_back(RequestIdOfIndexKey(k));
                                           return ids.size() < max;
                                         }));
  std::vector<CitizenRequestView> out;
  for (const std::string& id : ids) {
    auto view = GetForCitizen(document_number, id);
    if (view.status().code() == StatusCode::kNotFound || view.status().code() == StatusCode::kPermissionDenied) {
      continue;  // an index entry left behind: nothing to show
    }
    if (!view.ok()) return view.status();
    out.push_back(std::move(*view));
  }
  return out;
}

Result<DocumentContent> Approvals::ContentForCitizen(std::string_view document_number, const std::string& id,
                                                     size_t i) const {
  QUIPU_ASSIGN_OR_RETURN(RequestRecord r, LoadCitizensRequest(log_, document_number, id));
  const std::vector<ApprovalDocument>& docs = r.documents;
  if (i >= docs.size()) return NotFound("request " + id + " has no document " + std::to_string(i));
  if (!docs[i].content) return NotFound("document " + std::to_string(i) + " was sent by its hash only");
  const int64_t expires = r.expires_us;
  if (r.status != "pending") {
    return FailedPrecondition("request " + id + " is no longer pending: its documents' contents are deleted");
  }
  if (options_.clock() > expires) return Expired("request " + id + " expired: its documents' contents are deleted");
  QUIPU_ASSIGN_OR_RETURN(auto sealed, log_.ReadPrivate(tables::kContents, ContentKey(expires, id, i)));
  if (!sealed) return FailedPrecondition("request " + id + " is no longer pending: its documents' contents are deleted");
  DocumentContent out;
  out.media = docs[i].media;
  QUIPU_ASSIGN_OR_RETURN(out.bytes, OpenBytes(data_key_, *sealed, ContentPurpose(id, i)));
  return out;
}

Result<size_t> Approvals::DropExpiredContents(size_t max) {
  const int64_t now = options_.clock();
  std::vector<std::string> expired;
  QUIPU_RETURN_IF_ERROR(log_.ScanPrivate(tables::kContents, kContentPrefix, [&](std::string_view k, std::string_view) {
    const int64_t until = ExpiryOfContentKey(k);
    if (until >= now) return false;  // keys sort by expiry: the rest are live
    expired.emplace_back(k);
    return expired.size() < max;
  }));
  if (expired.empty()) return size_t{0};
  ledger::AppendRequest req;
  req.apply = [&](PrivateTxn& txn, uint64_t, const std::string&) -> Status {
    for (const std::string& key : expired) QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kContents, key));
    return Status::Ok();
  };
  auto done = log_.Append(std::move(req)).get();
  if (!done.ok()) return done.status();
  return expired.size();
}

Result<ApprovalView> Approvals::Get(const ClientInfo& client, const std::string& id) const {
  QUIPU_ASSIGN_OR_RETURN(RequestRecord r, LoadRequest(log_, client, id));
  ApprovalView out = ViewOf(r, options_.clock(), options_.max_wrong_codes);
  if (r.entries.empty()) return out;
  // Each entry with its inclusion proof to the current checkpoint.
  const ledger::LogHead head = log_.Head();
  const std::vector<uint64_t>& indices = r.entries;
  for (size_t i = 0; i < indices.size() && i < out.documents.size(); ++i) {
    const uint64_t index = indices[i];
    QUIPU_ASSIGN_OR_RETURN(ledger::InclusionProof p, log_.ProveInclusion(index, head.tree_size));
    out.entries.push_back({index, out.documents[i].sha256, p.leaf_hash, std::move(p.proof)});
  }
  out.tree_size = head.tree_size;
  out.checkpoint = head.checkpoint;
  if (auto c = clients_.Get(client.id); c.ok()) out.redirect_uri = c->redirect_uri;
  out.return_state = r.return_state;
  return out;
}

namespace {

// Whether a stored request may still be decided at `now`.
Status CheckPending(const RequestRecord& req, const std::string& id, int64_t now) {
  if (req.status == "locked") return FailedPrecondition("request " + id + " is locked after too many wrong codes");
  if (req.status != "pending") return FailedPrecondition("request " + id + " is already " + req.status);
  if (now > req.expires_us) return Expired("request " + id + " expired");
  return Status::Ok();
}

// The request `id` inside a commit, still pending at `now`: kNotFound if it is gone.
Result<RequestRecord> GetPending(PrivateTxn& txn, const std::string& id, int64_t now) {
  QUIPU_ASSIGN_OR_RETURN(std::optional<RequestRecord> r, GetRequest(txn, id));
  if (!r) return NotFound("no approval request " + id);
  QUIPU_RETURN_IF_ERROR(CheckPending(*r, id, now));
  return std::move(*r);
}

// A code checked against the request's factor.
struct CodeCheck {
  std::optional<uint64_t> step;  // the TOTP step it matched (0 for a message code); none if wrong
  std::string salt;              // the subject's, read in the same snapshot
};

Result<CodeCheck> CheckCode(const ledger::Log& log, const std::array<uint8_t, 32>& data_key,
                            const RequestRecord& request, const std::string& id, const std::string& code, int64_t now) {
  const std::string& subject = request.subject;
  QUIPU_ASSIGN_OR_RETURN(std::optional<SubjectRecord> s, ReadSubject(log, subject));
  if (!s) return FailedPrecondition("the subject was forgotten; the request cannot be decided");
  QUIPU_RETURN_IF_ERROR(CheckNotLockedOut(*s, now));
  CodeCheck out;
  out.salt = s->salt;
  if (request.factor == Factor::kTotp) {
    if (s->totp.empty()) return FailedPrecondition("the subject has no TOTP key");
    QUIPU_ASSIGN_OR_RETURN(std::string key, OpenSecret(data_key, s->totp, "totp:" + subject));
    auto matched = crypto::VerifyTotp(crypto::AsBytes(key), code, static_cast<uint64_t>(now / kSecond), 1,
                                      kTotpDigits, crypto::OtpHash::kSha1);
    sodium_memzero(key.data(), key.size());
    QUIPU_RETURN_IF_ERROR(matched.status());
    out.step = *matched;
  } else {
    const std::string& want = request.code_hash;
    auto same = [&want](const std::string& got) {
      return want.size() == got.size() && sodium_memcmp(want.data(), got.data(), got.size()) == 0;
    };
    // Requests of an earlier version kept SHA-256(id ":" code).
    if (same(CodeHash(data_key, id, code)) || same(crypto::HexEncode(crypto::Sha256(id + ":" + code)))) out.step = 0;
  }
  return out;
}

// The ledger entries of a decision: one per document (docs/ledger.md).
std::vector<json> DecisionEntries(const RequestRecord& r, const std::string& commitment, bool approve) {
  std::vector<json> entries;
  for (const ApprovalDocument& d : r.documents) {
    entries.push_back({{"type", approve ? "approval" : "rejection"},
                       {"client", r.client},
                       {"request", r.id},
                       {"subject", commitment},
                       {"doc", {{"sha256", crypto::HexEncode(d.sha256)}, {"media_type", MediaType(d.media)}}}});
  }
  return entries;
}

// Counts a wrong code durably, for the request (locked at its limit) and
// for its citizen (locked out after kCitizenWrongCodes); returns what to
// answer: kPermissionDenied, kFailedPrecondition once the request is
// locked, kResourceExhausted once the citizen is.
Status CountWrongCode(ledger::Log& log, const std::string& id, int64_t now, int max_wrong_codes) {
  int left = 0;
  bool citizen_locked = false;
  ledger::AppendRequest req;
  req.apply = [&](PrivateTxn& txn, uint64_t, const std::string&) -> Status {
    QUIPU_ASSIGN_OR_RETURN(RequestRecord cur, GetPending(txn, id, now));
    const int wrong = ++cur.wrong_codes;
    if (wrong >= max_wrong_codes) {
      cur.status = "locked";
      QUIPU_RETURN_IF_ERROR(DropContents(txn, cur));
    }
    left = std::max(0, max_wrong_codes - wrong);
    QUIPU_RETURN_IF_ERROR(PutRequest(txn, cur));
    QUIPU_ASSIGN_OR_RETURN(std::optional<SubjectRecord> s, GetSubject(txn, cur.subject));
    if (!s) return Status::Ok();
    citizen_locked = CountCitizenWrongCode(*s, now);
    return PutSubject(txn, cur.subject, *s);
  };
  auto w = log.Append(std::move(req)).get();
  if (!w.ok()) return w.status();
  if (citizen_locked) {
    return ResourceExhausted("wrong code; too many wrong codes in a row: the citizen is locked out for a while");
  }
  if (left == 0) return FailedPrecondition("wrong code; request " + id + " is now locked");
  return PermissionDenied("wrong code (" + std::to_string(left) + " attempts left)");
}

}  // namespace

namespace {

// "•••• 0001", "j•••@ciudadano.example": enough for the citizen to know where to look.
std::string Masked(Channel channel, const std::string& to) {
  if (channel == Channel::kSms) return "•••• " + to.substr(to.size() > 4 ? to.size() - 4 : 0);
  const size_t at = to.find('@');
  if (at == std::string::npos || at == 0) return "•••";
  return to.substr(0, 1) + "•••" + to.substr(at);
}

}  // namespace

Result<CodeSent> Approvals::SendCode(std::string_view document_number, const std::string& id,
                                     const CitizenContact& contact) {
  QUIPU_ASSIGN_OR_RETURN(RequestRecord r, LoadCitizensRequest(log_, document_number, id));
  const int64_t now = options_.clock();
  QUIPU_RETURN_IF_ERROR(CheckPending(r, id, now));
  if (r.factor != Factor::kMessage) {
    return FailedPrecondition("this request is decided with the citizen's authenticator, not a sent code");
  }
  if (options_.delivery_webhook.empty()) {
    return FailedPrecondition("this node has no delivery webhook: the message factor is unavailable");
  }
  const Channel channel = r.channel.value_or(Channel::kSms);
  const std::string& to = channel == Channel::kSms ? contact.phone : contact.email;
  if (to.empty()) {
    return FailedPrecondition(channel == Channel::kSms
                                  ? "your identity provider gives no verified phone number to send the code to"
                                  : "your identity provider gives no verified e-mail address to send the code to");
  }
  if (to.size() > 254) return FailedPrecondition("the contact your identity provider gives is too long to use");
  const std::string subject(document_number);
  QUIPU_ASSIGN_OR_RETURN(std::optional<SubjectRecord> known, ReadSubject(log_, subject));
  if (known) QUIPU_RETURN_IF_ERROR(CheckNotLockedOut(*known, now));  // no code is of use meanwhile
  if (!deliveries_.Allow(subject)) {
    return LimitReached("too many codes sent to you in an hour", deliveries_.WaitMicros(subject));
  }
  QUIPU_ASSIGN_OR_RETURN(ClientInfo client, clients_.Get(r.client));
  // A new code replaces the last one: its hash in the request, and any of
  // its deliveries still waiting are dropped in the same commit.
  std::vector<std::string> earlier;
  QUIPU_RETURN_IF_ERROR(log_.ScanPrivate(tables::kOutbox, kOutboxPrefix, [&](std::string_view k, std::string_view) {
    if (IsOutboxKeyOf(k, id, "deliver")) earlier.emplace_back(k);
    return true;
  }));
  std::string code = NewMessageCode();
  const size_t documents = r.documents.size();
  const json delivery = {{"request", id},
                         {"channel", ChannelName(channel)},
                         {"to", to},
                         {"code", code},
                         {"institution", client.name},
                         {"documents", documents},
                         // Valid for what is left of the request's time, not its whole TTL.
                         {"text", MessageText(client.name, documents, code, (r.expires_us - now) / kSecond)}};
  const std::string code_hash = CodeHash(data_key_, id, code);
  sodium_memzero(code.data(), code.size());
  ledger::AppendRequest req;
  req.apply = [&](PrivateTxn& txn, uint64_t, const std::string&) -> Status {
    QUIPU_ASSIGN_OR_RETURN(RequestRecord cur, GetPending(txn, id, now));
    if (cur.subject != subject) return FailedPrecondition("the citizen of this request was forgotten");
    cur.code_hash = code_hash;
    QUIPU_RETURN_IF_ERROR(PutRequest(txn, cur));
    for (const std::string& key : earlier) QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kOutbox, key));
    return PutOutbox(txn, data_key_, now, id, "deliver", options_.delivery_webhook, options_.delivery_token, delivery);
  };
  auto done = log_.Append(std::move(req)).get();
  if (!done.ok()) return done.status();
  if (options_.on_outbox) options_.on_outbox();
  return CodeSent{channel, Masked(channel, to)};
}

Result<ApprovalView> Approvals::DecideAsCitizen(std::string_view citizen, const std::string& id,
                                                std::string_view code_view, bool approve) {
  const std::string code(code_view);
  if (code.size() < 6 || code.size() > 8 || code.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("code: 6 to 8 digits");
  }
  QUIPU_ASSIGN_OR_RETURN(RequestRecord r, ReadRequest(log_, id));
  if (r.forgotten) return FailedPrecondition("the citizen of this request was forgotten");
  QUIPU_RETURN_IF_ERROR(CheckCitizen(r, citizen));
  QUIPU_ASSIGN_OR_RETURN(ClientInfo client, clients_.Get(r.client));
  const int64_t now = options_.clock();
  QUIPU_RETURN_IF_ERROR(CheckPending(r, id, now));
  const std::string subject = r.subject;
  QUIPU_ASSIGN_OR_RETURN(const CodeCheck checked, CheckCode(log_, data_key_, r, id, code, now));
  if (!checked.step) return CountWrongCode(log_, id, now, options_.max_wrong_codes);
  const std::optional<uint64_t>& step = checked.step;
  const std::string& salt = checked.salt;

  // One entry per document, the request's new state, the subject's used
  // step and the notification: one commit.
  const std::string commitment = CommitmentOf(salt, client.id, subject);
  ledger::AppendRequest req;
  req.entries = DecisionEntries(r, commitment, approve);
  const std::string status = approve ? "approved" : "rejected";
  const bool totp = r.factor == Factor::kTotp;
  auto notify_token = clients_.NotifyToken(client.id);
  if (!notify_token.ok()) return notify_token.status();
  const std::string notify_uri = client.notify_uri;  // the client as read for this decision
  req.apply = [&](PrivateTxn& txn, uint64_t first, const std::string& time) -> Status {
    QUIPU_ASSIGN_OR_RETURN(RequestRecord cur, GetPending(txn, id, now));
    QUIPU_ASSIGN_OR_RETURN(std::optional<SubjectRecord> s, GetSubject(txn, subject));
    if (!s || s->salt != salt) return FailedPrecondition("the subject was forgotten meanwhile");
    QUIPU_RETURN_IF_ERROR(CheckNotLockedOut(*s, now));
    if (!totp && cur.code_hash != r.code_hash) {
      return PermissionDenied("this code was replaced by a newer one: use the last code sent");
    }
    if (totp) {
      // A code is accepted once per subject: its step must be newer.
      if (*step <= s->last_step) return PermissionDenied("this code was already used");
      s->last_step = *step;
    }
    ClearWrongCodes(*s);
    QUIPU_RETURN_IF_ERROR(PutSubject(txn, subject, *s));
    json notified = json::array();
    cur.entries.clear();
    for (size_t i = 0; i < cur.documents.size(); ++i) {
      cur.entries.push_back(first + i);
      json d = {{"sha256", crypto::HexEncode(cur.documents[i].sha256)}, {"index", first + i}};
      if (!cur.documents[i].client_key.empty()) d["client_key"] = cur.documents[i].client_key;
      notified.push_back(std::move(d));
    }
    cur.status = status;
    cur.decided_at = time;
    cur.notification = NotificationRecord();
    cur.notification.state = "pending";
    cur.code_hash.clear();
    QUIPU_RETURN_IF_ERROR(DropContents(txn, cur));
    QUIPU_RETURN_IF_ERROR(PutRequest(txn, cur));
    json note = {{"request", id}, {"status", status}, {"documents", notified}};
    // What another API's shape of the notification needs (api/ renders it).
    if (cur.dialect != Dialect::kQuipu) {
      note["dialect"] = DialectName(cur.dialect);
      note["created_at"] = FormatMicros(cur.created_us);
      note["decided_at"] = time;
      note["uuid"] = cur.uuid;
    }
    if (!cur.client_key.empty()) note["client_key"] = cur.client_key;
    return PutOutbox(txn, data_key_, now, id, "notify", notify_uri, *notify_token, note);
  };
  auto done = log_.Append(std::move(req)).get();
  if (!done.ok()) return done.status();
  if (options_.on_outbox) options_.on_outbox();
  ApprovalView out;
  out.id = id;
  out.status = status;
  out.factor = r.factor;
  out.expires_at = FormatMicros(r.expires_us);
  out.decided_at = done->time;
  const std::vector<ApprovalDocument>& docs = r.documents;
  for (size_t i = 0; i < docs.size(); ++i) out.entries.push_back({done->first_index + i, docs[i].sha256, {}, {}});
  out.tree_size = done->tree_size;
  out.checkpoint = done->checkpoint;
  out.redirect_uri = client.redirect_uri;
  out.return_state = r.return_state;
  return out;
}

// --- outbox ----------------------------------------------------------------------

Result<std::vector<OutboxItem>> Approvals::DueOutbox(size_t max, const OutboxFilter& want) const {
  const int64_t now = options_.clock();
  std::vector<std::pair<std::string, OutboxRecord>> due;
  Status bad = Status::Ok();
  if (max == 0) return std::vector<OutboxItem>();
  QUIPU_RETURN_IF_ERROR(log_.ScanPrivate(tables::kOutbox, kOutboxPrefix, [&](std::string_view k, std::string_view v) {
    auto o = DecodeOutbox(v);
    if (!o.ok()) {
      bad = o.status();
      return false;
    }
    if (o->next_us > now) return true;
    if (want && !want(k, o->url)) return true;
    due.emplace_back(std::string(k), std::move(*o));
    return due.size() < max;
  }));
  QUIPU_RETURN_IF_ERROR(bad);
  // Requests are read after the scan: one read snapshot at a time.
  std::vector<OutboxItem> out;
  for (auto& [key, o] : due) {
    OutboxItem item;
    item.key = key;
    item.kind = o.kind;
    item.request_id = o.request;
    item.url = o.url;
    item.attempts = o.attempts;
    item.created_us = o.created_us;
    if (item.kind == "deliver") {
      QUIPU_ASSIGN_OR_RETURN(auto rv, log_.ReadPrivate(tables::kApprovals, RequestKey(item.request_id)));
      std::optional<RequestRecord> request;
      if (rv) {
        QUIPU_ASSIGN_OR_RETURN(request, DecodeRequest(*rv));
      }
      item.obsolete = WhyCodeIsObsolete(request, now);
      if (!item.obsolete.empty()) {
        out.push_back(std::move(item));  // no secrets: it is never sent
        continue;
      }
    }
    QUIPU_ASSIGN_OR_RETURN(item.body, OpenSecret(data_key_, o.body_sealed, "outbox:" + item.key));
    if (!o.bearer_sealed.empty()) {
      QUIPU_ASSIGN_OR_RETURN(item.bearer, OpenSecret(data_key_, o.bearer_sealed, "outbox-bearer:" + item.key));
    }
    out.push_back(std::move(item));
  }
  return out;
}

Result<std::optional<int64_t>> Approvals::NextDue(const OutboxFilter& consider) const {
  std::optional<int64_t> next;
  Status bad = Status::Ok();
  QUIPU_RETURN_IF_ERROR(log_.ScanPrivate(tables::kOutbox, kOutboxPrefix, [&](std::string_view k, std::string_view v) {
    auto o = DecodeOutbox(v);
    if (!o.ok()) {
      bad = o.status();
      return false;
    }
    if (consider && !consider(k, o->url)) return true;
    const int64_t due = o->next_us;
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
    QUIPU_ASSIGN_OR_RETURN(auto ov, txn.Get(tables::kOutbox, item.key));
    if (!ov) return Status::Ok();  // already recorded
    QUIPU_ASSIGN_OR_RETURN(OutboxRecord o, DecodeOutbox(*ov));
    QUIPU_ASSIGN_OR_RETURN(std::optional<RequestRecord> r, GetRequest(txn, item.request_id));
    const int attempts = o.attempts + 1;
    const bool give_up = !attempt.delivered && now - o.created_us >= kOutboxGiveUp;
    // A code is retried only while its request still waits for it.
    const bool obsolete_code = item.kind == "deliver" && !WhyCodeIsObsolete(r, now).empty();
    // 1 s, 2 s, 4 s, ... up to an hour between attempts.
    const int64_t next_us = now + std::min<int64_t>(int64_t{1} << std::min(attempts - 1, 12), 3600) * kSecond;
    if (attempt.delivered || give_up || obsolete_code) {
      QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kOutbox, item.key));
    } else {
      o.attempts = attempts;
      o.next_us = next_us;
      QUIPU_RETURN_IF_ERROR(txn.Put(tables::kOutbox, item.key, Encode(o)));
    }
    if (item.kind != "notify" || !r) return Status::Ok();
    // Only what this attempt says: earlier versions also kept the
    // transport's words here, which the record no longer has.
    NotificationRecord& n = r->notification;
    n.attempts = attempts;
    n.next_attempt_at.clear();
    n.last_http_status.reset();
    if (attempt.delivered) {
      n.state = "delivered";
      n.delivered_at = time;
    } else {
      n.state = give_up ? "failed" : "retrying";
      if (!give_up) n.next_attempt_at = FormatMicros(next_us);
      if (attempt.http_status != 0) n.last_http_status = attempt.http_status;
    }
    return PutRequest(txn, *r);
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
