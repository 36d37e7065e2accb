// Approvals (the *Aprobación de documentos* mechanism): a client asks a
// subject (a citizen, by document number) to approve 1..100 documents; the
// citizen logs in on the node's page and confirms within 10 minutes with a
// second factor only they hold (a TOTP key they enrolled there, or a code
// sent through the delivery webhook to them); every document then gets an
// `approval` entry (or `rejection`) in ONE ledger commit, together with the
// request's new state and its notification in the outbox. No client
// enrols, sees or relays a factor. docs/ledger.md has the entries; README
// "Approvals" the flow.
//
// Personal data stays in the private tables: the ledger holds only the
// subject commitment HMAC-SHA-256(salt, client, id), one per institution
// (docs/ledger.md). Forgetting a subject deletes its salt (and TOTP key):
// its entries stay valid but unlinkable.
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/status.h"
#include "ledger/log.h"
#include "node/clients.h"
#include "node/document.h"
#include "node/rate_limit.h"
#include "node/verify.h"
#include "pdf/engine.h"

namespace quipu::node {

struct ApprovalsOptions {
  std::string issuer = "quipu";        // the otpauth:// issuer label
  int64_t ttl_seconds = 600;           // a request is pending this long
  int max_wrong_codes = 5;             // then the request is locked
  std::string delivery_webhook;        // "message" factor: where codes are POSTed; empty: unavailable
  std::string delivery_token;          // sent as Bearer to the webhook, if set
  size_t max_document_bytes = size_t{32} << 20;  // per inline document (content)
  // Requests created an hour, at most (token buckets; 0: no limit): per
  // client (a flood), per citizen (a citizen asked again and again), and
  // codes sent per citizen by the message factor.
  double requests_per_client_hour = 360000;
  double requests_per_citizen_hour = 20;
  double deliveries_per_citizen_hour = 10;
  // Bytes of document content a client may send an hour (kept, sealed,
  // while its requests are pending, for the citizens' pages), and at once:
  // what bounds the `contents` table. 0: no limit.
  double content_bytes_per_client_hour = double(uint64_t{2} << 30);
  double content_bytes_per_client_burst = double(uint64_t{512} << 20);
  std::function<int64_t()> clock;      // unix microseconds; default: the system clock
  // Called (on the caller's thread, after the commit) when a request or a
  // decision queued an outbox item: the notifier's Kick, so that a code or
  // a notification leaves at once rather than at the next poll.
  std::function<void()> on_outbox;
};

// How the subject proves it is them: a TOTP they enrolled, or a code sent
// through the delivery webhook.
enum class Factor { kTotp, kMessage };
enum class Channel { kSms, kEmail };  // where the message factor's code goes
std::string_view FactorName(Factor factor);     // "totp" | "message"
std::string_view ChannelName(Channel channel);  // "sms" | "email"
std::optional<Factor> ParseFactor(std::string_view name);
std::optional<Channel> ParseChannel(std::string_view name);

// Which API a request came through: it decides the shape of the
// notification its client receives (api/ renders it) and nothing else.
enum class Dialect { kQuipu, kAgetic };
std::string_view DialectName(Dialect dialect);  // "quipu" | "agetic"
std::optional<Dialect> ParseDialect(std::string_view name);

// A document a request asks about.
struct RequestedDocument {
  DocumentRef document;             // by SHA-256 or content (at most max_document_bytes)
  std::optional<std::string> name;  // shown to the subject; up to 200 bytes
  // The client's own id for the document (AGETIC's uuidDocumento), given
  // back in the notification: IsValidClientKey, "" for none.
  std::string client_key = {};
};

// A client's own id of a request or document: 1 to 64 of [0-9A-Za-z._:-].
bool IsValidClientKey(std::string_view key);

// What a client asks a subject to approve.
struct ApprovalRequest {
  std::string subject;                       // the document number: IsValidSubjectId
  std::vector<RequestedDocument> documents;  // 1 to 100, no document twice
  Factor factor = Factor::kTotp;
  Channel channel = Channel::kSms;  // the message factor only
  // Given back to the client when the citizen returns to its redirect URI
  // (`state`, like OAuth's): up to 512 printable ASCII characters.
  std::string return_state;
  // What the citizen is asked, in the institution's words, shown on the
  // page: up to 1000 bytes of text (no control character but newline).
  std::string description;
  // The client's own id of the request (AGETIC's idTramite;
  // IsValidClientKey), "" for none. It is an idempotency key: Create with
  // a key its client used before returns that request (ApprovalView::
  // replayed) when `fingerprint` is the same, kAlreadyExists otherwise.
  std::string client_key;
  // What the client sent, hashed by the caller (the same body, the same
  // fingerprint); compared only when client_key is set.
  crypto::Digest fingerprint{};
  Dialect dialect = Dialect::kQuipu;
};

// A document of a request, as recorded.
struct ApprovalDocument {
  crypto::Digest sha256{};
  DocType media = DocType::kPdf;
  std::string name;  // as the client named it; "" when it did not
  // The client sent the content (not only its hash): kept, sealed, for the
  // citizen's page while the request is pending (ContentForCitizen).
  bool content = false;
  std::optional<uint64_t> size;  // bytes, when the client sent the content
  std::string client_key;        // the client's id for it, "" when none
};

// A document's content as its client sent it.
struct DocumentContent {
  DocType media = DocType::kPdf;
  std::string bytes;
};

// An entry a decision committed; with its proof when read back (Get).
struct DecidedEntry {
  uint64_t index = 0;
  crypto::Digest sha256{};
  Hash leaf_hash{};         // Get only
  std::vector<Hash> proof;  // Get only: to the view's tree_size
};

// The state of the client's notification, in generic words only (the
// transport's own failure text stays in the node's log).
struct NotificationView {
  std::string state = "none";  // none | pending | retrying | delivered | failed
  int attempts = 0;
  std::string last_error;       // retrying and failed only
  std::optional<unsigned> last_http_status;
  std::string next_attempt_at;  // retrying only
  std::string delivered_at;     // delivered only
};

// A request as its client sees it (Create, Get, DecideAsCitizen).
struct ApprovalView {
  std::string id;      // "r_" + 20 hex
  std::string status;  // pending | approved | rejected | locked | expired
  Factor factor = Factor::kTotp;
  std::string created_at;  // Create and Get
  std::string expires_at;
  std::vector<ApprovalDocument> documents;  // Create and Get
  std::string decided_at;                   // once decided
  std::optional<int> attempts_left;         // Get, while pending
  std::optional<NotificationView> notification;  // Get
  // Once decided: one entry per document, and the tree they are proven in
  // (DecideAsCitizen: the commit's; Get: the latest).
  std::vector<DecidedEntry> entries;
  uint64_t tree_size = 0;
  std::string checkpoint;
  // Once decided: the client's redirect URI, where the subject returns,
  // and the state the client gave with the request.
  std::string redirect_uri;
  std::string return_state;
  std::string client_key;  // the request's, "" when none
  std::string uuid;        // an AGETIC request's UUID (its requestUuid); "" otherwise
  Dialect dialect = Dialect::kQuipu;
  bool replayed = false;   // Create: the client's key named an earlier request, returned as it is
};

// A request as the citizen it names sees it on the node's page.
struct CitizenRequestView {
  std::string id;
  std::string institution;  // the client's name
  std::string status;       // pending | approved | rejected | locked | expired
  Factor factor = Factor::kTotp;
  std::string created_at;
  std::string expires_at;
  std::string description;  // the institution's, "" when it gave none
  std::vector<ApprovalDocument> documents;
  std::string decided_at;         // once decided
  std::vector<uint64_t> entries;  // once decided: the ledger index of each document's entry
};

// Where the citizen's login says a code may be sent (verified claims of
// the identity provider; "" when it gives none).
struct CitizenContact {
  std::string phone;  // for "sms"
  std::string email;  // for "email"
};

// A code on its way: through which channel, to where (masked, for the page).
struct CodeSent {
  Channel channel = Channel::kSms;
  std::string to_masked;  // "•••• 0001", "j•••@ciudadano.example"
};

// A queued outbound POST (a client notification or a code delivery).
struct OutboxItem {
  std::string key;         // its key in the outbox table
  std::string kind;        // "notify" | "deliver"
  std::string request_id;
  std::string url;
  std::string bearer;      // unsealed, for the Authorization header
  std::string body;        // JSON text; a "notify" gets `checkpoint` added at send time
  int attempts = 0;
  int64_t created_us = 0;
  // For a "deliver": why its code must not be sent any more ("the request
  // expired", "the request is approved", ...); empty when it may be sent.
  // DueOutbox reports such items (without their body or bearer) so that
  // the caller drops them with DropOutbox and says so in its log.
  std::string obsolete;
};

// What one delivery attempt came to, as far as a client may know it: the
// transport's failure text stays in the node's log (it would tell a
// client what answers at the addresses it registers).
struct DeliveryAttempt {
  bool delivered = false;
  unsigned http_status = 0;  // the destination's answer; 0 when none came
};

// Thread-safe.
class Approvals {
 public:
  // `pdf` parses the PDFs clients send as content (the sandbox, in a node).
  Approvals(ledger::Log& log, Clients& clients, pdf::PdfEngine& pdf, const std::array<uint8_t, 32>& data_key,
            ApprovalsOptions options);

