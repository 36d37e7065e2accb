// A small command-line flag parser shared by the quipu subcommands.
// Accepts `--name value`, `--name=value`, boolean `--name`, `--` to end
// flags, and positional arguments anywhere ("-" is positional: stdin).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/status.h"

namespace quipu::cli {

struct FlagSpec {
  std::string_view name;  // without the leading "--"
  bool takes_value;
};

// Parsed flags. Thread-compatible value type.
class Flags {
 public:
  // Errors (kInvalidArgument): an unknown flag, a value missing or given to
  // a boolean flag, a flag given twice.
  static Result<Flags> Parse(const std::vector<std::string>& args,
                             const std::vector<FlagSpec>& spec);

  bool Has(std::string_view name) const;
  std::optional<std::string> Get(std::string_view name) const;
  std::string GetOr(std::string_view name, std::string fallback) const;
  // The value parsed as a non-negative integer; kInvalidArgument if it is not.
  Result<uint64_t> GetUint(std::string_view name, uint64_t fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string, std::less<>> values_;
  std::vector<std::string> positional_;
};

}  // namespace quipu::cli
