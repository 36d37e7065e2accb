// `quipu proof check`: a receipt (C2SP tlog-proof@v1, as GET
// /v1/entries/{n}/receipt gives it) verified offline against a log's key or
// a tlog-policy, and optionally against the document it is about.
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/flags.h"
#include "crypto/encoding.h"
#include "crypto/jcs.h"
#include "crypto/sha256.h"
#include "ledger/merkle.h"
#include "ledger/tlog_proof.h"
#include "node/document.h"

namespace quipu::cli {
namespace {

using nlohmann::json;

constexpr size_t kMaxReceiptBytes = 1 << 20;
constexpr size_t kMaxDocumentBytes = size_t{1} << 30;

Result<std::string> ReadAll(const std::string& path, size_t max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::string out;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<size_t>(in.gcount()));
    if (out.size() > max) return InvalidArgument(path + " is over " + std::to_string(max) + " bytes");
  }
  return out;
}

// A document's hash as quipu records it (the type sniffed as everywhere
// else): a PDF's bytes, a JSON document's RFC 8785 form.
Result<crypto::Digest> DocumentHash(const std::string& bytes) {
  switch (node::SniffDocType(crypto::AsBytes(bytes))) {
    case node::DocType::kPdf:
      return crypto::Sha256(bytes);
    case node::DocType::kJson: {
      auto canonical = crypto::Canonicalize(bytes);
      if (!canonical.ok()) return InvalidArgument("not valid JSON: " + canonical.status().message());
      return crypto::Sha256(*canonical);
    }
    case node::DocType::kRaw:
      break;
  }
  return InvalidArgument("neither a PDF nor JSON");
}

int Check(const Flags& flags) {
  const auto& pos = flags.positional();
  if (pos.size() < 2 || pos.size() > 3) return Fail("proof check", "usage: quipu proof check RECEIPT [FILE] (--vkey K | --policy F)", kExitBadInput);
  auto text = ReadAll(pos[1], kMaxReceiptBytes);
  if (!text.ok()) return Fail("proof check", text.status().message(), kExitBadInput);
  auto receipt = ledger::ParseTlogProof(*text);
  if (!receipt.ok()) return Fail("proof check", receipt.status().message(), kExitBadInput);
  // The policy: a file, or one log's key and no witness.
  ledger::TlogPolicy policy;
  if (auto file = flags.Get("policy")) {
    auto p = ReadAll(*file, kMaxReceiptBytes);
    if (!p.ok()) return Fail("proof check", p.status().message(), kExitBadInput);
    auto parsed = ledger::ParseTlogPolicy(*p);
    if (!parsed.ok()) return Fail("proof check", *file + ": " + parsed.status().message(), kExitBadInput);
    policy = std::move(*parsed);
  } else if (auto vkey = flags.Get("vkey")) {
    auto v = crypto::ParseVerifierKey(*vkey);
    if (!v.ok()) return Fail("proof check", "--vkey: " + v.status().message(), kExitBadInput);
    policy.logs.push_back(*v);
    policy.quorum = "none";
  } else {
    return Fail("proof check", "give the log's key (--vkey) or a policy (--policy)", kExitBadInput);
  }
  // 1. The checkpoint: the log's signature, the witnesses, the quorum.
  auto checked = ledger::CheckCheckpoint(policy, receipt->checkpoint);
  if (!checked.ok()) return Fail("proof check", checked.status().message());
  // 2. The leaf: quipu's receipts carry the entry as their extra data.
  if (!receipt->extra) return Fail("proof check", "the receipt carries no entry (no extra line): the leaf cannot be computed");
  const std::string entry(crypto::AsString(*receipt->extra));
  const crypto::Digest leaf = ledger::LeafHash(*receipt->extra);
  // 3. The inclusion proof to the checkpoint's root.
  if (receipt->index >= checked->fields.tree_size) {
    return Fail("proof check", "index " + std::to_string(receipt->index) + " is not in a tree of " +
                                   std::to_string(checked->fields.tree_size));
  }
  if (!ledger::VerifyInclusion(receipt->index, checked->fields.tree_size, leaf, receipt->proof, checked->fields.root)) {
    return Fail("proof check", "the inclusion proof does not lead from the entry to the checkpoint's root");
  }
  // 4. The document, when given: the entry must name its hash.
  const json e = json::parse(entry, nullptr, false);
  const std::string named = e.is_object() && e.contains("doc") && e["doc"].is_object() ? e["doc"].value("sha256", "") : "";
  if (pos.size() == 3) {
    auto doc = ReadAll(pos[2], kMaxDocumentBytes);
    if (!doc.ok()) return Fail("proof check", doc.status().message(), kExitBadInput);
    auto hash = DocumentHash(*doc);
    if (!hash.ok()) return Fail("proof check", pos[2] + ": " + hash.status().message(), kExitBadInput);
    if (crypto::HexEncode(*hash) != named) {
      return Fail("proof check", pos[2] + " is not the entry's document (its SHA-256 is " + crypto::HexEncode(*hash) +
                                     ", the entry names " + (named.empty() ? std::string("none") : named) + ")");
    }
  }
  json report = {{"ok", true},
                 {"index", receipt->index},
                 {"tree_size", checked->fields.tree_size},
                 {"origin", checked->fields.origin},
                 {"log_key", checked->log_key},
                 {"cosigned_by", checked->cosigned},
                 {"quorum", policy.quorum},
                 {"entry", e.is_object() ? e : json(entry)}};
  if (pos.size() == 3) report["document"] = named;
  std::cout << report.dump() << "\n";
  return kExitOk;
}

int RunProof(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args, {{"vkey", true}, {"policy", true}});
  if (!flags.ok()) return Fail("proof", flags.status().message(), kExitBadInput);
  const auto& pos = flags->positional();
  if (pos.empty() || pos[0] != "check") return Fail("proof", "the subcommand is check", kExitBadInput);
  return Check(*flags);
}

}  // namespace

extern const Command kProofCommand{
    "proof", "verify a receipt (C2SP tlog-proof) offline",
    "usage: quipu proof check RECEIPT [FILE] (--vkey VKEY | --policy POLICY)\n"
    "\n"
    "RECEIPT is a tlog-proof@v1 text (GET /v1/entries/{n}/receipt). Checks, with no network:\n"
    "the checkpoint's signature by the log (VKEY, or a log of POLICY, a C2SP tlog-policy\n"
    "file), the witnesses' cosignatures against POLICY's quorum, the leaf hash of the entry\n"
    "the receipt carries, its inclusion proof to the checkpoint's root, and, given FILE,\n"
    "that the entry names FILE's hash (a PDF's bytes, a JSON document's RFC 8785 form).\n"
    "Prints a JSON report and exits 0; says what failed and exits 1 otherwise (2: bad input).\n",
    RunProof};

}  // namespace quipu::cli
