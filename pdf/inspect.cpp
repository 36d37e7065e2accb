#include "pdf/inspect.h"

#include <podofo/podofo.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string_view>

#include "pdf/podofo_guard.h"

namespace quipu::pdf {
namespace {

constexpr std::string_view kEof = "%%EOF";

bool IsSig(const PoDoFo::PdfObject* obj) {
  if (obj == nullptr || !obj->IsDictionary()) return false;
  const PoDoFo::PdfDictionary& d = obj->GetDictionary();
  const PoDoFo::PdfObject* type = d.GetKey(PoDoFo::PdfName("Type"));
  if (type != nullptr && type->IsName() && type->GetName() == PoDoFo::PdfName("Sig")) return true;
  const PoDoFo::PdfObject* ft = d.GetKey(PoDoFo::PdfName("FT"));
  return ft != nullptr && ft->IsName() && ft->GetName() == PoDoFo::PdfName("Sig") &&
         d.HasKey(PoDoFo::PdfName("V"));
}

}  // namespace

bool LooksLikePdf(std::span<const uint8_t> bytes) {
  const std::string_view head(reinterpret_cast<const char*>(bytes.data()), std::min<size_t>(bytes.size(), 1024));
  return head.find("%PDF-") != std::string_view::npos;
}

std::vector<PdfRevision> FindRevisions(std::span<const uint8_t> bytes) {
  const std::string_view s(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::vector<PdfRevision> out;
  for (size_t at = s.find(kEof); at != std::string_view::npos; at = s.find(kEof, at + kEof.size())) {
    size_t end = at + kEof.size();
    if (end < s.size() && s[end] == '\r') ++end;
    if (end < s.size() && s[end] == '\n') ++end;
    out.push_back({end});
  }
  if (!out.empty()) {
    // White space after the last marker is part of the last revision.
    const size_t last = out.back().length;
    if (s.find_first_not_of(std::string_view(" \t\r\n\f\0", 6), last) == std::string_view::npos) {
      out.back().length = s.size();
    }
  }
  return out;
}

Result<PdfInfo> InspectPdf(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return InvalidArgument("not a PDF: empty");
  if (!LooksLikePdf(bytes)) return InvalidArgument("not a PDF: no %PDF- header");
  PdfInfo info;
  const std::string_view s(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const size_t h = s.find("%PDF-");
  info.version = std::string(s.substr(h + 5, 3));
  if (info.version.size() != 3 || !std::isdigit(static_cast<unsigned char>(info.version[0])) ||
      info.version[1] != '.' || !std::isdigit(static_cast<unsigned char>(info.version[2]))) {
    return InvalidArgument("not a PDF: malformed %PDF- header");
  }
  info.revisions = FindRevisions(bytes);
  if (info.revisions.empty()) return InvalidArgument("not a complete PDF: no %%EOF (truncated?)");

  std::lock_guard lock(PodofoMutex());
  try {
    PoDoFo::PdfMemDocument doc;
    try {
      doc.LoadFromBuffer(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
    } catch (const PoDoFo::PdfError& e) {
      if (e.GetError() == PoDoFo::ePdfError_InvalidPassword) {
        // Encrypted with a user password: readable structure ends here.
        info.encrypted = true;
        return info;
      }
      throw;
    }
    info.encrypted = doc.GetEncrypted();
    info.pages = doc.GetPageCount();
    for (const PoDoFo::PdfObject* obj : doc.GetObjects()) {
      if (IsSig(obj)) {
        info.has_signatures = true;
        break;
      }
    }
  } catch (const PoDoFo::PdfError& e) {
    return InvalidArgument(std::string("not a readable PDF: ") +
                           PoDoFo::PdfError::ErrorName(e.GetError()));
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("not a readable PDF: ") + e.what());
  }
  if (info.pages < 0) return InvalidArgument("not a readable PDF: bad page tree");
  return info;
}

Result<PdfInfo> InspectPdfFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  return InspectPdf(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

}  // namespace quipu::pdf
