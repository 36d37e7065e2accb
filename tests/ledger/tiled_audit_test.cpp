// The audit of a tiled log from its read API (ledger/tiled_audit.h), over
// a real ledger's checkpoint, tiles and entry bundles served by a function
// that can lie: every lie a server could tell is caught, resuming fetches
// only what is new, and a fork is caught against the state of the first view.
#include "ledger/tiled_audit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>

#include "crypto/encoding.h"
#include "crypto/note.h"
#include "ledger/checkpoint.h"
#include "ledger/log.h"
#include "ledger/tiles.h"
#include "tests/common/process.h"
#include "tests/ledger/test_entry_types.h"

namespace quipu::ledger {
namespace {

using nlohmann::json;
using testing::TempDir;

json Note(uint64_t n, const std::string& who = "a_1") {
  char hex[65];
  std::snprintf(hex, sizeof hex, "%064llx", static_cast<unsigned long long>(n));
  return {{"type", "note"},
          {"author", who},
          {"ref", "r_" + std::to_string(n)},
          {"seal", std::string(hex)},
          {"doc", {{"sha256", std::string(hex)}, {"format", "pdf"}}}};
}

std::unique_ptr<Log> OpenLog(const std::string& dir) {
  LogOptions o;
  o.dir = dir;
  o.entry_schema = TestEntryTypes();
  o.sync = SyncMode::kNone;
  auto log = Log::Open(o);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

void Grow(Log& log, uint64_t count, const std::string& who = "a_1") {
  const uint64_t base = log.Head().tree_size;
  for (uint64_t done = 0; done < count;) {
    std::vector<json> batch;
    for (; done < count && batch.size() < 1000; ++done) batch.push_back(Note(base + done, who));
    ASSERT_TRUE(log.Append(AppendRequest(std::move(batch))).get().ok());
  }
}

// The read API of `log`, as a C2SP tiles server gives it, with a hook that
// may change any answer, and a count of what was fetched.
struct Server {
  const Log* log = nullptr;
  std::function<void(const std::string& path, std::string& body)> lie;
  std::mutex mu;
  std::map<std::string, int> fetched;

  Result<std::string> Fetch(const std::string& path) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++fetched[path];
    }
    std::string body;
    if (path == "checkpoint") {
      body = log->Head().checkpoint;
    } else {
      QUIPU_ASSIGN_OR_RETURN(TileAddr a, ParseTilePath(path));
      auto got = a.level < 0 ? log->EntryBundle(a.index, a.width) : log->Tile(a.level, a.index, a.width);
      if (!got.ok()) return got.status();
      body = std::move(*got);
    }
    if (lie) lie(path, body);
    return body;
  }
  TileFetch AsFetch() {
    return [this](const std::string& path) { return Fetch(path); };
  }
  size_t Count() {
    std::lock_guard<std::mutex> lock(mu);
    size_t n = 0;
    for (const auto& [p, c] : fetched) n += static_cast<size_t>(c);
    return n;
  }
};

TiledAuditOptions OptionsFor(Server& server, const Log& log) {
  TiledAuditOptions o;
  o.fetch = server.AsFetch();
  o.vkey = log.verifier_key();
  o.schema = TestEntryTypes();
  o.threads = 4;
  return o;
}

TEST(TiledAudit, ACleanLogPassesAtEverySizeAroundTheTileEdges) {
  TempDir dir;
  auto log = OpenLog(dir.File("log"));
  ASSERT_TRUE(log);
  uint64_t last = 0;
  for (uint64_t size : {0, 1, 2, 255, 256, 257, 511, 512, 513, 65535, 65536, 65537, 70000}) {
    Grow(*log, size - last);
    last = size;
    Server server;
    server.log = log.get();
    auto r = AuditTiledLog(OptionsFor(server, *log));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->ok) << size << ": " << r->failure;
    EXPECT_EQ(r->tree_size, size);
    EXPECT_EQ(r->root, log->Head().root);
    EXPECT_EQ(r->state.tree_size, size);
    // The state's text form comes back the same, and adds up.
    auto back = DecodeTiledAuditState(EncodeTiledAuditState(r->state));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->root, r->state.root);
    EXPECT_EQ(back->blocks, r->state.blocks);
    EXPECT_EQ(back->tail, r->state.tail);
    // Opaque: the same without a schema.
    TiledAuditOptions opaque = OptionsFor(server, *log);
    opaque.schema.reset();
    auto o = AuditTiledLog(opaque);
    ASSERT_TRUE(o.ok());
    EXPECT_TRUE(o->ok) << o->failure;
  }
}