  // --- subjects ---
  // The administrator's reset of a citizen's factor (a lost phone): the
  // TOTP key, one waiting to be confirmed and any lockout are gone, so the
  // citizen enrols again after their next login. `by` (who, 1..128
  // characters) and `reason` (1..512) are kept in the citizen's record
  // with the time, the last 10 resets. No client can do this: the admin
  // token only. kNotFound for an unknown citizen, kInvalidArgument.
  Status ResetFactor(const std::string& subject_id, const std::string& by, const std::string& reason);
  // Forgets a citizen: deletes their salt (so their entries can no longer
  // be linked to them) and TOTP key, removes the id from every request
  // record (marked "forgotten"), drops codes waiting in the outbox for
  // them, and the rate-limit state; one commit. The id stays in LMDB's
  // free pages until the file is compacted (README, "Forgetting").
  // kNotFound if unknown, kInvalidArgument for a malformed id.
  Status ForgetSubject(const std::string& subject_id);
  // The subject's commitment in `client`'s entries (docs/ledger.md,
  // "No personal data"), if the subject has a salt. kInvalidArgument for
  // a malformed id.
  Result<std::optional<std::string>> Commitment(const ClientInfo& client, const std::string& subject_id) const;
  // Whether `answer` holds an approval of `client`'s by the subject: only
  // the asking client's own entries count. False for a subject without a
  // salt. kInvalidArgument for a malformed id.
  Result<bool> SubjectApproved(const ClientInfo& client, const std::string& subject_id,
                               const DocumentAnswer& answer) const;

