#include "pdf/inspect.h"

#include <podofo/podofo.h>

#include <algorithm>
#include <exception>
#include <fstream>
#include <string_view>

#include "pdf/podofo_adapter.h"

namespace quipu::pdf {
namespace {

constexpr std::string_view kHeader = "%PDF-";
constexpr std::string_view kEofMarker = "%%EOF";

bool IsPdfWhitespace(uint8_t c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\0';
}

std::string_view AsView(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::string VersionName(PoDoFo::EPdfVersion version) {
  const int minor = static_cast<int>(version) - static_cast<int>(PoDoFo::ePdfVersion_1_0);
  return "1." + std::to_string(minor);
}

// True if a dictionary marks a signature: a /Type /Sig value dictionary, or a
// signature field (/FT /Sig) that carries a value.
bool IsSignature(const PoDoFo::PdfDictionary& dict) {
  const PoDoFo::PdfObject* type = dict.GetKey(PoDoFo::PdfName("Type"));
  if (type != nullptr && type->IsName() && type->GetName() == PoDoFo::PdfName("Sig")) return true;
  const PoDoFo::PdfObject* ft = dict.GetKey(PoDoFo::PdfName("FT"));
  return ft != nullptr && ft->IsName() && ft->GetName() == PoDoFo::PdfName("Sig") &&
         dict.HasKey(PoDoFo::PdfName("V"));
}

bool HasSignatures(PoDoFo::PdfMemDocument& doc) {
  for (PoDoFo::PdfObject* object : doc.GetObjects()) {
    if (object != nullptr && object->IsDictionary() && IsSignature(object->GetDictionary())) {
      return true;
    }
  }
  return false;
}

// True if `text` holds the name /Encrypt as a whole token (not, say,
// /EncryptMetadata).
bool HasEncryptName(std::string_view text) {
  constexpr std::string_view kName = "/Encrypt";
  for (size_t at = text.find(kName); at != std::string_view::npos;
       at = text.find(kName, at + 1)) {
    const size_t end = at + kName.size();
    if (end == text.size() || std::string_view(" \t\r\n\f/<[(").find(text[end]) !=
                                  std::string_view::npos) {
      return true;
    }
  }
  return false;
}

// After a failed load (PoDoFo's parser forgets the trailer when it throws):
// says whether the last trailer names an /Encrypt dictionary, looking at the
// bytes of the classic trailer before the last `startxref`, or at the
// dictionary of the cross-reference stream that `startxref` points to.
bool TrailerHasEncrypt(std::string_view text) {
  const size_t startxref = text.rfind("startxref");
  if (startxref == std::string_view::npos) return false;
  const size_t trailer = text.rfind("trailer", startxref);
  if (trailer != std::string_view::npos &&
      HasEncryptName(text.substr(trailer, startxref - trailer))) {
    return true;
  }
  size_t at = text.find_first_not_of(" \t\r\n\f", startxref + 9);
  uint64_t offset = 0;
  int digits = 0;
  for (; at < text.size() && text[at] >= '0' && text[at] <= '9' && digits < 19; ++at, ++digits) {
    offset = offset * 10 + static_cast<uint64_t>(text[at] - '0');
  }
  if (digits == 0 || offset >= text.size()) return false;
  std::string_view xref_object = text.substr(offset, 4096);
  xref_object = xref_object.substr(0, xref_object.find("stream"));
  return xref_object.find("/XRef") != std::string_view::npos && HasEncryptName(xref_object);
}

std::string DescribePdfError(const PoDoFo::PdfError& e) {
  const char* name = PoDoFo::PdfError::ErrorName(e.GetError());
  const char* message = PoDoFo::PdfError::ErrorMessage(e.GetError());
  std::string out = name != nullptr ? name : "unknown PoDoFo error";
  if (message != nullptr && *message != '\0') out += std::string(" (") + message + ")";
  return out;
}

// Parses with PoDoFo under the global lock and fills version, pages,
// encrypted and has_signatures.
Status ParseWithPodofo(std::span<const uint8_t> bytes, PdfFacts& info) {
  auto lock = internal::LockPodofo();
  try {
    // Declared before the document: PoDoFo may read objects on demand while
    // the document lives, through a device that borrows this stream.
    internal::SpanStreamBuf buffer({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
    std::istream stream(&buffer);
    PoDoFo::PdfRefCountedInputDevice device(new PoDoFo::PdfInputDevice(&stream));
    PoDoFo::PdfMemDocument doc;
    try {
      doc.LoadFromDevice(device, /*bForUpdate=*/false);
    } catch (const PoDoFo::PdfError& e) {
      // A password other than the empty one is needed, or PoDoFo cannot run
      // the document's cipher (OpenSSL 3 has no RC4 by default): report the
      // document as encrypted, its content unreadable, rather than refuse it.
      if (e.GetError() == PoDoFo::ePdfError_InvalidPassword || TrailerHasEncrypt(AsView(bytes))) {
        info.encrypted = true;
        info.pages = 0;
        return Status::Ok();
      }
      throw;
    }
    info.version = VersionName(doc.GetPdfVersion());
    info.pages = doc.GetPageCount();
    const PoDoFo::PdfObject* trailer = doc.GetTrailer();
    info.encrypted = doc.GetEncrypt() != nullptr ||
                     (trailer != nullptr && trailer->IsDictionary() &&
                      trailer->GetDictionary().HasKey(PoDoFo::PdfName("Encrypt")));
    info.has_signatures = HasSignatures(doc);
    if (info.pages < 0) return Unprocessable("PDF page tree has a negative page count");
    return Status::Ok();
  } catch (const PoDoFo::PdfError& e) {
    return Unprocessable("PDF cannot be parsed: " + DescribePdfError(e));
  } catch (const std::bad_alloc&) {
    return Unprocessable("PDF cannot be parsed: it needs more memory than the parser may use");
  } catch (const std::exception& e) {
    return Unprocessable(std::string("PDF cannot be parsed: ") + e.what());
  } catch (...) {
    return Unprocessable("PDF cannot be parsed: unknown exception");
  }
}

// The version from the "%PDF-x.y" header, used when PoDoFo could not open an
// encrypted document far enough to report it.
std::string HeaderVersion(std::string_view text) {
  const size_t at = text.substr(0, 1024).find(kHeader);
  if (at == std::string_view::npos) return "";
  std::string_view rest = text.substr(at + kHeader.size());
  size_t n = 0;
  while (n < rest.size() && n < 8 && ((rest[n] >= '0' && rest[n] <= '9') || rest[n] == '.')) ++n;
  return std::string(rest.substr(0, n));
}

}  // namespace

bool LooksLikePdf(std::span<const uint8_t> bytes) {
  return AsView(bytes).substr(0, 1024).find(kHeader) != std::string_view::npos;
}

std::vector<PdfRevision> ScanRevisions(std::span<const uint8_t> bytes) {
  std::vector<PdfRevision> revisions;
  const std::string_view text = AsView(bytes);
  size_t at = 0;
  while ((at = text.find(kEofMarker, at)) != std::string_view::npos) {
    size_t end = at + kEofMarker.size();
    const bool starts_token = at > 0 && IsPdfWhitespace(bytes[at - 1]);
    const bool ends_token = end == bytes.size() || IsPdfWhitespace(bytes[end]);
    if (starts_token && ends_token) {
      if (end < bytes.size() && bytes[end] == '\r') ++end;
      if (end < bytes.size() && bytes[end] == '\n') ++end;
      revisions.push_back({end});
      if (revisions.size() > kMaxRevisions) return revisions;  // refused by the caller
    }
    at += kEofMarker.size();
  }
  // Trailing whitespace after the last marker belongs to the last revision.
  if (!revisions.empty()) {
    const uint64_t last = revisions.back().length;
    if (std::all_of(bytes.begin() + last, bytes.end(), IsPdfWhitespace)) {
      revisions.back().length = bytes.size();
    }
  }
  return revisions;
}

// The largest number of objects a cross-reference section declares
// (`/Size N` in a trailer or a cross-reference stream), or 0. A byte scan:
// other dictionaries with /Size (sampled functions) give it an array.
uint64_t LargestDeclaredSize(std::string_view text) {
  uint64_t largest = 0;
  constexpr std::string_view kKey = "/Size";
  for (size_t at = text.find(kKey); at != std::string_view::npos; at = text.find(kKey, at + 1)) {
    size_t i = at + kKey.size();
    while (i < text.size() && IsPdfWhitespace(static_cast<uint8_t>(text[i]))) ++i;
    uint64_t n = 0;
    int digits = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9' && digits < 19; ++i, ++digits) {
      n = n * 10 + static_cast<uint64_t>(text[i] - '0');
    }
    if (digits > 0) largest = std::max(largest, digits >= 19 ? UINT64_MAX : n);
  }
  return largest;
}

Result<std::vector<PdfRevision>> CheckPdfBytes(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return Unprocessable("PDF is empty");
  if (!LooksLikePdf(bytes)) {
    return Unprocessable("not a PDF: no %PDF- header in the first 1024 bytes");
  }
  std::vector<PdfRevision> revisions = ScanRevisions(bytes);
  if (revisions.empty()) {
    return Unprocessable("PDF has no %%EOF marker: truncated or not a complete file");
  }
  if (revisions.size() > kMaxRevisions) {
    return Unprocessable("PDF has more than " + std::to_string(kMaxRevisions) +
                         " %%EOF markers (revisions); refused");
  }
  if (!internal::NestingDepthWithin(AsView(bytes), internal::kMaxNesting)) {
    return Unprocessable("PDF nests arrays or dictionaries more than " +
                         std::to_string(internal::kMaxNesting) + " levels deep");
  }
  // The parser allocates for every declared object before reading any: a
  // few hundred bytes announcing millions of objects cost seconds and
  // hundreds of megabytes. Even compressed object streams need far more
  // than a thousandth of a byte per object.
  const uint64_t declared = LargestDeclaredSize(AsView(bytes));
  if (declared > kMaxObjectsPerByte * bytes.size() + 1024) {
    return Unprocessable("PDF declares " + std::to_string(declared) + " objects (/Size) in " +
                         std::to_string(bytes.size()) + " bytes; refused");
  }
  return revisions;
}

Result<PdfFacts> ParsePdf(std::span<const uint8_t> bytes) {
  QUIPU_RETURN_IF_ERROR(CheckPdfBytes(bytes).status());
  PdfFacts facts;
  QUIPU_RETURN_IF_ERROR(ParseWithPodofo(bytes, facts));
  if (facts.version.empty()) facts.version = HeaderVersion(AsView(bytes));
  return facts;
}

Result<PdfInfo> InspectPdf(std::span<const uint8_t> bytes) {
  QUIPU_ASSIGN_OR_RETURN(std::vector<PdfRevision> revisions, CheckPdfBytes(bytes));
  PdfInfo info;
  QUIPU_RETURN_IF_ERROR(ParseWithPodofo(bytes, info));
  if (info.version.empty()) info.version = HeaderVersion(AsView(bytes));
  info.revisions = std::move(revisions);
  return info;
}

Result<PdfInfo> InspectPdfFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return IoError("cannot open PDF file " + path);
  const std::streamoff size = in.tellg();
  if (size < 0) return IoError("cannot size PDF file " + path);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    return IoError("cannot read PDF file " + path);
  }
  auto result = InspectPdf(bytes);
  if (!result.ok()) return result.status().WithContext(path);
  return result;
}

}  // namespace quipu::pdf
