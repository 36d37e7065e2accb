// quipu collecting cosignatures for its own checkpoints: the log's side of
// C2SP tlog-witness. Off the write path, a round at most every `interval`
// takes the newest checkpoint and submits it to every witness of the
// node's policy (tlog-policy `witness` lines with a URL) at the same
// time: `old <size it last cosigned>`, the consistency proof from there,
// the signed checkpoint. A witness's 409 names its size, and the request is
// sent again from that size. The cosignatures that verify are stored with
// the checkpoint in the `cosigned` table (node/records.h); once they meet
// the policy's quorum, that checkpoint is the one the node publishes
// (/checkpoint) and gives in receipts (docs/cosigning.md).
//
// Every witness is asked for the same size in a round, so that a quorum
// can form under steady load; a witness still busy with an earlier round
// (a slow or hanging one) sits the next one out, delaying nobody.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/status.h"
#include "ledger/log.h"
#include "ledger/tlog_proof.h"
#include "node/ledger_reader.h"

namespace quipu::node {

// A witness's HTTP answer.
struct WitnessReply {
  unsigned status = 0;
  std::string body;
};
// POSTs `body` to `url` and returns the answer (any status); an error for
// a network failure or a timeout. The node's outbound client in a node.
using WitnessPoster = std::function<Result<WitnessReply>(const std::string& url, const std::string& body)>;

// Something worth a log line.
struct CosigningEvent {
  enum class Kind {
    kCosigned,      // the witness cosigned `size`
    kQuorum,        // the checkpoint of `size` met the quorum (witness empty)
    kUnreachable,   // no answer (detail: the client's error)
    kRefused,       // 403/404/400: it does not witness this log, or not with this key
    kInconsistent,  // 422: it holds a tree our checkpoint is not consistent with
    kAhead,         // it cosigned a larger tree than this log has: a fork or lost data
    kBadAnswer,     // a status or body the spec does not allow, a cosignature that does not verify
  };
  Kind kind = Kind::kCosigned;
  std::string witness;  // the policy's name
  uint64_t size = 0;    // the tree size concerned
  std::string detail;
};
const char* CosigningEventName(CosigningEvent::Kind kind);

struct CosigningOptions {
  // The node's trust policy. Its witnesses with a URL are asked; the
  // node's own log key is added to its logs when missing.
  ledger::TlogPolicy policy;
  WitnessPoster post;
  std::chrono::milliseconds interval{1000};  // between the starts of two rounds, at least
  std::chrono::milliseconds retry{30000};    // a witness that failed is asked again after this
  std::function<void(const CosigningEvent&)> on_event;  // optional; called from the collector's threads
};

// A witness as the node last heard from it.
struct CosignerStatus {
  std::string name;
  std::string url;
  uint64_t size = 0;          // the size it last cosigned (0: never)
  std::string last_cosigned;  // RFC 3339, "" if never since start or in the records
  std::string last_error;     // the last failure's detail, "" after a success
  uint64_t failures = 0;      // since the node started
};

// The checkpoint published, and how far the witnesses are.
struct WitnessedState {
  uint64_t tree_size = 0;   // of the published checkpoint
  std::string checkpoint;   // the note, with its cosignatures
  bool quorum = false;      // whether the published one met the quorum
  // The newest checkpoint that met the quorum (0 and "" when none did):
  // the published one, or older than the log's checkpoint at start.
  uint64_t witnessed_size = 0;
  std::string witnessed_checkpoint;
  uint64_t head = 0;        // the log's own newest size
  std::vector<CosignerStatus> witnesses;
};

// Thread-safe. Borrows the log, which must outlive it.
class Cosigning {
 public:
  // Reads what earlier runs stored and starts the rounds. kInvalidArgument
  // for a policy with no witness URL or without options.post;
  // kCorruption for a damaged record.
  static Result<std::unique_ptr<Cosigning>> Start(ledger::Log& log, CosigningOptions options);
  // Stops the rounds, after the requests in flight (each bounded by the
  // poster's timeout).
  ~Cosigning();
  Cosigning(const Cosigning&) = delete;
  Cosigning& operator=(const Cosigning&) = delete;

  // The checkpoint to publish: the newest one whose cosignatures meet the
  // quorum (under today's policy), unless the log's checkpoint at start is
  // larger (before any did, or when entries came while the node ran
  // without witnesses): then that one, until a larger one meets it. So the
  // size published never goes down.
  WitnessedState State() const;
  // The note and size of State(), without the witnesses' list (for every
  // /checkpoint and receipt).
  std::pair<uint64_t, std::string> Published() const;
  // The published and the witnessed checkpoints, as LedgerReader takes
  // them: what every /checkpoint and receipt asks, so no head read and no
  // copy of the witnesses' list.
  PublishedCheckpoint Checkpoints() const;
  // The policy as used, the node's log line included (tlog-policy text).
  const std::string& policy_text() const { return policy_text_; }
  const ledger::TlogPolicy& policy() const { return policy_; }
  // Blocks until a checkpoint of at least `size` meets the quorum, or
  // `timeout` passes; whether it did. For tools and tests.
  bool WaitForQuorum(uint64_t size, std::chrono::milliseconds timeout) const;

 private:
  struct Impl;
  Cosigning(ledger::TlogPolicy policy, std::unique_ptr<Impl> impl);
  const ledger::TlogPolicy policy_;
  const std::string policy_text_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace quipu::node
