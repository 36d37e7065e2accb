#include "node/verify.h"

#include <set>

#include "crypto/encoding.h"
#include "crypto/jcs.h"
#include "ledger/log.h"

namespace quipu::node {
namespace {

using nlohmann::json;

json RecordJson(uint64_t index, const std::string& bytes, const ledger::Hash& leaf_hash,
                const std::vector<ledger::Hash>& proof, uint64_t tree_size) {
  // Stored entries were validated as canonical when written: the plain
  // parser is enough here (the audit checks them strictly).
  json entry = json::parse(bytes, nullptr, false);
  return {{"index", index},
          {"type", entry.value("type", "")},
          {"time", entry.value("time", "")},
          {"client", entry.value("client", "")},
          {"entry", std::move(entry)},
          {"leaf_hash", crypto::Base64Encode(leaf_hash)},
          {"proof", ProofJson(proof)},
          {"tree_size", tree_size}};
}

Result<json> RecordsJson(const ledger::Log& log, const ledger::DocumentLookup& found,
                         const RevocationLookup& revocations) {
  json records = json::array();
  std::set<uint64_t> revoked;  // qr_issue indices whose revocation is among the records
  for (const ledger::DocumentRecord& r : found.records) {
    json rec = RecordJson(r.index, r.entry, r.leaf_hash, r.proof, found.tree_size);
    if (!rec["entry"].is_object()) return Corruption("entry " + std::to_string(r.index) + " is not JSON");
    if (rec["type"] == "qr_revoke") revoked.insert(rec["entry"].value("target", uint64_t{0}));
    records.push_back(std::move(rec));
  }
  if (!revocations) return records;
  // Revocations written before qr_revoke entries named their document.
  json extra = json::array();
  for (const json& rec : records) {
    if (rec["type"] != "qr_issue" || revoked.count(rec["index"].get<uint64_t>()) != 0) continue;
    QUIPU_ASSIGN_OR_RETURN(std::optional<uint64_t> by, revocations(rec["index"].get<uint64_t>()));
    if (!by || *by >= found.tree_size) continue;  // none, or newer than this answer's tree
    QUIPU_ASSIGN_OR_RETURN(std::string bytes, log.Entry(*by));
    QUIPU_ASSIGN_OR_RETURN(ledger::InclusionProof proof, log.ProveInclusion(*by, found.tree_size));
    extra.push_back(RecordJson(*by, bytes, proof.leaf_hash, proof.proof, found.tree_size));
  }
  for (json& e : extra) records.push_back(std::move(e));
  return records;
}

}  // namespace

json ProofJson(const std::vector<Hash>& proof) {
  json out = json::array();
  for (const auto& h : proof) out.push_back(crypto::Base64Encode(h));
  return out;
}

Result<json> LookupDocumentJson(const LedgerReader& ledger, const crypto::Digest& sha256,
                                const RevocationLookup& revocations) {
  const ledger::Log& log = ledger.log();
  QUIPU_ASSIGN_OR_RETURN(ledger::DocumentLookup found, log.LookupDocument(sha256, kMaxRecordsPerDocument));
  QUIPU_ASSIGN_OR_RETURN(json records, RecordsJson(log, found, revocations));
  return json{{"sha256", crypto::HexEncode(sha256)},
              {"found", !found.records.empty()},
              {"records", std::move(records)},
              {"truncated", found.truncated},
              {"tree_size", found.tree_size},
              {"checkpoint", found.checkpoint}};
}

Result<json> VerifyDocumentJson(const LedgerReader& ledger, pdf::PdfEngine& engine, std::span<const uint8_t> bytes,
                                DocType type, const RevocationLookup& revocations) {
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
  QUIPU_ASSIGN_OR_RETURN(json out, LookupDocumentJson(ledger, doc.sha256, revocations));
  out["media_type"] = MediaType(type);
  if (type == DocType::kPdf) {
    // The earlier revisions: every one but the whole file (looked up above),
    // the latest kMaxRevisionLookups of them, in file order.
    size_t earlier = doc.revisions.size();
    if (earlier > 0 && doc.revisions.back().length == doc.size) --earlier;
    const size_t first = earlier > kMaxRevisionLookups ? earlier - kMaxRevisionLookups : 0;
    json revisions = json::array();
    for (size_t i = first; i < earlier; ++i) {
      const RevisionHash& rev = doc.revisions[i];
      QUIPU_ASSIGN_OR_RETURN(json found, LookupDocumentJson(ledger, rev.sha256, revocations));
      revisions.push_back({{"length", rev.length},
                           {"sha256", found["sha256"]},
                           {"found", found["found"]},
                           {"records", std::move(found["records"])}});
    }
    out["revisions"] = std::move(revisions);
    out["revisions_total"] = earlier;
    out["revisions_truncated"] = first > 0;
  }
  if (unreadable) {
    bool any = out["found"] == true;
    for (const json& rev : out.value("revisions", json::array())) any = any || rev["found"] == true;
    if (!any) return *unreadable;
    out["pdf_readable"] = false;
    out["pdf_error"] = unreadable->message();
  }
  return out;
}

}  // namespace quipu::node