  // --- the citizen's own factor (after their login, on the node's page) ---
  struct Enrollment {
    std::string otpauth_uri;
    std::string secret_base32;
  };
  struct CitizenFactor {
    bool enrolled = false;     // a confirmed TOTP key
    bool enrolling = false;    // a new key waits for its first code
    std::string locked_until;  // while wrong codes lock the citizen out (RFC 3339); "" otherwise
  };
  Result<CitizenFactor> FactorOf(std::string_view document_number) const;
  // A new TOTP key for the citizen, waiting for its first code
  // (ConfirmTotp); the current key stays in use until then. Replacing a
  // confirmed key needs a current code from it (`current_code`): nobody
  // but the holder of the factor may change it. Errors: kInvalidArgument,
  // kPermissionDenied (current code missing, wrong or used; counted as a
  // wrong code), kResourceExhausted (locked out).
  Result<Enrollment> BeginTotp(std::string_view document_number, std::string_view current_code);
  // Confirms the waiting key with a code from it: from now on it is the
  // citizen's factor. Errors: kFailedPrecondition (no key waits),
  // kPermissionDenied (a wrong code, counted), kResourceExhausted.
  Status ConfirmTotp(std::string_view document_number, std::string_view code);

  // --- requests ---
  // A pending request, in one commit (a message factor's code is sent
  // only when the citizen asks for it: SendCode). Errors: kInvalidArgument
  // naming what is wrong (subject, documents[i], name, a document twice),
  // kResourceExhausted (the client's or the citizen's hourly limit),
  // kFailedPrecondition (no delivery webhook for the message
  // factor; whether the citizen has a factor is not asked: the answer is
  // the same for every citizen),
  // kUnprocessable (content that is not a readable PDF), the engine's
  // kUnavailable, the ledger's; kAlreadyExists for a client key the client
  // used with another fingerprint (the same fingerprint: that request,
  // `replayed`, without a new limit counted or document read).
  Result<ApprovalView> Create(const ClientInfo& client, const ApprovalRequest& request);
  // kNotFound for an unknown id and another client's request alike.
  Result<ApprovalView> Get(const ClientInfo& client, const std::string& id) const;
  // The request `id` for the citizen whose document number is
  // `document_number` (from their login). kNotFound for an unknown id,
  // kPermissionDenied for a request that names another citizen.
  Result<CitizenRequestView> GetForCitizen(std::string_view document_number, const std::string& id) const;
  // Every request that names the citizen, at every institution, the newest
  // first, at most `max` (found through the citizen's index in the private
  // `approvals` table, docs/records.md; nothing public links them).
  // kInvalidArgument for a malformed number; the store's errors.
  Result<std::vector<CitizenRequestView>> ListForCitizen(std::string_view document_number,
                                                         size_t max = 200) const;
  // The content of document `i` of request `id` as its client sent it, for
  // the citizen the request names to read before deciding. Contents live
  // only while the request is pending: deciding, locking or forgetting
  // deletes them in the same commit, DropExpiredContents once it expired.
  // Errors: kNotFound (unknown id or document, or a document sent by its
  // hash only), kPermissionDenied (a request that names another citizen),
  // kFailedPrecondition (decided, locked or forgotten: the content is gone),
  // kExpired (the request expired: the content is gone too),
  // kCorruption (a content that does not open with the data key).
  Result<DocumentContent> ContentForCitizen(std::string_view document_number, const std::string& id,
                                            size_t i) const;
  // Deletes the contents of requests that expired, at most `max` documents
  // in one commit; how many. The node runs it every minute.
  Result<size_t> DropExpiredContents(size_t max = 1000);
  // Approves (or rejects), by the citizen logged in with `document_number`
  // on the node's page, with a code of their factor: one entry per
  // document, the request's new state and the client's notification, one
  // commit. Errors: kInvalidArgument (a code that is not 6 to 8 digits),
  // kNotFound (unknown id), kPermissionDenied (a request that names
  // another citizen; a wrong or replayed code: a wrong one is counted, a
  // replayed one is not), kExpired, kFailedPrecondition (decided, locked,
  // subject forgotten; and the wrong code that reaches max_wrong_codes,
  // which locks the request), kResourceExhausted (the citizen is locked
  // out after wrong codes).
  Result<ApprovalView> DecideAsCitizen(std::string_view document_number, const std::string& id,
                                       std::string_view code, bool approve);
  // For a request of the message factor: a new 6-digit code for the
  // citizen logged in with `document_number`, sent through the delivery
  // webhook to the contact their login gives for the request's channel
  // (phone for sms, e-mail for email), with a text naming the institution
  // and the number of documents (MessageText). Only the code's hash is
  // kept; a new code replaces the last (its delivery, if still waiting, is
  // dropped in the same commit). Nothing is sent until the citizen asks on
  // the page, so creating requests sends them nothing. Errors: kNotFound,
  // kPermissionDenied (another citizen's request), kExpired,
  // kFailedPrecondition (decided, locked, a TOTP request, no webhook, no
  // contact for the channel), kResourceExhausted (the citizen's hourly
  // deliveries), the ledger's.
  Result<CodeSent> SendCode(std::string_view document_number, const std::string& id, const CitizenContact& contact);

