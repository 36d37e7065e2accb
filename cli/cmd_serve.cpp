#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <optional>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <variant>

#include "cli/commands.h"
#include "crypto/secret_file.h"
#include "cli/flags.h"
#include "cli/pdf_workers.h"

#include "api/access_log.h"
#include "api/access_tokens.h"
#include "api/agetic_routes.h"
#include "api/approval_routes.h"
#include "api/citizen_routes.h"
#include "api/citizen_sessions.h"
#include "api/oidc_client.h"
#include "api/ledger_routes.h"
#include "api/metrics.h"
#include "api/notifier.h"
#include "api/qr_routes.h"
#include "api/router.h"
#include "api/server.h"
#include "ledger/log.h"
#include "pdf/sandbox.h"
#include "node/approvals.h"
#include "node/clients.h"
#include "node/ledger_reader.h"
#include "node/qr_render.h"
#include "node/qr_service.h"
#include "node/witness.h"
#include "api/witness_routes.h"
#include "api/cosigning_routes.h"
#include "api/http_client.h"
#include "node/cosigning.h"
#include "ledger/tlog_proof.h"
#include "node/schema.h"
#include "node/secrets.h"
#include "node/upgrade.h"
#include "web/assets.h"

namespace quipu::cli {
namespace {

using namespace quipu::api;  // the HTTP layer this command wires

bool ParseListen(const std::string& listen, std::string& host, uint16_t& port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string p = listen.substr(colon + 1);
  unsigned v = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (ec != std::errc() || end != p.data() + p.size() || v > 65535) return false;
  port = static_cast<uint16_t>(v);
  return true;
}

// What `quipu serve`'s flags ask for, checked.
struct ServeConfig {
  ServerOptions server;
  pdf::SandboxOptions pdf;
  std::string data;
  std::string origin;
  ledger::SyncMode sync = ledger::SyncMode::kFull;
  std::string sync_name;
  std::string issuer;
  std::string delivery_webhook;
  bool allow_local_callbacks = false;
  std::optional<std::string> test_clock_file;
  // The citizens' login (OpenID Connect); no issuer: no approval pages.
  std::string public_url;  // where browsers reach this node
  std::string oidc_issuer;
  std::string oidc_client_id;
  std::string oidc_client_secret_file;
  std::string oidc_document_claim;
  std::string oidc_scopes;
  // As a witness (docs/witness.md): the logs file, and the name of the
  // cosigning key made at first start ("" without --witness-logs).
  std::string witness_logs;
  std::string witness_name;
  // Its own trust policy (docs/cosigning.md): the witnesses asked to cosign
  // its checkpoints ("" : none), and how often a round starts.
  std::string policy;
  uint64_t cosign_interval_ms = 1000;
};

// A uint flag within [lo, hi], or the message naming the rule.
Result<uint64_t> Bounded(const Flags& flags, std::string_view name, uint64_t fallback, uint64_t lo, uint64_t hi,
                         const std::string& rule) {
  auto v = flags.GetUint(name, fallback);
  if (!v.ok() || *v < lo || *v > hi) return InvalidArgument(rule);
  return *v;
}

Result<ServeConfig> ParseServeFlags(const Flags& flags) {
  ServeConfig c;
  ServerOptions& so = c.server;
  if (!ParseListen(flags.GetOr("listen", "127.0.0.1:8080"), so.address, so.port)) {
    return InvalidArgument("--listen must be HOST:PORT, like 127.0.0.1:8080");
  }
  QUIPU_ASSIGN_OR_RETURN(uint64_t threads, Bounded(flags, "threads", 4, 1, 256, "--threads must be 1..256"));
  so.threads = static_cast<int>(threads);
  QUIPU_ASSIGN_OR_RETURN(uint64_t body_limit, Bounded(flags, "body-limit", so.body_limit, 1024, uint64_t{4} << 30,
                                                      "--body-limit must be 1024 bytes .. 4 GiB"));
  so.body_limit = static_cast<size_t>(body_limit);
  const std::string timeouts = "timeouts must be 100 ms .. 1 hour";
  QUIPU_ASSIGN_OR_RETURN(uint64_t header_ms, Bounded(flags, "header-timeout-ms", 10000, 100, 3600000, timeouts));
  QUIPU_ASSIGN_OR_RETURN(uint64_t request_ms, Bounded(flags, "request-timeout-ms", 60000, 100, 3600000, timeouts));
  QUIPU_ASSIGN_OR_RETURN(uint64_t max_conn, Bounded(flags, "max-connections", 10000, 1, 1000000,
                                                    "--max-connections must be 1..1000000"));
  so.header_timeout = std::chrono::milliseconds(header_ms);
  so.request_timeout = std::chrono::milliseconds(request_ms);
  so.max_connections = static_cast<size_t>(max_conn);
  c.sync_name = flags.GetOr("sync", "full");
  if (c.sync_name != "full" && c.sync_name != "none") return InvalidArgument("--sync must be full or none");
  c.sync = c.sync_name == "full" ? ledger::SyncMode::kFull : ledger::SyncMode::kNone;
  const std::string pool_rule = "--pool-threads must be 1..1024 and --pool-queue 1..1000000";
  QUIPU_ASSIGN_OR_RETURN(uint64_t pool_threads, Bounded(flags, "pool-threads", 32, 1, 1024, pool_rule));
  QUIPU_ASSIGN_OR_RETURN(uint64_t pool_queue, Bounded(flags, "pool-queue", 1024, 1, 1000000, pool_rule));
  so.worker_threads = static_cast<int>(pool_threads);
  so.worker_queue = static_cast<size_t>(pool_queue);
  QUIPU_ASSIGN_OR_RETURN(uint64_t pdf_workers,
                         Bounded(flags, "pdf-workers", 2, 1, 256, "--pdf-workers must be 1..256"));
  QUIPU_ASSIGN_OR_RETURN(uint64_t pdf_timeout, Bounded(flags, "pdf-timeout-ms", 10000, 100, 600000,
                                                       "--pdf-timeout-ms must be 100 ms .. 10 minutes"));
  QUIPU_ASSIGN_OR_RETURN(uint64_t pdf_memory,
                         Bounded(flags, "pdf-memory-mb", 1024, 64, 65536, "--pdf-memory-mb must be 64..65536"));
  QUIPU_ASSIGN_OR_RETURN(uint64_t jobs_per_worker, Bounded(flags, "pdf-jobs-per-worker", 1, 1, 1000,
                                                           "--pdf-jobs-per-worker must be 1..1000"));
  QUIPU_ASSIGN_OR_RETURN(uint64_t budget, Bounded(flags, "body-budget", so.max_body_bytes_in_flight, so.body_limit,
                                                  uint64_t{1} << 40, "--body-budget must be at least --body-limit"));
  so.max_body_bytes_in_flight = static_cast<size_t>(budget);
  pdf::SandboxOptions& po = c.pdf;
  po.jobs_per_worker = static_cast<int>(jobs_per_worker);
  po.workers = static_cast<int>(pdf_workers);
  po.job_timeout = std::chrono::milliseconds(pdf_timeout);
  po.cpu_seconds = static_cast<int>(std::max<uint64_t>(1, (pdf_timeout + 999) / 1000));
  po.memory_bytes = pdf_memory << 20;
  po.max_pdf_bytes = so.body_limit;  // a document body, or more than its base64 in JSON
  // Few callers wait for a worker: each holds a pool thread meanwhile, and
  // the other routes (a citizen's confirmation) need those.
  po.max_waiting = 2 * static_cast<size_t>(po.workers);
  c.data = flags.GetOr("data", "./quipu-data");
  c.origin = flags.GetOr("origin", "");
  c.issuer = flags.GetOr("issuer", "quipu");
  c.delivery_webhook = flags.GetOr("delivery-webhook", "");
  c.allow_local_callbacks = flags.Has("allow-local-callbacks");
  c.test_clock_file = flags.Get("test-clock-file");
  const std::string host = so.address.find(':') != std::string::npos ? "[" + so.address + "]" : so.address;
  c.public_url = flags.GetOr("public-url", "http://" + host + ":" + std::to_string(so.port));
  while (!c.public_url.empty() && c.public_url.back() == '/') c.public_url.pop_back();
  if (c.public_url.rfind("http://", 0) != 0 && c.public_url.rfind("https://", 0) != 0) {
    return InvalidArgument("--public-url must be an http:// or https:// URL");
  }
  c.oidc_issuer = flags.GetOr("oidc-issuer", "");
  c.oidc_client_id = flags.GetOr("oidc-client-id", "");
  c.oidc_client_secret_file = flags.GetOr("oidc-client-secret-file", "");
  c.oidc_document_claim = flags.GetOr("oidc-document-claim", "document_number");
  c.oidc_scopes = flags.GetOr("oidc-scopes", "openid profile email phone");
  c.witness_logs = flags.GetOr("witness-logs", "");
  c.witness_name = flags.GetOr("witness-name", "");
  c.policy = flags.GetOr("policy", "");
  auto interval = Bounded(flags, "cosign-interval-ms", 1000, 10, 3600000, "--cosign-interval-ms must be 10..3600000");
  if (!interval.ok()) return interval.status();
  c.cosign_interval_ms = *interval;
  if (flags.Has("cosign-interval-ms") && c.policy.empty()) return InvalidArgument("--cosign-interval-ms needs --policy");
  if (!c.oidc_issuer.empty() && (c.oidc_client_id.empty() || c.oidc_client_secret_file.empty())) {
    return InvalidArgument("--oidc-issuer needs --oidc-client-id and --oidc-client-secret-file");
  }
  return c;
}

// The identity provider, when one is configured: its discovery document
// and keys read now, so that a misconfiguration stops the start.
Result<std::unique_ptr<OidcClient>> ConnectIdentityProvider(const ServeConfig& c, node::OutboundPolicy policy) {
  QUIPU_ASSIGN_OR_RETURN(crypto::SecretText secret, crypto::ReadSecretFile(c.oidc_client_secret_file, 4096));
  OidcConfig oc;
  oc.issuer = c.oidc_issuer;
  oc.client_id = c.oidc_client_id;
  oc.client_secret = std::string(secret.line());
  oc.redirect_uri = c.public_url + "/aprobar/callback";
  oc.scopes = c.oidc_scopes;
  oc.document_claim = c.oidc_document_claim;
  // The provider is the operator's own configuration, not an address a
  // client registered: one on this machine (a development provider) is
  // allowed over http; any other must be https to a public address.
  oc.policy = policy;
  if (c.oidc_issuer.rfind("http://127.0.0.1:", 0) == 0 || c.oidc_issuer.rfind("http://localhost:", 0) == 0 ||
      c.oidc_issuer.rfind("http://[::1]:", 0) == 0) {
    oc.policy.allow_local = true;
  }
  return OidcClient::Discover(std::move(oc));
}

// The clock of --test-clock-file: the time is read from a file (unix
// microseconds), so that tests see expiry without waiting.
std::function<int64_t()> FileClock(const std::string& path) {
  return [path]() -> int64_t {
    std::ifstream in(path);
    int64_t us = 0;
    in >> us;
    return us;
  };
}

// Client names never change: cached after the first lookup.
ClientNamer CachedClientNames(node::Clients& clients) {
  auto names = std::make_shared<std::pair<std::mutex, std::map<std::string, std::string>>>();
  return [&clients, names](const std::string& id) {
    {
      std::lock_guard lock(names->first);
      if (auto it = names->second.find(id); it != names->second.end()) return it->second;
    }
    auto c = clients.Get(id);
    if (!c.ok()) return std::string();
    std::lock_guard lock(names->first);
    names->second.emplace(id, c->name);
    return c->name;
  };
}

// The public verification page (with this node's verifier key), health,
// readiness (503 once `stopping`) and the metrics.
void AddSiteRoutes(Router& router, const std::string& verifier_key, const std::atomic<bool>& stopping,
                   Metrics& metrics) {
  const RouteOptions kInline{Exec::kInline, 0};
  std::string index_html(web::FindAsset("/")->body);
  if (size_t at = index_html.find(web::kVkeyPlaceholder); at != std::string::npos) {
    index_html.replace(at, web::kVkeyPlaceholder.size(), verifier_key);
  }
  for (const char* path : {"/", "/app.js", "/style.css", "/aprobar.js", "/pdf.worker.mjs", "/pdfjs/wasm/openjpeg.wasm",
                           "/pdfjs/wasm/jbig2.wasm", "/pdfjs/wasm/qcms_bg.wasm"}) {
    const web::Asset* asset = web::FindAsset(path);
    std::string body = std::string(path) == "/" ? index_html : std::string(asset->body);
    // pdf.js's worker compiles its image decoders (WebAssembly): its policy
    // allows that, and nothing else beyond the pages' own.
    const bool worker = std::string(path) == "/pdf.worker.mjs";
    router.Add(http::verb::get, path, [asset, body, worker](const Request&) {
      Response r;
      r.content_type = std::string(asset->content_type);
      r.body = body;
      r.headers.emplace_back("Cache-Control", "no-cache");
      r.headers.emplace_back("Content-Security-Policy",
                             worker ? "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'"
                                    : "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:");
      r.headers.emplace_back("Permissions-Policy", "camera=(self)");
      r.headers.emplace_back("Referrer-Policy", "no-referrer");
      return r;
    }, kInline);
  }
  router.Add(http::verb::get, "/healthz", [](const Request&) { return Json({{"status", "ok"}}); }, kInline);
  router.Add(http::verb::get, "/readyz", [&stopping](const Request&) {
    if (stopping) {
      Response r = Problem(503, "Service unavailable", "the node is shutting down");
      r.headers.emplace_back("Retry-After", "5");
      return r;
    }
    return Json({{"status", "ready"}});
  }, kInline);
  router.Add(http::verb::get, "/metrics", [&metrics](const Request&) {
    Response r = Text(metrics.Render());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  }, kInline);
}

// Runs `task` every `period` on its own thread until destroyed.
class Every {
 public:
  Every(std::chrono::seconds period, std::function<void()> task)
      : period_(period), task_(std::move(task)), thread_([this] { Run(); }) {}
  ~Every() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Every(const Every&) = delete;
  Every& operator=(const Every&) = delete;

