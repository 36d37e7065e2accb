#include "pdf/stamp.h"

#include <podofo/podofo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "crypto/random.h"
#include "pdf/inspect.h"
#include "pdf/podofo_adapter.h"

namespace quipu::pdf {
namespace {

constexpr int kMaxQrSize = 177;        // version 40
constexpr int kQuietModules = 4;       // ISO/IEC 18004 quiet zone
constexpr size_t kMaxCaption = 120;
constexpr double kCaptionMaxPt = 7.0;  // caption font size, shrunk to fit
constexpr double kCaptionMinPt = 4.0;
constexpr int kMaxInheritDepth = 64;   // guards /Parent cycles

std::string DescribePdfError(const PoDoFo::PdfError& e) {
  const char* name = PoDoFo::PdfError::ErrorName(e.GetError());
  return name != nullptr ? name : "unknown PoDoFo error";
}

// Appends `v` in a short fixed-point form PDF accepts (no exponent).
void AppendNumber(std::string& out, double v) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.4f", v);
  if (n <= 0) return;
  while (n > 1 && buf[n - 1] == '0') --n;  // trim trailing zeros
  if (buf[n - 1] == '.') --n;
  if (n == 2 && buf[0] == '-' && buf[1] == '0') {
    out += '0';
    return;
  }
  out.append(buf, static_cast<size_t>(n));
}

void AppendNumbers(std::string& out, std::initializer_list<double> values) {
  for (double v : values) {
    AppendNumber(out, v);
    out += ' ';
  }
}

bool IsPrintableLatin1(unsigned char c) { return (c >= 0x20 && c <= 0x7e) || c >= 0xa0; }

// Returns the PDF literal string for Latin-1 `text` (WinAnsi agrees with
// Latin-1 on every printable byte).
std::string LiteralString(std::string_view text) {
  std::string out = "(";
  for (char c : text) {
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    out += c;
  }
  return out + ")";
}

// Looks `key` up on the page and its /Parent chain (page attributes such as
// /Resources and /Rotate are inheritable). Returns the resolved object or null.
PoDoFo::PdfObject* InheritedKey(PoDoFo::PdfObject* node, const char* key) {
  for (int depth = 0; node != nullptr && node->IsDictionary() && depth < kMaxInheritDepth; ++depth) {
    if (PoDoFo::PdfObject* value = node->GetIndirectKey(key)) return value;
    node = node->GetIndirectKey("Parent");
  }
  return nullptr;
}

// A 2-D affine map [a b c d e f] as PDF's `cm` takes it.
struct Matrix {
  double a, b, c, d, e, f;
};

// Maps "upright" coordinates (origin at the bottom-left of the page as it is
// displayed, after a clockwise /Rotate) to default user space of the box
// (x0, y0, w, h).
Matrix UprightToUser(int rotate, double x0, double y0, double w, double h) {
  switch (rotate) {
    case 90: return {0, 1, -1, 0, x0 + w, y0};
    case 180: return {-1, 0, 0, -1, x0 + w, y0 + h};
    case 270: return {0, -1, 1, 0, x0, y0 + h};
    default: return {1, 0, 0, 1, x0, y0};
  }
}

// The content of the stamp's form XObject, in its own space (origin at the
// bottom-left of the white square, `side` wide): the background, the code's
// own form XObject /Q1 scaled to its place (so the code can be filled in
// later without touching anything else), and the caption centred under it.
std::string StampContent(int size, double side, double caption_height, double font_pt,
                         double caption_width, std::string_view caption, double total_height) {
  std::string out;
  out += "q 1 g 0 0 ";
  AppendNumbers(out, {side, total_height});
  out += "re f 0 g\nq ";
  const double m = side / (size + 2 * kQuietModules);
  AppendNumbers(out, {m, 0, 0, m, kQuietModules * m, caption_height + kQuietModules * m});
  out += "cm /Q1 Do Q\n";
  if (!caption.empty()) {
    out += "BT /F1 ";
    AppendNumber(out, font_pt);
    out += " Tf ";
    AppendNumbers(out, {(side - caption_width) / 2, caption_height - font_pt * 1.1});
    out += "Td ";
    out += LiteralString(caption);
    out += " Tj ET\n";
  }
  out += "Q\n";
  return out;
}

// The code's own content, in module units (one module = 1, origin at the
// bottom-left module): one `re` per horizontal run of dark modules, filled
// as one path (so no seams).
std::string ModulesContent(const std::vector<bool>& modules, int size) {
  std::string out = "0 g\n";
  for (int r = 0; r < size; ++r) {
    const std::string y = std::to_string(size - 1 - r);
    const size_t row = static_cast<size_t>(r) * static_cast<size_t>(size);
    for (int c = 0; c < size;) {
      if (!modules[row + static_cast<size_t>(c)]) {
        ++c;
        continue;
      }
      int end = c + 1;
      while (end < size && modules[row + static_cast<size_t>(end)]) ++end;
      out += std::to_string(c) + ' ' + y + ' ' + std::to_string(end - c) + " 1 re\n";
      c = end;
    }
  }
  out += "f\n";
  return out;
}

bool IsMarker(std::string_view marker) {
  if (marker.size() < 16 || marker.size() > 64) return false;
  return std::all_of(marker.begin(), marker.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
}

// The placeholder's bytes: "%<marker>" on the first line, then spaces up to
// the reserved size (a comment and whitespace: an empty drawing).
std::string PlaceholderContent(const QrPlaceholder& qr) {
  std::string out = "%" + qr.marker + "\n";
  out.resize(QrPlaceholderBytes(qr.size), ' ');
  return out;
}

PoDoFo::PdfObject* NewStream(PoDoFo::PdfVecObjects& objects, const std::string& content) {
  PoDoFo::PdfObject* obj = objects.CreateObject();
  obj->GetStream()->Set(content.data(), static_cast<PoDoFo::pdf_long>(content.size()));
  return obj;
}

// A stream written as it is (no filter), so its bytes can be found and
// overwritten in the output.
PoDoFo::PdfObject* NewRawStream(PoDoFo::PdfVecObjects& objects, const std::string& content) {
  PoDoFo::PdfObject* obj = objects.CreateObject();
  obj->GetStream()->Set(content.data(), static_cast<PoDoFo::pdf_long>(content.size()), PoDoFo::TVecFilters());
  return obj;
}

Status CheckMatrix(const std::vector<bool>& modules, int size) {
  if (size <= 0 || size > kMaxQrSize) {
    return InvalidArgument("QR matrix size " + std::to_string(size) + " is not in [1, " +
                           std::to_string(kMaxQrSize) + "]");
  }
  if (modules.size() != static_cast<size_t>(size) * static_cast<size_t>(size)) {
    return InvalidArgument("QR matrix has " + std::to_string(modules.size()) +
                           " modules, not size x size = " + std::to_string(size * size));
  }
  return Status::Ok();
}

Status CheckArguments(std::span<const uint8_t> pdf, const QrPlaceholder& qr, const StampOptions& options) {
  if (!LooksLikePdf(pdf)) return Unprocessable("input to stamp is not a PDF (no %PDF- header)");
  if (qr.size <= 0 || qr.size > kMaxQrSize) {
    return InvalidArgument("QR matrix size " + std::to_string(qr.size) + " is not in [1, " +
                           std::to_string(kMaxQrSize) + "]");
  }
  if (!IsMarker(qr.marker)) return InvalidArgument("QR placeholder marker must be 16 to 64 letters or digits");
  if (!std::isfinite(options.size_pt) || options.size_pt <= 0 || options.size_pt > 14400) {
    return InvalidArgument("QR stamp size must be a positive number of points");
  }
  if (!std::isfinite(options.margin_pt) || options.margin_pt < 0) {
    return InvalidArgument("QR stamp margin must be a non-negative number of points");
  }
  if (options.page < 0) {
    return InvalidArgument("page " + std::to_string(options.page) + " is not a page number (1-based, 0 = last)");
  }
  if (options.caption.size() > kMaxCaption) {
    return InvalidArgument("QR stamp caption is longer than " + std::to_string(kMaxCaption) + " bytes");
  }
  for (char c : options.caption) {
    if (!IsPrintableLatin1(static_cast<unsigned char>(c))) {
      return InvalidArgument("QR stamp caption has a byte that is not printable Latin-1");
    }
  }
  const std::string_view text(reinterpret_cast<const char*>(pdf.data()), pdf.size());
  if (!internal::NestingDepthWithin(text, internal::kMaxNesting)) {
    return Unprocessable("PDF to stamp nests arrays or dictionaries more than " +
                         std::to_string(internal::kMaxNesting) + " levels deep");
  }
  return Status::Ok();
}

// Adds the stamp to the loaded document. Throws PoDoFo::PdfError; returns a
// non-ok Status for bad arguments found only now (page range, fit).
Status AddStamp(PoDoFo::PdfMemDocument& doc, const QrPlaceholder& qr, const StampOptions& options) {
  const int pages = doc.GetPageCount();
  const int number = options.page == 0 ? pages : options.page;
  if (pages <= 0 || number > pages) {
    return InvalidArgument("page " + std::to_string(options.page) + " is out of range: the PDF has " +
                           std::to_string(pages) + " page(s)");
  }
  PoDoFo::PdfPage* page = doc.GetPage(number - 1);
  if (page == nullptr) return Unprocessable("page " + std::to_string(number) + " cannot be read");
  PoDoFo::PdfObject* page_obj = page->GetObject();
  PoDoFo::PdfVecObjects& objects = doc.GetObjects();

  // The visible area: the CropBox clipped to the MediaBox.
  const PoDoFo::PdfRect media = page->GetMediaBox();
  PoDoFo::PdfRect box = page->GetCropBox();
  {
    const double l = std::max(box.GetLeft(), media.GetLeft());
    const double b = std::max(box.GetBottom(), media.GetBottom());
    const double r = std::min(box.GetLeft() + box.GetWidth(), media.GetLeft() + media.GetWidth());
    const double t = std::min(box.GetBottom() + box.GetHeight(), media.GetBottom() + media.GetHeight());
    box = (r > l && t > b) ? PoDoFo::PdfRect(l, b, r - l, t - b) : media;
  }
  int rotate = 0;
  if (PoDoFo::PdfObject* rot = InheritedKey(page_obj, "Rotate"); rot != nullptr && rot->IsNumber()) {
    rotate = static_cast<int>(((rot->GetNumber() % 360) + 360) % 360);
    if (rotate % 90 != 0) rotate = 0;  // invalid; readers ignore it
  }
  const bool quarter = rotate == 90 || rotate == 270;
  const double shown_w = quarter ? box.GetHeight() : box.GetWidth();
  const double shown_h = quarter ? box.GetWidth() : box.GetHeight();

  // The caption's font and its size, shrunk until the text fits the width.
  const double side = options.size_pt;
  PoDoFo::PdfFont* font = nullptr;
  double font_pt = 0, caption_width = 0, caption_height = 0;
  if (!options.caption.empty()) {
    font = doc.CreateFont("Helvetica", false, PoDoFo::PdfEncodingFactory::GlobalWinAnsiEncodingInstance(),
                          PoDoFo::PdfFontCache::eFontCreationFlags_AutoSelectBase14, false);
    if (font == nullptr) return Internal("PoDoFo could not create the Helvetica base-14 font");
    PoDoFo::PdfFontMetrics* metrics = font->GetFontMetrics2();
    for (font_pt = kCaptionMaxPt;; font_pt -= 0.5) {
      metrics->SetFontSize(static_cast<float>(font_pt));
      caption_width = metrics->StringWidth(options.caption.c_str(),
                                           static_cast<PoDoFo::pdf_long>(options.caption.size()));
      if (caption_width <= side * 0.96 || font_pt <= kCaptionMinPt) break;
    }
    if (caption_width > side * 0.96) {
      return InvalidArgument("QR stamp caption is too long to fit under a " + std::to_string(side) +
                             " pt code even at " + std::to_string(kCaptionMinPt) + " pt");
    }
    caption_height = font_pt * 1.5;
  }
  const double total_h = side + caption_height;
  const double margin = options.margin_pt;
  if (side + 2 * margin > shown_w || total_h + 2 * margin > shown_h) {
    return InvalidArgument("QR stamp of " + std::to_string(side) + " pt with a " + std::to_string(margin) +
                           " pt margin does not fit on page " + std::to_string(number));
  }
  const bool right = options.corner == Corner::kBottomRight || options.corner == Corner::kTopRight;
  const bool top = options.corner == Corner::kTopRight || options.corner == Corner::kTopLeft;
  const double u = right ? shown_w - margin - side : margin;
  const double v = top ? shown_h - margin - total_h : margin;

  // The code's form XObject, in module units, holding the placeholder.
  PoDoFo::PdfObject* code = NewRawStream(objects, PlaceholderContent(qr));
  PoDoFo::PdfDictionary& code_dict = code->GetDictionary();
  code_dict.AddKey(PoDoFo::PdfName::KeyType, PoDoFo::PdfName("XObject"));
  code_dict.AddKey(PoDoFo::PdfName::KeySubtype, PoDoFo::PdfName("Form"));
  PoDoFo::PdfArray code_bbox;
  for (double x : {0.0, 0.0, static_cast<double>(qr.size), static_cast<double>(qr.size)}) {
    code_bbox.push_back(PoDoFo::PdfVariant(x));
  }
  code_dict.AddKey("BBox", code_bbox);
  code_dict.AddKey("Resources", PoDoFo::PdfDictionary());

  // The form XObject holding the drawing, with its own resources.
  PoDoFo::PdfObject* form = NewStream(
      objects, StampContent(qr.size, side, caption_height, font_pt, caption_width, options.caption, total_h));
  PoDoFo::PdfDictionary& form_dict = form->GetDictionary();
  form_dict.AddKey(PoDoFo::PdfName::KeyType, PoDoFo::PdfName("XObject"));
  form_dict.AddKey(PoDoFo::PdfName::KeySubtype, PoDoFo::PdfName("Form"));
  PoDoFo::PdfArray bbox;
  for (double x : {0.0, 0.0, side, total_h}) bbox.push_back(PoDoFo::PdfVariant(x));
  form_dict.AddKey("BBox", bbox);
  PoDoFo::PdfDictionary form_resources;
  PoDoFo::PdfDictionary form_xobjects;
  form_xobjects.AddKey("Q1", code->Reference());
  form_resources.AddKey("XObject", form_xobjects);
  if (font != nullptr) {
    PoDoFo::PdfDictionary fonts;
    fonts.AddKey("F1", font->GetObject()->Reference());
    form_resources.AddKey("Font", fonts);
  }
  form_dict.AddKey("Resources", form_resources);

  // The page's resources: a direct copy (they may be shared or inherited)
  // with the form added under a name not used yet.
  PoDoFo::PdfDictionary resources;
  if (PoDoFo::PdfObject* old = InheritedKey(page_obj, "Resources"); old != nullptr && old->IsDictionary()) {
    resources = old->GetDictionary();
  }
  PoDoFo::PdfDictionary xobjects;
  if (PoDoFo::PdfObject* old = resources.GetKey("XObject")) {
    if (old->IsReference()) old = objects.GetObject(old->GetReference());
    if (old != nullptr && old->IsDictionary()) xobjects = old->GetDictionary();
  }
  std::string name;
  for (int i = 1;; ++i) {
    name = "QuipuQr" + std::to_string(i);
    if (!xobjects.HasKey(name)) break;
  }
  xobjects.AddKey(PoDoFo::PdfName(name), form->Reference());
  resources.AddKey("XObject", xobjects);
  page_obj->GetDictionary().AddKey("Resources", resources);

  // The contents: q, the original streams, Q, then the stamp, so whatever
  // graphics state the original leaves behind cannot move or recolour it.
  PoDoFo::PdfArray contents;
  contents.push_back(NewStream(objects, "q\n")->Reference());
  if (PoDoFo::PdfObject* old = page_obj->GetDictionary().GetKey("Contents")) {
    PoDoFo::PdfObject* resolved = old->IsReference() ? objects.GetObject(old->GetReference()) : old;
    if (resolved != nullptr && resolved->IsArray()) {
      for (const PoDoFo::PdfObject& item : resolved->GetArray()) contents.push_back(item);
    } else if (old->IsReference()) {
      contents.push_back(*old);
    }
  }
  contents.push_back(NewStream(objects, "\nQ\n")->Reference());
  const Matrix to_user = UprightToUser(rotate, box.GetLeft(), box.GetBottom(), box.GetWidth(), box.GetHeight());
  std::string draw = "q ";
  AppendNumbers(draw, {to_user.a, to_user.b, to_user.c, to_user.d, to_user.e, to_user.f});
  draw += "cm 1 0 0 1 ";
  AppendNumbers(draw, {u, v});
  draw += "cm /" + name + " Do Q\n";
  contents.push_back(NewStream(objects, draw)->Reference());
  page_obj->GetDictionary().AddKey("Contents", contents);
  return Status::Ok();
}

}  // namespace

size_t QrPlaceholderBytes(int size) {
  if (size <= 0 || size > kMaxQrSize) return 0;
  // The worst case of ModulesContent: every other module dark, each run
  // "ccc rrr www 1 re\n" (17 bytes); room for the marker line too.
  const size_t runs = static_cast<size_t>(size) * static_cast<size_t>((size + 1) / 2);
  return std::max<size_t>(4 + runs * 17 + 2, 80);
}

Result<Bytes> StampQrPlaceholder(std::span<const uint8_t> pdf, const QrPlaceholder& qr, const StampOptions& options) {
  QUIPU_RETURN_IF_ERROR(CheckArguments(pdf, qr, options));
  auto lock = internal::LockPodofo();
  PoDoFo::PdfMemDocument doc;
  try {
    doc.LoadFromBuffer(reinterpret_cast<const char*>(pdf.data()), static_cast<long>(pdf.size()),
                       /*bForUpdate=*/true);
  } catch (const PoDoFo::PdfError& e) {
    if (e.GetError() == PoDoFo::ePdfError_InvalidPassword) {
      return Unprocessable("PDF to stamp is encrypted with a password");
    }
    if (e.GetError() == PoDoFo::ePdfError_CannotEncryptedForUpdate) {
      return Unprocessable("PDF to stamp is encrypted; encrypted PDFs are not stamped");
    }
    return Unprocessable("PDF to stamp cannot be parsed: " + DescribePdfError(e));
  } catch (const std::bad_alloc&) {
    return Unprocessable("PDF to stamp cannot be parsed: it needs more memory than the parser may use");
  } catch (const std::exception& e) {
    return Unprocessable(std::string("PDF to stamp cannot be parsed: ") + e.what());
  }
  if (doc.GetEncrypted()) {
    // New objects would have to be encrypted with the document's key; an
    // encrypted document is not stamped rather than stamped in clear.
    return Unprocessable("PDF to stamp is encrypted; encrypted PDFs are not stamped");
  }
  try {
    QUIPU_RETURN_IF_ERROR(AddStamp(doc, qr, options));
    PoDoFo::PdfRefCountedBuffer buffer;
    PoDoFo::PdfOutputDevice device(&buffer);
    doc.WriteUpdate(&device, /*bTruncate=*/true);
    const auto* begin = reinterpret_cast<const uint8_t*>(buffer.GetBuffer());
    Bytes out(begin, begin + device.GetLength());
    if (out.size() <= pdf.size() || !std::equal(pdf.begin(), pdf.end(), out.begin())) {
      return Internal("PoDoFo's incremental update did not keep the original bytes as a prefix");
    }
    return out;
  } catch (const PoDoFo::PdfError& e) {
    // The document loaded but its structure defeats the writer (a cyclic
    // page tree, a broken object): the document's fault, not quipu's.
    return Unprocessable("PDF cannot be stamped: " + DescribePdfError(e));
  } catch (const std::bad_alloc&) {
    return Unprocessable("PDF cannot be stamped: it needs more memory than the parser may use");
  } catch (const std::exception& e) {
    return Unprocessable(std::string("PDF cannot be stamped: ") + e.what());
  }
}

Result<size_t> FindQrPlaceholder(std::span<const uint8_t> stamped, size_t original_size, const QrPlaceholder& qr) {
  if (!IsMarker(qr.marker) || original_size > stamped.size() || QrPlaceholderBytes(qr.size) == 0) {
    return InvalidArgument("QR placeholder: bad marker, size or original size");
  }
  const std::string needle = "%" + qr.marker + "\n";
  const std::string_view text(reinterpret_cast<const char*>(stamped.data()), stamped.size());
  const size_t at = text.find(needle, original_size);
  if (at == std::string_view::npos || text.find(needle, at + 1) != std::string_view::npos) {
    return Unprocessable("QR placeholder: the marker is not in the stamped PDF exactly once");
  }
  // All of the room, as it was written: unfiltered, whole, nothing else in it.
  const std::string room = PlaceholderContent(qr);
  if (text.substr(at, room.size()) != room) {
    return Unprocessable("QR placeholder: the reserved room is not intact in the stamped PDF");
  }
  return at;
}

Status FillQrPlaceholder(Bytes& stamped, size_t original_size, const QrPlaceholder& qr,
                         const std::vector<bool>& modules, int size) {
  QUIPU_RETURN_IF_ERROR(CheckMatrix(modules, size));
  if (size != qr.size) {
    return InvalidArgument("QR matrix of " + std::to_string(size) + " modules for a placeholder of " +
                           std::to_string(qr.size));
  }
  QUIPU_ASSIGN_OR_RETURN(size_t at, FindQrPlaceholder(stamped, original_size, qr));
  const size_t reserved = QrPlaceholderBytes(size);
  std::string content = ModulesContent(modules, size);
  if (content.size() > reserved) {
    return Internal("QR placeholder: the code does not fit its reserved " + std::to_string(reserved) + " bytes");
  }
  content.resize(reserved, ' ');
  std::copy(content.begin(), content.end(), stamped.begin() + static_cast<std::ptrdiff_t>(at));
  return Status::Ok();
}

Result<Bytes> StampQr(std::span<const uint8_t> pdf, const std::vector<bool>& modules, int size,
                      const StampOptions& options) {
  QUIPU_RETURN_IF_ERROR(CheckMatrix(modules, size));
  QrPlaceholder qr;
  qr.size = size;
  qr.marker = NewPlaceholderMarker();
  QUIPU_ASSIGN_OR_RETURN(Bytes out, StampQrPlaceholder(pdf, qr, options));
  QUIPU_RETURN_IF_ERROR(FillQrPlaceholder(out, pdf.size(), qr, modules, size));
  return out;
}

std::string NewPlaceholderMarker() {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string out = "QuipuQrPlaceholder";
  for (uint8_t b : crypto::RandomBytes(24)) out += kDigits[b % 62];
  return out;
}

}  // namespace quipu::pdf