  // --- outbox (for the notifier) ---
  // Decides, from the stored record alone (nothing unsealed yet), whether
  // the caller wants a due item now: the notifier skips items in flight
  // and destinations at their limit.
  using OutboxFilter = std::function<bool(std::string_view key, std::string_view url)>;
  // Up to `max` due items that `want` accepts (all due items when it is
  // empty), in key order (creation time). A "deliver" whose request is no
  // longer pending (expired, decided, locked, gone) comes with `obsolete`
  // set and no secrets. `want` runs inside a read snapshot: it must not
  // call back into this object. Errors: kCorruption for a record that is
  // not JSON or does not open with the data key; the store's errors.
  Result<std::vector<OutboxItem>> DueOutbox(size_t max, const OutboxFilter& want = {}) const;
  // Records an attempt: delivered items leave the outbox; failed ones are
  // retried with exponential backoff up to 24 hours after creation (then
  // dropped, the notification "failed"). The request's notification state
  // shows the attempt in generic words only (PublicView). A failed
  // "deliver" whose request is no longer pending is dropped at once.
  // Ok if the item was already gone. Errors: the sequencer's.
  Status RecordAttempt(const OutboxItem& item, const DeliveryAttempt& attempt);
  // Removes an item without an attempt (an obsolete code). Ok if it was
  // already gone. Errors: the sequencer's.
  Status DropOutbox(const OutboxItem& item);
  // When the next item that `consider` accepts (all when empty) is due
  // (unix µs), or nullopt if there is none. Opens nothing: kCorruption for
  // a record that is not JSON; the store's errors.
  Result<std::optional<int64_t>> NextDue(const OutboxFilter& consider = {}) const;

  int64_t NowMicros() const { return options_.clock(); }

 private:
  // The request an earlier Create with the same client key made, when the
  // fingerprint is the same; kAlreadyExists when it is not.
  Result<std::optional<ApprovalView>> Replay(const ClientInfo& client, const ApprovalRequest& request) const;
  // The rate limits and the content budget a new request must pass:
  // kResourceExhausted with the time to wait.
  Status AdmitRequest(const ClientInfo& client, const ApprovalRequest& request);

  ledger::Log& log_;
  Clients& clients_;
  pdf::PdfEngine& pdf_;
  const std::array<uint8_t, 32> data_key_;
  ApprovalsOptions options_;
  RateLimiter per_client_;
  RateLimiter per_citizen_;
  RateLimiter deliveries_;
  RateLimiter content_bytes_;
};

// The text the message factor sends (Spanish): who asks, how many
// documents, the code, how long it is valid (`ttl_seconds`: what is left of
// the request's time, in whole minutes, at least one), and where alone to
// type it.
std::string MessageText(const std::string& institution, size_t documents, const std::string& code,
                        int64_t ttl_seconds);

// Subject ids (document numbers): 4..32 of [0-9A-Za-z-].
bool IsValidSubjectId(std::string_view id);

}  // namespace quipu::node