 private:
  void Run() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, period_, [this] { return stop_; })) {
      lock.unlock();
      task_();
      lock.lock();
    }
  }
  const std::chrono::seconds period_;
  const std::function<void()> task_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

// Signals are taken by sigwait in RunServe, never delivered to pool threads.
sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return signals;
}

const std::vector<FlagSpec> kServeFlags = {{"data", true},
                                           {"listen", true},
                                           {"threads", true},
                                           {"origin", true},
                                           {"body-limit", true},
                                           {"sync", true},
                                           {"header-timeout-ms", true},
                                           {"request-timeout-ms", true},
                                           {"max-connections", true},
                                           {"issuer", true},
                                           {"delivery-webhook", true},
                                           {"pool-threads", true},
                                           {"pool-queue", true},
                                           {"pdf-workers", true},
                                           {"pdf-timeout-ms", true},
                                           {"pdf-memory-mb", true},
                                           {"pdf-jobs-per-worker", true},
                                           {"body-budget", true},
                                           {"allow-local-callbacks", false},
                                           {"public-url", true},
                                           {"oidc-issuer", true},
                                           {"oidc-client-id", true},
                                           {"oidc-client-secret-file", true},
                                           {"oidc-document-claim", true},
                                           {"oidc-scopes", true},
                                           {"witness-logs", true},
                                           {"witness-name", true},
                                           {"policy", true},
                                           {"cosign-interval-ms", true},
                                           {"test-clock-file", true}};

