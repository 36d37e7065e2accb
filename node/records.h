// quipu's private records: every key of the private tables (node/schema.h
// names the tables) and every value stored under them, as C++ types with
// their byte form decided here and nowhere else. docs/records.md is the
// same grammar in prose; change both together.
//
// A value decodes from the JSON object an earlier version may have written:
// absent fields take the defaults below, fields nobody knows are ignored.
// A value that is not a JSON object, or whose field has the wrong type, is
// kCorruption naming the record (records are written only by quipu: a bad
// one is damage, never input). Encoding writes keys sorted and leaves out
// optional fields at their defaults, so that a decoded record encodes back
// to the bytes this version writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/sha256.h"
#include "crypto/status.h"
#include "node/approvals.h"
#include "node/clients.h"

namespace quipu::node::records {

// --- keys ------------------------------------------------------------------------

// subjects: s:<subject id>
std::string SubjectKey(std::string_view subject_id);

// clients: c:<client id> → ClientRecord; t:<hex SHA-256 of an API token> → the client id (bytes)
inline constexpr std::string_view kClientPrefix = "c:";
std::string ClientKey(std::string_view client_id);
std::string TokenKey(std::string_view api_token);

// approvals: r:<request id> → RequestRecord
inline constexpr std::string_view kRequestPrefix = "r:";
std::string RequestKey(std::string_view request_id);
// The citizens' index, in approvals: c:<subject id>:<16 hex of INT64_MAX -
// created µs>:<request id> → "". A subject's keys sort newest first.
std::string CitizenIndexPrefix(std::string_view subject_id);
std::string CitizenIndexKey(std::string_view subject_id, int64_t created_us, std::string_view request_id);
// The request id of an index key ("" if `key` is not one).
std::string RequestIdOfIndexKey(std::string_view key);
// Present (value "1") once every request of the table is in the index.
inline constexpr std::string_view kCitizenIndexMark = "m:citizen-index";
// A client's own key for a request (AGETIC's idTramite), in approvals:
// i:<client id>:<client key> → ClientKeyRecord.
std::string ClientKeyKey(std::string_view client_id, std::string_view client_key);

// outbox: o:<created µs, 20 digits>:<request id>:<kind> → OutboxRecord.
// Keys sort by creation: the oldest item is sent first.
inline constexpr std::string_view kOutboxPrefix = "o:";
std::string OutboxKey(int64_t created_us, std::string_view request_id, std::string_view kind);
// Whether `key` is an outbox key of `kind` for `request_id`.
bool IsOutboxKeyOf(std::string_view key, std::string_view request_id, std::string_view kind);

// contents: k:<expires µs, 20 digits>:<request id>:<document, 3 digits> →
// the content, sealed (bytes). Keys sort by expiry: expired ones come first.
inline constexpr std::string_view kContentPrefix = "k:";
std::string ContentKey(int64_t expires_us, std::string_view request_id, size_t i);
// The expiry (µs) a content key names; -1 if `key` is not one.
int64_t ExpiryOfContentKey(std::string_view key);

// qr: q:<index of a qr_issue entry> → QrRecord; qrev:<the same index> → the
// index of its qr_revoke entry (decimal text).
std::string QrIssuedKey(uint64_t index);
std::string QrRevokedKey(uint64_t index);
// A two-phase code (QS2) by its client's key (AGETIC's codigoTransaccion):
// d:<client id>:<client key> → QrDraftRecord. While it waits for its
// confirmation also dl:<lapses µs, 20 digits>:<client id>:<client key> → "",
// sorted by when it lapses: lapsed ones come first.
std::string QrDraftKey(std::string_view client_id, std::string_view client_key);
// A confirmed two-phase code by its code digest: qd:<hex digest> → the
// index of its qr_issue (decimal text). How a verification finds the code's
// entry, whatever else the log indexes under the same digest.
std::string QrCodeDigestKey(const crypto::Digest& code_digest);
inline constexpr std::string_view kQrDraftLapsePrefix = "dl:";
std::string QrDraftLapseKey(int64_t lapses_us, std::string_view client_id, std::string_view client_key);
// The lapse time (µs) and the draft key a lapse key names; -1 and "" if
// `key` is not one.
int64_t LapseOfQrDraftLapseKey(std::string_view key);
std::string QrDraftKeyOfLapseKey(std::string_view key);

// witness: w:<origin of a witnessed log> → WitnessStateRecord.
std::string WitnessStateKey(std::string_view origin);

// cosigned: c:<tree size, 20 digits> → CosignedRecord, the node's own
// checkpoints with the cosignatures gathered for them (sorted by size);
// p:<witness's name in the policy> → CosignerRecord; and kWitnessedKey →
// the size (decimal text) of the newest checkpoint that met the quorum.
inline constexpr std::string_view kCosignedPrefix = "c:";
std::string CosignedKey(uint64_t tree_size);
// The size a cosigned key names; nullopt if `key` is not one.
std::optional<uint64_t> SizeOfCosignedKey(std::string_view key);
std::string CosignerKey(std::string_view witness);
inline constexpr std::string_view kWitnessedKey = "q";

// --- values ----------------------------------------------------------------------

struct FactorReset {
  std::string by;      // who reset it
  std::string at;      // RFC 3339
  std::string reason;  // why
};

// subjects: a citizen, by document number.
struct SubjectRecord {
  std::string salt;                 // hex, 32 bytes: the key of the citizen's commitments
  uint64_t last_step = 0;           // the newest TOTP step accepted
  std::string totp;                 // the TOTP key, sealed ("totp:<id>"); "" when none
  std::string totp_pending;         // a new key awaiting its first code, sealed ("totp-pending:<id>")
  std::string enrolled_by;          // "citizen"; an earlier version named the client
  std::string enrolled;             // RFC 3339
  int wrong_codes = 0;              // wrong codes in a row, over all requests
  int lockouts = 0;                 // lockouts since the last right code
  int64_t locked_until_us = 0;      // codes are refused until then
  std::vector<FactorReset> factor_resets;  // the last ten, oldest first
};
Result<SubjectRecord> DecodeSubject(std::string_view bytes);
std::string Encode(const SubjectRecord& record);

// clients: an institution. `info` is what the domain shows; the secrets
// stay here.
struct ClientRecord {
  ClientInfo info;
  std::string notify_token_sealed;  // the token quipu presents at notify_uri ("notify:<id>")
  std::string token_key;            // the `t:` key of its API token
};
Result<ClientRecord> DecodeClient(std::string_view bytes);
std::string Encode(const ClientRecord& record);

// A request's notification to its client, as the client reads it.
struct NotificationRecord {
  std::string state = "none";  // none | pending | retrying | delivered | failed
  int attempts = 0;
  std::string next_attempt_at;  // retrying only
  std::string delivered_at;     // delivered only
  std::optional<unsigned> last_http_status;
};

// approvals: an approval request and its decision.
struct RequestRecord {
  std::string id;
  std::string client;
  std::string subject;  // the document number; "" once forgotten
  Factor factor = Factor::kTotp;
  std::optional<Channel> channel;  // the message factor only
  std::string status = "pending";  // pending | approved | rejected | locked
  int64_t created_us = 0;
  int64_t expires_us = 0;
  std::vector<ApprovalDocument> documents;
  int wrong_codes = 0;
  NotificationRecord notification;
  std::string return_state;
  std::string description;        // erased when the citizen is forgotten
  std::string decided_at;         // RFC 3339, once decided
  std::vector<uint64_t> entries;  // once decided: each document's entry
  std::string code_hash;          // the message code's HMAC (or SHA-256 before v2), while pending
  bool forgotten = false;
  std::string client_key;         // the client's own id of the request; "" when none
  std::string uuid;               // an AGETIC request's UUID; "" otherwise
  Dialect dialect = Dialect::kQuipu;
};
Result<RequestRecord> DecodeRequest(std::string_view bytes);
std::string Encode(const RequestRecord& record);

// approvals, under ClientKeyKey: the request a client's key names, and the
// fingerprint of what the client sent with it.
struct ClientKeyRecord {
  std::string request;      // the request id
  std::string fingerprint;  // hex SHA-256
};
Result<ClientKeyRecord> DecodeClientKey(std::string_view bytes);
std::string Encode(const ClientKeyRecord& record);

// outbox: a notification or a code to send, retried until delivered.
struct OutboxRecord {
  std::string kind;  // "notify" | "deliver"
  std::string request;
  std::string url;
  int attempts = 0;
  int64_t created_us = 0;
  int64_t next_us = 0;
  std::string body_sealed;    // "outbox:<key>"
  std::string bearer_sealed;  // "outbox-bearer:<key>"; "" when no bearer
};
Result<OutboxRecord> DecodeOutbox(std::string_view bytes);
std::string Encode(const OutboxRecord& record);

// qr: an issued QR Seguro code, for its client to fetch again.
struct QrRecord {
  std::string text;    // the code's text (node/qr_format.h)
  std::string client;  // who issued it
  std::string issued;  // RFC 3339
};
Result<QrRecord> DecodeQr(std::string_view bytes);
std::string Encode(const QrRecord& record);

// qr, under QrDraftKey: a two-phase code and where it stands.
struct QrDraftRecord {
  enum class State { kPending, kConfirmed, kAnnulled };
  State state = State::kPending;
  std::string text;         // QS2:...
  std::string fingerprint;  // hex SHA-256 of what the client sent
  std::string created;      // RFC 3339
  int64_t lapses_us = 0;    // unconfirmed, it lapses then
  std::optional<uint64_t> index;       // its qr_issue, once confirmed
  std::string confirmed;               // RFC 3339, once confirmed
  std::optional<uint64_t> revocation;  // its qr_revoke, when annulled after confirming
  std::string annulled;                // RFC 3339, once annulled
};
Result<QrDraftRecord> DecodeQrDraft(std::string_view bytes);
std::string Encode(const QrDraftRecord& record);

// witness, under WitnessStateKey: the latest checkpoint cosigned for a log
// (node/witness.h).
struct WitnessStateRecord {
  uint64_t size = 0;
  crypto::Digest root{};
  std::string checkpoint;  // the note as the monitoring view serves it
  std::string time;        // RFC 3339, when it was cosigned
};
Result<WitnessStateRecord> DecodeWitnessState(std::string_view bytes);
std::string Encode(const WitnessStateRecord& record);

// cosigned, under CosignedKey: one of the node's checkpoints and the
// cosignature lines witnesses returned for it (node/cosigning.h).
struct CosignedRecord {
  std::string note;  // the log's signed note with the cosignature lines after its signature
  bool quorum = false;  // the node's policy is met by them
};
Result<CosignedRecord> DecodeCosigned(std::string_view bytes);
std::string Encode(const CosignedRecord& record);

// cosigned, under CosignerKey: what a witness last cosigned for this node.
struct CosignerRecord {
  uint64_t size = 0;  // the tree size of its latest cosignature
  std::string time;   // RFC 3339, when it answered
};
Result<CosignerRecord> DecodeCosigner(std::string_view bytes);
std::string Encode(const CosignerRecord& record);

}  // namespace quipu::node::records
