#include "node/qr_render.h"

#include <png.h>
#include <qrencode.h>

#include <memory>

namespace quipu::node {

Result<QrMatrix> EncodeQr(std::string_view text, char level, int min_version) {
  QRecLevel ec;
  switch (level) {
    case 'L': ec = QR_ECLEVEL_L; break;
    case 'M': ec = QR_ECLEVEL_M; break;
    case 'Q': ec = QR_ECLEVEL_Q; break;
    case 'H': ec = QR_ECLEVEL_H; break;
    default: return InvalidArgument("qr: error correction must be L, M, Q or H");
  }
  if (text.empty() || text.size() > 4000) return InvalidArgument("qr: text must be 1 to 4000 bytes");
  if (min_version < 0 || min_version > 40) return InvalidArgument("qr: version must be 0 to 40");
  const std::string copy(text);
  // Mode 8 with case sensitivity, but libqrencode's optimiser picks the
  // alphanumeric mode for runs that fit it (all of a Base45 text).
  std::unique_ptr<QRcode, void (*)(QRcode*)> code(QRcode_encodeString(copy.c_str(), min_version, ec, QR_MODE_8, 1),
                                                  QRcode_free);
  if (!code) return InvalidArgument("qr: the text does not fit a QR code");
  QrMatrix m;
  m.version = code->version;
  m.size = code->width;
  m.dark.resize(static_cast<size_t>(m.size) * static_cast<size_t>(m.size));
  for (size_t i = 0; i < m.dark.size(); ++i) m.dark[i] = (code->data[i] & 1) != 0;
  return m;
}

std::string QrSvg(const QrMatrix& m, int module_px, int quiet) {
  const int total = m.size + 2 * quiet;
  std::string path;
  for (int y = 0; y < m.size; ++y) {
    for (int x = 0; x < m.size; ++x) {
      if (!m.dark[static_cast<size_t>(y * m.size + x)]) continue;
      int run = 1;  // a horizontal run of dark modules is one rectangle
      while (x + run < m.size && m.dark[static_cast<size_t>(y * m.size + x + run)]) ++run;
      path += "M" + std::to_string(x + quiet) + " " + std::to_string(y + quiet) + "h" + std::to_string(run) +
              "v1h-" + std::to_string(run) + "z";
      x += run - 1;
    }
  }
  const std::string px = std::to_string(total * module_px);
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + px + "\" height=\"" + px + "\" viewBox=\"0 0 " +
         std::to_string(total) + " " + std::to_string(total) +
         "\" shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path fill=\"#000\" d=\"" +
         path + "\"/></svg>\n";
}

namespace {

// libpng reports errors by longjmp: the setjmp lives in this function with
// C objects only (GCC 12 at -O3 stops with an internal compiler error on a
// setjmp in a function with C++ objects, and longjmp past destructors would
// skip them anyway). `rows` yields each pixel row into `row`. Returns false
// when libpng failed.
struct PngSink {
  crypto::Bytes* out;
  void (*fill_row)(const void* ctx, int y, unsigned char* row);
  const void* ctx;
};

void PngWrite(png_structp p, png_bytep data, png_size_t len) {
  auto* out = static_cast<crypto::Bytes*>(png_get_io_ptr(p));
  out->insert(out->end(), data, data + len);
}

bool WriteGrayPng(const PngSink& sink, int side, unsigned char* row) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, sink.out, PngWrite, nullptr);
  png_set_IHDR(png, info, static_cast<png_uint_32>(side), static_cast<png_uint_32>(side), 8, PNG_COLOR_TYPE_GRAY,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < side; ++y) {
    sink.fill_row(sink.ctx, y, row);
    png_write_row(png, row);
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

struct RowSource {
  const QrMatrix* m;
  int module_px, quiet, side;
};

void FillRow(const void* ctx, int y, unsigned char* row) {
  const auto& r = *static_cast<const RowSource*>(ctx);
  const int my = y / r.module_px - r.quiet;
  for (int x = 0; x < r.side; ++x) {
    const int mx = x / r.module_px - r.quiet;
    const bool dark = my >= 0 && my < r.m->size && mx >= 0 && mx < r.m->size &&
                      r.m->dark[static_cast<size_t>(my * r.m->size + mx)];
    row[x] = dark ? 0 : 255;
  }
}

}  // namespace

Result<crypto::Bytes> QrPng(const QrMatrix& m, int module_px, int quiet) {
  if (module_px < 1 || module_px > 64 || quiet < 0 || quiet > 64) return InvalidArgument("qr: bad PNG scale");
  const int side = (m.size + 2 * quiet) * module_px;
  crypto::Bytes out;
  std::vector<unsigned char> row(static_cast<size_t>(side));
  const RowSource source{&m, module_px, quiet, side};
  if (!WriteGrayPng(PngSink{&out, FillRow, &source}, side, row.data())) return Internal("png: encoding failed");
  return out;
}

}  // namespace quipu::node