// Why serve stops before it serves: the message, and the exit code (the
// caller's input, or the node's state).
struct StartFailure {
  std::string message;
  int code = kExitFailure;
};
StartFailure BadInput(std::string message) { return {std::move(message), kExitBadInput}; }
StartFailure Broken(const Status& s, std::string_view what = "") {
  return {what.empty() ? s.message() : std::string(what) + ": " + s.message(), kExitFailure};
}

// The sequencer's histograms and the ledger's gauges.
void AddLedgerMetrics(Metrics& metrics, ledger::LogOptions& lo) {
  Histogram& batch_sizes = metrics.AddHistogram(
      "quipu_sequencer_batch_entries", "Entries per ledger commit.", {1, 4, 16, 64, 256, 1024, 4096, 16384});
  Histogram& commit_seconds =
      metrics.AddHistogram("quipu_sequencer_commit_seconds", "Time to write and sync one ledger commit.",
                           {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1});
  lo.on_commit = [&batch_sizes, &commit_seconds](size_t entries, double seconds) {
    batch_sizes.Observe(static_cast<double>(entries));
    commit_seconds.Observe(seconds);
  };
}

// 1. The ledger, upgraded from an earlier version's layout if need be.
std::variant<std::unique_ptr<ledger::Log>, StartFailure> OpenLedger(const ServeConfig& config, Metrics& metrics) {
  ledger::LogOptions lo = node::LogOptionsFor(config.data);
  lo.origin = config.origin;
  lo.sync = config.sync;
  AddLedgerMetrics(metrics, lo);
  auto opened = ledger::Log::Open(lo);
  if (!opened.ok()) {
    return StartFailure{opened.status().message(),
                        opened.status().code() == StatusCode::kInvalidArgument ? kExitBadInput : kExitFailure};
  }
  std::unique_ptr<ledger::Log> log = std::move(*opened);
  // Records an earlier quipu kept elsewhere move before any service reads them.
  auto moved = node::UpgradeDataDirectory(*log);
  if (!moved.ok()) return Broken(moved.status());
  if (*moved > 0) std::cerr << "quipu serve: moved " << *moved << " QR Seguro records to the qr table\n";
  const ledger::Log* lp = log.get();
  metrics.AddGauge("quipu_ledger_tree_size", "Entries in the ledger.",
                   [lp] { return static_cast<double>(lp->Head().tree_size); });
  metrics.AddGauge("quipu_sequencer_queue_entries", "Entries waiting for the sequencer.",
                   [lp] { return static_cast<double>(lp->stats().queue_depth_entries); });
  return log;
}

