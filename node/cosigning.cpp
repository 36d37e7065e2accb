#include "node/cosigning.h"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "crypto/cosignature.h"
#include "crypto/encoding.h"
#include "crypto/note.h"
#include "node/records.h"
#include "node/schema.h"

namespace quipu::node {

const char* CosigningEventName(CosigningEvent::Kind kind) {
  using K = CosigningEvent::Kind;
  switch (kind) {
    case K::kCosigned: return "cosigned";
    case K::kQuorum: return "quorum";
    case K::kUnreachable: return "unreachable";
    case K::kRefused: return "refused";
    case K::kInconsistent: return "inconsistent";
    case K::kAhead: return "ahead";
    case K::kBadAnswer: return "bad_answer";
  }
  return "unknown";
}

namespace {

using Clock = std::chrono::steady_clock;
using Kind = CosigningEvent::Kind;

// A checkpoint to submit: its size and the log's signed note.
struct Target {
  uint64_t size = 0;
  std::string note;
};

// The signed text of a note: up to and with the newline before the blank line.
std::string_view NoteText(std::string_view note) {
  const size_t blank = note.find("\n\n");
  return blank == std::string_view::npos ? std::string_view() : note.substr(0, blank + 1);
}

// The note's lines after the blank one, each with its newline (at most `max`).
std::vector<std::string> SignatureLines(std::string_view note, size_t max = SIZE_MAX) {
  std::vector<std::string> out;
  const size_t blank = note.find("\n\n");
  if (blank == std::string_view::npos) return out;
  std::string_view sigs = note.substr(blank + 2);
  while (!sigs.empty() && out.size() < max) {
    const size_t nl = sigs.find('\n');
    const size_t n = nl == std::string_view::npos ? sigs.size() : nl + 1;
    std::string line(sigs.substr(0, n));
    if (line.back() != '\n') line.push_back('\n');
    out.push_back(std::move(line));
    sigs.remove_prefix(n);
  }
  return out;
}

// A 409's body: "<size>\n", the size with no leading zero.
std::optional<uint64_t> ParseSizeBody(std::string_view body) {
  if (body.empty() || body.back() != '\n') return std::nullopt;
  body.remove_suffix(1);
  if (body.empty() || body.size() > 20 || (body.size() > 1 && body[0] == '0')) return std::nullopt;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), n);
  if (ec != std::errc() || end != body.data() + body.size()) return std::nullopt;
  return n;
}

// The first line of a refusal's body, short, for the log.
std::string Gist(std::string_view body) {
  body = body.substr(0, std::min(body.find('\n'), size_t{200}));
  std::string out;
  for (char c : body) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  return out;
}

}  // namespace

struct Cosigning::Impl {
  struct Worker {
    const ledger::TlogPolicy::Witness* witness = nullptr;
    std::string submit_url;  // <prefix>/add-checkpoint
    // Guarded by Impl::mu.
    CosignerStatus status;
    std::optional<Target> job;
    bool busy = false;
    uint64_t hint = 0;  // the size its last 409 named: where the next request starts
    Clock::time_point next_try{};
    std::thread thread;
  };

  Impl(ledger::Log& l, CosigningOptions o) : log(l), options(std::move(o)) {}

  ledger::Log& log;
  CosigningOptions options;
  const ledger::TlogPolicy* policy = nullptr;

  mutable std::mutex mu;
  std::condition_variable wake;              // the coordinator and the workers
  mutable std::condition_variable published_cv;
  bool stop = false;
  // The newest checkpoint that met the quorum (witnessed), and the log's
  // checkpoint at start (floor): the larger is published, so the size a
  // client sees never goes down, whatever ran before.
  bool witnessed = false;
  uint64_t witnessed_size = 0;
  std::string witnessed_note;
  uint64_t floor_size = 0;
  std::string floor_note;
  std::set<uint64_t> stored;  // the sizes with a CosignedRecord
  std::vector<std::unique_ptr<Worker>> workers;
  std::thread coordinator;

  bool PublishesWitnessed() const { return witnessed && witnessed_size >= floor_size; }

  void Event(Kind kind, const std::string& witness, uint64_t size, std::string detail) {
    if (options.on_event) options.on_event(CosigningEvent{kind, witness, size, std::move(detail)});
  }