TEST(TiledAudit, EveryLieOfTheServerIsCaught) {
  TempDir dir;
  auto log = OpenLog(dir.File("log"));
  ASSERT_TRUE(log);
  Grow(*log, 70000);
  struct Lie {
    const char* what;
    std::function<void(const std::string&, std::string&)> lie;
    const char* says;
  };
  const std::vector<Lie> lies = {
      {"an entry's byte", [](const std::string& p, std::string& b) { if (p == "tile/entries/003") b[100] ^= 1; }, "leaf hash"},
      {"a level-0 hash", [](const std::string& p, std::string& b) { if (p == "tile/0/017") b[5] ^= 1; }, "leaf hash"},
      {"a level-1 hash", [](const std::string& p, std::string& b) { if (p == "tile/1/000") b[40] ^= 1; }, "tile/1/000"},
      {"a level-2 hash", [](const std::string& p, std::string& b) { if (p == "tile/2/000.p/1") b[0] ^= 1; }, "tile/2/000.p/1"},
      {"a short bundle", [](const std::string& p, std::string& b) { if (p == "tile/entries/010") b.resize(b.size() - 3); }, "ends inside"},
      {"a longer bundle", [](const std::string& p, std::string& b) { if (p == "tile/entries/010") b += "x"; }, "after its last"},
      {"the checkpoint's root", [](const std::string& p, std::string& b) { if (p == "checkpoint") b[b.find('\n', b.find('\n') + 1) + 2] ^= 1; }, "checkpoint"},
      {"a missing tile", [](const std::string& p, std::string& b) { if (p == "tile/0/100") b.clear(); }, "tile/0/100"},
  };
  for (const Lie& l : lies) {
    Server server;
    server.log = log.get();
    server.lie = l.lie;
    auto r = AuditTiledLog(OptionsFor(server, *log));
    ASSERT_TRUE(r.ok()) << l.what;
    EXPECT_FALSE(r->ok) << l.what;
    EXPECT_NE(r->failure.find(l.says), std::string::npos) << l.what << ": " << r->failure;
  }
  // Entries that are not the schema's, and a key that did not sign.
  Server server;
  server.log = log.get();
  TiledAuditOptions other = OptionsFor(server, *log);
  TempDir elsewhere;
  auto stranger = OpenLog(elsewhere.File("log"));
  other.vkey = stranger->verifier_key();
  auto r = AuditTiledLog(other);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ok);
  EXPECT_NE(r->failure.find("checkpoint"), std::string::npos) << r->failure;
  server.lie = [](const std::string& p, std::string& b) {
    if (p == "tile/entries/001") {
      const size_t at = b.find("\"author\":\"a_1\"");
      b.replace(at, 14, "\"author\":\"a 1\"");
    }
  };
  // A changed entry: caught at its index.
  auto bad = AuditTiledLog(OptionsFor(server, *log));
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->ok);
  EXPECT_EQ(bad->index, std::optional<uint64_t>(256));
}

TEST(TiledAudit, AResumedAuditFetchesOnlyWhatIsNewAndCatchesAFork) {
  TempDir dir;
  auto log = OpenLog(dir.File("log"));
  ASSERT_TRUE(log);
  Grow(*log, 10000);
  Server first;
  first.log = log.get();
  auto r1 = AuditTiledLog(OptionsFor(first, *log));
  ASSERT_TRUE(r1.ok() && r1->ok) << (r1.ok() ? r1->failure : r1.status().ToString());
  // 40 bundles and level-0 tiles, 1 level-1 tile, the checkpoint.
  EXPECT_EQ(first.Count(), 40u + 40u + 1u + 1u);

  // Nothing new: only the checkpoint and the partial tiles again.
  Server again;
  again.log = log.get();
  TiledAuditOptions o = OptionsFor(again, *log);
  o.previous = r1->state;
  auto same = AuditTiledLog(o);
  ASSERT_TRUE(same.ok() && same->ok) << (same.ok() ? same->failure : "");
  EXPECT_LE(again.Count(), 4u);

  Grow(*log, 300);
  Server second;
  second.log = log.get();
  o = OptionsFor(second, *log);
  o.previous = r1->state;
  auto r2 = AuditTiledLog(o);
  ASSERT_TRUE(r2.ok() && r2->ok) << (r2.ok() ? r2->failure : "");
  EXPECT_EQ(r2->first_checked, 10000u);
  EXPECT_EQ(r2->tree_size, 10300u);
  // Entries 9984..10299: 2 bundles and 2 level-0 tiles, 1 level-1, the checkpoint.
  EXPECT_EQ(second.Count(), 6u);
  EXPECT_EQ(second.fetched.count("tile/entries/000"), 0u);

  // A fork: the same key's copy of the first 10,000 entries, then others.
  // Against the state of the first view, its checkpoint is refused.
  TempDir fork_dir;
  log.reset();
  ASSERT_EQ(std::system(("cp -r " + testing::ShellQuote(dir.File("log")) + " " + testing::ShellQuote(fork_dir.File("log"))).c_str()), 0);
  auto fork = OpenLog(fork_dir.File("log"));
  ASSERT_TRUE(fork);
  Grow(*fork, 500, "b_2");  // 10,300 + 500 others
  Server forked;
  forked.log = fork.get();
  o = OptionsFor(forked, *fork);
  o.previous = r2->state;
  auto same_prefix = AuditTiledLog(o);
  ASSERT_TRUE(same_prefix.ok());
  EXPECT_TRUE(same_prefix->ok) << "an extension of what was audited is fine: " << same_prefix->failure;

  // Now a real fork: the original grows differently from the copy.
  auto original = OpenLog(dir.File("log"));
  Grow(*original, 500, "c_3");
  Server orig;
  orig.log = original.get();
  o = OptionsFor(orig, *original);
  o.previous = same_prefix->state;  // the fork's view, audited clean
  auto caught = AuditTiledLog(o);
  ASSERT_TRUE(caught.ok());
  EXPECT_FALSE(caught->ok);
  EXPECT_NE(caught->failure.find("same size"), std::string::npos) << caught->failure;
  Grow(*original, 10, "c_3");
  o.fetch = orig.AsFetch();
  auto longer = AuditTiledLog(o);
  ASSERT_TRUE(longer.ok());
  EXPECT_FALSE(longer->ok);
  EXPECT_NE(longer->failure.find("not the one audited before"), std::string::npos) << longer->failure;
  // States the fuzzer wrote (tests/fuzz/corpus/federation): refused, not thrown or cast.
  EXPECT_EQ(DecodeTiledAuditState(R"({"format":-0})").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeTiledAuditState(R"({"format":"quipu-tiled-audit/1","origin":"o","vkey":"v",)"
                                  R"("tree_size":18474473460709551615,"root":"","checkpoint":"",)"
                                  R"("blocks":"","tail":"","last_time_us":-1})")
                .status()
                .code(),
            StatusCode::kCorruption);
  // A state that was tampered with is refused when read back.
  std::string text = EncodeTiledAuditState(r2->state);
  text[text.find("\"tree_size\":") + 12] = '9';
  EXPECT_FALSE(DecodeTiledAuditState(text).ok());
}

