#include "ledger/tlog_proof.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

namespace quipu::ledger {
namespace {

constexpr size_t kMaxProofHashes = 64;

bool ParseDecimal(std::string_view s, uint64_t& out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// Splits a policy line into words (spaces and tabs only).
std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at < line.size()) {
    const size_t start = line.find_first_not_of(" \t", at);
    if (start == std::string_view::npos) break;
    const size_t end = line.find_first_of(" \t", start);
    out.push_back(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    at = end == std::string_view::npos ? line.size() : end;
  }
  return out;
}

}  // namespace

std::string FormatTlogProof(const TlogProof& p) {
  std::string out = std::string(kTlogProofHeader) + "\n";
  if (p.extra) out += "extra " + crypto::Base64Encode(*p.extra) + "\n";
  out += "index " + std::to_string(p.index) + "\n";
  for (const Hash& h : p.proof) out += crypto::Base64Encode(h) + "\n";
  out += "\n";
  out += p.checkpoint;
  return out;
}

Result<TlogProof> ParseTlogProof(std::string_view text) {
  TlogProof p;
  size_t number = 0;
  auto line = [&]() -> std::optional<std::string_view> {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;
    std::string_view l = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    ++number;
    return l;
  };
  auto bad = [&](const std::string& why) { return InvalidArgument("proof line " + std::to_string(number) + ": " + why); };
  auto l = line();
  if (!l || *l != kTlogProofHeader) return InvalidArgument("not a tlog proof: the first line must be c2sp.org/tlog-proof@v1");
  l = line();
  if (l && l->substr(0, 6) == "extra ") {
    auto extra = crypto::Base64Decode(l->substr(6));
    if (!extra.ok()) return bad("extra is not base64");
    p.extra = std::move(*extra);
    l = line();
  }
  if (!l || l->substr(0, 6) != "index " || !ParseDecimal(l->substr(6), p.index)) {
    return bad("expected \"index <n>\"");
  }
  for (;;) {
    l = line();
    if (!l) return bad("no empty line before the checkpoint");
    if (l->empty()) break;
    if (p.proof.size() == kMaxProofHashes) return bad("more than 64 proof hashes");
    auto h = crypto::Base64Decode(*l);
    if (!h.ok() || h->size() != 32) return bad("not a base64 SHA-256 hash");
    Hash hash{};
    std::copy(h->begin(), h->end(), hash.begin());
    p.proof.push_back(hash);
  }
  if (text.empty()) return bad("no checkpoint");
  p.checkpoint = std::string(text);
  return p;
}

Result<std::vector<PolicyLine>> TlogPolicyLines(std::string_view text) {
  std::vector<PolicyLine> out;
  size_t number = 0;
  while (!text.empty()) {
    ++number;
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    for (char c : line) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) {
        return InvalidArgument("policy line " + std::to_string(number) + ": a control character");
      }
    }
    auto words = Words(line);
    if (words.empty() || words[0][0] == '#') continue;
    out.push_back({number, std::move(words)});
  }
  return out;
}

Result<TlogPolicy> ParseTlogPolicy(std::string_view text) {
  TlogPolicy policy;
  std::set<std::string> names = {"none"};
  // Public keys, to refuse duplicate logs and duplicate witnesses (a log's
  // key may also be a witness's).
  std::set<std::string> log_keys, witness_keys;
  constexpr size_t kMaxDefinitions = 1024;  // logs, witnesses and groups, each
  bool has_quorum = false;
  QUIPU_ASSIGN_OR_RETURN(const std::vector<PolicyLine> lines, TlogPolicyLines(text));
  for (const PolicyLine& pl : lines) {
    const std::string where = "policy line " + std::to_string(pl.number) + ": ";
    const auto& w = pl.words;
    const std::string_view kind = w[0];
    if (kind == "log") {
      if (w.size() < 2 || w.size() > 3) return InvalidArgument(where + "log <vkey> [url]");
      auto v = crypto::ParseVerifierKey(w[1]);
      if (!v.ok()) return InvalidArgument(where + v.status().message());
      if (!log_keys.insert(std::string(v->public_key.begin(), v->public_key.end())).second) {
        return InvalidArgument(where + "a log key listed twice");
      }
      if (policy.logs.size() == kMaxDefinitions) return InvalidArgument(where + "more than 1024 logs");
      policy.logs.push_back(*v);
    } else if (kind == "witness") {
      if (w.size() < 3 || w.size() > 4) return InvalidArgument(where + "witness <name> <vkey> [url]");
      const std::string name(w[1]);
      if (!names.insert(name).second) return InvalidArgument(where + "the name " + name + " is taken");
      auto c = crypto::ParseCosignerVerifierKey(w[2]);
      if (!c.ok()) {
        if (c.status().message().find("type 0x04") != std::string::npos) {
          return InvalidArgument(where + "only Ed25519 cosigner keys (cosignature/v1, type 0x04) are supported; "
                                         "ML-DSA-44 (0x06) ones are not yet");
        }
        return InvalidArgument(where + c.status().message());
      }
      if (!witness_keys.insert(std::string(c->public_key.begin(), c->public_key.end())).second) {
        return InvalidArgument(where + "a witness key listed twice");
      }
      if (policy.witnesses.size() == kMaxDefinitions) return InvalidArgument(where + "more than 1024 witnesses");
      policy.witnesses.push_back({name, *c, w.size() == 4 ? std::string(w[3]) : std::string()});
    } else if (kind == "group") {
      if (w.size() < 4) return InvalidArgument(where + "group <name> all|any|<k> <name>...");
      TlogPolicy::Group g;
      g.name = std::string(w[1]);
      std::set<std::string> members;
      for (size_t i = 3; i < w.size(); ++i) {
        const std::string m(w[i]);
        if (m == "none" || !names.count(m)) return InvalidArgument(where + m + " is not defined above");
        if (!members.insert(m).second) return InvalidArgument(where + m + " is listed twice");
        g.members.push_back(m);
      }
      const size_t n = g.members.size();
      uint64_t k = 0;
      if (w[2] == "all") k = n;
      else if (w[2] == "any") k = 1;
      else if (!ParseDecimal(w[2], k) || k < 1 || k > n) return InvalidArgument(where + "the threshold must be 1.." + std::to_string(n));
      g.threshold = static_cast<size_t>(k);
      if (!names.insert(g.name).second) return InvalidArgument(where + "the name " + g.name + " is taken");
      if (policy.groups.size() == kMaxDefinitions) return InvalidArgument(where + "more than 1024 groups");
      policy.groups.push_back(std::move(g));
    } else if (kind == "quorum") {
      if (w.size() != 2) return InvalidArgument(where + "quorum <name>");
      if (has_quorum) return InvalidArgument(where + "a second quorum line");
      if (!names.count(std::string(w[1]))) return InvalidArgument(where + std::string(w[1]) + " is not defined above");
      policy.quorum = std::string(w[1]);
      has_quorum = true;
    } else {
      return InvalidArgument(where + "expected log, witness, group or quorum");
    }
  }
  if (!has_quorum) return InvalidArgument("the policy has no quorum line (\"quorum none\" asks for no witness)");
  return policy;
}

