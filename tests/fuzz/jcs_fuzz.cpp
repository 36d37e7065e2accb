// libFuzzer target: Canonicalize must never crash on any input, and its
// output must be a fixed point (canonicalizing it again gives the same
// bytes) that ParseJsonStrict + CanonicalDump reproduce exactly.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "crypto/jcs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto first = quipu::crypto::Canonicalize(input);
  if (!first.ok()) return 0;
  auto second = quipu::crypto::Canonicalize(*first);
  if (!second.ok() || *second != *first) {
    std::fprintf(stderr, "not idempotent: %s\n", second.ok() ? "bytes differ"
                                                              : second.status().ToString().c_str());
    std::abort();
  }
  auto dom = quipu::crypto::ParseJsonStrict(input);
  if (!dom.ok()) std::abort();  // the two parsers must accept the same inputs
  auto dumped = quipu::crypto::CanonicalDump(*dom);
  if (!dumped.ok() || *dumped != *first) {
    std::fprintf(stderr, "CanonicalDump differs from Canonicalize\n");
    std::abort();
  }
  return 0;
}
