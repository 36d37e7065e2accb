#include "api/documents_json.h"

#include <algorithm>

#include "crypto/encoding.h"

namespace quipu::api {
namespace {

using nlohmann::json;

json RecordsJson(const std::vector<node::DocumentRecord>& records, uint64_t tree_size, const ClientNamer& names) {
  json out = json::array();
  for (const node::DocumentRecord& r : records) {
    json rec = {{"index", r.index},
                {"type", r.type},
                {"time", r.time},
                {"client", r.client},
                {"entry", EntryJson(r.entry)},
                {"leaf_hash", crypto::Base64Encode(r.leaf_hash)},
                {"proof", ProofJson(r.proof)},
                {"tree_size", tree_size}};
    if (names) rec["client_name"] = names(r.client);
    out.push_back(std::move(rec));
  }
  return out;
}

}  // namespace

json ProofJson(const std::vector<node::Hash>& proof) {
  json out = json::array();
  for (const auto& h : proof) out.push_back(crypto::Base64Encode(h));
  return out;
}

Result<node::DocumentRef> DocumentRefFromJson(const json& d, std::string_view where_view, size_t max_content,
                                              std::initializer_list<std::string_view> also) {
  const std::string where(where_view);
  if (!d.is_object()) return InvalidArgument(where + ": an object {sha256 | content, media_type}");
  for (const auto& [k, v] : d.items()) {
    if (k == "sha256" || k == "content" || k == "media_type") continue;
    if (std::find(also.begin(), also.end(), k) == also.end()) return InvalidArgument(where + ": unknown field '" + k + "'");
  }
  node::DocumentRef ref;
  const auto media = d.find("media_type");
  if (media != d.end() && *media == "application/pdf") {
    ref.media = node::DocType::kPdf;
  } else if (media != d.end() && *media == "application/json") {
    ref.media = node::DocType::kJson;
  } else {
    return InvalidArgument(where + ".media_type: application/pdf or application/json");
  }
  if (auto c = d.find("content"); c != d.end()) {
    if (!c->is_string()) return InvalidArgument(where + ".content: base64 text");
    auto bytes = crypto::Base64Decode(c->get<std::string>());
    if (!bytes.ok()) return InvalidArgument(where + ".content: not base64 (" + bytes.status().message() + ")");
    if (bytes->size() > max_content) return InvalidArgument(where + ".content: too large");
    ref.content = std::move(*bytes);
  }
  if (auto h = d.find("sha256"); h != d.end()) {
    const std::string given = h->is_string() ? h->get<std::string>() : "";
    auto raw = crypto::HexDecode(given);
    if (given.size() != 64 || !raw.ok() || crypto::HexEncode(*raw) != given) {
      return InvalidArgument(where + ".sha256: 64 lower-case hex digits");
    }
    crypto::Digest digest;
    std::copy_n(raw->begin(), digest.size(), digest.begin());
    ref.sha256 = digest;
  }
  return ref;
}

json EntryJson(const std::string& entry) { return json::parse(entry, nullptr, false); }

json DocumentAnswerJson(const node::DocumentAnswer& a, const ClientNamer& names) {
  return {{"sha256", crypto::HexEncode(a.sha256)},
          {"found", a.found()},
          {"records", RecordsJson(a.records, a.tree_size, names)},
          {"truncated", a.truncated},
          {"tree_size", a.tree_size},
          {"checkpoint", a.checkpoint}};
}

json VerificationJson(const node::Verification& v, const ClientNamer& names) {
  json out = DocumentAnswerJson(v.document, names);
  out["media_type"] = node::MediaType(v.media);
  if (v.media == node::DocType::kPdf) {
    json revisions = json::array();
    for (const node::RevisionAnswer& rev : v.revisions) {
      revisions.push_back({{"length", rev.length},
                           {"sha256", crypto::HexEncode(rev.answer.sha256)},
                           {"found", rev.answer.found()},
                           {"records", RecordsJson(rev.answer.records, rev.answer.tree_size, names)}});
    }
    out["revisions"] = std::move(revisions);
    out["revisions_total"] = v.revisions_total;
    out["revisions_truncated"] = v.revisions_truncated;
  }
  if (!v.pdf_readable) {
    out["pdf_readable"] = false;
    out["pdf_error"] = v.pdf_error;
  }
  return out;
}

}  // namespace quipu::api
