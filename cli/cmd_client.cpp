// `quipu client ...` and `quipu subject forget`: the approval service's
// administration from the command line, on a data directory. They need the
// directory's writer lock: with a node running, use its admin API instead
// (README "Approvals").
#include <iostream>

#include <nlohmann/json.hpp>

#include "ledger/log.h"
#include "node/approvals.h"
#include "node/clients.h"
#include "api/approvals_json.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "node/schema.h"
#include "node/secrets.h"

namespace quipu::cli {
namespace {

using node::Approvals;
using node::ApprovalsOptions;
using node::Clients;
using node::LoadNodeSecrets;
using node::NodeSecrets;
using node::OutboundPolicy;

using nlohmann::json;

int Failed(std::string_view cmd, const Status& s) {
  std::string msg = s.message();
  if (s.code() == StatusCode::kUnavailable && msg.find("another writer") != std::string::npos) {
    msg += " (the node is running: use its admin API, /v1/admin/...)";
  }
  return Fail(cmd, msg,
              s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ? kExitBadInput
                                                                                             : kExitFailure);
}

struct Opened {
  std::unique_ptr<ledger::Log> log;
  NodeSecrets secrets;
};

Result<Opened> Open(const Flags& flags) {
  ledger::LogOptions o = node::LogOptionsFor(flags.GetOr("data", "./quipu-data"));
  o.create = false;
  Opened out;
  QUIPU_ASSIGN_OR_RETURN(out.log, ledger::Log::Open(o));
  QUIPU_ASSIGN_OR_RETURN(out.secrets, LoadNodeSecrets(o.dir, /*create=*/true));
  return out;
}

int RunClient(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args, {{"data", true},
                                   {"name", true},
                                   {"redirect-uri", true},
                                   {"notify-uri", true},
                                   {"notify-token", true},
                                   {"allow-local-callbacks", false},
                                   {"json", false}});
  if (!flags.ok()) return Fail("client", flags.status().message(), kExitBadInput);
  const auto& pos = flags->positional();
  if (pos.empty()) return Fail("client", "missing subcommand: add, list, disable or rotate", kExitBadInput);
  const std::string& sub = pos[0];
  if (sub != "add" && sub != "list" && sub != "disable" && sub != "rotate") {
    return Fail("client", "unknown subcommand '" + sub + "'", kExitBadInput);
  }
  if ((sub == "disable" || sub == "rotate") && pos.size() != 2) {
    return Fail("client " + sub, "give the client id", kExitBadInput);
  }
  if (sub == "add") {
    for (const char* f : {"name", "redirect-uri", "notify-uri", "notify-token"}) {
      if (!flags->Has(f)) return Fail("client add", std::string("missing --") + f, kExitBadInput);
    }
  }
  auto opened = Open(*flags);
  if (!opened.ok()) return Failed("client " + sub, opened.status());
  // As `quipu serve --allow-local-callbacks`: a development node's clients
  // may be registered with http://localhost URIs.
  OutboundPolicy policy;
  policy.allow_local = flags->Has("allow-local-callbacks");
  Clients clients(*opened->log, opened->secrets.data_key, policy);
  if (sub == "add") {
    auto added = clients.Add(*flags->Get("name"), *flags->Get("redirect-uri"), *flags->Get("notify-uri"),
                             *flags->Get("notify-token"));
    if (!added.ok()) return Failed("client add", added.status());
    json out = api::ClientJson(added->client);
    out["token"] = added->token;
    std::cout << out.dump() << "\n";
    std::cerr << "quipu client add: the token is shown once; quipu keeps only its hash\n";
    return kExitOk;
  }
  if (sub == "list") {
    auto list = clients.List();
    if (!list.ok()) return Failed("client list", list.status());
    for (const auto& c : *list) {
      if (flags->Has("json")) {
        std::cout << api::ClientJson(c).dump() << "\n";
      } else {
        std::cout << c.id << "  " << (c.disabled ? "disabled" : "active  ") << "  " << c.name << "\n";
      }
    }
    return kExitOk;
  }
  if (sub == "disable") {
    Status s = clients.Disable(pos[1]);
    if (!s.ok()) return Failed("client disable", s);
    return kExitOk;
  }
  auto token = clients.Rotate(pos[1]);
  if (!token.ok()) return Failed("client rotate", token.status());
  std::cout << json{{"client_id", pos[1]}, {"token", *token}}.dump() << "\n";
  return kExitOk;
}

int RunSubject(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args, {{"data", true}});
  if (!flags.ok()) return Fail("subject", flags.status().message(), kExitBadInput);
  const auto& pos = flags->positional();
  if (pos.size() != 2 || pos[0] != "forget") return Fail("subject", "usage: quipu subject forget ID", kExitBadInput);
  auto opened = Open(*flags);
  if (!opened.ok()) return Failed("subject forget", opened.status());
  Clients clients(*opened->log, opened->secrets.data_key);
  // Forgetting parses no PDF: the in-process engine is never used here.
  Approvals approvals(*opened->log, clients, pdf::InProcessPdfEngine(), opened->secrets.data_key, ApprovalsOptions{});
  Status s = approvals.ForgetSubject(pos[1]);
  if (!s.ok()) return Failed("subject forget", s);
  std::cout << "forgotten: the subject's entries stay valid but can no longer be linked to " << pos[1] << "\n";
  return kExitOk;
}

}  // namespace

extern const Command kClientCommand{
    "client", "approval clients (institutions): add, list, disable, rotate",
    "usage: quipu client add --name N --redirect-uri U --notify-uri U --notify-token T [--data DIR]\n"
    "                        [--allow-local-callbacks]\n"
    "       quipu client list [--json] [--data DIR]\n"
    "       quipu client disable ID [--data DIR]\n"
    "       quipu client rotate ID [--data DIR]\n"
    "\n"
    "add prints the client's id and its API token: the token is shown once, quipu keeps only\n"
    "its SHA-256. rotate prints a new token (the old one stops working). URIs must be https://\n"
    "to a public host; --allow-local-callbacks (development only, as for `quipu serve`) also\n"
    "admits http://localhost and private addresses. These need the data directory's writer\n"
    "lock: while a node runs, use its admin API (POST /v1/admin/clients, ...) with the admin\n"
    "token.\n",
    RunClient};

extern const Command kSubjectCommand{
    "subject", "forget a subject (delete its salt and TOTP key)",
    "usage: quipu subject forget ID [--data DIR]\n"
    "\n"
    "Deletes the subject's salt and TOTP key: the ledger entries stay and verify, but can no\n"
    "longer be linked to the person. Needs the writer lock (or DELETE /v1/admin/subjects/ID).\n",
    RunSubject};

}  // namespace quipu::cli
