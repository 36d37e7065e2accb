#include "pdf/stamp.h"

#include <podofo/podofo.h>

#include <algorithm>
#include <cstdio>

#include "pdf/podofo_adapter.h"

namespace quipu::pdf {
namespace {

using namespace PoDoFo;

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

// A PDF literal string of printable Latin-1 text.
std::string Literal(const std::string& text) {
  std::string out = "(";
  for (unsigned char c : text) {
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    out += (c >= 0x20 && c != 0x7f) ? static_cast<char>(c) : '?';
  }
  return out + ")";
}

std::string ErrorName(const PdfError& e) {
  const char* name = PdfError::ErrorName(e.GetError());
  return name != nullptr ? name : "unknown PoDoFo error";
}

}  // namespace

Result<crypto::Bytes> StampQr(std::span<const uint8_t> pdf, const std::vector<bool>& modules, int size,
                              const StampOptions& options) {
  if (size < 21 || size > 177 || modules.size() != static_cast<size_t>(size) * static_cast<size_t>(size)) {
    return InvalidArgument("stamp: not a QR module matrix");
  }
  if (options.size_pt < 36 || options.size_pt > 600 || options.margin_pt < 0 || options.margin_pt > 300) {
    return InvalidArgument("stamp: size 36..600 pt, margin 0..300 pt");
  }
  if (options.caption.size() > 120) return InvalidArgument("stamp: caption up to 120 characters");
  const std::string_view text(reinterpret_cast<const char*>(pdf.data()), pdf.size());
  if (text.find("%PDF-") == std::string_view::npos || text.find("%PDF-") > 1024) {
    return InvalidArgument("stamp: not a PDF");
  }
  if (!internal::NestingDepthWithin(text, internal::kMaxNesting)) return InvalidArgument("stamp: PDF nests too deep");

  auto lock = internal::LockPodofo();
  PdfMemDocument doc;
  try {
    doc.LoadFromBuffer(reinterpret_cast<const char*>(pdf.data()), static_cast<long>(pdf.size()), /*bForUpdate=*/true);
  } catch (const PdfError& e) {
    if (e.GetError() == ePdfError_InvalidPassword) return InvalidArgument("stamp: the PDF is encrypted");
    return InvalidArgument("stamp: not a readable PDF: " + ErrorName(e));
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("stamp: not a readable PDF: ") + e.what());
  }
  try {
    if (doc.GetEncrypted()) return InvalidArgument("stamp: the PDF is encrypted");
    const int pages = doc.GetPageCount();
    const int number = options.page == 0 ? pages : options.page;
    if (number < 1 || number > pages) {
      return InvalidArgument("stamp: page " + std::to_string(options.page) + " of a " + std::to_string(pages) +
                             "-page PDF");
    }
    PdfPage* page = doc.GetPage(number - 1);
    const PdfRect box = page->GetMediaBox();
    const int rotation = ((page->GetRotation() % 360) + 360) % 360;
    // The page as it is displayed (after /Rotate): width and height.
    const bool sideways = rotation == 90 || rotation == 270;
    const double w = box.GetWidth(), h = box.GetHeight();
    const double vw = sideways ? h : w, vh = sideways ? w : h;

    // The code's square and caption, in displayed coordinates.
    const double side = options.size_pt;
    const double caption_h = options.caption.empty() ? 0 : 10;
    const bool left = options.corner == Corner::kBottomLeft || options.corner == Corner::kTopLeft;
    const bool bottom = options.corner == Corner::kBottomLeft || options.corner == Corner::kBottomRight;
    if (side + 2 * options.margin_pt > std::min(vw, vh)) return InvalidArgument("stamp: the page is too small");
    const double x0 = left ? options.margin_pt : vw - options.margin_pt - side;
    const double y0 = bottom ? options.margin_pt + caption_h : vh - options.margin_pt - side;

    // Fonts: Helvetica (base 14), registered in the page's resources.
    PdfFont* font = options.caption.empty() ? nullptr : doc.CreateFont("Helvetica");
    std::string ops = "Q\nq\n";
    // Map displayed coordinates to the page's user space.
    double a = 1, b = 0, c = 0, d = 1, e = 0, f = 0;
    if (rotation == 90) { a = 0; b = 1; c = -1; d = 0; e = w; f = 0; }
    if (rotation == 180) { a = -1; b = 0; c = 0; d = -1; e = w; f = h; }
    if (rotation == 270) { a = 0; b = -1; c = 1; d = 0; e = 0; f = h; }
    ops += Num(a) + " " + Num(b) + " " + Num(c) + " " + Num(d) + " " + Num(e + box.GetLeft()) + " " +
           Num(f + box.GetBottom()) + " cm\n";
    ops += "1 g " + Num(x0) + " " + Num(y0 - caption_h) + " " + Num(side) + " " + Num(side + caption_h) + " re f\n";
    const double unit = side / (size + 8);  // 4 modules of quiet zone each side
    ops += "0 g\n";
    for (int row = 0; row < size; ++row) {
      for (int col = 0; col < size; ++col) {
        if (!modules[static_cast<size_t>(row * size + col)]) continue;
        int run = 1;
        while (col + run < size && modules[static_cast<size_t>(row * size + col + run)]) ++run;
        const double x = x0 + (col + 4) * unit;
        const double y = y0 + side - (row + 5) * unit;  // row 0 at the top
        ops += Num(x) + " " + Num(y) + " " + Num(run * unit) + " " + Num(unit) + " re\n";
        col += run - 1;
      }
    }
    ops += "f\n";
    if (font != nullptr) {
      ops += "BT /" + std::string(font->GetIdentifier().GetName()) + " 6.5 Tf " + Num(x0 + 2) + " " +
             Num(y0 - caption_h + 3) + " Td " + Literal(options.caption) + " Tj ET\n";
    }
    ops += "Q\n";

    // The page's contents become [q, original..., stamp]: its own graphics
    // state cannot leak into the stamp, nor the stamp's into anything.
    PdfObject* page_obj = page->GetObject();
    PdfObject* open = doc.GetObjects().CreateObject();
    open->GetStream()->Set("q\n");
    PdfObject* stamp = doc.GetObjects().CreateObject();
    stamp->GetStream()->Set(ops.c_str(), static_cast<pdf_long>(ops.size()));
    PdfArray contents;
    contents.push_back(open->Reference());
    if (PdfObject* old = page_obj->GetDictionary().GetKey(PdfName("Contents"))) {
      PdfObject* resolved = old->IsReference() ? doc.GetObjects().GetObject(old->GetReference()) : old;
      if (resolved != nullptr && resolved->IsArray()) {
        for (const PdfObject& item : resolved->GetArray()) contents.push_back(item);
      } else {
        contents.push_back(*old);
      }
    }
    contents.push_back(stamp->Reference());
    page_obj->GetDictionary().AddKey(PdfName("Contents"), contents);
    if (font != nullptr) {
      // Resources may be the page's own, inherited, or an indirect object:
      // the page gets its own dictionary, a copy with the font added.
      PdfObject* res = page->GetResources();
      PdfDictionary resources = res != nullptr && res->IsDictionary() ? res->GetDictionary() : PdfDictionary();
      PdfDictionary fonts;
      if (PdfObject* f0 = resources.GetKey(PdfName("Font"))) {
        PdfObject* rf = f0->IsReference() ? doc.GetObjects().GetObject(f0->GetReference()) : f0;
        if (rf != nullptr && rf->IsDictionary()) fonts = rf->GetDictionary();
      }
      fonts.AddKey(font->GetIdentifier(), font->GetObject()->Reference());
      resources.AddKey(PdfName("Font"), fonts);
      page_obj->GetDictionary().AddKey(PdfName("Resources"), resources);
    }

    PdfRefCountedBuffer buffer;
    PdfOutputDevice device(&buffer);
    doc.WriteUpdate(&device, /*bTruncate=*/true);
    const auto* begin = reinterpret_cast<const uint8_t*>(buffer.GetBuffer());
    crypto::Bytes out(begin, begin + device.GetLength());
    if (out.size() <= pdf.size() || !std::equal(pdf.begin(), pdf.end(), out.begin())) {
      return Internal("stamp: the update did not keep the original bytes as a prefix");
    }
    return out;
  } catch (const PdfError& e) {
    return InvalidArgument("stamp: PoDoFo could not stamp this PDF: " + ErrorName(e));
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("stamp: PoDoFo could not stamp this PDF: ") + e.what());
  }
}

}  // namespace quipu::pdf
