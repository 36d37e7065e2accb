#include "node/document.h"

#include "crypto/encoding.h"
#include "crypto/jcs.h"
#include "pdf/inspect.h"

namespace quipu::node {

std::string_view DocTypeName(DocType type) {
  switch (type) {
    case DocType::kPdf: return "pdf";
    case DocType::kJson: return "json";
    case DocType::kRaw: return "raw";
  }
  return "raw";
}

std::string_view MediaType(DocType type) {
  switch (type) {
    case DocType::kPdf: return "application/pdf";
    case DocType::kJson: return "application/json";
    case DocType::kRaw: return "application/octet-stream";
  }
  return "application/octet-stream";
}

std::optional<DocType> ParseDocType(std::string_view text) {
  if (text == "pdf" || text == "application/pdf") return DocType::kPdf;
  if (text == "json" || text == "application/json") return DocType::kJson;
  if (text == "raw" || text == "application/octet-stream") return DocType::kRaw;
  return std::nullopt;
}

DocType SniffDocType(std::span<const uint8_t> head) {
  if (pdf::LooksLikePdf(head)) return DocType::kPdf;
  for (uint8_t c : head) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    return (c == '{' || c == '[') ? DocType::kJson : DocType::kRaw;
  }
  return DocType::kRaw;
}

namespace {

// Every revision and the whole file in one pass: a file of many revisions
// costs one hash, not one per revision.
Status HashRevisions(std::span<const uint8_t> bytes, const std::vector<pdf::PdfRevision>& revisions,
                     HashedDocument& doc) {
  std::vector<uint64_t> ends;
  ends.reserve(revisions.size() + 1);
  for (const pdf::PdfRevision& rev : revisions) ends.push_back(rev.length);
  if (ends.empty() || ends.back() != bytes.size()) ends.push_back(bytes.size());
  QUIPU_ASSIGN_OR_RETURN(std::vector<crypto::Digest> digests, crypto::Sha256Prefixes(bytes, ends));
  doc.sha256 = digests.back();
  for (size_t i = 0; i < revisions.size(); ++i) doc.revisions.push_back({ends[i], digests[i]});
  return Status::Ok();
}

}  // namespace

Result<HashedDocument> HashPdfBytes(std::span<const uint8_t> bytes) {
  QUIPU_ASSIGN_OR_RETURN(std::vector<pdf::PdfRevision> revisions, pdf::CheckPdfBytes(bytes));
  HashedDocument doc;
  doc.type = DocType::kPdf;
  doc.size = bytes.size();
  QUIPU_RETURN_IF_ERROR(HashRevisions(bytes, revisions, doc));
  return doc;
}

Result<HashedDocument> HashDocument(pdf::PdfEngine& engine, std::span<const uint8_t> bytes, DocType type,
                                    const crypto::JcsLimits& json_limits) {
  HashedDocument doc;
  doc.type = type;
  doc.size = bytes.size();
  switch (type) {
    case DocType::kRaw:
      doc.sha256 = crypto::Sha256(bytes);
      break;
    case DocType::kJson: {
      QUIPU_ASSIGN_OR_RETURN(std::string canonical, crypto::Canonicalize(crypto::AsString(bytes), json_limits));
      doc.sha256 = crypto::Sha256(canonical);
      break;
    }
    case DocType::kPdf: {
      QUIPU_ASSIGN_OR_RETURN(pdf::PdfInfo info, pdf::InspectPdf(engine, bytes));
      QUIPU_RETURN_IF_ERROR(HashRevisions(bytes, info.revisions, doc));
      doc.pages = info.pages;
      break;
    }
  }
  return doc;
}

Result<crypto::Digest> ResolveDocument(pdf::PdfEngine& engine, const DocumentRef& ref, std::string_view where) {
  const std::string at(where);
  if (ref.media != DocType::kPdf && ref.media != DocType::kJson) {
    return InvalidArgument(at + ".media_type: application/pdf or application/json");
  }
  std::optional<crypto::Digest> sha;
  if (ref.content) {
    auto hashed = HashDocument(engine, *ref.content, ref.media);
    if (!hashed.ok()) return hashed.status().WithContext(at + ".content");
    sha = hashed->sha256;
  }
  if (ref.sha256) {
    if (sha && *sha != *ref.sha256) return InvalidArgument(at + ": sha256 does not match the content");
    sha = ref.sha256;
  }
  if (!sha) return InvalidArgument(at + ": give sha256 or content");
  return *sha;
}

}  // namespace quipu::node
