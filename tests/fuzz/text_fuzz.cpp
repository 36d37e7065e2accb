// libFuzzer target for the small text parsers on the public surface: tile
// paths (round trip), Base45 (round trip), checkpoint bodies, block
// headers and HTTP request targets. None may crash; what parses must
// re-encode to the same text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/http.h"
#include "crypto/base45.h"
#include "ledger/checkpoint.h"
#include "ledger/tiles.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quipu;
  const std::string input(reinterpret_cast<const char*>(data), size);
  if (auto t = ledger::ParseTilePath(input); t.ok() && ledger::TilePath(*t) != input) std::abort();
  if (auto b = crypto::Base45Decode(input); b.ok() && crypto::Base45Encode(*b) != input) std::abort();
  if (auto c = ledger::ParseCheckpointBody(input); c.ok()) {
    if (input.rfind(ledger::CheckpointBody(c->origin, c->tree_size, c->root), 0) != 0) std::abort();
  }
  if (auto b = ledger::ParseBlockHeader(input); b.ok() && b->CanonicalHeader() != input) std::abort();
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  (void)api::ParseTarget(input, path, query);
  return 0;
}
