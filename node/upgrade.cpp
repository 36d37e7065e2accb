#include "node/upgrade.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/log.h"
#include "node/records.h"
#include "node/schema.h"

namespace quipu::node {

using records::CitizenIndexKey;
using records::kCitizenIndexMark;
using records::kRequestPrefix;

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

// kCitizenIndexMark (node/records.h) is written once the citizens' index
// covers every request: directories of an earlier version get it built at
// their first start.
Result<bool> CitizenIndexMarked(const ledger::Log& log) {
  QUIPU_ASSIGN_OR_RETURN(std::optional<std::string> mark, log.ReadPrivate(tables::kApprovals, kCitizenIndexMark));
  return mark.has_value();
}

// Indexes every request under the citizen it names (forgotten ones name
// nobody), then marks the table; one commit. The number of index records written.
Result<size_t> BuildCitizenIndex(ledger::Log& log) {
  QUIPU_ASSIGN_OR_RETURN(bool marked, CitizenIndexMarked(log));
  if (marked) return size_t{0};
  std::vector<std::string> keys;
  bool any_request = false;
  Status bad = Status::Ok();
  QUIPU_RETURN_IF_ERROR(log.ScanPrivate(tables::kApprovals, kRequestPrefix, [&](std::string_view key, std::string_view value) {
    any_request = true;
    auto r = records::DecodeRequest(value);
    if (!r.ok()) {
      bad = r.status().WithContext("approval request " + std::string(key.substr(kRequestPrefix.size())));
      return false;
    }
    // Forgotten requests name nobody.
    if (!r->subject.empty()) keys.push_back(CitizenIndexKey(r->subject, r->created_us, key.substr(kRequestPrefix.size())));
    return true;
  }));
  QUIPU_RETURN_IF_ERROR(bad);
  if (!any_request) return size_t{0};  // nothing to index yet (a new directory commits nothing)
  ledger::AppendRequest index;
  index.apply = [&](ledger::PrivateTxn& txn, uint64_t, const std::string&) -> Status {
    for (const std::string& key : keys) QUIPU_RETURN_IF_ERROR(txn.Put(tables::kApprovals, key, ""));
    return txn.Put(tables::kApprovals, kCitizenIndexMark, "1");
  };
  auto done = log.Append(std::move(index)).get();
  if (!done.ok()) return done.status().WithContext("index the approval requests by citizen");
  return keys.size();
}

Result<size_t> MoveQrRecords(ledger::Log& log) {
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

}  // namespace

Result<size_t> UpgradeDataDirectory(ledger::Log& log) {
  QUIPU_ASSIGN_OR_RETURN(size_t moved, MoveQrRecords(log));
  QUIPU_ASSIGN_OR_RETURN(size_t indexed, BuildCitizenIndex(log));
  return moved + indexed;
}

Result<bool> UpgradePending(const ledger::Log& log) {
  QUIPU_ASSIGN_OR_RETURN(std::vector<std::string> keys, QrKeysInApprovals(log, 1));
  if (!keys.empty()) return true;
  QUIPU_ASSIGN_OR_RETURN(bool marked, CitizenIndexMarked(log));
  if (marked) return false;
  bool any = false;
  QUIPU_RETURN_IF_ERROR(log.ScanPrivate(tables::kApprovals, kRequestPrefix, [&](std::string_view, std::string_view) {
    any = true;
    return false;
  }));
  return any;
}

}  // namespace quipu::node
