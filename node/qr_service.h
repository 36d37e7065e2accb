// QR Seguro codes for issued documents (docs/qr-seguro.md): issuing (a
// `qr_issue` entry whose payload commits to the sealed fields, sealed with
// the entry's own index as associated data), verification by anyone
// (signature, ledger record, revocation, expiry; the fields only when the
// node can decrypt them), revocation by the issuing client, and rendering.
// Two-phase codes (QS2) are generated first, with nothing in the log, and
// enter it when their client confirms them (or never, when annulled or
// left to lapse).
#pragma once

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/note.h"
#include "crypto/sha256.h"
#include "crypto/status.h"
#include "ledger/log.h"
#include "node/clients.h"
#include "node/document.h"
#include "node/ledger_reader.h"
#include "node/qr_format.h"
#include "node/rate_limit.h"
#include "pdf/engine.h"

namespace quipu::node {

// The QR data keys, by id; the newest seals, all open (rotation keeps old
// codes readable). Files qr-keys/<id>.key (hex, mode 0600) in the data
// directory.
struct QrKeyRing {
  std::map<uint32_t, std::array<uint8_t, 32>> keys;
  uint32_t newest() const { return keys.empty() ? 0 : keys.rbegin()->first; }
};
// Loads the key ring, creating key 1 when there is none (`create`).
// Errors: kNotFound (no key and not `create`), ReadHexKeyFile's for a key
// file that is refused or damaged (node/secrets.h; the message names it),
// RotateQrKey's when it creates.
Result<QrKeyRing> LoadQrKeys(const std::string& data_dir, bool create);
// Adds a key with the next id (written atomically, mode 0600); returns it.
// Errors: kIoError when qr-keys/ cannot be made or listed, CreateHexKeyFile's.
Result<uint32_t> RotateQrKey(const std::string& data_dir);

// A code to issue: the document it is for and what it says.
struct QrIssueRequest {
  DocumentRef document;  // by SHA-256 or content; a PDF or a JSON document
  QrPlain plain;         // fields and expiry (unix seconds, in the future)
};

// What an issue committed.
struct QrIssued {
  uint64_t index = 0;
  std::string text;  // QS1:...
  crypto::Digest document_sha256{};
  std::string issued_at;   // the entry's time
  std::string checkpoint;  // signed for the tree that holds the entry
};

// Where and how a code is drawn on a PDF (pdf::StampOptions for people).
struct QrStampRequest {
  int page = 1;                                  // 1-based; 0 = the last page
  pdf::Corner corner = pdf::Corner::kBottomRight;
  std::string caption = "QR Seguro - verifique en quipu";
};

// A qr_revoke entry, as a verification shows it.
struct QrRevocation {
  uint64_t index = 0;
  std::string time;
  std::string reason;
};

// What a revocation committed.
struct QrRevoked {
  uint64_t index = 0;   // the qr_revoke entry
  uint64_t target = 0;  // the code's qr_issue entry
  std::string revoked_at;
  std::string checkpoint;
};

// What anyone holding a code learns from it.
struct QrVerification {
  int version = 1;  // of the code's format (1: QS1, 2: QS2), once its prefix is known
  bool valid = false;
  // Why not, in words (empty when valid): "malformed: ...", "signature
  // invalid", "not in ledger", "revoked", "expired", ...
  std::vector<std::string> reasons;
  // The code's qr_issue index: a QS1 code's, once its text parsed; a QS2
  // code's, once its entry is found.
  std::optional<uint64_t> index;
  // The code's qr_issue entry, when the ledger holds one at the index,
  // with its proof to the latest checkpoint.
  struct Record {
    std::string entry;  // canonical bytes
    std::string issued_at;
    std::string client;
    std::string client_name;      // "" when the client is unknown
    std::string document_sha256;  // hex, as the entry says
    Hash leaf_hash{};
    std::vector<Hash> proof;
    uint64_t tree_size = 0;
    std::string checkpoint;
    std::optional<QrRevocation> revocation;
    std::optional<int64_t> expires_at;  // unix seconds, when the fields opened and have one
    bool expired = false;
  };
  std::optional<Record> record;
  // The issuer's fields (JSON object text) of a QS1 code, only when valid.
  std::optional<std::string> fields;
  // The digital document of a QS2 code, only when valid.
  std::optional<QrDocument> document;
};

// How long a two-phase code waits for its confirmation: after a day
// unconfirmed it lapses (Confirm answers kExpired, its record is dropped
// and its client key may be used again).
inline constexpr int64_t kQrDraftLifetimeSeconds = 24 * 3600;
// Two-phase codes a client may generate an hour, and at once (a replay
// counts nothing). What bounds the qr table: a client's codes waiting for
// their confirmation are at most a day's worth.
inline constexpr double kQrDraftsPerClientHour = 3600;
inline constexpr double kQrDraftsBurst = 600;

// A two-phase code to generate.
struct QrDraftRequest {
  // The client's key for the code (AGETIC's codigoTransaccion), 1 to 64 of
  // [0-9A-Za-z._:-] (IsValidClientKey); Confirm and Annul name it.
  std::string client_key;
  // What the client sent: the same key with the same fingerprint answers
  // the first code again, with another one kAlreadyExists.
  crypto::Digest fingerprint{};
  QrDocument document;
};

enum class QrDraftState { kPending, kConfirmed, kAnnulled };

// A two-phase code and where it stands.
struct QrDraft {
  std::string client_key;
  std::string text;  // QS2:...
  std::string created_at;
  QrDraftState state = QrDraftState::kPending;
  std::optional<uint64_t> index;  // its qr_issue, once confirmed
  bool replayed = false;          // an earlier answer to the same request
};

// What a confirmation committed (or had committed, when `replayed`).
struct QrConfirmed {
  uint64_t index = 0;  // the qr_issue entry
  std::string text;
  crypto::Digest code_digest{};  // the entry's doc.sha256
  std::string confirmed_at;
  std::string checkpoint;  // signed for a tree that holds the entry
  bool replayed = false;
};

// What an annulment committed: a qr_revoke for a confirmed code; nothing
// in the log for one never confirmed (it was never valid).
struct QrAnnulled {
  std::optional<uint64_t> revocation;  // the qr_revoke entry
  std::optional<uint64_t> target;      // the code's qr_issue
  std::string annulled_at;
  std::string checkpoint;  // "" when nothing was appended
};

// Thread-safe.
class QrService {
 public:
  // `pdf` parses and stamps the PDFs clients send (the sandbox, in a node).
  QrService(ledger::Log& log, Clients& clients, pdf::PdfEngine& pdf, crypto::NoteSigner signer, QrKeyRing keys,
            std::function<int64_t()> clock = nullptr);

