#include "node/schema.h"

#include <algorithm>

#include <cstdio>
#include <cstdlib>

#include "node/qr_format.h"

namespace quipu::node {

const std::vector<ledger::PrivateTable>& PrivateTables() {
  static const std::vector<ledger::PrivateTable> kAll = {
      tables::kSubjects, tables::kClients, tables::kApprovals, tables::kOutbox, tables::kQr, tables::kContents, tables::kWitness,
      tables::kCosigned};
  return kAll;
}

namespace {

ledger::EntrySchema MakeEntryTypes() {
  using F = ledger::FieldSpec;
  // The media types of node/document.h's MediaType.
  const F doc = F::Object("doc", {F::Sha256("sha256").Document(),
                                  F::Enum("media_type", {"application/pdf", "application/json"})});
  // A QR code's document may also be a two-phase code itself: doc.sha256
  // its code digest (node/qr_format.h, kQr2CodeMediaType).
  const F qr_doc = F::Object("doc", {F::Sha256("sha256").Document(),
                                     F::Enum("media_type", {"application/pdf", "application/json", kQr2CodeMediaType})});
  const std::vector<F> decision = {F::Id("client"), F::Id("request"), F::Sha256("subject"), doc};
  auto schema = ledger::EntrySchema::Make({
      {"approval", decision},
      {"rejection", decision},
      {"qr_issue", {F::Id("client"), qr_doc, F::Sha256("payload")}},
      {"qr_revoke", {F::Id("client"), F::Index("target"), F::Text("reason"), qr_doc.Optional()}},
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
