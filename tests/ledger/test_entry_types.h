// The entry types of the ledger's tests: a made-up domain (notes about
// documents) that uses every kind of field, so that the ledger is tested as
// the machinery it is, knowing no domain. quipu's own types are tested in
// tests/node/schema_test.cpp.
#pragma once

#include <cstdlib>

#include "ledger/entry.h"

namespace quipu::ledger {

// note     author, ref (ids), seal (SHA-256), doc {sha256 (the document), format}
// retract  author, target (an index), reason (text), doc (optional)
// stamp    count (an index, optional), digest (SHA-256, the document, at the
//          top), kind (an enum), label (an id of at most 8)
inline const EntrySchema& TestEntryTypes() {
  static const EntrySchema kTypes = [] {
    using F = FieldSpec;
    const F doc =
        F::Object("doc", {F::Sha256("sha256").Document(), F::Enum("format", {"pdf", "json"})});
    auto schema = EntrySchema::Make({
        {"note", {F::Id("author"), F::Id("ref"), F::Sha256("seal"), doc}},
        {"retract", {F::Id("author"), F::Index("target"), F::Text("reason"), doc.Optional()}},
        {"stamp",
         {F::Index("count").Optional(), F::Sha256("digest").Document(), F::Enum("kind", {"a", "b"}),
          F::Id("label", 8)}},
    });
    if (!schema.ok()) std::abort();
    return std::move(schema).value();
  }();
  return kTypes;
}

}  // namespace quipu::ledger
