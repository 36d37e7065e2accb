// Offline proofs of logging (C2SP tlog-proof@v1) and the trust policies
// that verify them (C2SP tlog-policy): a checkpoint, the entry's index and
// its inclusion proof, and optionally opaque extra data; checked against
// the logs' keys and a quorum of witnesses' cosignatures.
//
//   c2sp.org/tlog-proof@v1
//   [extra <base64>]
//   index <n>
//   <base64 hash, one per line: the RFC 9162 inclusion proof>
//   <empty line>
//   <the checkpoint note, verbatim: the log's signature and cosignatures>
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/cosignature.h"
#include "crypto/encoding.h"
#include "crypto/note.h"
#include "crypto/status.h"
#include "ledger/checkpoint.h"
#include "ledger/log.h"

namespace quipu::ledger {

inline constexpr char kTlogProofHeader[] = "c2sp.org/tlog-proof@v1";

struct TlogProof {
  std::optional<crypto::Bytes> extra;
  uint64_t index = 0;
  std::vector<Hash> proof;
  std::string checkpoint;  // the whole note
};

std::string FormatTlogProof(const TlogProof& proof);
// Strict: the header, the optional extra, "index <n>" without leading
// zeroes, base64 SHA-256 lines (at most 64), an empty line, a note.
// kInvalidArgument naming the line.
Result<TlogProof> ParseTlogProof(std::string_view text);

// The lines of a tlog-policy text that say something, each split into its
// words (separated by spaces and tabs only), with its 1-based number;
// blank lines and comment lines (a first word starting with '#') left out.
// kInvalidArgument naming the line for a control character other than tab.
struct PolicyLine {
  size_t number = 0;
  std::vector<std::string_view> words;  // into the text
};
Result<std::vector<PolicyLine>> TlogPolicyLines(std::string_view text);

// A tlog-policy: the logs accepted, the witnesses known, the quorum.
struct TlogPolicy {
  std::vector<crypto::NoteVerifier> logs;
  struct Witness {
    std::string name;  // the policy's name for it
    crypto::Cosigner key;
    std::string url;   // its submission prefix (tlog-witness), when the line gives one
  };
  std::vector<Witness> witnesses;
  struct Group {
    std::string name;
    size_t threshold = 1;
    std::vector<std::string> members;  // witnesses or earlier groups
  };
  std::vector<Group> groups;
  std::string quorum;  // a witness, a group, or "none"
};
// Parses a policy file. kInvalidArgument naming the line: an unknown
// keyword, a bad vkey, a duplicate key or name, a group or quorum naming
// what is not defined above it, a threshold outside 1..n, no quorum line
// or two, a control character other than tab.
Result<TlogPolicy> ParseTlogPolicy(std::string_view text);

// What checking a checkpoint against a policy found.
struct CheckpointCheck {
  CheckpointFields fields;
  std::string log_key;                  // the log vkey's name that signed it
  std::vector<std::string> cosigned;    // the policy's names of witnesses whose cosignature verified
  std::vector<std::string> unverified;  // signature lines of keys the policy does not know
  bool quorum = false;
};
// The checkpoint's log signature (by a log of the policy), each known
// witness's cosignature, and whether they meet the quorum. Errors, saying
// exactly what failed: kPermissionDenied when no log of the policy signed
// it or the quorum is not met (naming who cosigned); kCorruption for a
// signature by a known key that does not verify; kInvalidArgument for a
// malformed note or checkpoint.
Result<CheckpointCheck> CheckCheckpoint(const TlogPolicy& policy, std::string_view note);
// The same checks, but a quorum not met is an answer (quorum == false), not
// an error: for a log that collects cosignatures until it is met.
Result<CheckpointCheck> EvaluateCheckpoint(const TlogPolicy& policy, std::string_view note);

// The policy as tlog-policy text: its logs, witnesses (with their URLs),
// groups and quorum, one line each, in that order; ParseTlogPolicy reads it
// back to the same policy.
std::string FormatTlogPolicy(const TlogPolicy& policy);

}  // namespace quipu::ledger
