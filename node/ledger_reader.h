// The public read side of the Registro, as the domain offers it to api/:
// the head and checkpoints, C2SP tiles and entry bundles, entries with
// their inclusion proofs, consistency proofs and blocks. Its types are the
// node's, so the HTTP layer needs nothing of ledger/ (api knows no ledger,
// the ledger knows no HTTP). Every read is one snapshot of ledger::Log.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/sha256.h"
#include "crypto/status.h"

namespace quipu::ledger {
class Log;
}

namespace quipu::node {

using Hash = crypto::Digest;

struct LedgerHead {
  uint64_t tree_size = 0;
  Hash root{};
  std::string checkpoint;  // the C2SP signed note for tree_size
};

// An entry, exactly as stored (RFC 8785), with its RFC 9162 inclusion
// proof to the tree of `tree_size` and that tree's signed checkpoint.
struct ProvenEntry {
  uint64_t index = 0;
  uint64_t tree_size = 0;
  std::string entry;
  Hash leaf_hash{};
  std::vector<Hash> proof;
  std::string checkpoint;  // may be empty for a size no checkpoint was signed for
};

// A block: the chain view of one commit (docs/ledger.md, "Blocks").
struct BlockView {
  uint64_t height = 0;
  uint64_t tree_size = 0;
  Hash root{};
  std::string time;
  Hash prev{};
  std::string header;  // the canonical header bytes
  Hash hash{};         // SHA-256 of header
};

// A tile or an entry bundle at a C2SP tlog-tiles path.
struct TileBytes {
  std::string bytes;
  bool full = false;  // a full tile never changes: cacheable for good
};

// A receipt, and whether witnesses vouched for the checkpoint it carries.
struct Receipt {
  std::string text;  // C2SP tlog-proof@v1
  uint64_t tree_size = 0;
  bool witnessed = false;  // its checkpoint met the node's cosignature policy
};

// The checkpoint the node publishes when it collects cosignatures
// (node/cosigning.h): its size, its note, whether it met the quorum.
struct PublishedCheckpoint {
  uint64_t tree_size = 0;
  std::string note;
  bool witnessed = false;
  // The newest checkpoint that met the quorum, for receipts (0: none).
  uint64_t witnessed_size = 0;
  std::string witnessed_note;
};

// Thread-safe (as ledger::Log). Borrows the log, which must outlive it.
class LedgerReader {
 public:
  explicit LedgerReader(const ledger::Log& log) : log_(log) {}

  const std::string& origin() const;
  // The C2SP signed-note verifier key "origin+hash+base64key".
  const std::string& verifier_key() const;
  LedgerHead Head() const;
  // With witnesses (set once, before serving): where the published
  // checkpoint comes from. Without, the head's checkpoint is published.
  void SetPublished(std::function<PublishedCheckpoint()> published) { published_ = std::move(published); }
  // The checkpoint /checkpoint serves: the newest one witnesses vouched
  // for when the node collects cosignatures, else the head's.
  PublishedCheckpoint Published() const;
  // The signed note for `tree_size`. kNotFound if none was signed.
  Result<std::string> Checkpoint(uint64_t tree_size) const;
  // "tile/<L>/<N>[.p/<W>]" or "tile/entries/<N>[.p/<W>]" (no leading "/").
  // kInvalidArgument for another spelling, kNotFound beyond the tree.
  Result<TileBytes> Tile(std::string_view path) const;
  // Entry `index` proven against the tree of `tree_size` (the latest when
  // absent). kNotFound for an index the tree does not have: beyond the
  // latest tree, or not below a `tree_size` given, and for a `tree_size`
  // beyond the log.
  Result<ProvenEntry> Entry(uint64_t index, std::optional<uint64_t> tree_size = std::nullopt) const;
  // A receipt for entry `index` (C2SP tlog-proof@v1, ledger/tlog_proof.h):
  // its inclusion proof to a checkpoint, which it carries verbatim, and the
  // entry itself as the extra data (the leaf is SHA-256(0x00 || extra)), so
  // that it can be checked with no network (quipu proof check). The
  // checkpoint is the newest one witnesses vouched for when it covers the
  // entry, else the latest. kNotFound beyond the tree.
  Result<node::Receipt> Receipt(uint64_t index) const;
  // The RFC 9162 consistency proof from old_size to new_size.
  // kInvalidArgument when old_size is above new_size, kNotFound for a
  // new_size beyond the log.
  Result<std::vector<Hash>> Consistency(uint64_t old_size, uint64_t new_size) const;
  // Block `height`, or the latest when absent. kNotFound when there is none.
  Result<BlockView> Block(std::optional<uint64_t> height = std::nullopt) const;

  // The log itself, for the domain services (verify, QR, approvals), not
  // for api/.
  const ledger::Log& log() const { return log_; }

 private:
  const ledger::Log& log_;
  std::function<PublishedCheckpoint()> published_;
};

}  // namespace quipu::node
