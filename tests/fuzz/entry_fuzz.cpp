// libFuzzer target: ParseEntry (with its fast scanner) must never crash and
// must judge every input exactly as the definition does (strict JSON,
// canonical, v == 1, a valid time, valid type fields).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "crypto/jcs.h"
#include "ledger/entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quipu;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const bool fast = ledger::ParseEntry(input).ok();
  bool reference = false;
  auto parsed = crypto::ParseJsonStrict(input);
  if (parsed.ok() && parsed->is_object()) {
    auto canonical = crypto::CanonicalDump(*parsed);
    nlohmann::json j = *parsed;
    if (canonical.ok() && *canonical == input && j.contains("v") && j["v"] == 1 && j.contains("time") &&
        j["time"].is_string() && ledger::ParseTime(j["time"].get<std::string>()).ok()) {
      j.erase("v");
      j.erase("time");
      reference = ledger::ValidateEntryFields(j).ok();
    }
  }
  if (fast != reference) std::abort();
  return 0;
}
