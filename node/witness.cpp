#include "node/witness.h"

#include <charconv>
#include <chrono>
#include <set>

#include "crypto/encoding.h"
#include "crypto/sha256.h"
#include "ledger/checkpoint.h"
#include "ledger/merkle.h"
#include "ledger/tlog_proof.h"
#include "node/records.h"
#include "node/schema.h"

namespace quipu::node {
namespace {

using Kind = WitnessAnswer::Kind;

constexpr size_t kMaxProofLines = 63;

// What the witness keeps per log (node/records.h), absent before the first
// cosignature.
Result<std::optional<records::WitnessStateRecord>> DecodeState(const std::optional<std::string>& bytes) {
  if (!bytes) return std::optional<records::WitnessStateRecord>();
  QUIPU_ASSIGN_OR_RETURN(records::WitnessStateRecord r, records::DecodeWitnessState(*bytes));
  return std::optional<records::WitnessStateRecord>(std::move(r));
}

WitnessAnswer Refuse(Kind kind, std::string detail, std::string origin = "") {
  WitnessAnswer a;
  a.kind = kind;
  a.detail = std::move(detail);
  a.origin = std::move(origin);
  return a;
}

// "old <n>" with no leading zero (but "0").
bool ParseOld(std::string_view line, uint64_t& old) {
  if (line.substr(0, 4) != "old ") return false;
  const std::string_view n = line.substr(4);
  if (n.empty() || (n.size() > 1 && n[0] == '0')) return false;
  auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), old);
  return ec == std::errc() && end == n.data() + n.size();
}

// The signature lines of `sigs` (a note's lines after the blank one) by the
// keys in `verified`, in note order.
std::string VerifiedLines(std::string_view sigs, const std::vector<crypto::NoteKeyId>& verified) {
  std::string out;
  while (!sigs.empty()) {
    const size_t nl = sigs.find('\n');
    const std::string_view line = sigs.substr(0, nl == std::string_view::npos ? sigs.size() : nl + 1);
    sigs.remove_prefix(line.size());
    const std::string_view dash = "\xe2\x80\x94 ";
    if (line.substr(0, dash.size()) != dash) continue;
    const std::string_view rest = line.substr(dash.size());
    const size_t space = rest.find(' ');
    if (space == std::string_view::npos) continue;
    std::string_view b64 = rest.substr(space + 1);
    if (!b64.empty() && b64.back() == '\n') b64.remove_suffix(1);
    auto blob = crypto::Base64Decode(b64);
    if (!blob.ok() || blob->size() < 4) continue;
    const uint32_t hash = static_cast<uint32_t>((*blob)[0]) << 24 | static_cast<uint32_t>((*blob)[1]) << 16 |
                          static_cast<uint32_t>((*blob)[2]) << 8 | (*blob)[3];
    const crypto::NoteKeyId id{std::string(rest.substr(0, space)), hash};
    if (std::find(verified.begin(), verified.end(), id) != verified.end()) {
      out.append(line);
      if (out.back() != '\n') out.push_back('\n');
    }
  }
  return out;
}

int64_t SystemSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::vector<WitnessedLog>> ParseWitnessedLogs(std::string_view text) {
  std::vector<WitnessedLog> logs;
  std::set<std::string> keys;  // public keys: one log's, once
  QUIPU_ASSIGN_OR_RETURN(const std::vector<ledger::PolicyLine> lines, ledger::TlogPolicyLines(text));
  for (const ledger::PolicyLine& pl : lines) {
    const auto& words = pl.words;
    const std::string where = "line " + std::to_string(pl.number) + ": ";
    if (words[0] == "witness" || words[0] == "group" || words[0] == "quorum") continue;
    if (words[0] != "log") return InvalidArgument(where + "expected log, witness, group or quorum");
    if (words.size() < 2 || words.size() > 3) return InvalidArgument(where + "log <vkey> [url]");
    auto key = crypto::ParseVerifierKey(words[1]);
    if (!key.ok()) return InvalidArgument(where + key.status().message());
    if (!keys.insert(std::string(key->public_key.begin(), key->public_key.end())).second) {
      return InvalidArgument(where + "a public key listed twice");
    }
    auto same = std::find_if(logs.begin(), logs.end(), [&](const WitnessedLog& l) { return l.origin == key->name; });
    if (same == logs.end()) {
      logs.push_back({key->name, {}, words.size() == 3 ? std::string(words[2]) : ""});
      same = logs.end() - 1;
    }
    same->keys.push_back(*key);
  }
  return logs;
}