// 2. The PDF workers: every PDF from outside is parsed and stamped there.
std::variant<std::unique_ptr<pdf::PdfSandbox>, StartFailure> StartPdfWorkers(pdf::SandboxOptions po,
                                                                             Metrics& metrics) {
  auto self = SelfProgram();
  if (!self.ok()) return Broken(self.status());
  po.program = *self;
  auto sandbox = pdf::PdfSandbox::Start(po);
  if (!sandbox.ok()) return Broken(sandbox.status(), "PDF workers");
  pdf::PdfSandbox* engine = sandbox->get();
  metrics.AddGauge("quipu_pdf_worker_failures", "PDF worker processes that crashed, hung or misbehaved.",
                   [engine] { return static_cast<double>(engine->stats().failures); });
  metrics.AddGauge("quipu_pdf_jobs_refused", "PDF jobs refused because every worker was busy.",
                   [engine] { return static_cast<double>(engine->stats().refused); });
  return std::move(*sandbox);
}

// The approvals' options from the flags and the environment.
std::variant<node::ApprovalsOptions, StartFailure> ApprovalsOptionsFor(const ServeConfig& config,
                                                                       const node::OutboundPolicy& outbound) {
  node::ApprovalsOptions ao;
  ao.issuer = config.issuer;
  ao.delivery_webhook = config.delivery_webhook;
  if (!ao.delivery_webhook.empty()) {
    if (Status s = node::CheckOutboundUrl(ao.delivery_webhook, outbound); !s.ok()) {
      return BadInput("--delivery-webhook: " + s.message());
    }
  }
  if (const char* token = std::getenv("QUIPU_DELIVERY_TOKEN")) ao.delivery_token = token;
  if (config.test_clock_file) ao.clock = FileClock(*config.test_clock_file);
  return ao;
}

NotifierOptions NotifierFor(const node::OutboundPolicy& outbound, const std::string& public_url) {
  NotifierOptions no;
  no.policy = outbound;
  no.public_url = public_url;
  return no;
}

// The domain's services (node/) and what api/ reads through, built in
// order over one ledger and one PDF engine.
struct Services {
  Services(ledger::Log& log, pdf::PdfEngine& pdf, const node::NodeSecrets& secrets, node::OutboundPolicy outbound,
           node::ApprovalsOptions ao, AccessLog& access_log, const std::string& public_url)
      : outbound(outbound),
        clients(log, secrets.data_key, outbound),
        approvals(log, clients, pdf, secrets.data_key, WithOutboxKick(std::move(ao))),
        reader(log),
        notifier(approvals, reader, access_log, NotifierFor(outbound, public_url)),
        log(access_log) {
    kick_ = &notifier;
  }

  node::OutboundPolicy outbound;  // one policy for every URL the node registers or sends to
  node::Clients clients;
  node::Approvals approvals;
  node::LedgerReader reader;  // what api/ reads the ledger through
  Notifier notifier;
  std::optional<node::QrService> qr;  // once its keys are loaded
  std::unique_ptr<node::Witness> witness;  // with --witness-logs
  std::unique_ptr<node::Cosigning> cosigning;  // with --policy
  AccessLog& log;