  void Coordinate() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stop) {
      wake.wait_for(lock, options.interval, [this] { return stop; });
      if (stop) break;
      lock.unlock();
      const ledger::LogHead head = log.Head();
      lock.lock();
      const auto now = Clock::now();
      bool any = false;
      for (auto& w : workers) {
        if (w->busy || w->job || now < w->next_try || w->status.size == head.tree_size) continue;
        w->job = Target{head.tree_size, head.checkpoint};
        any = true;
      }
      if (any) wake.notify_all();
    }
  }

  void Work(Worker& w) {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      wake.wait(lock, [&] { return stop || w.job.has_value(); });
      if (stop) return;
      const Target target = std::move(*w.job);
      w.job.reset();
      w.busy = true;
      uint64_t known = std::max(w.status.size, w.hint);
      lock.unlock();
      std::optional<std::string> failure = Submit(w, target, known);
      lock.lock();
      w.hint = known;
      w.busy = false;
      if (failure) {
        ++w.status.failures;
        w.status.last_error = *failure;
        w.next_try = Clock::now() + options.retry;
      } else {
        w.status.last_error.clear();
      }
    }
  }

  // Submits `target` to `w`, starting from the size it is known to have
  // cosigned. nullopt on success (stored), else why not.
  std::optional<std::string> Submit(Worker& w, const Target& target, uint64_t& old) {
    const std::string& name = w.witness->name;
    const std::string_view text = NoteText(target.note);
    auto fail = [&](Kind kind, std::string detail) {
      Event(kind, name, target.size, detail);
      return std::optional<std::string>(std::move(detail));
    };
    // Two 409s in a row may happen when another submitter raced us; more is a confused witness.
    for (int attempt = 0; attempt < 3; ++attempt) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (stop) return std::optional<std::string>("stopping");
      }
      if (old > target.size) {
        return fail(Kind::kAhead, "the witness cosigned a tree of " + std::to_string(old) +
                                      " entries for this log, which has " + std::to_string(target.size));
      }
      std::string body = "old " + std::to_string(old) + "\n";
      if (old > 0 && old < target.size) {
        auto proof = log.ProveConsistency(old, target.size);
        if (!proof.ok()) return fail(Kind::kBadAnswer, "consistency proof: " + proof.status().message());
        for (const ledger::Hash& h : *proof) body += crypto::Base64Encode(h) + "\n";
      }
      body += "\n" + target.note;
      auto reply = options.post(w.submit_url, body);
      if (!reply.ok()) return fail(Kind::kUnreachable, reply.status().message());
      switch (reply->status) {
        case 200:
          return Accept(w, target, text, reply->body);
        case 409: {
          auto size = ParseSizeBody(reply->body);
          if (!size) return fail(Kind::kBadAnswer, "a 409 whose body is not a size");
          // The size just sent back: the witness holds another tree of
          // that size (tlog-witness): a fork, not a race.
          if (*size == old) {
            return fail(Kind::kInconsistent, "409: it holds another tree of " + std::to_string(old) + " entries");
          }
          old = *size;
          continue;
        }
        case 403:
          return fail(Kind::kRefused, "403: it does not trust this log's key: " + Gist(reply->body));
        case 404:
          return fail(Kind::kRefused, "404: it does not witness this log: " + Gist(reply->body));
        case 400:
          return fail(Kind::kRefused, "400: " + Gist(reply->body));
        case 422:
          return fail(Kind::kInconsistent, "422: it holds a tree this checkpoint is not consistent with: " +
                                               Gist(reply->body));
        default:
          return fail(Kind::kBadAnswer, "status " + std::to_string(reply->status) + ": " + Gist(reply->body));
      }
    }
    return fail(Kind::kBadAnswer, "it answered 409 three times");
  }

  // A 200: keeps the cosignature lines of `w` that verify, stores them with
  // the checkpoint, publishes it if it now meets the quorum.
  std::optional<std::string> Accept(Worker& w, const Target& target, std::string_view text, std::string_view body) {
    const std::string& name = w.witness->name;
    std::string line;
    size_t lines = 0;
    for (const std::string& l : SignatureLines("x\n\n" + std::string(body), 16)) {
      if (++lines > 16) break;
      auto t = crypto::VerifyCosignature(l, w.witness->key, text);
      if (t.ok() && t->has_value()) {
        line = l;
        break;
      }
    }
    if (line.empty()) {
      const std::string detail = "a 200 without a cosignature by its key that verifies";
      Event(Kind::kBadAnswer, name, target.size, detail);
      return detail;
    }
    bool met = false;
    std::string note;
    std::vector<uint64_t> older;  // every stored size below this one
    {
      std::lock_guard<std::mutex> lock(mu);
      for (uint64_t s : stored) {
        if (s < target.size) older.push_back(s);
      }
    }
    // Sizes not yet at the quorum: the newest few stay (a slow witness may
    // still answer for them), older ones go, so that a quorum never met
    // costs a bounded table.
    constexpr size_t kKeptPending = 8;
    const std::vector<uint64_t> stale(older.begin(), older.size() > kKeptPending ? older.end() - kKeptPending : older.begin());
    ledger::AppendRequest req;
    req.apply = [&](ledger::PrivateTxn& txn, uint64_t, const std::string& time) -> Status {
      QUIPU_ASSIGN_OR_RETURN(auto bytes, txn.Get(tables::kCosigned, records::CosignedKey(target.size)));
      records::CosignedRecord rec;
      if (bytes) {
        QUIPU_ASSIGN_OR_RETURN(rec, records::DecodeCosigned(*bytes));
      } else {
        rec.note = target.note;
      }
      // This witness's earlier line for the same checkpoint gives way to the new one.
      std::string kept(NoteText(rec.note));
      kept += "\n";
      for (const std::string& l : SignatureLines(rec.note)) {
        auto t = crypto::VerifyCosignature(l, w.witness->key, text);
        if (!(t.ok() && t->has_value())) kept += l;
      }
      kept += line;
      rec.note = std::move(kept);
      QUIPU_ASSIGN_OR_RETURN(ledger::CheckpointCheck check, ledger::EvaluateCheckpoint(*policy, rec.note));
      rec.quorum = check.quorum;
      QUIPU_RETURN_IF_ERROR(txn.Put(tables::kCosigned, records::CosignedKey(target.size), records::Encode(rec)));
      records::CosignerRecord who{target.size, time};
      QUIPU_RETURN_IF_ERROR(txn.Put(tables::kCosigned, records::CosignerKey(name), records::Encode(who)));
      met = false;
      for (uint64_t s : stale) QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kCosigned, records::CosignedKey(s)));
      if (rec.quorum) {
        QUIPU_ASSIGN_OR_RETURN(auto q, txn.Get(tables::kCosigned, records::kWitnessedKey));
        uint64_t current = 0;
        if (q) std::from_chars(q->data(), q->data() + q->size(), current);
        if (!q || target.size > current) {
          QUIPU_RETURN_IF_ERROR(txn.Put(tables::kCosigned, records::kWitnessedKey, std::to_string(target.size)));
          // The newest checkpoint that met the quorum covers every entry
          // of the older ones: they are history.
          for (uint64_t s : older) QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kCosigned, records::CosignedKey(s)));
          met = true;
        } else if (q && target.size < current) {
          // Below the published one: it will never be published.
          QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kCosigned, records::CosignedKey(target.size)));
        }
      }
      note = rec.note;
      return Status::Ok();
    };
    auto done = log.Append(std::move(req)).get();
    if (!done.ok()) {
      const std::string detail = "storing its cosignature: " + done.status().message();
      Event(Kind::kBadAnswer, name, target.size, detail);
      return detail;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      w.status.size = target.size;
      w.status.last_cosigned = done->time;
      stored.insert(target.size);
      for (uint64_t s : stale) stored.erase(s);
      if (met) {
        for (uint64_t s : older) stored.erase(s);
      }
      // Answers for one size commit in order but reach this point in any
      // order: a note never gives way to one with fewer cosignatures.
      if ((met && (!witnessed || target.size > witnessed_size)) ||
          (witnessed && target.size == witnessed_size &&
           SignatureLines(note).size() >= SignatureLines(witnessed_note).size())) {
        witnessed = true;
        witnessed_size = target.size;
        witnessed_note = note;
      } else if (witnessed && target.size < witnessed_size) {
        stored.erase(target.size);
      }
    }
    published_cv.notify_all();
    Event(Kind::kCosigned, name, target.size, "");
    if (met) Event(Kind::kQuorum, "", target.size, "");
    return std::nullopt;
  }
};