Result<CheckpointCheck> EvaluateCheckpoint(const TlogPolicy& policy, std::string_view note) {
  auto opened = crypto::OpenNote(note, policy.logs);
  if (!opened.ok()) {
    if (opened.status().code() == StatusCode::kPermissionDenied) {
      return PermissionDenied("the checkpoint is not signed by a log of the policy");
    }
    return opened.status().WithContext("the checkpoint");
  }
  CheckpointCheck out;
  QUIPU_ASSIGN_OR_RETURN(out.fields, ParseCheckpointBody(opened->text));
  const auto signer = std::find_if(opened->verified.begin(), opened->verified.end(),
                                   [&](const crypto::NoteKeyId& k) { return k.name == out.fields.origin; });
  if (signer == opened->verified.end()) {
    return PermissionDenied("the checkpoint's origin " + out.fields.origin + " is not the name of the log key that signed it");
  }
  out.log_key = signer->name;
  // The cosignatures: every signature line, against every witness known.
  std::string_view sigs = note.substr(opened->text.size() + 1);
  std::set<std::string> cosigned;
  while (!sigs.empty()) {
    const size_t nl = sigs.find('\n');
    const std::string_view line = sigs.substr(0, nl == std::string_view::npos ? sigs.size() : nl + 1);
    sigs.remove_prefix(line.size());
    bool known = false;
    for (const TlogPolicy::Witness& w : policy.witnesses) {
      auto t = crypto::VerifyCosignature(line, w.key, opened->text);
      if (!t.ok()) return t.status().WithContext("the cosignature of witness " + w.name);
      if (t->has_value()) {
        known = true;
        if (cosigned.insert(w.name).second) out.cosigned.push_back(w.name);
      }
    }
    if (!known) out.unverified.push_back(std::string(line.substr(0, line.size() - (line.back() == '\n'))));
  }
  // The quorum: each group once, in order of definition (its members are
  // defined above it), so the work is linear in the policy's size.
  std::set<std::string> witnessed = cosigned;
  witnessed.insert("none");
  for (const TlogPolicy::Group& g : policy.groups) {
    size_t n = 0;
    for (const std::string& m : g.members) n += witnessed.count(m);
    if (n >= g.threshold) witnessed.insert(g.name);
  }
  out.quorum = witnessed.count(policy.quorum) > 0;
  return out;
}

Result<CheckpointCheck> CheckCheckpoint(const TlogPolicy& policy, std::string_view note) {
  QUIPU_ASSIGN_OR_RETURN(CheckpointCheck out, EvaluateCheckpoint(policy, note));
  if (!out.quorum) {
    std::string who;
    for (const std::string& n : out.cosigned) who += (who.empty() ? "" : ", ") + n;
    return PermissionDenied("the quorum " + policy.quorum + " is not met: cosigned by " + (who.empty() ? "no known witness" : who));
  }
  return out;
}

std::string FormatTlogPolicy(const TlogPolicy& policy) {
  std::string out;
  for (const crypto::NoteVerifier& l : policy.logs) out += "log " + crypto::VerifierKeyString(l) + "\n";
  for (const TlogPolicy::Witness& w : policy.witnesses) {
    out += "witness " + w.name + " " + crypto::CosignerVerifierKey(w.key.name, w.key.public_key);
    if (!w.url.empty()) out += " " + w.url;
    out += "\n";
  }
  for (const TlogPolicy::Group& g : policy.groups) {
    out += "group " + g.name + " " + std::to_string(g.threshold);
    for (const std::string& m : g.members) out += " " + m;
    out += "\n";
  }
  out += "quorum " + policy.quorum + "\n";
  return out;
}

}  // namespace quipu::ledger
