// libFuzzer target: ParseEntry (with its fast scanner) over quipu's entry
// types must never crash and must judge every input exactly as the
// definition does (strict JSON, canonical, v == 1, a valid time, valid type
// fields); the scanner alone must vouch for nothing the definition refuses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "crypto/jcs.h"
#include "ledger/entry.h"
#include "node/schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quipu;
  const ledger::EntrySchema& types = node::EntryTypes();
  const std::string input(reinterpret_cast<const char*>(data), size);
  const bool fast = types.ParseEntry(input).ok();
  bool reference = false;
  auto parsed = crypto::ParseJsonStrict(input);
  if (parsed.ok() && parsed->is_object()) {
    auto canonical = crypto::CanonicalDump(*parsed);
    nlohmann::json j = *parsed;
    if (canonical.ok() && *canonical == input && j.contains("v") && j["v"] == 1 && j.contains("time") &&
        j["time"].is_string() && ledger::ParseTime(j["time"].get<std::string>()).ok()) {
      j.erase("v");
      j.erase("time");
      reference = types.ValidateFields(j).ok();
    }
  }
  if (fast != reference) std::abort();
  if (types.Scans(input, false) && !reference) std::abort();
  if (types.Scans(input, true) && !types.ParseFields(input).ok()) std::abort();
  return 0;
}
