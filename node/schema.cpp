#include "node/schema.h"

#include <algorithm>

#include <cstdio>
#include <cstdlib>

namespace quipu::node {

std::string CitizenIndexPrefix(std::string_view subject) { return "c:" + std::string(subject) + ":"; }

std::string CitizenIndexKey(std::string_view subject, int64_t created_us, std::string_view request_id) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t t = static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(std::max<int64_t>(created_us, 0));
  std::string time(16, '0');
  for (int i = 15; i >= 0; --i, t >>= 4) time[static_cast<size_t>(i)] = kHex[t & 15];
  return CitizenIndexPrefix(subject) + time + ":" + std::string(request_id);
}

std::string RequestIdOfIndexKey(std::string_view key) {
  if (key.substr(0, 2) != "c:") return "";
  const size_t last = key.rfind(':');
  return last == std::string_view::npos ? "" : std::string(key.substr(last + 1));
}

std::string ContentKey(int64_t expires_us, std::string_view request_id, size_t i) {
  char head[40];
  std::snprintf(head, sizeof head, "k:%020lld:", static_cast<long long>(std::max<int64_t>(expires_us, 0)));
  char tail[8];
  std::snprintf(tail, sizeof tail, ":%03zu", i % 1000);
  return head + std::string(request_id) + tail;
}

int64_t ExpiryOfContentKey(std::string_view key) {
  if (key.size() < 23 || key.substr(0, 2) != "k:" || key[22] != ':') return -1;
  int64_t t = 0;
  for (char c : key.substr(2, 20)) {
    if (c < '0' || c > '9' || t > (INT64_MAX - (c - '0')) / 10) return -1;
    t = t * 10 + (c - '0');
  }
  return t;
}

const std::vector<ledger::PrivateTable>& PrivateTables() {
  static const std::vector<ledger::PrivateTable> kAll = {
      tables::kSubjects, tables::kClients, tables::kApprovals, tables::kOutbox, tables::kQr, tables::kContents};
  return kAll;
}

namespace {

ledger::EntrySchema MakeEntryTypes() {
  using F = ledger::FieldSpec;
  // The media types of node/document.h's MediaType.
  const F doc = F::Object("doc", {F::Sha256("sha256").Document(),
                                  F::Enum("media_type", {"application/pdf", "application/json"})});
  const std::vector<F> decision = {F::Id("client"), F::Id("request"), F::Sha256("subject"), doc};
  auto schema = ledger::EntrySchema::Make({
      {"approval", decision},
      {"rejection", decision},
      {"qr_issue", {F::Id("client"), doc, F::Sha256("payload")}},
      {"qr_revoke", {F::Id("client"), F::Index("target"), F::Text("reason"), doc.Optional()}},
  });
  if (!schema.ok()) {
    // A constant table: only a change to it can get here, and every test would.
    std::fprintf(stderr, "quipu: the entry types are invalid: %s\n",
                 schema.status().ToString().c_str());
    std::abort();
  }
  return std::move(schema).value();
}

}  // namespace

const ledger::EntrySchema& EntryTypes() {
  static const ledger::EntrySchema kTypes = MakeEntryTypes();
  return kTypes;
}

ledger::LogOptions LogOptionsFor(std::string dir) {
  ledger::LogOptions o;
  o.dir = std::move(dir);
  o.private_tables = PrivateTables();
  o.entry_schema = EntryTypes();
  return o;
}

}  // namespace quipu::node
