// C2SP tlog-checkpoint bodies and the block header, the two small formats
// the sequencer signs or chains at every commit (docs/ledger.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/status.h"
#include "ledger/log.h"

namespace quipu::ledger {

// "<origin>\n<size>\n<base64 root>\n": the text a checkpoint note signs.
std::string CheckpointBody(std::string_view origin, uint64_t tree_size, const Hash& root);

struct CheckpointFields {
  std::string origin;
  uint64_t tree_size = 0;
  Hash root{};
};

// Parses a checkpoint body (the note text, before the blank line). Extension
// lines after the root are allowed and ignored, as C2SP says.
// kInvalidArgument when the first three lines are not origin, size, root.
Result<CheckpointFields> ParseCheckpointBody(std::string_view text);

// The inverse of Block::CanonicalHeader; kCorruption when malformed.
Result<Block> ParseBlockHeader(std::string_view bytes);

}  // namespace quipu::ledger