Result<WitnessKey> LoadOrCreateWitnessKey(const std::string& path, const std::string& name) {
  std::string stored_name;
  auto key = crypto::LoadSigningKey(path, &stored_name);
  if (key.ok()) return WitnessKey{std::move(stored_name), std::move(*key)};
  if (key.status().code() != StatusCode::kNotFound) return key.status();
  crypto::SigningKey fresh = crypto::SigningKey::Generate();
  QUIPU_RETURN_IF_ERROR(crypto::SaveSigningKey(path, fresh, name));
  return LoadOrCreateWitnessKey(path, name);
}

Result<std::unique_ptr<Witness>> Witness::Create(ledger::Log& ledger, WitnessKey key, std::vector<WitnessedLog> logs,
                                                 std::function<int64_t()> clock) {
  if (!crypto::IsValidKeyName(key.name)) return InvalidArgument("witness: invalid name " + key.name);
  std::set<std::string> origins;
  for (const WitnessedLog& l : logs) {
    if (!origins.insert(l.origin).second) return InvalidArgument("witness: two logs with origin " + l.origin);
    if (l.keys.empty()) return InvalidArgument("witness: log " + l.origin + " has no key");
  }
  return std::unique_ptr<Witness>(new Witness(ledger, std::move(key), std::move(logs), std::move(clock)));
}

Witness::Witness(ledger::Log& ledger, WitnessKey key, std::vector<WitnessedLog> logs, std::function<int64_t()> clock)
    : ledger_(ledger), key_(std::move(key)), logs_(std::move(logs)), clock_(clock ? std::move(clock) : SystemSeconds) {}

std::string Witness::verifier_key() const { return crypto::CosignerVerifierKey(key_.name, key_.key.PublicKey()); }

