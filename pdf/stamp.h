// Stamping a QR code on a PDF page as an incremental update: the original
// bytes stay an exact prefix of the result, so the original's hash (and
// any signature over it) still verifies as the file's first revision.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/status.h"

namespace quipu::pdf {

enum class Corner { kBottomRight, kBottomLeft, kTopRight, kTopLeft };

struct StampOptions {
  int page = 1;             // 1-based; 0 is the last page
  Corner corner = Corner::kBottomRight;
  double size_pt = 85;      // the code's side including its quiet zone (85 pt = 3 cm)
  double margin_pt = 24;    // from the page's edges
  std::string caption;      // a short line under the code (Latin-1 printable), may be empty
};

// Draws the QR `modules` (size x size, row-major, true = dark; a 4-module
// quiet zone is added) as vector rectangles on a white square, plus the
// caption in Helvetica, on the chosen page, as an incremental update that
// leaves the page's own content and graphics state untouched.
// kInvalidArgument: not a readable PDF, encrypted, page out of range, bad
// sizes. kInternal if PoDoFo's update would not keep the original prefix.
Result<crypto::Bytes> StampQr(std::span<const uint8_t> pdf, const std::vector<bool>& modules, int size,
                              const StampOptions& options);

}  // namespace quipu::pdf
