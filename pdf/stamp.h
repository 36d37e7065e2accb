// Stamping a QR code onto a PDF page as an incremental update, so the
// original bytes stay an exact prefix of the result (any signature or hash
// over them remains valid). PoDoFo stays behind this header; nothing throws.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "crypto/status.h"
#include "pdf/make.h"

namespace quipu::pdf {

// A corner of the page as a reader sees it (after /Rotate).
enum class Corner { kBottomRight, kBottomLeft, kTopRight, kTopLeft };

struct StampOptions {
  int page = 1;                            // 1-based; 0 = the last page
  Corner corner = Corner::kBottomRight;
  double size_pt = 85;                     // QR side including its quiet zone (~3 cm)
  double margin_pt = 24;                   // from the visible page edges
  std::string caption;                     // short, Latin-1 printable bytes; may be empty
};

// Returns `pdf` followed by one incremental update that draws the QR matrix
// `modules` (size x size, row-major, true = dark, quiet zone not included)
// as vector rectangles on a white square with a 4-module quiet zone, with
// `caption` in Helvetica under it, in the chosen corner of the chosen page.
// The page's existing content is wrapped in q/Q and otherwise untouched.
// Errors: kInvalidArgument (naming the reason) for input that is not a PDF
// or cannot be parsed, an encrypted PDF, a page out of range, a matrix whose
// size is 0, over 177 or disagrees with modules.size(), a non-positive size,
// a caption that is too long or not printable Latin-1, or a stamp that does
// not fit on the page; kInternal if PoDoFo fails to write or the original is
// not a prefix of what it wrote. Thread-safe (PoDoFo calls are serialised).
Result<Bytes> StampQr(std::span<const uint8_t> pdf, const std::vector<bool>& modules, int size,
                      const StampOptions& options);

}  // namespace quipu::pdf