 private:
  // A new outbox item wakes the notifier (built after the approvals).
  node::ApprovalsOptions WithOutboxKick(node::ApprovalsOptions ao) {
    ao.on_outbox = [this] {
      if (kick_) kick_->Kick();
    };
    return ao;
  }
  Notifier* kick_ = nullptr;
};

// The QR Seguro service, with the node's signing key and QR keys.
std::optional<StartFailure> StartQr(Services& services, ledger::Log& log, pdf::PdfEngine& pdf,
                                    const std::string& dir, std::function<int64_t()> clock) {
  auto signer = crypto::LoadNoteSigner(dir + "/" + ledger::kNodeKeyFile);
  if (!signer.ok()) return Broken(signer.status());
  auto qr_keys = node::LoadQrKeys(dir, /*create=*/true);
  if (!qr_keys.ok()) return Broken(qr_keys.status());
  services.qr.emplace(log, services.clients, pdf, std::move(*signer), std::move(*qr_keys), std::move(clock));
  return std::nullopt;
}

// As a witness: the logs it witnesses (read once; a log is never removed
// while its state is kept) and its cosigning key, made at first start.
std::optional<StartFailure> StartWitness(Services& services, ledger::Log& log, const ServeConfig& config) {
  if (config.witness_logs.empty()) {
    if (!config.witness_name.empty()) return BadInput("--witness-name needs --witness-logs");
    return std::nullopt;
  }
  std::ifstream in(config.witness_logs, std::ios::binary);
  if (!in) return BadInput("--witness-logs: cannot read " + config.witness_logs);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto logs = node::ParseWitnessedLogs(text);
  if (!logs.ok()) return BadInput("--witness-logs " + config.witness_logs + ": " + logs.status().message());
  std::string name = config.witness_name;
  if (name.empty()) name = log.origin().substr(0, log.origin().find('/')) + "/witness";
  auto key = node::LoadOrCreateWitnessKey(config.data + "/witness.key", name);
  if (!key.ok()) return Broken(key.status(), "witness key");
  auto witness = node::Witness::Create(log, std::move(*key), std::move(*logs));
  if (!witness.ok()) return BadInput(witness.status().message());
  services.witness = std::move(*witness);
  return std::nullopt;
}

// Its own checkpoints cosigned by the witnesses of its policy, asked over
// the node's outbound client (the same URL rules as every callback).
std::optional<StartFailure> StartCosigning(Services& services, ledger::Log& log, const ServeConfig& config,
                                           Metrics& metrics) {
  if (config.policy.empty()) return std::nullopt;
  std::ifstream in(config.policy, std::ios::binary);
  if (!in) return BadInput("--policy: cannot read " + config.policy);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto policy = ledger::ParseTlogPolicy(text);
  if (!policy.ok()) return BadInput("--policy " + config.policy + ": " + policy.status().message());
  for (const auto& w : policy->witnesses) {
    if (w.url.empty()) continue;
    if (Status s = node::CheckOutboundUrl(w.url, services.outbound); !s.ok()) {
      return BadInput("--policy: the URL of witness " + w.name + ": " + s.message());
    }
    // /v1/policy and /v1/witnessed publish it: nothing secret may ride in it.
    if (w.url.find_first_of("?#") != std::string::npos) {
      return BadInput("--policy: the URL of witness " + w.name + " has a query or fragment (they are published)");
    }
  }
  node::CosigningOptions co;
  co.policy = std::move(*policy);
  co.interval = std::chrono::milliseconds(config.cosign_interval_ms);
  co.post = [outbound = services.outbound](const std::string& url, const std::string& body) -> Result<node::WitnessReply> {
    OutboundRequest req;
    req.url = url;
    req.body = body;
    req.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    req.timeout = std::chrono::milliseconds(10000);
    req.policy = outbound;
    QUIPU_ASSIGN_OR_RETURN(OutboundResponse r, SendHttp(req));
    return node::WitnessReply{r.status, std::move(r.body)};
  };
  auto failures = std::make_shared<std::atomic<uint64_t>>(0);
  co.on_event = [&log = services.log, failures](const node::CosigningEvent& e) {
    using K = node::CosigningEvent::Kind;
    if (e.kind == K::kCosigned || e.kind == K::kQuorum) return;  // every round: the metrics say it
    failures->fetch_add(1);
    log.Event("cosigning", {{"witness", e.witness}, {"what", node::CosigningEventName(e.kind)}, {"size", e.size},
                            {"detail", e.detail}});
  };
  auto started = node::Cosigning::Start(log, std::move(co));
  if (!started.ok()) {
    return started.status().code() == StatusCode::kInvalidArgument ? BadInput("--policy: " + started.status().message())
                                                                     : Broken(started.status(), "cosigning");
  }
  services.cosigning = std::move(*started);
  const node::Cosigning* c = services.cosigning.get();
  services.reader.SetPublished([c] { return c->Checkpoints(); });
  metrics.AddGauge("quipu_witnessed_tree_size", "Size of the newest checkpoint that met the cosignature policy.",
                   [c] { return static_cast<double>(c->Checkpoints().witnessed_size); });
  metrics.AddGauge("quipu_witness_lag_entries", "Entries not yet covered by a checkpoint that met the policy.",
                   [c, &log] {
                     const uint64_t head = log.Head().tree_size;
                     return static_cast<double>(head - std::min(head, c->Checkpoints().witnessed_size));
                   });
  metrics.AddGauge("quipu_cosigning_failures", "Witness requests that failed or were refused since start.",
                   [failures] { return static_cast<double>(failures->load()); });
  return std::nullopt;
}

