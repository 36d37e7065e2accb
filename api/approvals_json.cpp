#include "api/approvals_json.h"

#include "api/documents_json.h"
#include "crypto/encoding.h"

namespace quipu::api {
namespace {

using nlohmann::json;

json DocumentsJson(const std::vector<node::ApprovalDocument>& docs) {
  json out = json::array();
  for (const node::ApprovalDocument& d : docs) {
    out.push_back({{"sha256", crypto::HexEncode(d.sha256)}, {"media_type", node::MediaType(d.media)}});
  }
  return out;
}

}  // namespace

Result<node::ApprovalRequest> ApprovalRequestFromJson(const json& body) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  for (const auto& [k, v] : body.items()) {
    if (k != "subject" && k != "documents" && k != "factor" && k != "channel" && k != "state" && k != "description") {
      return InvalidArgument("unknown field '" + k + "'");
    }
  }
  node::ApprovalRequest request;
  const auto subject = body.find("subject");
  if (subject == body.end() || !subject->is_string() || !node::IsValidSubjectId(subject->get<std::string>())) {
    return InvalidArgument("subject: the document number, 4 to 32 letters, digits or '-'");
  }
  request.subject = subject->get<std::string>();
  if (auto f = body.find("factor"); f != body.end()) {
    auto factor = f->is_string() ? node::ParseFactor(f->get<std::string>()) : std::nullopt;
    if (!factor) return InvalidArgument("factor must be totp or message");
    request.factor = *factor;
  }
  if (auto c = body.find("channel"); c != body.end() && request.factor == node::Factor::kMessage) {
    auto channel = c->is_string() ? node::ParseChannel(c->get<std::string>()) : std::nullopt;
    if (!channel) return InvalidArgument("channel must be sms or email");
    request.channel = *channel;
  }
  if (auto st = body.find("state"); st != body.end()) {
    if (!st->is_string()) return InvalidArgument("state: text, given back at the redirect URI");
    request.return_state = st->get<std::string>();
  }
  if (auto d = body.find("description"); d != body.end()) {
    if (!d->is_string()) return InvalidArgument("description: text up to 1000 bytes, shown to the citizen");
    request.description = d->get<std::string>();
  }
  const auto docs = body.find("documents");
  if (docs == body.end() || !docs->is_array() || docs->empty() || docs->size() > 100) {
    return InvalidArgument("documents: an array of 1 to 100 documents");
  }
  for (size_t i = 0; i < docs->size(); ++i) {
    const json& d = (*docs)[i];
    const std::string where = "documents[" + std::to_string(i) + "]";
    node::RequestedDocument doc;
    // The content's size limit is the service's (ApprovalsOptions).
    QUIPU_ASSIGN_OR_RETURN(doc.document, DocumentRefFromJson(d, where, SIZE_MAX, {"name"}));
    if (auto n = d.find("name"); n != d.end()) {
      if (!n->is_string()) return InvalidArgument(where + ".name: text up to 200 bytes");
      doc.name = n->get<std::string>();
    }
    request.documents.push_back(std::move(doc));
  }
  return request;
}

json ApprovalCreatedJson(const node::ApprovalView& v) {
  return {{"id", v.id},
          {"status", v.status},
          {"expires_at", v.expires_at},
          {"factor", node::FactorName(v.factor)},
          {"documents", DocumentsJson(v.documents)}};
}

std::string RedirectUrl(const node::ApprovalView& v) {
  std::string url = v.redirect_uri + (v.redirect_uri.find('?') == std::string::npos ? "?" : "&") + "request=" + v.id +
                    "&status=" + v.status;
  if (!v.return_state.empty()) url += "&state=" + crypto::PercentEncode(v.return_state);
  return url;
}

json ApprovalJson(const node::ApprovalView& v) {
  json out = {{"id", v.id},
              {"status", v.status},
              {"factor", node::FactorName(v.factor)},
              {"created_at", v.created_at},
              {"expires_at", v.expires_at},
              {"documents", DocumentsJson(v.documents)}};
  if (!v.decided_at.empty()) out["decided_at"] = v.decided_at;
  if (v.attempts_left) out["attempts_left"] = *v.attempts_left;
  if (v.notification) {
    const node::NotificationView& n = *v.notification;
    json shown = {{"state", n.state}, {"attempts", n.attempts}};
    if (!n.last_error.empty()) shown["last_error"] = n.last_error;
    if (n.last_http_status) shown["last_http_status"] = *n.last_http_status;
    if (!n.next_attempt_at.empty()) shown["next_attempt_at"] = n.next_attempt_at;
    if (!n.delivered_at.empty()) shown["delivered_at"] = n.delivered_at;
    out["notification"] = std::move(shown);
  }
  if (!v.entries.empty()) {
    json entries = json::array();
    for (const node::DecidedEntry& e : v.entries) {
      entries.push_back({{"index", e.index},
                         {"sha256", crypto::HexEncode(e.sha256)},
                         {"leaf_hash", crypto::Base64Encode(e.leaf_hash)},
                         {"proof", ProofJson(e.proof)}});
    }
    out["entries"] = std::move(entries);
    out["tree_size"] = v.tree_size;
    out["checkpoint"] = v.checkpoint;
    if (!v.redirect_uri.empty()) out["redirect_url"] = RedirectUrl(v);
  }
  return out;
}

json DecisionJson(const node::ApprovalView& v) {
  json entries = json::array();
  for (const node::DecidedEntry& e : v.entries) {
    entries.push_back({{"index", e.index}, {"sha256", crypto::HexEncode(e.sha256)}});
  }
  return {{"id", v.id},
          {"status", v.status},
          {"decided_at", v.decided_at},
          {"entries", std::move(entries)},
          {"tree_size", v.tree_size},
          {"checkpoint", v.checkpoint},
          {"redirect_url", RedirectUrl(v)}};
}

json ClientJson(const node::ClientInfo& c) {
  return {{"client_id", c.id},         {"name", c.name},         {"redirect_uri", c.redirect_uri},
          {"notify_uri", c.notify_uri}, {"disabled", c.disabled}, {"created", c.created}};
}

}  // namespace quipu::api