Result<WitnessAnswer> Witness::AddCheckpoint(std::string_view body) {
  if (body.size() > kMaxAddCheckpointBytes) return Refuse(Kind::kBadRequest, "the body is over 128 KiB");
  // 1. The old size, the proof, the blank line, the checkpoint.
  auto line = [&body]() -> std::optional<std::string_view> {
    const size_t nl = body.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;
    std::string_view l = body.substr(0, nl);
    body.remove_prefix(nl + 1);
    return l;
  };
  uint64_t old = 0;
  auto first = line();
  if (!first || !ParseOld(*first, old)) return Refuse(Kind::kBadRequest, "the body must start with \"old <size>\"");
  std::vector<ledger::Hash> proof;
  for (;;) {
    auto l = line();
    if (!l) return Refuse(Kind::kBadRequest, "no empty line before the checkpoint");
    if (l->empty()) break;
    if (proof.size() == kMaxProofLines) return Refuse(Kind::kBadRequest, "more than 63 proof lines");
    auto h = crypto::Base64Decode(*l);
    if (!h.ok() || h->size() != 32) return Refuse(Kind::kBadRequest, "a proof line is not a base64 SHA-256 hash");
    ledger::Hash hash{};
    std::copy(h->begin(), h->end(), hash.begin());
    proof.push_back(hash);
  }
  const std::string_view note = body;
  // 2. The log, by the checkpoint's origin line; its signature.
  const std::string origin(note.substr(0, note.find('\n')));
  const auto log = std::find_if(logs_.begin(), logs_.end(), [&](const WitnessedLog& l) { return l.origin == origin; });
  if (log == logs_.end()) return Refuse(Kind::kUnknownLog, "this witness does not witness " + origin.substr(0, 200));
  auto opened = crypto::OpenNote(note, log->keys);
  if (!opened.ok()) {
    if (opened.status().code() == StatusCode::kInvalidArgument) {
      return Refuse(Kind::kBadRequest, "the checkpoint is not a signed note: " + opened.status().message(), origin);
    }
    return Refuse(Kind::kNotSigned, "no valid signature by the log's keys: " + opened.status().message(), origin);
  }
  // From here on a refusal is of a checkpoint the log signed.
  auto refuse = [&origin](Kind kind, std::string detail) {
    WitnessAnswer a = Refuse(kind, std::move(detail), origin);
    a.signed_by_log = true;
    return a;
  };
  auto fields = ledger::ParseCheckpointBody(opened->text);
  if (!fields.ok() || fields->origin != origin) {
    return refuse(Kind::kBadRequest, "not a checkpoint: " + fields.status().message());
  }
  const uint64_t size = fields->tree_size;
  if (old > size) return refuse(Kind::kBadRequest, "old size " + std::to_string(old) + " is above the checkpoint's");
  const ledger::Hash empty_root = crypto::Sha256(std::string_view());
  // 3. Against the state, and the new state, in one write transaction.
  const std::string text = opened->text;
  // What the monitoring view serves: the text, the log's signatures that
  // verified, and (below) this witness's cosignature; no other line.
  std::string checkpoint = text + "\n" + VerifiedLines(note.substr(text.size() + 1), opened->verified);
  WitnessAnswer answer;
  ledger::AppendRequest req;
  req.apply = [&](ledger::PrivateTxn& txn, uint64_t, const std::string& time) -> Status {
    QUIPU_ASSIGN_OR_RETURN(auto bytes, txn.Get(tables::kWitness, records::WitnessStateKey(origin)));
    QUIPU_ASSIGN_OR_RETURN(std::optional<records::WitnessStateRecord> state, DecodeState(bytes));
    const uint64_t latest = state ? state->size : 0;
    if (old != latest) {
      answer = refuse(Kind::kConflict, "the last size cosigned is " + std::to_string(latest));
      answer.size = latest;
      return Status::Ok();
    }
    // In the spec's order: the size first (a stale client learns where the
    // witness is), then the proof.
    if (size == 0 && fields->root != empty_root) {
      answer = refuse(Kind::kInconsistent, "a tree of size 0 has the root of the empty string");
      return Status::Ok();
    }
    if (old == 0 && !proof.empty()) {
      answer = refuse(Kind::kInconsistent, "a proof from size 0");
      return Status::Ok();
    }
    if (state && old == size && fields->root != state->root) {
      answer = refuse(Kind::kInconsistent, "another root at the size cosigned");
      return Status::Ok();
    }
    if (state && old < size && old > 0 &&
        !ledger::VerifyConsistency(old, size, state->root, fields->root, proof)) {
      answer = refuse(Kind::kInconsistent, "the consistency proof does not verify");
      return Status::Ok();
    }
    if (state && old == size && !proof.empty()) {
      answer = refuse(Kind::kInconsistent, "a proof between equal sizes must be empty");
      return Status::Ok();
    }
    QUIPU_ASSIGN_OR_RETURN(std::string cosig,
                           crypto::Cosign(key_.name, key_.key, text, static_cast<uint64_t>(std::max<int64_t>(1, clock_()))));
    answer = WitnessAnswer{Kind::kCosigned, "", cosig, size, origin, true};
    return txn.Put(tables::kWitness, records::WitnessStateKey(origin),
                   records::Encode(records::WitnessStateRecord{size, fields->root, checkpoint + cosig, time}));
  };
  auto done = ledger_.Append(std::move(req)).get();
  if (!done.ok()) return done.status();
  return answer;
}

Result<std::optional<std::string>> Witness::LatestCheckpoint(std::string_view origin_sha256) const {
  for (const WitnessedLog& l : logs_) {
    if (crypto::HexEncode(crypto::Sha256(l.origin)) != origin_sha256) continue;
    QUIPU_ASSIGN_OR_RETURN(auto bytes, ledger_.ReadPrivate(tables::kWitness, records::WitnessStateKey(l.origin)));
    QUIPU_ASSIGN_OR_RETURN(std::optional<records::WitnessStateRecord> state, DecodeState(bytes));
    if (!state) return std::optional<std::string>();
    return std::optional<std::string>(state->checkpoint);
  }
  return std::optional<std::string>();
}

}  // namespace quipu::node
