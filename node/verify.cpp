#include "node/verify.h"

#include <set>

#include <nlohmann/json.hpp>

#include "ledger/log.h"

namespace quipu::node {
namespace {

using nlohmann::json;

// A record from an entry's bytes, with what the answer shows of it; and,
// for a qr_revoke, the index of the code it revokes.
Result<DocumentRecord> MakeRecord(uint64_t index, std::string bytes, const Hash& leaf_hash, std::vector<Hash> proof,
                                  std::optional<uint64_t>* revokes = nullptr) {
  // Stored entries were validated as canonical when written: the plain
  // parser is enough here (the audit checks them strictly).
  const json entry = json::parse(bytes, nullptr, false);
  if (!entry.is_object()) return Corruption("entry " + std::to_string(index) + " is not JSON");
  DocumentRecord r;
  r.index = index;
  r.type = entry.value("type", "");
  r.time = entry.value("time", "");
  r.client = entry.value("client", "");
  r.entry = std::move(bytes);
  r.leaf_hash = leaf_hash;
  r.proof = std::move(proof);
  if (revokes != nullptr && r.type == "qr_revoke") *revokes = entry.value("target", uint64_t{0});
  return r;
}

}  // namespace

bool Verification::found() const {
  if (document.found()) return true;
  for (const RevisionAnswer& rev : revisions) {
    if (rev.answer.found()) return true;
  }
  return false;
}

Result<DocumentAnswer> LookupDocument(const LedgerReader& ledger, const crypto::Digest& sha256,
                                      const RevocationLookup& revocations) {
  const ledger::Log& log = ledger.log();
  QUIPU_ASSIGN_OR_RETURN(ledger::DocumentLookup found, log.LookupDocument(sha256, kMaxRecordsPerDocument));
  DocumentAnswer out;
  out.sha256 = sha256;
  out.truncated = found.truncated;
  out.tree_size = found.tree_size;
  out.checkpoint = std::move(found.checkpoint);
  std::set<uint64_t> revoked;  // qr_issue indices whose revocation is among the records
  for (ledger::DocumentRecord& r : found.records) {
    std::optional<uint64_t> target;
    QUIPU_ASSIGN_OR_RETURN(DocumentRecord rec,
                           MakeRecord(r.index, std::move(r.entry), r.leaf_hash, std::move(r.proof), &target));
    if (target) revoked.insert(*target);
    out.records.push_back(std::move(rec));
  }
  if (!revocations) return out;
  // Revocations written before qr_revoke entries named their document.
  std::vector<DocumentRecord> extra;
  for (const DocumentRecord& rec : out.records) {
    if (rec.type != "qr_issue" || revoked.count(rec.index) != 0) continue;
    QUIPU_ASSIGN_OR_RETURN(std::optional<uint64_t> by, revocations(rec.index));
    if (!by || *by >= out.tree_size) continue;  // none, or newer than this answer's tree
    QUIPU_ASSIGN_OR_RETURN(std::string bytes, log.Entry(*by));
    QUIPU_ASSIGN_OR_RETURN(ledger::InclusionProof proof, log.ProveInclusion(*by, out.tree_size));
    QUIPU_ASSIGN_OR_RETURN(DocumentRecord r, MakeRecord(*by, std::move(bytes), proof.leaf_hash, std::move(proof.proof)));
    extra.push_back(std::move(r));
  }
  for (DocumentRecord& r : extra) out.records.push_back(std::move(r));
  return out;
}

Result<Verification> VerifyDocument(const LedgerReader& ledger, pdf::PdfEngine& engine,
                                    std::span<const uint8_t> bytes, DocType type,
                                    const RevocationLookup& revocations) {
  if (type == DocType::kRaw) return InvalidArgument("the body is neither a PDF nor a JSON document");
  auto hashed = HashDocument(engine, bytes, type);
  std::optional<Status> unreadable;
  if (!hashed.ok() && type == DocType::kPdf && hashed.status().code() == StatusCode::kUnprocessable) {
    // The parser could not read it (or crashed on it). Its bytes may still
    // be a document approved by its hash: look it up by bytes, and answer
    // only if something is found.
    unreadable = hashed.status();
    hashed = HashPdfBytes(bytes);
  }
  if (!hashed.ok()) return unreadable ? *unreadable : hashed.status();
  const HashedDocument& doc = *hashed;
  Verification out;
  out.media = type;
  QUIPU_ASSIGN_OR_RETURN(out.document, LookupDocument(ledger, doc.sha256, revocations));
  if (type == DocType::kPdf) {
    // The earlier revisions: every one but the whole file (looked up above),
    // the latest kMaxRevisionLookups of them, in file order.
    size_t earlier = doc.revisions.size();
    if (earlier > 0 && doc.revisions.back().length == doc.size) --earlier;
    const size_t first = earlier > kMaxRevisionLookups ? earlier - kMaxRevisionLookups : 0;
    for (size_t i = first; i < earlier; ++i) {
      const RevisionHash& rev = doc.revisions[i];
      QUIPU_ASSIGN_OR_RETURN(DocumentAnswer found, LookupDocument(ledger, rev.sha256, revocations));
      out.revisions.push_back({rev.length, std::move(found)});
    }
    out.revisions_total = earlier;
    out.revisions_truncated = first > 0;
  }
  if (unreadable) {
    if (!out.found()) return *unreadable;
    out.pdf_readable = false;
    out.pdf_error = unreadable->message();
  }
  return out;
}

}  // namespace quipu::node
