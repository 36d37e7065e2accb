// C2SP tlog-tiles paths: "tile/<L>/<N>[.p/<W>]" for hash tiles and
// "tile/entries/<N>[.p/<W>]" for entry bundles, tile height 8 (256 hashes
// or entries per full tile). N is written in groups of three digits, all
// but the last prefixed with "x": 1234067 -> "x001/x234/067".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/status.h"

namespace quipu::ledger {

inline constexpr int kTileHeight = 8;
inline constexpr int kTileWidth = 256;
// Tile levels a tree of up to 2^63 leaves can have.
inline constexpr int kMaxTileLevel = 7;

struct TileAddr {
  int level = 0;       // -1 for an entry bundle
  uint64_t index = 0;  // N
  int width = kTileWidth;  // 1..256; 256 is a full tile (no ".p/")
  bool operator==(const TileAddr&) const = default;
};

// "tile/<L>/<N>[.p/<W>]", or "tile/entries/..." for level -1.
std::string TilePath(const TileAddr& addr);

// Parses a path made by TilePath (without a leading "/"). Refuses every
// other spelling (leading zeros, missing "x", width 0 or 256 in ".p/",
// levels beyond kMaxTileLevel): kInvalidArgument naming the problem.
Result<TileAddr> ParseTilePath(std::string_view path);

}  // namespace quipu::ledger
