#include "cli/flags.h"

#include <charconv>

namespace quipu::cli {

Result<Flags> Flags::Parse(const std::vector<std::string>& args,
                           const std::vector<FlagSpec>& spec) {
  Flags flags;
  bool only_positional = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (only_positional || arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      if (!only_positional && arg == "--") {
        only_positional = true;
        continue;
      }
      if (!only_positional && arg.size() > 1 && arg[0] == '-' && arg != "-") {
        return InvalidArgument("unknown option '" + arg + "'");
      }
      flags.positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    const FlagSpec* found = nullptr;
    for (const FlagSpec& s : spec) {
      if (s.name == name) found = &s;
    }
    if (found == nullptr) return InvalidArgument("unknown option '--" + name + "'");
    if (flags.values_.count(name) != 0) return InvalidArgument("option '--" + name + "' given twice");
    if (!found->takes_value) {
      if (inline_value) return InvalidArgument("option '--" + name + "' takes no value");
      flags.values_[name] = "";
      continue;
    }
    if (inline_value) {
      flags.values_[name] = *inline_value;
    } else if (i + 1 < args.size()) {
      flags.values_[name] = args[++i];
    } else {
      return InvalidArgument("option '--" + name + "' needs a value");
    }
  }
  return flags;
}

bool Flags::Has(std::string_view name) const { return values_.find(name) != values_.end(); }

std::optional<std::string> Flags::Get(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Flags::GetOr(std::string_view name, std::string fallback) const {
  auto v = Get(name);
  return v ? *v : std::move(fallback);
}

Result<uint64_t> Flags::GetUint(std::string_view name, uint64_t fallback) const {
  auto v = Get(name);
  if (!v) return fallback;
  uint64_t out = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || end != v->data() + v->size() || v->empty()) {
    return InvalidArgument("option '--" + std::string(name) + "' needs a non-negative integer, got '" + *v + "'");
  }
  return out;
}

}  // namespace quipu::cli
