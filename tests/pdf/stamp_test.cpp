// pdf/stamp: QR codes stamped as incremental updates, checked with
// independent readers: poppler renders the page (pdftoppm) and zbar decodes
// it (zbarimg), pdftotext finds the caption, pdfinfo reads the result,
// InspectPdf counts revisions. Placement is checked by rendering only the
// expected quarter of the page (and the opposite one, which must not decode),
// also for a rotated page with a non-zero MediaBox origin and for content that
// leaves its graphics state changed. Then an error-path section.
#include "pdf/stamp.h"

#include <gtest/gtest.h>
#include <podofo/podofo.h>
#include <qrencode.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../common/process.h"
#include "pdf/inspect.h"
#include "pdf/make.h"
#include "pdf/podofo_adapter.h"

namespace quipu::pdf {
namespace {

using testing::ReadFile;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;
using testing::WriteFile;

struct Qr {
  std::vector<bool> modules;
  int size = 0;
};

// Encodes `text` with libqrencode at error correction M.
Qr Encode(const std::string& text) {
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), &QRcode_free);
  Qr qr;
  if (code == nullptr) {
    ADD_FAILURE() << "libqrencode failed";
    return qr;
  }
  qr.size = code->width;
  qr.modules.resize(static_cast<size_t>(qr.size) * qr.size);
  for (size_t i = 0; i < qr.modules.size(); ++i) qr.modules[i] = (code->data[i] & 1) != 0;
  return qr;
}

