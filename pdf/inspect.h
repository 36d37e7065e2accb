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

// What the parser (PoDoFo) finds in a PDF: the part of PdfInfo that needs a
// parse, and so runs in a sandboxed worker for bytes from outside
// (pdf/sandbox.h).
struct PdfFacts {
  std::string version;  // from the header, "1.0" ... "1.7"
  int pages = 0;        // 0 when encrypted with a user password (unreadable)
  bool encrypted = false;       // the trailer has /Encrypt
  bool has_signatures = false;  // a /Sig field with a /V, or a /Type /Sig dictionary
};

struct PdfInfo : PdfFacts {
  std::vector<PdfRevision> revisions;  // in file order; never empty on success
};

// PDFs with more `%%EOF` markers than this are refused: real documents have
// a handful of incremental updates, and each revision is hashed and may be
// looked up.
inline constexpr size_t kMaxRevisions = 10000;
// A PDF may declare (/Size) at most this many objects per byte of file,
// plus 1024: more cannot be real (deflate compresses at most ~1032:1), and
// the parser allocates for each declared object up front.
inline constexpr uint64_t kMaxObjectsPerByte = 1000;

// Returns true if "%PDF-" occurs in the first 1024 bytes (the PDF spec lets
// a header follow up to 1 KiB of junk). Cheap; does not parse. Thread-safe.
bool LooksLikePdf(std::span<const uint8_t> bytes);

// Returns the revisions of `bytes`: one per `%%EOF` marker that starts a
// token (preceded by whitespace) and is followed by an end-of-line (CR, LF or
// CRLF), whitespace or the end of the file. A revision's length includes the
// marker's end-of-line; the last one is the whole file when only whitespace
// follows it. A `%%EOF` inside stream data would be counted too: this is a
// byte scan, not a parse. Stops after kMaxRevisions + 1 markers (the caller
// refuses such a file). Linear in the size, safe on any bytes. Thread-safe.
std::vector<PdfRevision> ScanRevisions(std::span<const uint8_t> bytes);

// The byte-level checks every PDF gets before a parser sees it, safe on any
// input (no PoDoFo): not empty, a %PDF- header in the first 1024 bytes, at
// least one and at most kMaxRevisions revisions, arrays and dictionaries
// nested at most 256 deep. Returns the revisions. Errors: kUnprocessable
// naming the reason. Thread-safe.
Result<std::vector<PdfRevision>> CheckPdfBytes(std::span<const uint8_t> bytes);

// The parser's part: CheckPdfBytes, then PoDoFo. Runs PoDoFo in this
// process: for bytes from outside use a PdfEngine (pdf/engine.h) backed by
// the sandbox. Errors: kUnprocessable naming the reason. Thread-safe
// (serialised).
Result<PdfFacts> ParsePdf(std::span<const uint8_t> bytes);

// Parses `bytes` (borrowed for the duration of the call, not copied) with
// PoDoFo in this process and returns what it found: for trusted bytes only
// (quipu's own documents, tests); see pdf/engine.h for the others. A document
// encrypted with a user password is reported (encrypted = true, pages = 0)
// rather than refused. Errors: kUnprocessable naming the reason for input
// that is not a PDF, is truncated (no %%EOF), has too many revisions or that
// PoDoFo cannot parse. Thread-safe (PoDoFo calls are serialised by a
// process-wide mutex).
Result<PdfInfo> InspectPdf(std::span<const uint8_t> bytes);

// Reads the file at `path` and inspects it as InspectPdf does.
// Errors: kIoError if the file cannot be read, else as InspectPdf. Thread-safe.
Result<PdfInfo> InspectPdfFile(const std::string& path);

}  // namespace quipu::pdf
