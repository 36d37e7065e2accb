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

// The code of a stamp, drawn in a second step: the stamp is written with a
// placeholder of a fixed size that FillQrPlaceholder overwrites with the
// real code later, without parsing the PDF again. So all the fallible work
// (parsing, placing, writing) is done before the code exists, which is
// before its ledger entry is appended (a QR Seguro code is sealed with the
// index of its own entry): a stamp that fails leaves nothing in the log.
struct QrPlaceholder {
  int size = 0;        // modules per side of the code that will fill it (1..177)
  std::string marker;  // 16..64 letters and digits, unique (NewPlaceholderMarker)
};

// A fresh random marker (24 random characters after a fixed prefix), so
// nothing in the original PDF can be mistaken for the placeholder.
std::string NewPlaceholderMarker();

// Bytes reserved for a code of `size` modules: the largest drawing of any
// matrix of that size (0 for a size outside 1..177).
size_t QrPlaceholderBytes(int size);

// Returns `pdf` followed by one incremental update that draws a QR code of
// qr.size modules (still a placeholder: an empty drawing of
// QrPlaceholderBytes(qr.size) bytes in an unfiltered stream that starts with
// "%<marker>\n") on a white square with a 4-module quiet zone, with
// `caption` in Helvetica under it, in the chosen corner of the chosen page.
// The page's existing content is wrapped in q/Q and otherwise untouched.
// Runs PoDoFo in this process: for bytes from outside use a PdfEngine
// (pdf/engine.h). Errors: kInvalidArgument for bad arguments (a page out of
// range, a size outside 1..177, a bad marker, a non-positive size, a caption
// that is too long or not printable Latin-1, a stamp that does not fit on
// the page); kUnprocessable (naming the reason) for input that is not a PDF,
// cannot be parsed or written (a cyclic page tree), or is encrypted;
// kInternal if the original is not a prefix of what PoDoFo wrote.
// Thread-safe (PoDoFo calls are serialised).
Result<Bytes> StampQrPlaceholder(std::span<const uint8_t> pdf, const QrPlaceholder& qr, const StampOptions& options);

// Where the placeholder of `qr` is in `stamped` (made from an original of
// `original_size` bytes): the offset of its marker, found exactly once
// after the original, with all of its reserved room intact. Lets a caller
// check a stamp made elsewhere (a worker) before committing to it. Errors:
// kInvalidArgument for bad arguments; kUnprocessable when the room is not
// there exactly once and whole.
Result<size_t> FindQrPlaceholder(std::span<const uint8_t> stamped, size_t original_size, const QrPlaceholder& qr);

// Draws `modules` (size x size, row-major, true = dark, quiet zone not
// included) into the placeholder of `stamped`, which StampQrPlaceholder made
// from an original of `original_size` bytes: overwrites the reserved bytes
// in place, so offsets, lengths and the original prefix are unchanged. No
// parser runs: safe on bytes from anywhere. Errors: kInvalidArgument if the
// matrix is malformed or of another size; FindQrPlaceholder's.
Status FillQrPlaceholder(Bytes& stamped, size_t original_size, const QrPlaceholder& qr,
                         const std::vector<bool>& modules, int size);

// Both steps at once, in this process: returns `pdf` followed by one
// incremental update that draws the QR matrix
// `modules` (size x size, row-major, true = dark, quiet zone not included)
// as vector rectangles on a white square with a 4-module quiet zone, with
// `caption` in Helvetica under it, in the chosen corner of the chosen page.
// The page's existing content is wrapped in q/Q and otherwise untouched.
// Errors: as StampQrPlaceholder and FillQrPlaceholder (kInvalidArgument for
// a matrix whose size is 0, over 177 or disagrees with modules.size()).
// Thread-safe (PoDoFo calls are serialised).
Result<Bytes> StampQr(std::span<const uint8_t> pdf, const std::vector<bool>& modules, int size,
                      const StampOptions& options);

}  // namespace quipu::pdf
