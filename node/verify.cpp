#include "node/verify.h"

#include "crypto/encoding.h"
#include "crypto/jcs.h"

namespace quipu::node {
namespace {

using nlohmann::json;

Result<json> RecordsJson(const ledger::DocumentLookup& found) {
  json records = json::array();
  for (const ledger::DocumentRecord& r : found.records) {
    // Stored entries were validated as canonical when written: the plain
    // parser is enough here (the audit checks them strictly).
    json entry = json::parse(r.entry, nullptr, false);
    if (!entry.is_object()) return Corruption("entry " + std::to_string(r.index) + " is not JSON");
    json rec = {{"index", r.index},
                {"type", entry["type"]},
                {"time", entry["time"]},
                {"client", entry["client"]},
                {"entry", std::move(entry)},
                {"leaf_hash", crypto::Base64Encode(r.leaf_hash)},
                {"proof", ProofJson(r.proof)},
                {"tree_size", found.tree_size}};
    records.push_back(std::move(rec));
  }
  return records;
}

}  // namespace

json ProofJson(const std::vector<ledger::Hash>& proof) {
  json out = json::array();
  for (const auto& h : proof) out.push_back(crypto::Base64Encode(h));
  return out;
}

Result<json> LookupDocumentJson(const ledger::Log& log, const crypto::Digest& sha256) {
  QUIPU_ASSIGN_OR_RETURN(ledger::DocumentLookup found, log.LookupDocument(sha256, kMaxRecordsPerDocument));
  QUIPU_ASSIGN_OR_RETURN(json records, RecordsJson(found));
  return json{{"sha256", crypto::HexEncode(sha256)},
              {"found", !found.records.empty()},
              {"records", std::move(records)},
              {"truncated", found.truncated},
              {"tree_size", found.tree_size},
              {"checkpoint", found.checkpoint}};
}

Result<json> VerifyDocumentJson(const ledger::Log& log, std::span<const uint8_t> bytes, DocType type) {
  if (type == DocType::kRaw) return InvalidArgument("the body is neither a PDF nor a JSON document");
  QUIPU_ASSIGN_OR_RETURN(HashedDocument doc, HashDocument(bytes, type));
  QUIPU_ASSIGN_OR_RETURN(json out, LookupDocumentJson(log, doc.sha256));
  out["media_type"] = MediaType(type);
  if (type == DocType::kPdf) {
    json revisions = json::array();
    // Every revision but the last (the whole file, looked up above).
    for (size_t i = 0; i + 1 < doc.revisions.size(); ++i) {
      const RevisionHash& rev = doc.revisions[i];
      QUIPU_ASSIGN_OR_RETURN(json found, LookupDocumentJson(log, rev.sha256));
      revisions.push_back({{"length", rev.length},
                           {"sha256", found["sha256"]},
                           {"found", found["found"]},
                           {"records", std::move(found["records"])}});
    }
    out["revisions"] = std::move(revisions);
  }
  return out;
}

}  // namespace quipu::node
