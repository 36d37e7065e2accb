// `quipu log ...` (the ledger from the command line) and `quipu audit`.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <chrono>
#include <cstdio>
#include <deque>
#include <iostream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/jcs.h"
#include "ledger/audit.h"
#include "ledger/entry.h"
#include "ledger/log.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/remote_audit.h"
#include "api/documents_json.h"
#include "node/schema.h"
#include "node/secrets.h"

namespace quipu::cli {
namespace {

using node::LoadNodeSecrets;
using api::ProofJson;

using nlohmann::json;

constexpr char kDefaultData[] = "./quipu-data";

Result<ledger::SyncMode> ParseSync(const Flags& flags) {
  const std::string sync = flags.GetOr("sync", "full");
  if (sync == "full") return ledger::SyncMode::kFull;
  if (sync == "none") return ledger::SyncMode::kNone;
  return InvalidArgument("--sync must be full or none, not '" + sync + "'");
}

int LogFail(std::string_view sub, const Status& s) {
  const int code = s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound
                       ? kExitBadInput
                       : kExitFailure;
  return Fail(std::string("log ") + std::string(sub), s.message(), code);
}

Result<std::unique_ptr<ledger::Log>> OpenLog(const Flags& flags, bool read_only, bool create = false) {
  ledger::LogOptions o = node::LogOptionsFor(flags.GetOr("data", kDefaultData));
  o.read_only = read_only;
  o.create = create;
  o.origin = flags.GetOr("origin", "");
  QUIPU_ASSIGN_OR_RETURN(o.sync, ParseSync(flags));
  return ledger::Log::Open(o);
}

int LogInit(const Flags& flags) {
  auto log = OpenLog(flags, false, true);
  if (!log.ok()) return LogFail("init", log.status());
  // The node's other secrets (data key, admin token) are made now too.
  auto secrets = LoadNodeSecrets(flags.GetOr("data", kDefaultData), /*create=*/true);
  if (!secrets.ok()) return LogFail("init", secrets.status());
  std::cout << (*log)->verifier_key() << "\n";
  std::cerr << "quipu log init: admin token in " << secrets->admin_token_path << " (mode 0600)\n";
  return kExitOk;
}

int LogVkey(const Flags& flags) {
  auto log = OpenLog(flags, true);
  if (!log.ok()) return LogFail("vkey", log.status());
  std::cout << (*log)->verifier_key() << "\n";
  return kExitOk;
}

// Appends checked entries in requests of `batch` entries, several in
// flight, and prints {"index":N} per entry in input order as their commits
// land; keeps which input lines are acknowledged, and which failed.
class Appender {
 public:
  Appender(ledger::Log& log, uint64_t batch, bool quiet)
      : log_(log), batch_(batch), quiet_(quiet),
        // The only writer is this process: bounding what it has in flight
        // below the queue's capacity means the sequencer never answers "busy".
        max_in_flight_(std::max<uint64_t>(32768, batch)) {
    req_.checked.reserve(batch_);
  }

  // The entry of input line `line`.
  void Add(uint64_t line, ledger::CanonicalFields fields) {
    if (req_.checked.empty()) first_line_ = line;
    last_line_ = line;
    req_.checked.push_back(std::move(fields));
    if (req_.checked.size() >= batch_) Submit();
  }

  // Sends the partial request, if any.
  void Submit() {
    if (req_.checked.empty()) return;
    while (!in_flight_.empty() && in_flight_entries_ + req_.checked.size() > max_in_flight_) DrainOne();
    InFlight f;
    f.entries = req_.checked.size();
    f.first_line = first_line_;
    f.last_line = last_line_;
    in_flight_entries_ += f.entries;
    f.done = log_.Append(std::move(req_));
    in_flight_.push_back(std::move(f));
    req_ = ledger::AppendRequest{};
    req_.checked.reserve(batch_);
  }

  // Everything sent, acknowledged or failed.
  void DrainAll() {
    while (!in_flight_.empty()) DrainOne();
  }

  // Submits and drains; whether a commit failed.
  bool Finish() {
    Submit();
    DrainAll();
    return commit_failure_.has_value();
  }
  bool failed() const { return commit_failure_.has_value(); }