Result<std::unique_ptr<Cosigning>> Cosigning::Start(ledger::Log& log, CosigningOptions options) {
  if (!options.post) return InvalidArgument("cosigning needs a way to reach the witnesses");
  ledger::TlogPolicy policy = options.policy;
  auto own = crypto::ParseVerifierKey(log.verifier_key());
  if (!own.ok()) return own.status();
  const bool listed = std::any_of(policy.logs.begin(), policy.logs.end(),
                                  [&](const crypto::NoteVerifier& v) { return v.public_key == own->public_key; });
  if (!listed) policy.logs.insert(policy.logs.begin(), *own);
  size_t with_url = 0;
  for (const auto& w : policy.witnesses) with_url += !w.url.empty();
  if (with_url == 0) return InvalidArgument("the policy names no witness with a URL to ask");

  auto impl = std::make_unique<Impl>(log, std::move(options));
  std::unique_ptr<Cosigning> c(new Cosigning(std::move(policy), std::move(impl)));
  Impl& m = *c->impl_;
  m.policy = &c->policy_;

  // What earlier runs stored: the published checkpoint, the sizes kept, each witness's size.
  QUIPU_ASSIGN_OR_RETURN(auto q, log.ReadPrivate(tables::kCosigned, records::kWitnessedKey));
  Status scan = log.ScanPrivate(tables::kCosigned, records::kCosignedPrefix, [&](std::string_view key, std::string_view) {
    if (auto s = records::SizeOfCosignedKey(key)) m.stored.insert(*s);
    return true;
  });
  QUIPU_RETURN_IF_ERROR(scan);
  if (q) {
    uint64_t size = 0;
    auto [end, ec] = std::from_chars(q->data(), q->data() + q->size(), size);
    if (ec != std::errc() || end != q->data() + q->size()) return Corruption("the witnessed size record is damaged");
    QUIPU_ASSIGN_OR_RETURN(auto bytes, log.ReadPrivate(tables::kCosigned, records::CosignedKey(size)));
    if (!bytes) return Corruption("the checkpoint that met the quorum is missing from the cosigned table");
    QUIPU_ASSIGN_OR_RETURN(records::CosignedRecord rec, records::DecodeCosigned(*bytes));
    // Met under the policy of then; published only if it meets today's
    // (a witness removed, a threshold raised, the log's key rotated).
    auto check = ledger::EvaluateCheckpoint(c->policy_, rec.note);
    if (check.ok() && check->quorum) {
      m.witnessed = true;
      m.witnessed_size = size;
      m.witnessed_note = rec.note;
    }
  }
  const ledger::LogHead head = log.Head();
  m.floor_size = head.tree_size;
  m.floor_note = head.checkpoint;
  for (const auto& w : c->policy_.witnesses) {
    if (w.url.empty()) continue;
    auto worker = std::make_unique<Impl::Worker>();
    worker->witness = &w;
    std::string prefix = w.url;
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    worker->submit_url = prefix + "/add-checkpoint";
    worker->status.name = w.name;
    worker->status.url = w.url;
    QUIPU_ASSIGN_OR_RETURN(auto bytes, log.ReadPrivate(tables::kCosigned, records::CosignerKey(w.name)));
    if (bytes) {
      QUIPU_ASSIGN_OR_RETURN(records::CosignerRecord rec, records::DecodeCosigner(*bytes));
      worker->status.size = rec.size;
      worker->status.last_cosigned = rec.time;
    }
    m.workers.push_back(std::move(worker));
  }
  for (auto& w : m.workers) {
    Impl::Worker* wp = w.get();
    w->thread = std::thread([&m, wp] { m.Work(*wp); });
  }
  m.coordinator = std::thread([&m] { m.Coordinate(); });
  return c;
}