// A checkpoint the log's own key signed for a tree it does not have: a size
// that would wrap the arithmetic or exhaust memory is refused, or fails at
// the first fetch, with nothing allocated for it.
TEST(TiledAudit, ACheckpointClaimingAnEnormousTreeFailsAtOnce) {
  TempDir dir;
  auto log = OpenLog(dir.File("log"));
  ASSERT_TRUE(log);
  Grow(*log, 3);
  auto signer = crypto::LoadNoteSigner(dir.File("log") + "/" + kNodeKeyFile);
  ASSERT_TRUE(signer.ok()) << signer.status().ToString();
  for (uint64_t size : {UINT64_MAX, uint64_t{1} << 63, uint64_t{1} << 40}) {
    const std::string note = *crypto::SignNote(CheckpointBody(log->origin(), size, log->Head().root), *signer);
    Server server;
    server.log = log.get();
    server.lie = [&](const std::string& p, std::string& b) {
      if (p == "checkpoint") b = note;
    };
    TiledAuditOptions o = OptionsFor(server, *log);
    auto r = AuditTiledLog(o);
    ASSERT_TRUE(r.ok()) << size;
    EXPECT_FALSE(r->ok) << size;
    EXPECT_LE(server.Count(), 3u) << size << ": " << r->failure;
    // Resumed from a real state, the same.
    Server honest;
    honest.log = log.get();
    auto first = AuditTiledLog(OptionsFor(honest, *log));
    ASSERT_TRUE(first.ok() && first->ok);
    o.previous = first->state;
    auto resumed = AuditTiledLog(o);
    ASSERT_TRUE(resumed.ok());
    EXPECT_FALSE(resumed->ok) << size;
  }
}

// A log may delete a partial tile once the full one exists (tlog-tiles):
// the audit then reads the full tile and cuts it.
TEST(TiledAudit, DeletedPartialTilesAreReadFromTheFullOnes) {
  TempDir dir;
  auto log = OpenLog(dir.File("log"));
  ASSERT_TRUE(log);
  Grow(*log, 1024);
  Grow(*log, 77);  // 1101: bundle 4 is partial (77)
  Server third;
  third.log = log.get();
  TiledAuditOptions o3 = OptionsFor(third, *log);
  std::atomic<int> full_asked{0};
  o3.fetch = [&](const std::string& path) -> Result<std::string> {
    if (path == "tile/0/004" || path == "tile/entries/004") ++full_asked;
    if (path == "tile/0/004.p/77" || path == "tile/entries/004.p/77") return NotFound("deleted");
    if (path == "tile/entries/004") {
      auto partial = third.Fetch("tile/entries/004.p/77");
      if (!partial.ok()) return partial;
      std::string more;
      for (int i = 0; i < 179; ++i) more += std::string("\x00\x01", 2) + "x";
      return *partial + more;
    }
    if (path == "tile/0/004") {  // as if the log had grown to 1280 since
      auto partial = third.Fetch("tile/0/004.p/77");
      if (!partial.ok()) return partial;
      return *partial + std::string(179 * 32, 'x');
    }
    return third.Fetch(path);
  };
  auto r3 = AuditTiledLog(o3);
  ASSERT_TRUE(r3.ok());
  EXPECT_TRUE(r3->ok) << r3->failure;
  EXPECT_EQ(full_asked.load(), 2);
}

}  // namespace
}  // namespace quipu::ledger