  // How to go on after a bad line at `from_line` (every commit landed).
  std::string ResumeHint(uint64_t from_line) const {
    return std::to_string(acknowledged_) + " entries before it were appended and acknowledged" +
           (acknowledged_ > 0 ? " (through line " + std::to_string(last_acknowledged_line_) + ")" : std::string()) +
           "; resume with the input from line " + std::to_string(from_line) + " on (e.g. tail -n +" +
           std::to_string(from_line) + " FILE | quipu log append ...)";
  }

  // After a failed commit: exactly which lines are missing, and where the
  // unread input starts.
  std::string FailureReport(uint64_t unread_from) const {
    std::string ranges;
    for (auto [a, b] : failed_lines_) {
      if (!ranges.empty()) ranges += ", ";
      ranges += std::to_string(a);
      if (a != b) {
        ranges += '-';
        ranges += std::to_string(b);
      }
    }
    return "lines " + ranges + " were not appended: " + commit_failure_->message() + "; every other line before line " +
           std::to_string(unread_from) + " was appended and acknowledged; resume with those lines, then the input " +
           "from line " + std::to_string(unread_from) + " on";
  }

 private:
  // A request in flight and the input lines it holds.
  struct InFlight {
    std::future<Result<ledger::AppendResult>> done;
    uint64_t first_line = 0, last_line = 0, entries = 0;
  };

  // The oldest request's outcome: printed, or (each request is its own:
  // later ones may still commit, and are acknowledged as usual) recorded
  // as failed by its input lines.
  void DrainOne() {
    InFlight f = std::move(in_flight_.front());
    in_flight_.pop_front();
    in_flight_entries_ -= f.entries;
    auto r = f.done.get();
    if (!r.ok()) {
      if (!commit_failure_) commit_failure_ = r.status();
      failed_lines_.emplace_back(f.first_line, f.last_line);
      return;
    }
    acknowledged_ += r->count;
    last_acknowledged_line_ = f.last_line;
    if (quiet_) return;
    out_.clear();
    for (uint64_t i = 0; i < r->count; ++i) {
      out_ += "{\"index\":";
      out_ += std::to_string(r->first_index + i);
      out_ += "}\n";
    }
    std::fwrite(out_.data(), 1, out_.size(), stdout);
    std::fflush(stdout);
  }

  ledger::Log& log_;
  const uint64_t batch_;
  const bool quiet_;
  const uint64_t max_in_flight_;
  ledger::AppendRequest req_;
  uint64_t first_line_ = 0, last_line_ = 0;  // of req_
  std::deque<InFlight> in_flight_;
  uint64_t in_flight_entries_ = 0;
  uint64_t acknowledged_ = 0;  // entries committed and printed
  uint64_t last_acknowledged_line_ = 0;
  std::optional<Status> commit_failure_;
  std::vector<std::pair<uint64_t, uint64_t>> failed_lines_;
  std::string out_;
};

// Reads entries (one JSON object a line) and appends them in requests of
// --batch entries, several in flight, printing {"index":N} per entry in
// input order as their commits land. A bad line stops the reading: every
// line before it is still appended and acknowledged, then the line is named
// and the exit status is 2, so a corrected input can resume exactly after
// the acknowledged ones (README, "Ledger entries").
int LogAppend(const Flags& flags) {
  auto batch_size = flags.GetUint("batch", 1024);
  if (!batch_size.ok() || *batch_size == 0 || *batch_size > 16384) {
    return Fail("log append", "--batch must be 1..16384", kExitBadInput);
  }
  auto log = OpenLog(flags, false);
  if (!log.ok()) return LogFail("append", log.status());
  Appender appender(**log, *batch_size, flags.Has("quiet"));
  // Lines are read with read(2): when no more input is waiting, the partial
  // batch is submitted at once, so a slow producer's entries do not wait
  // for a batch to fill up.
  uint64_t line_no = 0;
  std::string buf;
  char chunk[1 << 16];
  bool eof = false;
  while (!eof) {
    ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      if (appender.Finish()) return Fail("log append", appender.FailureReport(line_no + 1));
      return Fail("log append", "reading standard input after line " + std::to_string(line_no) + ": " + why + "; " +
                                    appender.ResumeHint(line_no + 1));
    }
    if (n == 0) {
      eof = true;
      if (!buf.empty()) buf += '\n';  // a last line without a newline
    } else {
      buf.append(chunk, static_cast<size_t>(n));
    }
    size_t start = 0;
    for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
      const std::string_view line(buf.data() + start, nl - start);
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      // Checked here to name the line; canonical lines skip the JSON tree.
      auto fields = node::EntryTypes().ParseFields(line);
      if (!fields.ok()) {
        if (appender.Finish()) {
          return Fail("log append", appender.FailureReport(line_no) + " (and line " + std::to_string(line_no) +
                                        " is bad: " + fields.status().message() + ")");
        }
        return Fail("log append",
                    "line " + std::to_string(line_no) + ": " + fields.status().message() + "; " +
                        appender.ResumeHint(line_no),
                    kExitBadInput);
      }
      appender.Add(line_no, std::move(*fields));
    }
    buf.erase(0, start);
    if (buf.size() > ledger::kMaxEntryBytes * 4) {
      const uint64_t bad = line_no + 1;
      if (appender.Finish()) return Fail("log append", appender.FailureReport(bad));
      return Fail("log append", "line " + std::to_string(bad) + ": too long; " + appender.ResumeHint(bad),
                  kExitBadInput);
    }
    pollfd pfd{STDIN_FILENO, POLLIN, 0};
    if (!eof && ::poll(&pfd, 1, 0) == 0) {
      appender.Submit();
      // The producer is idle: acknowledge everything before waiting for it.
      appender.DrainAll();
    }
    if (appender.failed()) break;  // stop reading: nothing more can be acknowledged in order
  }
  if (appender.Finish()) return Fail("log append", appender.FailureReport(line_no + 1));
  return kExitOk;
}

