// libFuzzer target for the federation's text formats, each of which comes
// from outside: tlog-proof receipts (quipu proof check), tlog-policy files
// (serve --policy, proof check --policy), witnessed-logs files (serve
// --witness-logs), cosigner keys, and the remote audit's saved state (a
// file anyone may have edited). None may crash; what parses must format
// back to text that parses to the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "crypto/cosignature.h"
#include "ledger/tiled_audit.h"
#include "ledger/tlog_proof.h"
#include "node/witness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quipu;
  const std::string input(reinterpret_cast<const char*>(data), size);
  if (auto p = ledger::ParseTlogProof(input); p.ok()) {
    const std::string text = ledger::FormatTlogProof(*p);
    auto again = ledger::ParseTlogProof(text);
    if (!again.ok() || ledger::FormatTlogProof(*again) != text) std::abort();
  }
  if (auto p = ledger::ParseTlogPolicy(input); p.ok()) {
    const std::string text = ledger::FormatTlogPolicy(*p);
    auto again = ledger::ParseTlogPolicy(text);
    if (!again.ok() || ledger::FormatTlogPolicy(*again) != text) std::abort();
  }
  (void)node::ParseWitnessedLogs(input);
  if (auto c = crypto::ParseCosignerVerifierKey(input); c.ok()) {
    if (crypto::CosignerVerifierKey(c->name, c->public_key) != input) std::abort();
  }
  if (auto s = ledger::DecodeTiledAuditState(input); s.ok()) {
    auto again = ledger::DecodeTiledAuditState(ledger::EncodeTiledAuditState(*s));
    if (!again.ok() || again->root != s->root || again->tree_size != s->tree_size) std::abort();
  }
  return 0;
}
