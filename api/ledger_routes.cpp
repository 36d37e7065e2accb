#include "api/ledger_routes.h"

#include <mutex>
#include <unordered_map>

#include "crypto/encoding.h"
#include "api/params.h"
#include "node/document.h"
#include "node/verify.h"
#include "api/documents_json.h"

namespace quipu::api {
namespace {

using nlohmann::json;
namespace http = boost::beast::http;

// Full tiles and entry bundles never change: cache them for a year.
constexpr char kImmutable[] = "public, max-age=31536000, immutable";
// Partial tiles and the checkpoint change with every commit.
constexpr char kShortLived[] = "public, max-age=1";

json BlockJson(const node::BlockView& b) {
  return {{"height", b.height},
          {"tree_size", b.tree_size},
          {"root", crypto::Base64Encode(b.root)},
          {"time", b.time},
          {"prev", crypto::Base64Encode(b.prev)},
          {"header", b.header},
          {"hash", crypto::Base64Encode(b.hash)}};
}

Response FromStatus(const Status& s) { return ProblemFromStatus(s); }

// Reads of the ledger's memory map: quick, never waiting on anything.
const RouteOptions kInlineRead{Exec::kInline, 0};

}  // namespace

namespace ledger_handlers {

Response Checkpoint(const node::LedgerReader& ledger) {
  Response r = Text(ledger.Published().note);
  r.headers.emplace_back("Cache-Control", kShortLived);
  return r;
}

Response Tile(const node::LedgerReader& ledger, const Request& req) {
  auto tile = ledger.Tile(std::string_view(req.path).substr(1));
  if (!tile.ok()) {
    if (tile.status().code() == StatusCode::kInvalidArgument) return Problem(404, "Not found", tile.status().message());
    return FromStatus(tile.status());
  }
  Response r;
  r.content_type = "application/octet-stream";
  r.body = std::move(tile->bytes);
  r.headers.emplace_back("Cache-Control", tile->full ? kImmutable : kShortLived);
  return r;
}

Response Log(const node::LedgerReader& ledger) {
  const node::LedgerHead head = ledger.Head();
  return Json({{"origin", ledger.origin()},
               {"vkey", ledger.verifier_key()},
               {"tree_size", head.tree_size},
               {"root", crypto::Base64Encode(head.root)},
               {"checkpoint", head.checkpoint}});
}

Response SignedCheckpoint(const node::LedgerReader& ledger, const Request& req) {
  auto size = ParseIndexParam(req.params[0], "the tree size");
  if (!size.ok()) return FromStatus(size.status());
  auto note = ledger.Checkpoint(*size);
  if (!note.ok()) return FromStatus(note.status());
  Response r = Text(*note);
  r.headers.emplace_back("Cache-Control", kImmutable);
  return r;
}

Response Entry(const node::LedgerReader& ledger, const Request& req) {
  auto index = ParseIndexParam(req.params[0], "the entry index");
  if (!index.ok()) return FromStatus(index.status());
  std::optional<uint64_t> size;
  if (auto s = req.query_param("size")) {
    auto parsed = ParseIndexParam(*s, "size");
    if (!parsed.ok()) return FromStatus(parsed.status());
    size = *parsed;
  }
  auto e = ledger.Entry(*index, size);
  if (!e.ok()) return FromStatus(e.status());
  return Json({{"index", e->index},
               {"tree_size", e->tree_size},
               {"entry", EntryJson(e->entry)},
               {"leaf_hash", crypto::Base64Encode(e->leaf_hash)},
               {"proof", ProofJson(e->proof)},
               {"checkpoint", e->checkpoint.empty() ? json(nullptr) : json(e->checkpoint)}});
}

Response Receipt(const node::LedgerReader& ledger, const Request& req) {
  auto index = ParseIndexParam(req.params[0], "the entry index");
  if (!index.ok()) return FromStatus(index.status());
  auto receipt = ledger.Receipt(*index);
  if (!receipt.ok()) return FromStatus(receipt.status());
  Response r = Text(std::move(receipt->text));
  // Whether witnesses vouched for its checkpoint: "no" until the node's
  // policy is met by a checkpoint covering the entry (GET /v1/witnessed).
  r.headers.emplace_back("Quipu-Witnessed", receipt->witnessed ? "yes" : "no");
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"entry-" + std::to_string(*index) + ".tlog-proof\"");
  return r;
}

Response Consistency(const node::LedgerReader& ledger, const Request& req) {
  auto old_text = req.query_param("old");
  auto new_text = req.query_param("new");
  if (!old_text || !new_text) return Problem(400, "Bad request", "give both ?old=A&new=B");
  auto old_size = ParseIndexParam(*old_text, "old");
  auto new_size = ParseIndexParam(*new_text, "new");
  if (!old_size.ok()) return FromStatus(old_size.status());
  if (!new_size.ok()) return FromStatus(new_size.status());
  auto proof = ledger.Consistency(*old_size, *new_size);
  if (!proof.ok()) return FromStatus(proof.status());
  return Json({{"old", *old_size}, {"new", *new_size}, {"proof", ProofJson(*proof)}});
}

Response Block(const node::LedgerReader& ledger, const Request& req) {
  std::optional<uint64_t> height;
  if (req.params[0] != "latest") {
    auto h = ParseIndexParam(req.params[0], "the block height");
    if (!h.ok()) return FromStatus(h.status());
    height = *h;
  }
  auto block = ledger.Block(height);
  if (!block.ok() && block.status().code() == StatusCode::kNotFound) {
    return Problem(404, "Not found", height ? "no block " + req.params[0] : std::string("the log has no block yet"));
  }
  if (!block.ok()) return FromStatus(block.status());
  return Json(BlockJson(*block));
}

Response Document(const node::LedgerReader& ledger, const LedgerRoutesOptions& options, const Request& req,
                  uint64_t* tree_size) {
  auto sha = ParseSha256Param(req.params[0]);
  if (!sha.ok()) return FromStatus(sha.status());
  auto found = node::LookupDocument(ledger, *sha, options.revocations);
  if (!found.ok()) return FromStatus(found.status());
  if (tree_size != nullptr) *tree_size = found->tree_size;
  json out = DocumentAnswerJson(*found, options.client_name);
  if (req.query_param("subject")) {
    if (!options.subject_query) return Problem(400, "Bad request", "subject queries are not available");
    bool approved = false;
    if (auto refused = options.subject_query(req, *found, approved)) return *refused;
    out["subject_approved"] = approved;
  }
  return Json(out);
}

Response Verify(const node::LedgerReader& ledger, const LedgerRoutesOptions& options, const Request& req) {
  if (req.body.empty()) return Problem(400, "Bad request", "send the PDF or JSON document as the body");
  const auto bytes = crypto::AsBytes(req.body);
  node::DocType type;
  std::string_view ct = req.header("Content-Type");
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  // curl's --data-binary says form-urlencoded unless told otherwise: treat
  // it, like no type at all, as "look at the bytes".
  if (ct.empty() || ct == "application/octet-stream" || ct == "application/x-www-form-urlencoded") {
    type = node::SniffDocType(bytes.first(std::min<size_t>(bytes.size(), 1024)));
    if (type == node::DocType::kRaw) {
      return Problem(415, "Unsupported media type", "the body is neither a PDF nor a JSON document");
    }
  } else if (ct == "application/pdf") {
    type = node::DocType::kPdf;
  } else if (ct == "application/json") {
    type = node::DocType::kJson;
  } else {
    Response r = Problem(415, "Unsupported media type",
                         "send application/pdf or application/json, not " + std::string(ct));
    r.headers.emplace_back("Accept-Post", "application/pdf, application/json");
    return r;
  }
  if (type == node::DocType::kPdf && options.pdf == nullptr) {
    return Problem(503, "Service unavailable", "this node reads no PDFs");
  }
  auto out = node::VerifyDocument(ledger, options.pdf != nullptr ? *options.pdf : pdf::InProcessPdfEngine(), bytes,
                                  type, options.revocations);
  if (!out.ok()) return FromStatus(out.status());
  return Json(VerificationJson(*out, options.client_name));
}

std::optional<Response> RefuseWhilePdfWorkersBusy(const std::function<bool()>& saturated,
                                                  const http::fields& headers) {
  // While every PDF worker is taken, a body that may be a PDF would only
  // be read to be refused: refuse it before.
  if (!saturated || !saturated()) return std::nullopt;
  auto ct = headers.find(http::field::content_type);
  if (ct != headers.end() && std::string_view(ct->value().data(), ct->value().size()).rfind("application/json", 0) == 0) {
    return std::nullopt;
  }
  Response r = Problem(503, "Service unavailable", "every PDF worker is busy; try again shortly");
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace ledger_handlers

void AddLedgerRoutes(Router& router, const node::LedgerReader& ledger, const LedgerRoutesOptions& options) {
  const node::LedgerReader* lp = &ledger;
  namespace h = ledger_handlers;
  router.Add(http::verb::get, "/checkpoint", [lp](const Request&) { return h::Checkpoint(*lp); }, kInlineRead);
  router.Add(http::verb::get, "/tile/*", [lp](const Request& req) { return h::Tile(*lp, req); }, kInlineRead);
  router.Add(http::verb::get, "/v1/log", [lp](const Request&) { return h::Log(*lp); }, kInlineRead);
  router.Add(http::verb::get, "/v1/checkpoints/{}", [lp](const Request& req) { return h::SignedCheckpoint(*lp, req); },
             kInlineRead);
  router.Add(http::verb::get, "/v1/entries/{}", [lp](const Request& req) { return h::Entry(*lp, req); }, kInlineRead);
  router.Add(http::verb::get, "/v1/entries/{}/receipt", [lp](const Request& req) { return h::Receipt(*lp, req); },
             kInlineRead);
  router.Add(http::verb::get, "/v1/proof/consistency", [lp](const Request& req) { return h::Consistency(*lp, req); },
             kInlineRead);
  router.Add(http::verb::get, "/v1/blocks/{}", [lp](const Request& req) { return h::Block(*lp, req); }, kInlineRead);

  // Answers for a document only change when the tree grows: the public
  // answer is kept per document for the tree size it was made for.
  struct AnswerCache {
    std::mutex mu;
    std::unordered_map<std::string, std::pair<uint64_t, std::string>> answers;
  };
  auto cache = std::make_shared<AnswerCache>();
  router.Add(http::verb::get, "/v1/documents/{}", [lp, options, cache](const Request& req) {
    const bool cacheable = !req.query_param("subject").has_value();
    const uint64_t size = lp->Head().tree_size;
    if (cacheable) {
      std::lock_guard lock(cache->mu);
      if (auto it = cache->answers.find(req.params[0]); it != cache->answers.end() && it->second.first == size) {
        Response r;
        r.body = it->second.second;
        return r;
      }
    }
    uint64_t answered_size = 0;
    Response r = h::Document(*lp, options, req, &answered_size);
    if (cacheable && r.status == 200 && answered_size == size) {
      std::lock_guard lock(cache->mu);
      if (cache->answers.size() >= 4096) cache->answers.clear();  // bounded; rebuilt as asked
      cache->answers[req.params[0]] = {size, r.body};
    }
    return r;
  }, kInlineRead);
  router.Add(http::verb::post, "/v1/verify", [lp, options](const Request& req) { return h::Verify(*lp, options, req); },
             RouteOptions{Exec::kWorker, kDocumentBody, [saturated = options.pdf_saturated](const http::fields& headers) {
                            return h::RefuseWhilePdfWorkersBusy(saturated, headers);
                          }});
}

}  // namespace quipu::api