int LogCheckpoint(const Flags& flags) {
  auto log = OpenLog(flags, true);
  if (!log.ok()) return LogFail("checkpoint", log.status());
  std::string note;
  if (flags.Has("size")) {
    auto size = flags.GetUint("size", 0);
    if (!size.ok()) return LogFail("checkpoint", size.status());
    auto n = (*log)->Checkpoint(*size);
    if (!n.ok()) return LogFail("checkpoint", n.status());
    note = *n;
  } else {
    note = (*log)->Head().checkpoint;
    if (note.empty()) return Fail("log checkpoint", "the log is empty: nothing signed yet", kExitBadInput);
  }
  std::cout << note;
  return kExitOk;
}

Result<uint64_t> PositionalUint(const Flags& flags, size_t i, std::string_view what) {
  if (flags.positional().size() <= i) return InvalidArgument(std::string("missing ") + std::string(what));
  const std::string& s = flags.positional()[i];
  uint64_t v = 0;
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument(std::string(what) + " must be a non-negative integer, not '" + s + "'");
  }
  v = std::stoull(s);
  return v;
}

int LogEntry(const Flags& flags) {
  auto index = PositionalUint(flags, 1, "INDEX");
  if (!index.ok()) return LogFail("entry", index.status());
  auto log = OpenLog(flags, true);
  if (!log.ok()) return LogFail("entry", log.status());
  auto bytes = (*log)->Entry(*index);
  if (!bytes.ok()) return LogFail("entry", bytes.status());
  std::fwrite(bytes->data(), 1, bytes->size(), stdout);
  return kExitOk;
}

int LogProve(const Flags& flags) {
  auto index = PositionalUint(flags, 1, "INDEX");
  if (!index.ok()) return LogFail("prove", index.status());
  auto log = OpenLog(flags, true);
  if (!log.ok()) return LogFail("prove", log.status());
  auto size = flags.GetUint("size", (*log)->Head().tree_size);
  if (!size.ok()) return LogFail("prove", size.status());
  auto p = (*log)->ProveInclusion(*index, *size);
  if (!p.ok()) return LogFail("prove", p.status());
  json j = {{"index", p->index},
            {"tree_size", p->tree_size},
            {"leaf_hash", crypto::Base64Encode(p->leaf_hash)},
            {"proof", ProofJson(p->proof)}};
  std::cout << j.dump() << "\n";
  return kExitOk;
}

