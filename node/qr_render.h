// Drawing QR codes with libqrencode: the module matrix, SVG (vector) and
// PNG (8-bit grayscale, libpng).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/status.h"

namespace quipu::node {

struct QrMatrix {
  int version = 0;          // 1..40, the smallest that holds the text
  int size = 0;             // modules per side, without the quiet zone
  std::vector<bool> dark;   // size*size, row-major
};

// Encodes `text` at error correction `level` ('L', 'M', 'Q' or 'H'); the
// smallest version that fits and is at least `min_version` (0..40; a stamp
// reserves room for a code of a known version before the code exists). QR
// Seguro text is Base45, all in the alphanumeric set, so it is encoded in
// that denser mode. Errors: kInvalidArgument (bad level or version, a text
// that is empty, over 4000 bytes or does not fit a QR code).
Result<QrMatrix> EncodeQr(std::string_view text, char level = 'M', int min_version = 0);

// An SVG of the code: one path of unit squares, `quiet` modules of margin,
// scaled to `module_px` pixels a module.
std::string QrSvg(const QrMatrix& m, int module_px = 4, int quiet = 4);
Result<crypto::Bytes> QrPng(const QrMatrix& m, int module_px = 4, int quiet = 4);

}  // namespace quipu::node
