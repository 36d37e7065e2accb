#include "cli/remote_audit.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "api/http_fetcher.h"
#include "cli/commands.h"
#include "crypto/encoding.h"
#include "crypto/note.h"
#include "crypto/secret_file.h"
#include "crypto/sha256.h"
#include "ledger/tiled_audit.h"
#include "node/schema.h"

namespace quipu::cli {
namespace {

using nlohmann::json;

constexpr size_t kMaxStateBytes = size_t{512} << 20;

// Where the state of audits of `url` is kept by default:
// $XDG_CACHE_HOME/quipu/audit/<SHA-256 of the URL>.json (~/.cache without it).
std::string DefaultStatePath(const std::string& url) {
  std::string base;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
    base = x;
  } else if (const char* h = std::getenv("HOME"); h && *h) {
    base = std::string(h) + "/.cache";
  } else {
    base = ".";
  }
  return base + "/quipu/audit/" + crypto::HexEncode(crypto::Sha256(url)) + ".json";
}

Result<std::optional<ledger::TiledAuditState>> LoadState(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::optional<ledger::TiledAuditState>();
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().size() > kMaxStateBytes) return Corruption(path + " is too large for an audit state");
  auto s = ledger::DecodeTiledAuditState(ss.str());
  if (!s.ok()) return s.status().WithContext(path);
  return std::optional<ledger::TiledAuditState>(std::move(*s));
}

Status SaveState(const std::string& path, const ledger::TiledAuditState& state) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return IoError("cannot create the directory of " + path + ": " + ec.message());
  }
  return crypto::WriteSecretFile(path, ledger::EncodeTiledAuditState(state), crypto::SecretFileOverwrite::kReplace);
}

std::string Rate(double entries, double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", seconds > 0 ? entries / seconds : 0.0);
  return buf;
}

}  // namespace