// 4. Every route: the public ledger and verification, the clients' API,
// the site, and (with an identity provider) the citizens' pages.
std::optional<StartFailure> AddRoutes(Router& router, Services& services, pdf::PdfSandbox& pdf,
                                      const ServeConfig& config, const node::NodeSecrets& secrets,
                                      const std::string& verifier_key, const std::atomic<bool>& stopping,
                                      Metrics& metrics, CitizenSessions& citizen_sessions,
                                      std::unique_ptr<OidcClient>& oidc) {
  node::QrService& qr = *services.qr;
  if (!config.oidc_issuer.empty()) {
    auto connected = ConnectIdentityProvider(config, services.outbound);
    if (!connected.ok()) return Broken(connected.status(), "identity provider");
    oidc = std::move(*connected);
  }
  LedgerRoutesOptions lro;
  lro.pdf = &pdf;
  lro.pdf_saturated = [&pdf] { return pdf.Saturated(); };
  lro.revocations = [&qr](uint64_t index) { return qr.RevocationOf(index); };
  lro.client_name = CachedClientNames(services.clients);
  lro.subject_query = MakeSubjectQuery(services.clients, services.approvals);
  AddLedgerRoutes(router, services.reader, lro);
  // A citizen forgotten or whose factor was reset is logged out everywhere.
  const ReceiptSource receipts = [&reader = services.reader](uint64_t index) { return reader.Receipt(index); };
  AddApprovalRoutes(router, services.clients, services.approvals, secrets,
                    config.oidc_issuer.empty() ? "" : config.public_url,
                    [&citizen_sessions](const std::string& subject) { citizen_sessions.CloseAllOf(subject); },
                    receipts);
  AddQrRoutes(router, services.clients, qr, receipts);
  if (services.witness) {
    WitnessRoutes wr;
    wr.witness = services.witness.get();
    wr.on_refused = [&log = services.log](const node::WitnessAnswer& a, std::string_view body) {
      log.Event("witness_refused", {{"origin", a.origin}, {"kind", static_cast<int>(a.kind)}, {"detail", a.detail},
                                    {"body", std::string(body)}});
    };
    AddWitnessRoutes(router, std::move(wr));
  }
  AddCosigningRoutes(router, services.reader, services.cosigning.get());
  AddSiteRoutes(router, verifier_key, stopping, metrics);
  AgeticRoutes ar;
  ar.clients = &services.clients;
  ar.approvals = &services.approvals;
  ar.qr = &qr;
  ar.public_url = config.public_url;
  ar.ledger = &services.reader;
  ar.pdf = &pdf;
  ar.revocations = lro.revocations;
  ar.client_name = lro.client_name;
  if (oidc) {
    // Institutions' access tokens for their citizens, asked at the provider
    // at most once a minute each.
    auto tokens = std::make_shared<AccessTokenCache>(
        [client = oidc.get()](const std::string& token) { return client->CitizenOfAccessToken(token); });
    ar.citizen_of_token = [tokens](const std::string& token) { return tokens->Check(token); };
    ar.page_base = config.public_url;
  }
  AddAgeticRoutes(router, std::move(ar));
  if (!oidc) return std::nullopt;
  // The citizens' approval pages, behind the identity provider's login.
  CitizenRoutes cr;
  cr.oidc = oidc.get();
  cr.sessions = &citizen_sessions;
  cr.approvals = &services.approvals;
  cr.page_html = std::string(web::FindAsset("/aprobar.html")->body);
  cr.qr_svg = [](const std::string& text) {
    auto m = node::EncodeQr(text, 'M');
    return m.ok() ? node::QrSvg(*m) : std::string();
  };
  AddCitizenRoutes(router, cr);
  return std::nullopt;
}

// The contents of expired requests leave the `contents` table within a
// minute (their sealed bytes stay in LMDB's free pages until reused or the
// file is compacted).
void DropExpiredContents(node::Approvals& approvals, AccessLog& log) {
  constexpr size_t kBatch = 1000;
  size_t total = 0;
  for (;;) {
    auto dropped = approvals.DropExpiredContents(kBatch);
    if (!dropped.ok()) {
      log.Event("contents_drop_failed", {{"error", dropped.status().ToString()}});
      break;
    }
    total += *dropped;
    if (*dropped < kBatch) break;
  }
  if (total > 0) log.Event("contents_dropped", {{"documents", total}});
}

// Two-phase QR codes left unconfirmed for a day leave the qr table within
// a minute more.
void DropLapsedQrCodes(node::QrService& qr, AccessLog& log) {
  constexpr size_t kBatch = 1000;
  size_t total = 0;
  for (;;) {
    auto dropped = qr.DropLapsedDrafts(kBatch);
    if (!dropped.ok()) {
      log.Event("qr_drafts_drop_failed", {{"error", dropped.status().ToString()}});
      break;
    }
    total += *dropped;
    if (*dropped < kBatch) break;
  }
  if (total > 0) log.Event("qr_drafts_dropped", {{"codes", total}});
}

