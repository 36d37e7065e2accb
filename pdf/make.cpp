#include "pdf/make.h"

#include <podofo/podofo.h>

#include <algorithm>
#include <exception>
#include <string>

#include "pdf/podofo_adapter.h"

namespace quipu::pdf {
namespace {

constexpr int kMaxSamplePages = 100000;
constexpr const char* kSampleDate = "D:20260101000000Z";

std::string DescribePdfError(const PoDoFo::PdfError& e) {
  const char* name = PoDoFo::PdfError::ErrorName(e.GetError());
  return name != nullptr ? name : "unknown PoDoFo error";
}

// Copies what PoDoFo wrote into a PdfRefCountedBuffer (which may be larger
// than the data) into Bytes.
Bytes TakeWritten(const PoDoFo::PdfRefCountedBuffer& buffer, const PoDoFo::PdfOutputDevice& device) {
  const auto* begin = reinterpret_cast<const uint8_t*>(buffer.GetBuffer());
  return Bytes(begin, begin + device.GetLength());
}

}  // namespace

Result<Bytes> MakeSamplePdf(int pages, std::string_view text) {
  if (pages < 1 || pages > kMaxSamplePages) {
    return InvalidArgument("sample PDF page count " + std::to_string(pages) + " is not in [1, " +
                           std::to_string(kMaxSamplePages) + "]");
  }
  auto lock = internal::LockPodofo();
  try {
    PoDoFo::PdfMemDocument doc;
    doc.SetPdfVersion(PoDoFo::ePdfVersion_1_7);
    PoDoFo::PdfFont* font = doc.CreateFont("Helvetica");
    if (font == nullptr) return Internal("PoDoFo could not create the Helvetica base-14 font");
    font->SetFontSize(14.0);
    const std::string line(text);
    PoDoFo::PdfPainter painter;
    for (int i = 1; i <= pages; ++i) {
      PoDoFo::PdfPage* page =
          doc.CreatePage(PoDoFo::PdfPage::CreateStandardPageSize(PoDoFo::ePdfPageSize_A4));
      painter.SetPage(page);
      painter.SetFont(font);
      painter.DrawText(56.0, 780.0, PoDoFo::PdfString(line.c_str()));
      painter.DrawText(56.0, 56.0, PoDoFo::PdfString(("page " + std::to_string(i)).c_str()));
      painter.FinishPage();
    }
    doc.GetInfo()->SetCreator(PoDoFo::PdfString("quipu"));
    // PoDoFo dates a new document now; a sample is the same bytes whenever
    // it is made (its hash is what tests compare, a second apart or not).
    doc.GetInfo()->GetObject()->GetDictionary().AddKey(PoDoFo::PdfName("CreationDate"),
                                                       PoDoFo::PdfString(kSampleDate));
    PoDoFo::PdfRefCountedBuffer buffer;
    PoDoFo::PdfOutputDevice device(&buffer);
    doc.Write(&device);
    return TakeWritten(buffer, device);
  } catch (const PoDoFo::PdfError& e) {
    return Internal("PoDoFo failed to make a sample PDF: " + DescribePdfError(e));
  } catch (const std::exception& e) {
    return Internal(std::string("PoDoFo failed to make a sample PDF: ") + e.what());
  }
}

Result<Bytes> AppendIncrementalUpdate(std::span<const uint8_t> pdf, std::string_view text) {
  const std::string_view text_view(reinterpret_cast<const char*>(pdf.data()), pdf.size());
  if (!internal::NestingDepthWithin(text_view, internal::kMaxNesting)) {
    return InvalidArgument("PDF to update nests arrays or dictionaries more than " +
                           std::to_string(internal::kMaxNesting) + " levels deep");
  }
  auto lock = internal::LockPodofo();
  PoDoFo::PdfMemDocument doc;
  try {
    // For update, PoDoFo keeps its own copy of the buffer to copy into the output.
    doc.LoadFromBuffer(reinterpret_cast<const char*>(pdf.data()), static_cast<long>(pdf.size()),
                       /*bForUpdate=*/true);
  } catch (const PoDoFo::PdfError& e) {
    return InvalidArgument("PDF to update cannot be parsed: " + DescribePdfError(e));
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("PDF to update cannot be parsed: ") + e.what());
  }
  try {
    const std::string subject(text);
    doc.GetInfo()->SetSubject(PoDoFo::PdfString(subject.c_str()));
    doc.GetInfo()->GetObject()->GetDictionary().AddKey(PoDoFo::PdfName("ModDate"), PoDoFo::PdfString(kSampleDate));
    PoDoFo::PdfRefCountedBuffer buffer;
    PoDoFo::PdfOutputDevice device(&buffer);
    doc.WriteUpdate(&device, /*bTruncate=*/true);
    Bytes out = TakeWritten(buffer, device);
    if (out.size() < pdf.size() || !std::equal(pdf.begin(), pdf.end(), out.begin())) {
      return Internal("PoDoFo's incremental update did not keep the original bytes as a prefix");
    }
    return out;
  } catch (const PoDoFo::PdfError& e) {
    return Internal("PoDoFo failed to write an incremental update: " + DescribePdfError(e));
  } catch (const std::exception& e) {
    return Internal(std::string("PoDoFo failed to write an incremental update: ") + e.what());
  }
}

}  // namespace quipu::pdf