int RunRemoteAudit(const Flags& flags, const std::string& url_in) {
  std::string url = url_in;
  while (url.size() > 1 && url.back() == '/') url.pop_back();
  auto fetcher = api::HttpFetcher::Create(url);
  if (!fetcher.ok()) return Fail("audit", url + ": " + fetcher.status().message(), kExitBadInput);
  api::HttpFetcher& http = **fetcher;
  auto fetch = [&http](const std::string& path) -> Result<std::string> {
    QUIPU_ASSIGN_OR_RETURN(api::OutboundResponse r, http.Get(path));
    if (r.status == 200) return std::move(r.body);
    if (r.status == 404) return NotFound("404 for " + path);
    return Unavailable("HTTP status " + std::to_string(r.status) + " for " + path);
  };

  const std::string state_path = flags.GetOr("state", DefaultStatePath(url));
  auto previous = LoadState(state_path);
  if (!previous.ok()) return Fail("audit", previous.status().message() + " (remove it to audit from the start)");

  // The key: given, or the one the earlier audit trusted, or (a quipu node)
  // the one the node says it has: then the report says so.
  std::string vkey = flags.GetOr("vkey", "");
  bool vkey_from_log = false;
  const std::string entries_mode = flags.GetOr("entries", "auto");
  if (entries_mode != "auto" && entries_mode != "quipu" && entries_mode != "opaque") {
    return Fail("audit", "--entries is auto, quipu or opaque", kExitBadInput);
  }
  json log_info;
  if (entries_mode != "opaque" || vkey.empty()) {
    auto info = fetch("v1/log");
    if (info.ok()) {
      log_info = json::parse(*info, nullptr, false);
    } else if (info.status().code() == StatusCode::kUnavailable && vkey.empty() && !*previous) {
      return Fail("audit", "cannot reach " + url + ": " + info.status().message());
    }
  }
  // Auto: as the audit saved says (so a log that stops answering /v1/log
  // cannot turn the entries' checks off), else whether it is a quipu node.
  const bool is_quipu = entries_mode == "quipu" ||
                        (entries_mode == "auto" && (*previous ? !(*previous)->opaque
                                                              : log_info.is_object() && log_info.contains("vkey")));
  if (vkey.empty() && *previous) vkey = (*previous)->vkey;
  if (vkey.empty() && log_info.is_object() && log_info["vkey"].is_string()) {
    vkey = log_info["vkey"];
    vkey_from_log = true;
  }
  if (vkey.empty()) return Fail("audit", url + " is not a quipu node: pass its key with --vkey", kExitBadInput);
  if (auto v = crypto::ParseVerifierKey(vkey); !v.ok()) return Fail("audit", "--vkey: " + v.status().message(), kExitBadInput);
  if (*previous && (*previous)->vkey != vkey) {
    return Fail("audit", "the state saved in " + state_path + " is for the key " + (*previous)->vkey +
                             ", not " + vkey + " (another --state, or remove it)", kExitBadInput);
  }

  ledger::TiledAuditOptions o;
  o.fetch = fetch;
  o.vkey = vkey;
  if (is_quipu) o.schema = node::EntryTypes();
  o.previous = std::move(*previous);
  auto connections = flags.GetUint("connections", 8);
  if (!connections.ok() || *connections < 1 || *connections > 64) {
    return Fail("audit", "--connections must be 1..64", kExitBadInput);
  }
  o.threads = static_cast<int>(*connections);
  const bool as_json = flags.Has("json");
  const bool tty = !as_json && ::isatty(STDERR_FILENO);
  const auto start = std::chrono::steady_clock::now();
  if (tty) {
    o.progress = [start](uint64_t done, uint64_t total) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const int width = 30;
      const int filled = total ? static_cast<int>(width * done / total) : width;
      std::fprintf(stderr, "\r[%s%s] %llu/%llu entries  %s entries/s ",
                   std::string(static_cast<size_t>(filled), '#').c_str(),
                   std::string(static_cast<size_t>(width - filled), '.').c_str(),
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                   Rate(static_cast<double>(done), secs).c_str());
    };
  }
  auto report = ledger::AuditTiledLog(o);
  if (tty) std::fputs("\n", stderr);
  if (!report.ok()) return Fail("audit", url + ": " + report.status().message());
  const ledger::TiledAuditReport& r = *report;
  if (r.ok) {
    if (Status s = SaveState(state_path, r.state); !s.ok()) {
      return Fail("audit", "the audit passed, but its state could not be saved: " + s.message());
    }
  }
  const uint64_t checked = r.tree_size - r.first_checked;
  if (as_json) {
    json j = {{"ok", r.ok},
              {"url", url},
              {"tree_size", r.tree_size},
              {"new_entries", checked},
              {"resumed_from", r.first_checked},
              {"root", crypto::Base64Encode(r.root)},
              {"entries", is_quipu ? "quipu" : "opaque"},
              {"vkey", vkey},
              {"vkey_from_log", vkey_from_log},
              {"fetches", r.fetches},
              {"bytes", r.bytes},
              {"seconds", r.seconds},
              {"entries_per_second", r.seconds > 0 ? static_cast<double>(checked) / r.seconds : 0.0},
              {"state", state_path}};
    if (!r.ok) {
      j["failure"] = r.failure;
      j["index"] = r.index ? json(*r.index) : json(nullptr);
    }
    std::cout << j.dump() << "\n";
  } else if (r.ok) {
    std::cout << "ok: " << r.tree_size << " entries (" << checked << " new since " << r.first_checked
              << "), root " << crypto::Base64Encode(r.root) << "; " << r.fetches << " fetches, " << r.bytes
              << " bytes, " << Rate(static_cast<double>(checked), r.seconds) << " entries/s\n"
              << "checkpoint checked against " << vkey
              << (vkey_from_log ? " (the key the node announces; pass --vkey to check against a key you trust)" : "")
              << "\n";
  } else {
    std::cout << "FAILED" << (r.index ? " at entry " + std::to_string(*r.index) : std::string()) << ": " << r.failure
              << "\n";
  }
  return r.ok ? kExitOk : kExitFailure;
}

}  // namespace quipu::cli