int LogConsistency(const Flags& flags) {
  auto old_size = PositionalUint(flags, 1, "OLD");
  auto new_size = PositionalUint(flags, 2, "NEW");
  if (!old_size.ok()) return LogFail("consistency", old_size.status());
  if (!new_size.ok()) return LogFail("consistency", new_size.status());
  auto log = OpenLog(flags, true);
  if (!log.ok()) return LogFail("consistency", log.status());
  auto p = (*log)->ProveConsistency(*old_size, *new_size);
  if (!p.ok()) return LogFail("consistency", p.status());
  std::cout << json{{"old", *old_size}, {"new", *new_size}, {"proof", ProofJson(*p)}}.dump() << "\n";
  return kExitOk;
}

int RunLog(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args, {{"data", true},
                                   {"origin", true},
                                   {"sync", true},
                                   {"batch", true},
                                   {"size", true},
                                   {"quiet", false}});
  if (!flags.ok()) return Fail("log", flags.status().message(), kExitBadInput);
  if (flags->positional().empty()) return Fail("log", "missing subcommand (see quipu log --help)", kExitBadInput);
  const std::string& sub = flags->positional()[0];
  if (sub == "init") return LogInit(*flags);
  if (sub == "vkey") return LogVkey(*flags);
  if (sub == "append") return LogAppend(*flags);
  if (sub == "checkpoint") return LogCheckpoint(*flags);
  if (sub == "entry") return LogEntry(*flags);
  if (sub == "prove") return LogProve(*flags);
  if (sub == "consistency") return LogConsistency(*flags);
  return Fail("log", "unknown subcommand '" + sub + "' (see quipu log --help)", kExitBadInput);
}

std::string Duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "?";
  const auto s = static_cast<uint64_t>(seconds + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02llu:%02llu:%02llu", static_cast<unsigned long long>(s / 3600),
                static_cast<unsigned long long>(s / 60 % 60), static_cast<unsigned long long>(s % 60));
  return buf;
}

int RunAudit(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args, {{"data", true},
                                   {"vkey", true},
                                   {"json", false},
                                   {"threads", true},
                                   {"state", true},
                                   {"entries", true},
                                   {"connections", true}});
  if (!flags.ok()) return Fail("audit", flags.status().message(), kExitBadInput);
  const auto& pos = flags->positional();
  if (pos.size() > 1) return Fail("audit", "one URL at most", kExitBadInput);
  if (pos.size() == 1) {
    if (pos[0].rfind("http://", 0) != 0 && pos[0].rfind("https://", 0) != 0) {
      return Fail("audit", pos[0] + " is not an http:// or https:// URL (a local ledger is --data DIR)", kExitBadInput);
    }
    if (flags->Has("data") || flags->Has("threads")) {
      return Fail("audit", "--data and --threads are for a local ledger", kExitBadInput);
    }
    return RunRemoteAudit(*flags, pos[0]);
  }
  for (const char* remote : {"state", "entries", "connections"}) {
    if (flags->Has(remote)) return Fail("audit", std::string("--") + remote + " is for an audit over HTTP (quipu audit URL)", kExitBadInput);
  }
  ledger::AuditOptions o;
  o.dir = flags->GetOr("data", kDefaultData);
  o.vkey = flags->GetOr("vkey", "");
  o.entry_schema = node::EntryTypes();
  auto threads = flags->GetUint("threads", 0);
  if (!threads.ok() || *threads > 256) return Fail("audit", "--threads must be 0..256", kExitBadInput);
  o.threads = static_cast<int>(*threads);
  const bool as_json = flags->Has("json");
  const bool tty = !as_json && ::isatty(STDERR_FILENO);
  const auto start = std::chrono::steady_clock::now();
  if (tty) {
    o.progress = [start](uint64_t done, uint64_t total) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
      const int width = 30;
      const int filled = total ? static_cast<int>(width * done / total) : width;
      std::fprintf(stderr, "\r[%s%s] %llu/%llu entries  %.0f entries/s  %s left ",
                   std::string(static_cast<size_t>(filled), '#').c_str(),
                   std::string(static_cast<size_t>(width - filled), '.').c_str(),
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(total), rate,
                   Duration(rate > 0 ? static_cast<double>(total - done) / rate : -1).c_str());
    };
  }
  auto report = ledger::Audit(o);
  if (tty) std::fputs("\n", stderr);
  if (!report.ok()) return Fail("audit", report.status().message());
  const double rate = report->seconds > 0 ? static_cast<double>(report->entries) / report->seconds : 0;
  if (as_json) {
    json j = {{"ok", report->ok},
              {"entries", report->entries},
              {"blocks", report->blocks},
              {"checkpoints", report->checkpoints},
              {"doc_records", report->doc_records},
              {"tree_size", report->entries},
              {"root", crypto::Base64Encode(report->root)},
              {"vkey", report->vkey},
              {"vkey_from_ledger", report->vkey_from_ledger},
              {"seconds", report->seconds},
              {"entries_per_second", rate}};
    if (!report->ok) {
      j["failure"] = report->failure;
      j["index"] = report->index ? json(*report->index) : json(nullptr);
    }
    std::cout << j.dump() << "\n";
  } else if (report->ok) {
    std::cout << "ok: " << report->entries << " entries, " << report->blocks << " blocks, "
              << report->checkpoints << " checkpoints, " << report->doc_records
              << " document records; root " << crypto::Base64Encode(report->root) << "\n"
              << "checkpoints checked against " << report->vkey
              << (report->vkey_from_ledger ? " (the key the ledger records; pass --vkey to check against a key you trust)"
                                           : "")
              << "\n";
  } else {
    std::cout << "FAILED" << (report->index ? " at entry " + std::to_string(*report->index) : std::string())
              << ": " << report->failure << "\n";
  }
  return report->ok ? kExitOk : kExitFailure;
}

}  // namespace

