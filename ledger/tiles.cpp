#include "ledger/tiles.h"

#include <vector>

namespace quipu::ledger {
namespace {

std::string Three(uint64_t v) {
  std::string s = std::to_string(v);
  return std::string(3 - s.size(), '0') + s;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// A decimal without leading zeros, at most `max`.
bool ParseSmall(std::string_view s, uint64_t max, uint64_t& out) {
  if (!AllDigits(s) || s.size() > 19 || (s.size() > 1 && s[0] == '0')) return false;
  out = 0;
  for (char c : s) out = out * 10 + static_cast<uint64_t>(c - '0');
  return out <= max;
}

}  // namespace

std::string TilePath(const TileAddr& addr) {
  std::string out = "tile/";
  out += addr.level < 0 ? std::string("entries") : std::to_string(addr.level);
  std::vector<uint64_t> groups;
  uint64_t n = addr.index;
  do {
    groups.push_back(n % 1000);
    n /= 1000;
  } while (n > 0);
  for (size_t i = groups.size(); i-- > 0;) {
    out += '/';
    if (i > 0) out += 'x';
    out += Three(groups[i]);
  }
  if (addr.width != kTileWidth) {
    out += ".p/";
    out += std::to_string(addr.width);
  }
  return out;
}

Result<TileAddr> ParseTilePath(std::string_view path) {
  auto bad = [&](const char* why) {
    return InvalidArgument("tile path '" + std::string(path.substr(0, 100)) + "': " + why);
  };
  if (path.substr(0, 5) != "tile/") return bad("does not start with tile/");
  std::string_view rest = path.substr(5);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad("no index");
  TileAddr addr;
  std::string_view level = rest.substr(0, slash);
  if (level == "entries") {
    addr.level = -1;
  } else {
    uint64_t l;
    if (!ParseSmall(level, kMaxTileLevel, l)) return bad("level is not 0..7");
    addr.level = static_cast<int>(l);
  }
  rest.remove_prefix(slash + 1);
  // A partial tile ends in ".p/<W>".
  if (size_t p = rest.find(".p/"); p != std::string_view::npos) {
    uint64_t w;
    if (!ParseSmall(rest.substr(p + 3), kTileWidth - 1, w) || w == 0) return bad("partial width is not 1..255");
    addr.width = static_cast<int>(w);
    rest = rest.substr(0, p);
  }
  uint64_t index = 0;
  bool first = true;
  while (true) {
    slash = rest.find('/');
    std::string_view group = rest.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    if (!last) {
      if (group.size() != 4 || group[0] != 'x') return bad("index groups but the last start with x");
      group.remove_prefix(1);
    }
    if (group.size() != 3 || !AllDigits(group)) return bad("index groups have three digits");
    const uint64_t g = static_cast<uint64_t>((group[0] - '0') * 100 + (group[1] - '0') * 10 + (group[2] - '0'));
    if (first && !last && g == 0) return bad("index has a leading zero group");
    if (index > (UINT64_MAX - g) / 1000) return bad("index too large");
    index = index * 1000 + g;
    first = false;
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  addr.index = index;
  return addr;
}

}  // namespace quipu::ledger