  // Issues a code: one qr_issue entry. kInvalidArgument for a document
  // reference ResolveDocument refuses, fields that do not encode or an
  // expiry that is not in the future; kUnprocessable for content that is
  // not a PDF the engine can read; kPermissionDenied for a disabled
  // client; the engine's kUnavailable; the ledger's errors.
  Result<QrIssued> Issue(const ClientInfo& client, const QrIssueRequest& request);
  // Never fails for a bad code: the answer says why it is not valid.
  // Errors: the ledger's only (with RevocationOf's kCorruption).
  Result<QrVerification> Verify(std::string_view qr_text) const;
  // A qr_revoke entry (naming the code's document, so looking the document
  // up finds the revocation); only the issuing client. kInvalidArgument
  // for a reason that is empty or over 256 bytes, kNotFound for another
  // client's code, kFailedPrecondition if revoked already,
  // kPermissionDenied for a disabled client (as Issue).
  Result<QrRevoked> Revoke(const ClientInfo& client, uint64_t index, std::string_view reason);
  // The index of the qr_revoke entry that revoked the code at `index`, if any.
  // kCorruption for a private record that is not an index.
  Result<std::optional<uint64_t>> RevocationOf(uint64_t index) const;
  // The QR text issued at `index`, for the client that issued it only:
  // kNotFound for no code there and for another client's (the same answer);
  // kCorruption for a private record that is not JSON.
  Result<std::string> Text(const ClientInfo& client, uint64_t index) const;
  // Issues a code for the PDF and draws it on the page as an incremental
  // update. Everything that can fail (parsing, placing, the fields) is done
  // before the qr_issue entry is appended; after it, only the code's pixels
  // are written into room reserved for them. So a stamp that fails leaves
  // nothing in the log. Errors: kInvalidArgument (a page the PDF does not
  // have, a caption that does not fit, bad fields or expiry), kUnprocessable
  // (a PDF that cannot be read or stamped), the engine's kUnavailable, the
  // ledger's.
  struct Stamped {
    QrIssued qr;
    std::string document_sha256;
    std::string pdf;
  };
  Result<Stamped> Stamp(const ClientInfo& client, std::span<const uint8_t> pdf, const QrPlain& plain,
                        const QrStampRequest& where);

  // Two-phase codes (QS2). Prepare seals a code for the document and keeps
  // it privately: nothing enters the log, and the code does not verify.
  // kInvalidArgument for a bad client key or a document that does not
  // encode (EncodeQrDocument); kExpired for one whose expiry day is past
  // already; kResourceExhausted beyond kQrDraftsPerClientHour;
  // kFailedPrecondition replaying a code annulled or revoked since;
  // kAlreadyExists for a
  // key used with another fingerprint; kPermissionDenied for a disabled
  // client; the ledger's errors.
  Result<QrDraft> Prepare(const ClientInfo& client, const QrDraftRequest& request);
  // Appends the code's qr_issue (doc.sha256 its code digest): from now on
  // it verifies. Confirming again answers the same (replayed). kNotFound
  // for a key with no code (or whose lapsed code was dropped), kExpired for
  // a code that lapsed unconfirmed; kFailedPrecondition for an annulled or
  // revoked code; kPermissionDenied for a disabled client; kUnavailable
  // when another request changed the code meanwhile (retry).
  Result<QrConfirmed> Confirm(const ClientInfo& client, std::string_view client_key);
  // Annuls the code: a qr_revoke when it was confirmed (reason as Revoke's).
  // kNotFound and kExpired as Confirm's; kFailedPrecondition when annulled or revoked
  // already; kInvalidArgument for a bad reason.
  Result<QrAnnulled> Annul(const ClientInfo& client, std::string_view client_key, std::string_view reason);
  // Drops up to `max` codes that lapsed unconfirmed; how many.
  Result<size_t> DropLapsedDrafts(size_t max);

  uint32_t key_id() const { return signer_.key_hash(); }
  int64_t NowMicros() const { return clock_(); }

 private:
  Result<QrVerification> VerifyQs2(std::string_view qr_text) const;
  ledger::Log& log_;
  Clients& clients_;
  pdf::PdfEngine& pdf_;
  const crypto::NoteSigner signer_;
  const QrKeyRing keys_;
  std::function<int64_t()> clock_;
  RateLimiter drafts_;  // two-phase codes generated, per client
};

// The fields and expiry of a request or command line, checked: `fields`
// the text of a JSON object, `expires_at` an RFC 3339 time in the future
// (after `now_us`); the fields must encode (kMaxQrFieldsBytes).
// kInvalidArgument naming what is wrong.
Result<QrPlain> MakeQrPlain(std::string fields, const std::optional<std::string>& expires_at, int64_t now_us);

}  // namespace quipu::node