Cosigning::Cosigning(ledger::TlogPolicy policy, std::unique_ptr<Impl> impl)
    : policy_(std::move(policy)), policy_text_(ledger::FormatTlogPolicy(policy_)), impl_(std::move(impl)) {}

Cosigning::~Cosigning() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->wake.notify_all();
  impl_->published_cv.notify_all();
  if (impl_->coordinator.joinable()) impl_->coordinator.join();
  for (auto& w : impl_->workers) {
    if (w->thread.joinable()) w->thread.join();
  }
}

PublishedCheckpoint Cosigning::Checkpoints() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  PublishedCheckpoint p;
  const bool w = impl_->PublishesWitnessed();
  p.tree_size = w ? impl_->witnessed_size : impl_->floor_size;
  p.note = w ? impl_->witnessed_note : impl_->floor_note;
  p.witnessed = w;
  if (impl_->witnessed) {
    p.witnessed_size = impl_->witnessed_size;
    p.witnessed_note = impl_->witnessed_note;
  }
  return p;
}

WitnessedState Cosigning::State() const {
  const uint64_t head = impl_->log.Head().tree_size;
  PublishedCheckpoint p = Checkpoints();
  std::lock_guard<std::mutex> lock(impl_->mu);
  WitnessedState s;
  s.tree_size = p.tree_size;
  s.checkpoint = std::move(p.note);
  s.quorum = p.witnessed;
  s.witnessed_size = p.witnessed_size;
  s.witnessed_checkpoint = std::move(p.witnessed_note);
  s.head = head;
  for (const auto& w : impl_->workers) s.witnesses.push_back(w->status);
  return s;
}

std::pair<uint64_t, std::string> Cosigning::Published() const {
  PublishedCheckpoint p = Checkpoints();
  return {p.tree_size, std::move(p.note)};
}

bool Cosigning::WaitForQuorum(uint64_t size, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->published_cv.wait_for(lock, timeout, [&] {
    return impl_->stop || (impl_->witnessed && impl_->witnessed_size >= size);
  }) && !impl_->stop;
}

}  // namespace quipu::node
