// Read-only inspection of PDF files: version, page count, encryption,
// signatures and the incremental-update revisions a document is made of.
// PoDoFo stays behind this header; nothing here throws.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "crypto/status.h"

namespace quipu::pdf {

// One revision of a PDF: the prefix of the file that ends with a `%%EOF`
// marker and its end-of-line. An incremental update appends to the previous
// revision, so every earlier revision is an exact prefix of the file.
struct PdfRevision {
  uint64_t length = 0;  // bytes from the start of the file
};

struct PdfInfo {
  std::string version;  // from the header, "1.0" ... "1.7"
  int pages = 0;        // 0 when encrypted with a user password (unreadable)
  bool encrypted = false;       // the trailer has /Encrypt
  bool has_signatures = false;  // a /Sig field with a /V, or a /Type /Sig dictionary
  std::vector<PdfRevision> revisions;  // in file order; never empty on success
};

// Returns true if "%PDF-" occurs in the first 1024 bytes (the PDF spec lets
// a header follow up to 1 KiB of junk). Cheap; does not parse. Thread-safe.
bool LooksLikePdf(std::span<const uint8_t> bytes);

// Returns the revisions of `bytes`: one per `%%EOF` marker that starts a
// token (preceded by whitespace) and is followed by an end-of-line (CR, LF or
// CRLF), whitespace or the end of the file. A revision's length includes the
// marker's end-of-line; the last one is the whole file when only whitespace
// follows it. A `%%EOF` inside stream data would be counted too: this is a
// byte scan, not a parse. Thread-safe.
std::vector<PdfRevision> ScanRevisions(std::span<const uint8_t> bytes);

// Parses `bytes` (borrowed for the duration of the call, not copied) with
// PoDoFo and returns what it found. A document encrypted with a user password
// is reported (encrypted = true, pages = 0) rather than refused.
// Errors: kInvalidArgument naming the reason for input that is not a PDF, is
// truncated (no %%EOF) or that PoDoFo cannot parse. Thread-safe (PoDoFo calls
// are serialised by a process-wide mutex).
Result<PdfInfo> InspectPdf(std::span<const uint8_t> bytes);

// Reads the file at `path` and inspects it as InspectPdf does.
// Errors: kIoError if the file cannot be read, else as InspectPdf. Thread-safe.
Result<PdfInfo> InspectPdfFile(const std::string& path);

}  // namespace quipu::pdf