// "QS1:" and 150 characters of the Base45 alphabet, as a QR Seguro text.
std::string QrText(unsigned seed) {
  static constexpr char kBase45[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  std::mt19937 rng(seed);
  std::string text = "QS1:";
  for (int i = 0; i < 150; ++i) text += kBase45[rng() % 45];
  return text;
}

Bytes MustMake(int pages, std::string_view text = "quipu sample") {
  auto r = MakeSamplePdf(pages, text);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : Bytes();
}

Bytes MustStamp(const Bytes& pdf, const std::string& text, const StampOptions& options) {
  const Qr qr = Encode(text);
  auto r = StampQr(pdf, qr.modules, qr.size, options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : Bytes();
}

bool IsPrefix(const Bytes& prefix, const Bytes& whole) {
  return prefix.size() < whole.size() && std::equal(prefix.begin(), prefix.end(), whole.begin());
}

// Writes `pdf` into `dir` and returns its path.
std::string Save(const TempDir& dir, const Bytes& pdf, const std::string& name = "doc.pdf") {
  const std::string path = dir.File(name);
  WriteFile(path, std::string(pdf.begin(), pdf.end()));
  return path;
}

// Which part of the rendered page to decode (in pixels at 200 dpi).
struct Crop {
  int x = 0, y = 0, w = 0, h = 0;  // w == 0: the whole page
};

// Renders page `page` at 200 dpi with pdftoppm and returns what zbarimg
// decodes from it (one line per symbol), or "" with the exit code in `rc`.
std::string RenderAndDecode(const std::string& pdf_path, int page, Crop crop = {}, int* rc = nullptr) {
  TempDir dir;
  const std::string prefix = dir.File("page");
  std::string cmd = "pdftoppm -r 200 -f " + std::to_string(page) + " -l " + std::to_string(page) +
                    " -png -singlefile";
  if (crop.w > 0) {
    cmd += " -x " + std::to_string(crop.x) + " -y " + std::to_string(crop.y) + " -W " +
           std::to_string(crop.w) + " -H " + std::to_string(crop.h);
  }
  auto render = RunShell(cmd + " " + ShellQuote(pdf_path) + " " + ShellQuote(prefix));
  EXPECT_EQ(render.exit_code, 0) << render.err;
  auto decode = RunShell("zbarimg --raw -q " + ShellQuote(prefix + ".png"));
  if (rc != nullptr) *rc = decode.exit_code;
  return decode.out;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// A4 at 200 dpi: 595 x 842 pt -> 1654 x 2339 px (pdftoppm rounds up).
constexpr int kA4W = 1654, kA4H = 2339;

Crop Quarter(Corner corner, int width, int height) {
  const bool right = corner == Corner::kBottomRight || corner == Corner::kTopRight;
  const bool top = corner == Corner::kTopRight || corner == Corner::kTopLeft;
  return {right ? width / 2 : 0, top ? 0 : height / 2, width / 2, height / 2};
}

Corner Opposite(Corner c) {
  switch (c) {
    case Corner::kBottomRight: return Corner::kTopLeft;
    case Corner::kBottomLeft: return Corner::kTopRight;
    case Corner::kTopRight: return Corner::kBottomLeft;
    case Corner::kTopLeft: return Corner::kBottomRight;
  }
  return c;
}

// Writes a one-page document built by `build` with PoDoFo.
template <typename F>
Bytes BuildWithPodofo(const PoDoFo::PdfRect& media, F build) {
  auto lock = internal::LockPodofo();
  PoDoFo::PdfMemDocument doc;
  PoDoFo::PdfPage* page = doc.CreatePage(media);
  build(doc, page);
  PoDoFo::PdfRefCountedBuffer buffer;
  PoDoFo::PdfOutputDevice device(&buffer);
  doc.Write(&device);
  const auto* begin = reinterpret_cast<const uint8_t*>(buffer.GetBuffer());
  return Bytes(begin, begin + device.GetLength());
}

const PoDoFo::PdfRect kA4(0, 0, 595, 842);

// ------------------------------------------------------------ round trips

TEST(StampQr, OnePageDecodesAndIsAnIncrementalUpdate) {
  const Bytes pdf = MustMake(1);
  const std::string text = QrText(1);
  StampOptions options;
  options.caption = "Verify at verify.quipu.example";
  const Bytes stamped = MustStamp(pdf, text, options);
  ASSERT_TRUE(IsPrefix(pdf, stamped));

  auto info = InspectPdf(stamped);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->pages, 1);
  ASSERT_EQ(info->revisions.size(), 2u);
  EXPECT_EQ(info->revisions[0].length, pdf.size());
  EXPECT_EQ(info->revisions[1].length, stamped.size());

  TempDir dir;
  const std::string path = Save(dir, stamped);
  auto pdfinfo = RunShell("pdfinfo " + ShellQuote(path));
  EXPECT_EQ(pdfinfo.exit_code, 0) << pdfinfo.err;
  EXPECT_NE(pdfinfo.out.find("Pages:           1\n"), std::string::npos) << pdfinfo.out;
  EXPECT_EQ(pdfinfo.err, "");  // poppler found nothing to complain about

  EXPECT_EQ(Trimmed(RenderAndDecode(path, 1)), text);
  auto words = RunShell("pdftotext " + ShellQuote(path) + " -");
  EXPECT_NE(words.out.find("Verify at verify.quipu.example"), std::string::npos) << words.out;
  EXPECT_NE(words.out.find("quipu sample"), std::string::npos) << words.out;  // original kept
  EXPECT_NE(words.out.find("page 1"), std::string::npos) << words.out;
}

TEST(StampQr, OriginalPageRendersTheSameOutsideTheStamp) {
  // The page without the stamp has no code; the original text is unchanged.
  const Bytes pdf = MustMake(1);
  TempDir dir;
  int rc = 0;
  EXPECT_EQ(RenderAndDecode(Save(dir, pdf), 1, {}, &rc), "");
  EXPECT_NE(rc, 0);
}

TEST(StampQr, EachCornerLandsInItsQuarter) {
  const Bytes pdf = MustMake(1);
  const std::string text = QrText(2);
  for (Corner corner : {Corner::kBottomRight, Corner::kBottomLeft, Corner::kTopRight, Corner::kTopLeft}) {
    SCOPED_TRACE(static_cast<int>(corner));
    StampOptions options;
    options.corner = corner;
    options.caption = "quipu";
    const Bytes stamped = MustStamp(pdf, text, options);
    ASSERT_TRUE(IsPrefix(pdf, stamped));
    TempDir dir;
    const std::string path = Save(dir, stamped);
    EXPECT_EQ(Trimmed(RenderAndDecode(path, 1, Quarter(corner, kA4W, kA4H))), text);
    int rc = 0;
    EXPECT_EQ(RenderAndDecode(path, 1, Quarter(Opposite(corner), kA4W, kA4H), &rc), "");
    EXPECT_NE(rc, 0);
  }
}

TEST(StampQr, PageOtherThanFirstAndLastPage) {
  const Bytes pdf = MustMake(3);
  const std::string text = QrText(3);
  for (int page : {2, 0}) {
    SCOPED_TRACE(page);
    StampOptions options;
    options.page = page;
    options.caption = "page stamp";
    const Bytes stamped = MustStamp(pdf, text, options);
    ASSERT_TRUE(IsPrefix(pdf, stamped));
    TempDir dir;
    const std::string path = Save(dir, stamped);
    const int target = page == 0 ? 3 : page;
    EXPECT_EQ(Trimmed(RenderAndDecode(path, target)), text);
    for (int other = 1; other <= 3; ++other) {
      if (other == target) continue;
      int rc = 0;
      EXPECT_EQ(RenderAndDecode(path, other, {}, &rc), "") << "page " << other;
    }
    auto words = RunShell("pdftotext -f " + std::to_string(target) + " -l " + std::to_string(target) +
                          " " + ShellQuote(path) + " -");
    EXPECT_NE(words.out.find("page stamp"), std::string::npos) << words.out;
    EXPECT_NE(words.out.find("page " + std::to_string(target)), std::string::npos) << words.out;
  }
}

TEST(StampQr, StampingTwiceGivesThreeRevisionsAndBothCodesDecode) {
  const Bytes pdf = MustMake(1);
  const std::string first = QrText(4), second = QrText(5);
  StampOptions a;
  a.corner = Corner::kBottomRight;
  a.caption = "first";
  const Bytes once = MustStamp(pdf, first, a);
  StampOptions b;
  b.corner = Corner::kTopLeft;
  b.caption = "second";
  const Bytes twice = MustStamp(once, second, b);
  ASSERT_TRUE(IsPrefix(pdf, once));
  ASSERT_TRUE(IsPrefix(once, twice));
  auto info = InspectPdf(twice);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_EQ(info->revisions.size(), 3u);
  EXPECT_EQ(info->revisions[0].length, pdf.size());
  EXPECT_EQ(info->revisions[1].length, once.size());
  TempDir dir;
  const std::string path = Save(dir, twice);
  const std::string decoded = RenderAndDecode(path, 1);
  EXPECT_NE(decoded.find(first + "\n"), std::string::npos) << decoded;
  EXPECT_NE(decoded.find(second + "\n"), std::string::npos) << decoded;
  EXPECT_EQ(Trimmed(RenderAndDecode(path, 1, Quarter(Corner::kTopLeft, kA4W, kA4H))), second);
  auto words = RunShell("pdftotext " + ShellQuote(path) + " -");
  EXPECT_NE(words.out.find("first"), std::string::npos) << words.out;
  EXPECT_NE(words.out.find("second"), std::string::npos) << words.out;
}

TEST(StampQr, RotatedPageWithShiftedMediaBoxUsesTheShownCorner) {
  // MediaBox [100 200 695 1042] rotated 90: shown landscape, 842 x 595 pt.
  const Bytes pdf = BuildWithPodofo(PoDoFo::PdfRect(100, 200, 595, 842),
                                    [](PoDoFo::PdfMemDocument&, PoDoFo::PdfPage* page) {
                                      page->SetRotation(90);
                                    });
  const std::string text = QrText(6);
  for (Corner corner : {Corner::kTopLeft, Corner::kBottomRight}) {
    SCOPED_TRACE(static_cast<int>(corner));
    StampOptions options;
    options.corner = corner;
    const Bytes stamped = MustStamp(pdf, text, options);
    ASSERT_TRUE(IsPrefix(pdf, stamped));
    TempDir dir;
    const std::string path = Save(dir, stamped);
    EXPECT_EQ(Trimmed(RenderAndDecode(path, 1, Quarter(corner, kA4H, kA4W))), text);
    int rc = 0;
    EXPECT_EQ(RenderAndDecode(path, 1, Quarter(Opposite(corner), kA4H, kA4W), &rc), "");
  }
}

TEST(StampQr, CropBoxOriginIsRespected) {
  // Only [300 400 595 842] is shown (295 x 442 pt); a stamp placed by the
  // MediaBox corner would be cut off.
  const Bytes pdf = BuildWithPodofo(kA4, [](PoDoFo::PdfMemDocument&, PoDoFo::PdfPage* page) {
    PoDoFo::PdfVariant crop;
    PoDoFo::PdfRect(300, 400, 295, 442).ToVariant(crop);
    page->GetObject()->GetDictionary().AddKey("CropBox", crop);
  });
  const std::string text = QrText(7);
  StampOptions options;
  options.corner = Corner::kBottomLeft;
  const Bytes stamped = MustStamp(pdf, text, options);
  TempDir dir;
  EXPECT_EQ(Trimmed(RenderAndDecode(Save(dir, stamped), 1)), text);
}

TEST(StampQr, LeakedGraphicsStateOfTheOriginalDoesNotMoveTheStamp) {
  // The original content scales, shifts and recolours without q/Q.
  const Bytes pdf = BuildWithPodofo(kA4, [](PoDoFo::PdfMemDocument&, PoDoFo::PdfPage* page) {
    const std::string content = "0.3 0 0 0.3 400 500 cm 1 1 1 rg 1 1 1 RG 9 w\n";
    page->GetContentsForAppending()->GetStream()->Set(content.data(), content.size());
  });
  const std::string text = QrText(8);
  StampOptions options;
  options.corner = Corner::kBottomLeft;
  const Bytes stamped = MustStamp(pdf, text, options);
  TempDir dir;
  EXPECT_EQ(Trimmed(RenderAndDecode(Save(dir, stamped), 1, Quarter(Corner::kBottomLeft, kA4W, kA4H))),
            text);
}

TEST(StampQr, SmallestAndLargestSizes) {
  const Bytes pdf = MustMake(1);
  for (double size_pt : {60.0, 200.0}) {
    SCOPED_TRACE(size_pt);
    StampOptions options;
    options.size_pt = size_pt;
    options.caption = "Caf\xe9 r\xe9sum\xe9";  // Latin-1
    const std::string text = QrText(9);
    TempDir dir;
    const std::string path = Save(dir, MustStamp(pdf, text, options));
    EXPECT_EQ(Trimmed(RenderAndDecode(path, 1)), text);
    auto words = RunShell("pdftotext -enc UTF-8 " + ShellQuote(path) + " -");
    EXPECT_NE(words.out.find("Caf\xc3\xa9 r\xc3\xa9sum\xc3\xa9"), std::string::npos) << words.out;
  }
}

// -------------------------------------------------- the placeholder, filled later

TEST(StampQr, APlaceholderDrawsNothingUntilFilledInPlace) {
  TempDir dir;
  const Bytes pdf = MustMake(1);
  const std::string text = QrText(40);
  const Qr qr = Encode(text);
  QrPlaceholder placeholder{qr.size, NewPlaceholderMarker()};
  auto stamped = StampQrPlaceholder(pdf, placeholder, StampOptions{});
  ASSERT_TRUE(stamped.ok()) << stamped.status().ToString();
  ASSERT_TRUE(IsPrefix(pdf, *stamped));
  int rc = 0;
  EXPECT_EQ(RenderAndDecode(Save(dir, *stamped, "blank.pdf"), 1, {}, &rc), "");  // a white square, no code
  const size_t size_before = stamped->size();
  Bytes filled = *stamped;
  ASSERT_TRUE(FillQrPlaceholder(filled, pdf.size(), placeholder, qr.modules, qr.size).ok());
  EXPECT_EQ(filled.size(), size_before);  // offsets and lengths unchanged: the xref still holds
  EXPECT_TRUE(IsPrefix(pdf, filled));
  EXPECT_EQ(Trimmed(RenderAndDecode(Save(dir, filled, "filled.pdf"), 1)), text);
  auto info = InspectPdf(filled);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->revisions.size(), 2u);
  // pdfinfo (poppler) reads it without complaint.
  auto pdfinfo = RunShell("pdfinfo " + ShellQuote(dir.File("filled.pdf")));
  EXPECT_EQ(pdfinfo.exit_code, 0) << pdfinfo.err;
  EXPECT_EQ(pdfinfo.err, "");
}

TEST(StampQr, TheReservedRoomHoldsTheWorstMatrixOfItsSize) {
  for (int size : {21, 25, 57, 65, 177}) {
    // Every other module dark: the most runs a row can have.
    std::vector<bool> checker(static_cast<size_t>(size) * size);
    for (int r = 0; r < size; ++r) {
      for (int c = r % 2; c < size; c += 2) checker[static_cast<size_t>(r) * size + c] = true;
    }
    const Bytes pdf = MustMake(1);
    QrPlaceholder placeholder{size, NewPlaceholderMarker()};
    auto stamped = StampQrPlaceholder(pdf, placeholder, StampOptions{});
    ASSERT_TRUE(stamped.ok()) << size;
    EXPECT_TRUE(FillQrPlaceholder(*stamped, pdf.size(), placeholder, checker, size).ok()) << size;
  }
  EXPECT_EQ(QrPlaceholderBytes(0), 0u);
  EXPECT_EQ(QrPlaceholderBytes(178), 0u);
}

TEST(StampQrErrors, AFillThatCannotBeMadeIsRefused) {
  const Bytes pdf = MustMake(1);
  const Qr qr = Encode(QrText(41));
  QrPlaceholder placeholder{qr.size, NewPlaceholderMarker()};
  auto stamped = StampQrPlaceholder(pdf, placeholder, StampOptions{});
  ASSERT_TRUE(stamped.ok());
  Bytes copy = *stamped;
  // Another size than the room was made for.
  const Qr other = Encode(std::string(400, 'A'));
  ASSERT_NE(other.size, qr.size);
  EXPECT_EQ(FillQrPlaceholder(copy, pdf.size(), placeholder, other.modules, other.size).code(),
            StatusCode::kInvalidArgument);
  // Another marker (not there), or one filled already (gone).
  QrPlaceholder wrong = placeholder;
  wrong.marker = NewPlaceholderMarker();
  EXPECT_FALSE(FillQrPlaceholder(copy, pdf.size(), wrong, qr.modules, qr.size).ok());
  ASSERT_TRUE(FillQrPlaceholder(copy, pdf.size(), placeholder, qr.modules, qr.size).ok());
  EXPECT_FALSE(FillQrPlaceholder(copy, pdf.size(), placeholder, qr.modules, qr.size).ok());
  // A marker inside the original is not the placeholder: the search starts
  // after it, so a PDF cannot smuggle in a fake one.
  Bytes twice = *stamped;
  const std::string needle = "%" + placeholder.marker + "\n";
  twice.insert(twice.end(), needle.begin(), needle.end());
  EXPECT_FALSE(FillQrPlaceholder(twice, pdf.size(), placeholder, qr.modules, qr.size).ok());
  // A room touched by anyone (a worker that filtered or trimmed it) is not
  // taken for the placeholder.
  Bytes damaged = *stamped;
  auto at = FindQrPlaceholder(damaged, pdf.size(), placeholder);
  ASSERT_TRUE(at.ok());
  damaged[*at + placeholder.marker.size() + 10] = 'x';
  EXPECT_EQ(FindQrPlaceholder(damaged, pdf.size(), placeholder).status().code(), StatusCode::kUnprocessable);
  Bytes cut(stamped->begin(), stamped->begin() + static_cast<long>(*at + 100));
  EXPECT_EQ(FindQrPlaceholder(cut, pdf.size(), placeholder).status().code(), StatusCode::kUnprocessable);
  // Markers must be long and plain.
  QrPlaceholder short_marker{qr.size, "abc"};
  EXPECT_EQ(StampQrPlaceholder(pdf, short_marker, StampOptions{}).status().code(), StatusCode::kInvalidArgument);
  QrPlaceholder odd_marker{qr.size, std::string(20, '%')};
  EXPECT_EQ(StampQrPlaceholder(pdf, odd_marker, StampOptions{}).status().code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------- errors

TEST(StampQrErrors, BadInputIsRefusedWithAReason) {
  const Bytes pdf = MustMake(3);
  const Qr qr = Encode(QrText(10));
  auto expect_refused = [&](std::span<const uint8_t> in, const std::vector<bool>& modules, int size,
                            const StampOptions& options, const std::string& words, StatusCode code) {
    auto r = StampQr(in, modules, size, options);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(words), std::string::npos) << r.status().ToString();
  };
  // Bad arguments are the caller's (400); a document that cannot be read
  // is the document's (422).
  auto expect_invalid = [&](std::span<const uint8_t> in, const std::vector<bool>& modules, int size,
                            const StampOptions& options, const std::string& words) {
    expect_refused(in, modules, size, options, words, StatusCode::kInvalidArgument);
  };
  const StampOptions defaults;
  const std::string garbage = "this is not a PDF at all";
  expect_refused(crypto::AsBytes(garbage), qr.modules, qr.size, defaults, "not a PDF", StatusCode::kUnprocessable);
  expect_refused({}, qr.modules, qr.size, defaults, "not a PDF", StatusCode::kUnprocessable);
  const std::string fake = "%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ngarbage\n%%EOF\n";
  expect_refused(crypto::AsBytes(fake), qr.modules, qr.size, defaults, "cannot be parsed", StatusCode::kUnprocessable);

  StampOptions page9;
  page9.page = 9;
  expect_invalid(pdf, qr.modules, qr.size, page9, "out of range: the PDF has 3 page");
  StampOptions negative;
  negative.page = -1;
  expect_invalid(pdf, qr.modules, qr.size, negative, "page -1");

  expect_invalid(pdf, {}, 0, defaults, "size 0");
  expect_invalid(pdf, qr.modules, qr.size + 1, defaults, "modules");
  expect_invalid(pdf, std::vector<bool>(178 * 178), 178, defaults, "size 178");

  StampOptions zero_pt;
  zero_pt.size_pt = 0;
  expect_invalid(pdf, qr.modules, qr.size, zero_pt, "size");
  StampOptions huge;
  huge.size_pt = 700;
  expect_invalid(pdf, qr.modules, qr.size, huge, "does not fit");
  StampOptions control;
  control.caption = "line\nbreak";
  expect_invalid(pdf, qr.modules, qr.size, control, "printable Latin-1");
  StampOptions long_caption;
  long_caption.caption = std::string(100, 'W');
  expect_invalid(pdf, qr.modules, qr.size, long_caption, "too long");
}

TEST(StampQrErrors, EncryptedDocumentsAreRefused) {
  const Qr qr = Encode(QrText(11));
  for (const char* user : {"user secret", ""}) {
    SCOPED_TRACE(user);
    const Bytes pdf = BuildWithPodofo(kA4, [user](PoDoFo::PdfMemDocument& doc, PoDoFo::PdfPage*) {
      doc.SetEncrypted(user, "owner secret", PoDoFo::PdfEncrypt::ePdfPermissions_Print,
                       PoDoFo::PdfEncrypt::ePdfEncryptAlgorithm_AESV3, PoDoFo::PdfEncrypt::ePdfKeyLength_256);
    });
    auto r = StampQr(pdf, qr.modules, qr.size, StampOptions{});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnprocessable);
    EXPECT_NE(r.status().message().find("encrypted"), std::string::npos) << r.status().ToString();
  }
}

TEST(StampQrErrors, TruncatedDocumentsNeverCrash) {
  const Bytes pdf = MustMake(1);
  const Qr qr = Encode(QrText(12));
  for (size_t cut = 0; cut < pdf.size(); cut += pdf.size() / 10 + 1) {
    auto r = StampQr(std::span<const uint8_t>(pdf.data(), cut), qr.modules, qr.size, StampOptions{});
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kUnprocessable) << r.status().ToString();
    } else {  // PoDoFo may rebuild a damaged xref: the prefix rule still holds
      EXPECT_TRUE(std::equal(pdf.begin(), pdf.begin() + static_cast<long>(cut), r->begin()));
    }
  }
}

}  // namespace
}  // namespace quipu::pdf