extern const Command kLogCommand{
    "log", "the ledger: init, vkey, append, checkpoint, entry, prove, consistency",
    "usage: quipu log SUBCOMMAND [--data DIR] ...\n"
    "\n"
    "  init [--origin O]         create the ledger and node key in DIR (default ./quipu-data,\n"
    "                            origin quipu.localhost/log); prints the verifier key\n"
    "  vkey                      print the verifier key string (name+hash+key)\n"
    "  append [--batch N] [--sync full|none] [--quiet]\n"
    "                            append entries read from stdin, one JSON object a line\n"
    "                            ({\"type\":...} and the type's fields), N a commit (1024);\n"
    "                            prints {\"index\":N} per entry once committed\n"
    "  checkpoint [--size N]     print the signed checkpoint (latest, or for size N)\n"
    "  entry INDEX               print the entry's exact bytes\n"
    "  prove INDEX [--size S]    print the RFC 9162 inclusion proof as JSON (base64 hashes)\n"
    "  consistency OLD NEW       print the RFC 9162 consistency proof as JSON\n"
    "\n"
    "--sync none skips fsync: for benchmarks only; a crash may lose acknowledged entries.\n"
    "Exit status: 0 ok, 2 bad input or not found, 1 other failures (I/O, a held directory).\n",
    RunLog};

extern const Command kAuditCommand{
    "audit", "replay and check the whole ledger",
    "usage: quipu audit [--data DIR] [--vkey VKEY] [--json] [--threads N]\n"
    "       quipu audit URL [--vkey VKEY] [--state FILE] [--entries auto|quipu|opaque]\n"
    "                   [--connections N] [--json]\n"
    "\n"
    "Replays the ledger in DIR from its bytes: every entry is canonical and valid with\n"
    "non-decreasing time, every leaf and tree hash and every stored root is recomputed,\n"
    "every checkpoint's signature is checked (against VKEY if given, else the key the\n"
    "ledger records), every block links to the previous one, and the documents index\n"
    "matches the entries. Works on a snapshot while a node is writing. Shows progress on\n"
    "a terminal; --json prints a machine-readable report.\n"
    "\n"
    "With a URL, audits a log over HTTP from its public read API alone (C2SP tlog-tiles: the\n"
    "checkpoint, every entry bundle and hash tile): every leaf hash against the level-0\n"
    "tiles, every higher tile, the root against the checkpoint and its signature by VKEY\n"
    "(default: the key of the saved state, or the key a quipu node announces, said so in the\n"
    "report), and, for a quipu log (auto: the URL answers /v1/log), every entry as the local\n"
    "audit does. A clean audit saves its state in FILE ($XDG_CACHE_HOME/quipu/audit/<SHA-256\n"
    "of the URL>.json); the next one fetches only what is new and fails if the new checkpoint\n"
    "is not an extension of the tree audited before. N fetches in flight (8).\n"
    "Exit status: 0 when clean; 1 with the first bad index and what failed otherwise.\n",
    RunAudit};

}  // namespace quipu::cli
