// PDF inspection with PoDoFo: is it a PDF, which version, how many pages,
// encrypted or signed, and its revisions (each incremental update), so a
// PDF that was stamped or signed after approval can be matched to the
// original's hash.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "crypto/status.h"

namespace quipu::pdf {

struct PdfRevision {
  // Bytes of the prefix that ends with this revision's %%EOF (and its end
  // of line). The last revision is the whole file.
  uint64_t length = 0;
};

struct PdfInfo {
  std::string version;  // from the header, "1.7"
  int pages = 0;        // 0 when encrypted (the page tree cannot be read)
  bool encrypted = false;
  bool has_signatures = false;  // a /Sig field with a value, or a /Type /Sig dictionary
  std::vector<PdfRevision> revisions;  // in file order, at least one
};

// True when "%PDF-" appears in the first 1024 bytes (as readers accept).
bool LooksLikePdf(std::span<const uint8_t> bytes);

// The byte length of every revision: each %%EOF marker, with its end of
// line; trailing white space after the last one belongs to the last.
std::vector<PdfRevision> FindRevisions(std::span<const uint8_t> bytes);

// Parses `bytes` as a PDF. kInvalidArgument with the reason for anything
// that is not a readable PDF (truncated, corrupt, not a PDF). Never throws;
// thread-safe (PoDoFo calls are serialized).
Result<PdfInfo> InspectPdf(std::span<const uint8_t> bytes);
Result<PdfInfo> InspectPdfFile(const std::string& path);

}  // namespace quipu::pdf
