// Receipts in the answers that name ledger entries (approvals, QR Seguro):
// each such entry's JSON gains "receipt", its C2SP tlog-proof@v1 text (as
// GET /v1/entries/{n}/receipt gives it), and "witnessed", whether the
// checkpoint it carries met the node's cosignature policy. Right after a
// commit a receipt is proven to the log's own checkpoint (witnessed:
// false); the same route later gives one with the witnesses'
// cosignatures (docs/cosigning.md).
#pragma once

#include <cstdint>
#include <functional>

#include <nlohmann/json.hpp>

#include "crypto/status.h"
#include "node/ledger_reader.h"

namespace quipu::api {

using ReceiptSource = std::function<Result<node::Receipt>(uint64_t index)>;

// Sets entry["receipt"] and entry["witnessed"] for entry `index`; leaves
// `entry` as it is without a source or when the receipt cannot be made
// (the answer stays useful; the receipt route says why).
inline void AddReceipt(nlohmann::json& entry, uint64_t index, const ReceiptSource& receipts) {
  if (!receipts) return;
  auto r = receipts(index);
  if (!r.ok()) return;
  entry["receipt"] = r->text;
  entry["witnessed"] = r->witnessed;
}

}  // namespace quipu::api
