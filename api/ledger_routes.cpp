#include "api/ledger_routes.h"

#include <charconv>
#include <mutex>
#include <unordered_map>

#include "crypto/encoding.h"
#include "ledger/tiles.h"
#include "node/document.h"
#include "node/verify.h"

namespace quipu::api {
namespace {

using nlohmann::json;
namespace http = boost::beast::http;

// Full tiles and entry bundles never change: cache them for a year.
constexpr char kImmutable[] = "public, max-age=31536000, immutable";
// Partial tiles and the checkpoint change with every commit.
constexpr char kShortLived[] = "public, max-age=1";

Result<uint64_t> ParseIndex(std::string_view text, std::string_view what) {
  uint64_t v = 0;
  if (text.empty() || text.size() > 19 || (text.size() > 1 && text[0] == '0')) {
    return InvalidArgument(std::string(what) + " must be a decimal integer");
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return InvalidArgument(std::string(what) + " must be a decimal integer");
  }
  return v;
}

json BlockJson(const ledger::Block& b) {
  return {{"height", b.height},
          {"tree_size", b.tree_size},
          {"root", crypto::Base64Encode(b.root)},
          {"time", b.time},
          {"prev", crypto::Base64Encode(b.prev)},
          {"header", b.CanonicalHeader()},
          {"hash", crypto::Base64Encode(crypto::Sha256(b.CanonicalHeader()))}};
}

Response FromStatus(const Status& s) { return ProblemFromStatus(s); }

// Reads of the ledger's memory map: quick, never waiting on anything.
const RouteOptions kInlineRead{Exec::kInline, 0};

Result<crypto::Digest> ParseSha256(std::string_view hex) {
  if (hex.size() != 64) return InvalidArgument("a document SHA-256 is 64 hex digits");
  auto bytes = crypto::HexDecode(hex);
  if (!bytes.ok()) return InvalidArgument("a document SHA-256 is 64 hex digits");
  crypto::Digest d;
  std::copy(bytes->begin(), bytes->end(), d.begin());
  return d;
}

}  // namespace

void AddLedgerRoutes(Router& router, const ledger::Log& log, const LedgerRoutesOptions& options) {
  const ledger::Log* lp = &log;
  // Adds client_name to every record of a documents answer.
  auto name_clients = [names = options.client_name](json& answer) {
    if (!names) return;
    auto name_all = [&](json& records) {
      for (json& r : records) r["client_name"] = names(r.value("client", ""));
    };
    name_all(answer["records"]);
    if (answer.contains("revisions")) {
      for (json& rev : answer["revisions"]) name_all(rev["records"]);
    }
  };

  router.Add(http::verb::get, "/checkpoint", [lp](const Request&) {
    Response r = Text(lp->Head().checkpoint);
    r.headers.emplace_back("Cache-Control", kShortLived);
    return r;
  }, kInlineRead);

  router.Add(http::verb::get, "/tile/*", [lp](const Request& req) {
    auto addr = ledger::ParseTilePath(std::string_view(req.path).substr(1));
    if (!addr.ok()) return Problem(404, "Not found", addr.status().message());
    auto body = addr->level < 0 ? lp->EntryBundle(addr->index, addr->width)
                                : lp->Tile(addr->level, addr->index, addr->width);
    if (!body.ok()) return FromStatus(body.status());
    Response r;
    r.content_type = "application/octet-stream";
    r.body = std::move(*body);
    r.headers.emplace_back("Cache-Control", addr->width == ledger::kTileWidth ? kImmutable : kShortLived);
    return r;
  }, kInlineRead);

  router.Add(http::verb::get, "/v1/log", [lp](const Request&) {
    const ledger::LogHead head = lp->Head();
    return Json({{"origin", lp->origin()},
                 {"vkey", lp->verifier_key()},
                 {"tree_size", head.tree_size},
                 {"root", crypto::Base64Encode(head.root)},
                 {"checkpoint", head.checkpoint}});
  }, kInlineRead);

  router.Add(http::verb::get, "/v1/checkpoints/{}", [lp](const Request& req) {
    auto size = ParseIndex(req.params[0], "the tree size");
    if (!size.ok()) return FromStatus(size.status());
    auto note = lp->Checkpoint(*size);
    if (!note.ok()) return FromStatus(note.status());
    Response r = Text(*note);
    r.headers.emplace_back("Cache-Control", kImmutable);
    return r;
  }, kInlineRead);

  router.Add(http::verb::get, "/v1/entries/{}", [lp](const Request& req) {
    auto index = ParseIndex(req.params[0], "the entry index");
    if (!index.ok()) return FromStatus(index.status());
    uint64_t size = lp->Head().tree_size;
    if (auto s = req.query_param("size")) {
      auto parsed = ParseIndex(*s, "size");
      if (!parsed.ok()) return FromStatus(parsed.status());
      size = *parsed;
    }
    if (*index >= lp->Head().tree_size) return Problem(404, "Not found", "no entry " + req.params[0]);
    auto entry = lp->Entry(*index);
    if (!entry.ok()) return FromStatus(entry.status());
    auto proof = lp->ProveInclusion(*index, size);
    if (!proof.ok()) return FromStatus(proof.status());
    auto parsed = json::parse(*entry, nullptr, false);
    return Json({{"index", *index},
                 {"tree_size", size},
                 {"entry", std::move(parsed)},
                 {"leaf_hash", crypto::Base64Encode(proof->leaf_hash)},
                 {"proof", node::ProofJson(proof->proof)},
                 {"checkpoint", proof->checkpoint.empty() ? json(nullptr) : json(proof->checkpoint)}});
  }, kInlineRead);

  router.Add(http::verb::get, "/v1/proof/consistency", [lp](const Request& req) {
    auto old_text = req.query_param("old");
    auto new_text = req.query_param("new");
    if (!old_text || !new_text) return Problem(400, "Bad request", "give both ?old=A&new=B");
    auto old_size = ParseIndex(*old_text, "old");
    auto new_size = ParseIndex(*new_text, "new");
    if (!old_size.ok()) return FromStatus(old_size.status());
    if (!new_size.ok()) return FromStatus(new_size.status());
    auto proof = lp->ProveConsistency(*old_size, *new_size);
    if (!proof.ok()) return FromStatus(proof.status());
    return Json({{"old", *old_size}, {"new", *new_size}, {"proof", node::ProofJson(*proof)}});
  }, kInlineRead);

  router.Add(http::verb::get, "/v1/blocks/{}", [lp](const Request& req) {
    Result<ledger::Block> block = Status(StatusCode::kNotFound, "");
    if (req.params[0] == "latest") {
      block = lp->LatestBlock();
      if (!block.ok() && block.status().code() == StatusCode::kNotFound) {
        return Problem(404, "Not found", "the log has no block yet");
      }
    } else {
      auto height = ParseIndex(req.params[0], "the block height");
      if (!height.ok()) return FromStatus(height.status());
      block = lp->GetBlock(*height);
      if (!block.ok() && block.status().code() == StatusCode::kNotFound) {
        return Problem(404, "Not found", "no block " + req.params[0]);
      }
    }
    if (!block.ok()) return FromStatus(block.status());
    return Json(BlockJson(*block));
  }, kInlineRead);

  // Answers for a document only change when the tree grows: the public
  // answer is kept per document for the tree size it was made for.
  struct AnswerCache {
    std::mutex mu;
    std::unordered_map<std::string, std::pair<uint64_t, std::string>> answers;
  };
  auto cache = std::make_shared<AnswerCache>();
  router.Add(http::verb::get, "/v1/documents/{}",
             [lp, name_clients, subject_query = options.subject_query, cache,
              revocations = options.revocations](const Request& req) {
    auto sha = ParseSha256(req.params[0]);
    if (!sha.ok()) return FromStatus(sha.status());
    const bool subject = req.query_param("subject").has_value();
    const uint64_t size = lp->Head().tree_size;
    if (!subject) {
      std::lock_guard lock(cache->mu);
      if (auto it = cache->answers.find(req.params[0]); it != cache->answers.end() && it->second.first == size) {
        Response r;
        r.body = it->second.second;
        return r;
      }
    }
    auto out = node::LookupDocumentJson(*lp, *sha, revocations);
    if (!out.ok()) return FromStatus(out.status());
    name_clients(*out);
    if (subject) {
      if (!subject_query) return Problem(400, "Bad request", "subject queries are not available");
      if (auto refused = subject_query(req, *out)) return *refused;
      return Json(*out);
    }
    Response r = Json(*out);
    if ((*out)["tree_size"] == size) {
      std::lock_guard lock(cache->mu);
      if (cache->answers.size() >= 4096) cache->answers.clear();  // bounded; rebuilt as asked
      cache->answers[req.params[0]] = {size, r.body};
    }
    return r;
  }, kInlineRead);

  pdf::PdfEngine* engine = options.pdf;
  router.Add(http::verb::post, "/v1/verify",
             [lp, engine, name_clients, revocations = options.revocations](const Request& req) {
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
    if (type == node::DocType::kPdf && engine == nullptr) {
      return Problem(503, "Service unavailable", "this node reads no PDFs");
    }
    auto out = node::VerifyDocumentJson(*lp, engine != nullptr ? *engine : pdf::InProcessPdfEngine(), bytes, type,
                                        revocations);
    if (!out.ok()) return FromStatus(out.status());
    name_clients(*out);
    return Json(*out);
  }, RouteOptions{Exec::kWorker, kDocumentBody, [saturated = options.pdf_saturated](const http::fields& headers)
                                                   -> std::optional<Response> {
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
  }});
}

}  // namespace quipu::api
