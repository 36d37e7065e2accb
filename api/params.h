// The small parsers every route shares for what comes in a path or query:
// ledger indices and sizes, document hashes. One rule each, so two routes
// never disagree on what an index is.
#pragma once

#include <cstdint>
#include <string_view>

#include "crypto/sha256.h"
#include "crypto/status.h"

namespace quipu::api {

// A ledger index or tree size: decimal, no sign, no leading zero, below
// 2^53 (what every JSON reader holds exactly; docs/ledger.md). `what` names
// it in the error (kInvalidArgument).
Result<uint64_t> ParseIndexParam(std::string_view text, std::string_view what);

// A document's SHA-256: 64 hex digits (as crypto::HexDecode reads them). kInvalidArgument.
Result<crypto::Digest> ParseSha256Param(std::string_view hex);

}  // namespace quipu::api
