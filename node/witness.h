// quipu as a witness (C2SP tlog-witness): it cosigns checkpoints of the
// logs it is configured to witness, each only when it is consistent with
// the last one it cosigned for that log, and never a smaller tree after a
// larger one. The check and the new state are one ledger write
// transaction, committed before the answer (docs/witness.md).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/cosignature.h"
#include "crypto/note.h"
#include "crypto/status.h"
#include "ledger/log.h"

namespace quipu::node {

// A log to witness: its origin (its key's name) and the verifier keys its
// checkpoints may be signed with.
struct WitnessedLog {
  std::string origin;
  std::vector<crypto::NoteVerifier> keys;
  std::string url;  // informative
};

// Reads the logs file: lines "log <vkey> [url]" as c2sp.org/tlog-policy
// writes them (the vkey's name is the origin; several lines with one name
// add keys to that log), comment lines (a first word starting with '#'),
// blank lines; words separated by spaces and tabs only. Other tlog-policy
// lines (witness, group, quorum) are ignored: they do not concern a
// witness. kInvalidArgument naming the line for anything else, a control
// character, or a public key listed twice.
Result<std::vector<WitnessedLog>> ParseWitnessedLogs(std::string_view text);

// The witness's identity: its cosigning key and name (a key name, e.g.
// "quipu.example/witness").
struct WitnessKey {
  std::string name;
  crypto::SigningKey key;
};
// Loads the cosigning key from `path` (an Ed25519 key file with its name,
// mode 0600, written atomically), creating it named `name` when there is
// none; the file's name wins over `name` afterwards. Errors:
// crypto::LoadSigningKey's and SaveSigningKey's.
Result<WitnessKey> LoadOrCreateWitnessKey(const std::string& path, const std::string& name);

// The answer to an add-checkpoint request, as c2sp.org/tlog-witness
// defines its cases.
struct WitnessAnswer {
  enum class Kind {
    kCosigned,      // 200: `cosignatures` (signature lines)
    kUnknownLog,    // 404: no configured log has this origin
    kNotSigned,     // 403: no valid signature by the log's keys
    kBadRequest,    // 400: malformed body, or old size above the checkpoint's
    kConflict,      // 409: old size is not the last cosigned size (`size`)
    kInconsistent,  // 422: a proof that does not verify, a proof with old 0,
                    //      another root at the same size, a bad empty tree
  };
  Kind kind = Kind::kBadRequest;
  std::string detail;        // why, for people and the log
  std::string cosignatures;  // kCosigned
  uint64_t size = 0;         // kConflict: the size last cosigned
  std::string origin;        // once parsed
  // The log's signature verified: a refusal then is evidence worth keeping
  // (a log signing two histories); before it, it is anyone's noise.
  bool signed_by_log = false;
};

// The limit on an add-checkpoint body: 63 proof lines and a checkpoint
// with the 16 signatures signed-note asks verifiers to take even when they
// are post-quantum (about 5 kB each).
inline constexpr size_t kMaxAddCheckpointBytes = 128 * 1024;

// Thread-safe.
class Witness {
 public:
  // `clock`: unix seconds for the cosignatures' timestamps (default: the
  // system clock). kInvalidArgument for an invalid name or two logs with
  // one origin.
  static Result<std::unique_ptr<Witness>> Create(ledger::Log& ledger, WitnessKey key, std::vector<WitnessedLog> logs,
                                                 std::function<int64_t()> clock = nullptr);

  // POST add-checkpoint's body. Errors only for the ledger's failures; every
  // refusal is an answer.
  Result<WitnessAnswer> AddCheckpoint(std::string_view body);
  // The latest checkpoint cosigned for the log whose origin hashes (SHA-256,
  // lower-case hex) to `origin_sha256`, with the log's signatures and this
  // witness's cosignature; nullopt when none was.
  Result<std::optional<std::string>> LatestCheckpoint(std::string_view origin_sha256) const;

  const std::string& name() const { return key_.name; }
  // "<name>+<key ID>+base64(0x04 || public key)".
  std::string verifier_key() const;
  const std::vector<WitnessedLog>& logs() const { return logs_; }

 private:
  Witness(ledger::Log& ledger, WitnessKey key, std::vector<WitnessedLog> logs, std::function<int64_t()> clock);
  ledger::Log& ledger_;
  const WitnessKey key_;
  const std::vector<WitnessedLog> logs_;
  std::function<int64_t()> clock_;
};

}  // namespace quipu::node
