#include "node/upgrade.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/log.h"
#include "node/schema.h"

namespace quipu::node {
namespace {

// The QR Seguro records' keys, which `approvals` held before the `qr` table.
constexpr std::string_view kQrPrefixes[] = {"q:", "qrev:"};

// The keys of the QR records still in `approvals`; at most `limit` of them.
Result<std::vector<std::string>> QrKeysInApprovals(const ledger::Log& log, size_t limit) {
  std::vector<std::string> keys;
  for (std::string_view prefix : kQrPrefixes) {
    QUIPU_RETURN_IF_ERROR(log.ScanPrivate(tables::kApprovals, prefix, [&](std::string_view key, std::string_view) {
      keys.emplace_back(key);
      return keys.size() < limit;
    }));
    if (keys.size() >= limit) break;
  }
  return keys;
}

}  // namespace

Result<size_t> UpgradeDataDirectory(ledger::Log& log) {
  QUIPU_ASSIGN_OR_RETURN(std::vector<std::string> keys, QrKeysInApprovals(log, SIZE_MAX));
  if (keys.empty()) return size_t{0};
  size_t moved = 0;
  ledger::AppendRequest move;
  // Read again inside the commit: only what is there then moves.
  move.apply = [&](ledger::PrivateTxn& txn, uint64_t, const std::string&) -> Status {
    moved = 0;
    for (const std::string& key : keys) {
      QUIPU_ASSIGN_OR_RETURN(std::optional<std::string> value, txn.Get(tables::kApprovals, key));
      if (!value) continue;
      QUIPU_RETURN_IF_ERROR(txn.Put(tables::kQr, key, *value));
      QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kApprovals, key));
      ++moved;
    }
    return Status::Ok();
  };
  auto done = log.Append(std::move(move)).get();
  if (!done.ok()) return done.status().WithContext("move QR Seguro records to the qr table");
  return moved;
}

Result<bool> UpgradePending(const ledger::Log& log) {
  QUIPU_ASSIGN_OR_RETURN(std::vector<std::string> keys, QrKeysInApprovals(log, 1));
  return !keys.empty();
}

}  // namespace quipu::node