// What the operator reads at start: on stdout the URL, where the admin
// token is and the verifier key; in the log the same and the sizes.
void AnnounceStart(const Server& server, const ServeConfig& config, const ledger::Log& ledger,
                   const node::NodeSecrets& secrets, AccessLog& log) {
  const ServerOptions& so = config.server;
  const std::string host = so.address.find(':') != std::string::npos ? "[" + so.address + "]" : so.address;
  const std::string url = "http://" + host + ":" + std::to_string(server.port());
  std::cout << "quipu: serving " << url << "\n"
            << "quipu: admin token in " << secrets.admin_token_path << "\n"
            << "quipu: data " << config.data << ", verifier key " << ledger.verifier_key() << std::endl;
  log.Event("start", {{"url", url},
                      {"data", config.data},
                      {"vkey", ledger.verifier_key()},
                      {"tree_size", ledger.Head().tree_size},
                      {"threads", so.threads},
                      {"pool_threads", so.worker_threads},
                      {"pdf_workers", config.pdf.workers},
                      {"max_connections", server.max_connections()},
                      {"sync", config.sync_name}});
  if (server.max_connections() < so.max_connections) {
    std::cerr << "quipu serve: --max-connections lowered to " << server.max_connections()
              << " (the descriptor limit, ulimit -n, leaves room for no more)\n";
  }
}

int FailToStart(const StartFailure& f) { return Fail("serve", f.message, f.code); }

int RunServe(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args, kServeFlags);
  if (!flags.ok()) return Fail("serve", flags.status().message(), kExitBadInput);
  auto config = ParseServeFlags(*flags);
  if (!config.ok()) return Fail("serve", config.status().message(), kExitBadInput);

  // Request bodies of megabytes come and go: allocated with mmap, they go
  // back to the system when freed (glibc's default threshold rises after
  // the first large free and then keeps them in its arenas for good).
  ::mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  ::mallopt(M_TRIM_THRESHOLD, 1 << 20);
  sigset_t signals = BlockStopSignals();
  AccessLog log;
  Metrics metrics;

  // 1. The ledger and the node's secrets; 2. the PDF workers.
  auto opened = OpenLedger(*config, metrics);
  if (auto* f = std::get_if<StartFailure>(&opened)) return FailToStart(*f);
  std::unique_ptr<ledger::Log> ledger_log = std::move(std::get<0>(opened));
  auto secrets = node::LoadNodeSecrets(config->data, /*create=*/true);
  if (!secrets.ok()) return Fail("serve", secrets.status().message(), kExitFailure);
  auto started = StartPdfWorkers(config->pdf, metrics);
  if (auto* f = std::get_if<StartFailure>(&started)) return FailToStart(*f);
  std::unique_ptr<pdf::PdfSandbox> sandbox = std::move(std::get<0>(started));

  // 3. The domain's services, and the notifier that sends their outbox.
  node::OutboundPolicy outbound;
  outbound.allow_local = config->allow_local_callbacks;
  auto ao = ApprovalsOptionsFor(*config, outbound);
  if (auto* f = std::get_if<StartFailure>(&ao)) return FailToStart(*f);
  const std::function<int64_t()> clock = std::get<0>(ao).clock;
  Services services(*ledger_log, *sandbox, *secrets, outbound, std::move(std::get<0>(ao)), log, config->public_url);
  if (auto f = StartQr(services, *ledger_log, *sandbox, config->data, clock)) return FailToStart(*f);
  if (auto f = StartWitness(services, *ledger_log, *config)) return FailToStart(*f);
  if (auto f = StartCosigning(services, *ledger_log, *config, metrics)) return FailToStart(*f);

  // 4. The routes.
  std::atomic<bool> stopping{false};
  Router router;
  CitizenSessionsOptions cso;
  cso.secure_cookies = config->public_url.rfind("https://", 0) == 0;
  CitizenSessions citizen_sessions(cso);
  std::unique_ptr<OidcClient> oidc;
  if (auto f = AddRoutes(router, services, *sandbox, *config, *secrets, ledger_log->verifier_key(), stopping,
                         metrics, citizen_sessions, oidc)) {
    return FailToStart(*f);
  }

  // 5. Serve until SIGINT or SIGTERM.
  auto server = Server::Start(config->server, router, metrics, log);
  if (!server.ok()) return Fail("serve", server.status().message(), kExitFailure);
  Server* sp = server->get();
  metrics.AddGauge("quipu_pool_queued", "Requests waiting for the worker pool.",
                   [sp] { return static_cast<double>(sp->pool_queued()); });
  metrics.AddGauge("quipu_pool_running", "Requests running on the worker pool.",
                   [sp] { return static_cast<double>(sp->pool_running()); });
  services.notifier.Start();  // delivers what an earlier run left in the outbox, too
  std::optional<Every> drop_expired;
  drop_expired.emplace(std::chrono::seconds(60), [&services, &log] {
    DropExpiredContents(services.approvals, log);
    DropLapsedQrCodes(*services.qr, log);
  });
  AnnounceStart(*sp, *config, *ledger_log, *secrets, log);
  if (services.witness) {
    std::cout << "quipu: witness " << services.witness->verifier_key() << " for " << services.witness->logs().size()
              << " log(s)" << std::endl;
    log.Event("witness", {{"vkey", services.witness->verifier_key()}, {"logs", services.witness->logs().size()}});
  }

  int sig = 0;
  sigwait(&signals, &sig);
  stopping = true;
  log.Event("stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  (*server)->Stop();  // finish the requests in flight
  server->reset();
  sandbox.reset();  // the PDF workers
  drop_expired.reset();
  services.notifier.Stop();  // undelivered items stay in the outbox for the next start
  const uint64_t size = ledger_log->Head().tree_size;
  services.qr.reset();
  services.cosigning.reset();  // its requests in flight end first
  ledger_log.reset();  // drain the sequencer, close LMDB
  log.Event("stop", {{"tree_size", size}});
  return kExitOk;
}

}  // namespace

