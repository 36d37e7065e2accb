// Documents as quipu hashes them: a PDF by its exact bytes, a JSON document
// by its RFC 8785 canonical form, anything else (raw) by its bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/jcs.h"
#include "crypto/sha256.h"
#include "crypto/status.h"
#include "pdf/engine.h"

namespace quipu::node {

enum class DocType { kPdf, kJson, kRaw };

std::string_view DocTypeName(DocType type);   // "pdf", "json", "raw"
std::string_view MediaType(DocType type);     // "application/pdf", ...
// Parses "pdf" | "json" | "raw" and the media types; nullopt otherwise.
std::optional<DocType> ParseDocType(std::string_view text);

// Sniffs the type from the first bytes: a `%PDF-` header in the first 1024
// bytes is a PDF; a first non-blank `{` or `[` is JSON; anything else is raw.
DocType SniffDocType(std::span<const uint8_t> head);

struct RevisionHash {
  uint64_t length = 0;
  crypto::Digest sha256{};
};

struct HashedDocument {
  DocType type = DocType::kRaw;
  crypto::Digest sha256{};  // what quipu records and looks up
  uint64_t size = 0;        // bytes of the input as given
  // PDF only:
  int pages = 0;
  std::vector<RevisionHash> revisions;  // every revision, the last one is the whole file
};

// A PDF's hashes without parsing it: the byte checks of pdf::CheckPdfBytes
// and every revision's hash (pages stays 0). For looking up a PDF the
// parser cannot read (a valid document PoDoFo fails on may still have been
// approved by its hash). Errors: kUnprocessable from the byte checks.
Result<HashedDocument> HashPdfBytes(std::span<const uint8_t> bytes);

// Hashes an in-memory document as `type`; a PDF's revisions in the same
// single pass over its bytes (pdf/inspect.h caps them at kMaxRevisions).
// PDFs are parsed by `engine` (the sandbox for bytes from outside).
// `json_limits` bounds a JSON document's size and depth (JcsLimits: 64 MiB
// and 64 levels by default).
// Errors: kUnprocessable for a PDF that does not parse (or whose parser
// failed), kInvalidArgument for JSON that is not strict RFC 8785 input or
// is beyond `json_limits`, and the engine's kUnavailable when it is
// saturated.
Result<HashedDocument> HashDocument(pdf::PdfEngine& engine, std::span<const uint8_t> bytes, DocType type,
                                    const crypto::JcsLimits& json_limits = {});

// A document as a request names it: by its SHA-256, by its content, or by
// both (then they must agree).
struct DocumentRef {
  DocType media = DocType::kPdf;  // kPdf or kJson
  std::optional<crypto::Digest> sha256;
  std::optional<std::vector<uint8_t>> content;
};

// The SHA-256 quipu records for `ref`: its content hashed as `media` (a PDF
// parsed by `engine`), checked against `sha256` when both are given.
// `where` names the reference in messages ("document", "documents[2]").
// Errors: kInvalidArgument (a media type other than PDF or JSON, neither
// hash nor content, the two disagreeing), HashDocument's (with `where`).
Result<crypto::Digest> ResolveDocument(pdf::PdfEngine& engine, const DocumentRef& ref, std::string_view where);

}  // namespace quipu::node