extern const Command kServeCommand{
    "serve", "run the node: the HTTP API and the ledger's sequencer",
    "usage: quipu serve [--data DIR] [--listen HOST:PORT] [--threads N] [--origin O]\n"
    "                   [--body-limit BYTES] [--sync full|none] [--max-connections N]\n"
    "                   [--header-timeout-ms MS] [--request-timeout-ms MS]\n"
    "                   [--issuer NAME] [--delivery-webhook URL] [--allow-local-callbacks]\n"
    "                   [--pool-threads N] [--pool-queue N]\n"
    "                   [--pdf-workers N] [--pdf-timeout-ms MS] [--pdf-memory-mb MB]\n"
    "                   [--pdf-jobs-per-worker N] [--body-budget BYTES]\n"
    "                   [--public-url URL] [--oidc-issuer URL --oidc-client-id ID\n"
    "                    --oidc-client-secret-file F [--oidc-document-claim NAME] [--oidc-scopes S]]\n"
    "                   [--witness-logs FILE [--witness-name NAME]]\n"
    "                   [--policy FILE [--cosign-interval-ms MS]]\n"
    "\n"
    "Opens (or creates) the ledger in DIR (./quipu-data), holds its writer lock, and serves\n"
    "the HTTP API on HOST:PORT (127.0.0.1:8080) with N threads (4). Prints the URL and the\n"
    "verifier key. SIGINT or SIGTERM stops it gracefully: no new connections, requests in\n"
    "flight finish (up to 10 s), the sequencer commits what it holds, LMDB is closed.\n"
    "\n"
    "  --body-limit  largest request body, bytes (67108864 = 64 MiB); larger ones get 413\n"
    "  --header-timeout-ms   a request line and headers must arrive within this (10000);\n"
    "                        also the idle keep-alive limit\n"
    "  --request-timeout-ms  a whole request, body included, within this (60000)\n"
    "  --max-connections     open connections at most (10000); more are closed at once;\n"
    "                        lowered to what ulimit -n allows\n"
    "  --pool-threads N      threads for requests that wait (PDFs, commits) (32)\n"
    "  --pool-queue N        such requests waiting at most (1024); more get 503\n"
    "  --pdf-workers N       sandboxed PDF parser processes (2)\n"
    "  --pdf-timeout-ms MS   wall-clock (and CPU) limit of one PDF job (10000)\n"
    "  --pdf-memory-mb MB    address-space limit of a PDF worker (1024)\n"
    "  --pdf-jobs-per-worker N  jobs a PDF worker runs before it is replaced (1: a fresh\n"
    "                        process for every PDF; a stamp always ends a worker)\n"
    "  --body-budget BYTES   request bodies being read or waiting, in all (1 GiB); beyond: 503\n"
    "  --issuer NAME         the issuer shown by authenticator apps (quipu)\n"
    "  --delivery-webhook U  where codes of the \"message\" factor are POSTed (SMS/e-mail\n"
    "                        gateway); its bearer token from $QUIPU_DELIVERY_TOKEN\n"
    "  --allow-local-callbacks  development only: lets callbacks (client URIs, the delivery\n"
    "                        webhook) go to http://localhost and private addresses; without\n"
    "                        it they must be https:// to public addresses\n"
    "  --public-url URL      where browsers reach this node (http://HOST:PORT of --listen);\n"
    "                        the login callback is URL/aprobar/callback; https:// makes\n"
    "                        the citizens' cookies Secure\n"
    "  --oidc-issuer URL     the identity provider citizens log in with (OpenID Connect;\n"
    "                        Ciudadania Digital); without it there are no approval pages\n"
    "  --oidc-client-id ID   quipu's client id at the provider\n"
    "  --oidc-client-secret-file F  its client secret (a file, mode 0600)\n"
    "  --oidc-document-claim NAME   the ID token claim with the document number\n"
    "                        (document_number)\n"
    "  --oidc-scopes S       the scopes asked for (\"openid profile email phone\": the contacts\n"
    "                        a message factor's code goes to)\n"
    "  --witness-logs FILE   also be a witness (C2SP tlog-witness) for the logs in FILE,\n"
    "                        lines \"log <vkey> [url]\" (tlog-policy); POST /add-checkpoint,\n"
    "                        GET /witness; docs/witness.md\n"
    "  --witness-name NAME   the cosigning key's name when it is made (DIR/witness.key, at\n"
    "                        first start; <origin's host>/witness)\n"
    "  --policy FILE         the node's trust policy (tlog-policy): its checkpoints are sent to\n"
    "                        the witnesses with a URL there, their cosignatures kept, and\n"
    "                        /checkpoint and receipts carry the newest checkpoint that met\n"
    "                        the quorum; GET /v1/policy, /v1/witnessed; docs/cosigning.md\n"
    "  --cosign-interval-ms MS  a cosigning round at most this often (1000)\n"
    "  --test-clock-file F   tests only: read the time (unix µs) from F\n"
    "  --sync none   no fsync per commit: benchmarks only, a crash may lose acknowledged entries\n"
    "\n"
    "Logs one JSON line per request on stderr (method, route, path, status, bytes, us).\n",
    RunServe};

}  // namespace quipu::cli
