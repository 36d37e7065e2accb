// The Log: sequencer, entries, tree rows, blocks, checkpoints, proofs and
// the audit, in process. Proofs are checked with the RFC 9162 verifiers and
// checkpoints with the signed-note verifier, not with what the Log says.
#include "ledger/log.h"

#include <gtest/gtest.h>
#include <lmdb.h>
#include <sys/stat.h>

#include <atomic>
#include <latch>
#include <map>
#include <random>
#include <string_view>
#include <thread>

#include "crypto/encoding.h"
#include "crypto/note.h"
#include "ledger/audit.h"
#include "ledger/checkpoint.h"
#include "ledger/entry.h"
#include "ledger/merkle.h"
#include "tests/ledger/test_entry_types.h"
#include "tests/common/process.h"

namespace quipu::ledger {
namespace {

using nlohmann::json;
using testing::TempDir;

std::string Hex64(uint64_t n) {
  const crypto::Digest d = crypto::Sha256(std::to_string(n));
  return crypto::HexEncode(d);
}

json Note(uint64_t n) {
  return {{"type", "note"},
          {"author", "a_test"},
          {"ref", "r_" + std::to_string(n)},
          {"seal", Hex64(n + 1000000)},
          {"doc", {{"sha256", Hex64(n % 7)}, {"format", "pdf"}}}};
}

// The private tables of these tests (a caller names its own).
constexpr PrivateTable kRequests{"requests"};
constexpr PrivateTable kAccounts{"accounts"};

LogOptions Options(const TempDir& dir) {
  LogOptions o;
  o.dir = dir.File("data");
  o.private_tables = {kRequests, kAccounts};
  o.entry_schema = TestEntryTypes();
  o.sync = SyncMode::kNone;  // these tests do not crash the machine
  return o;
}

std::unique_ptr<Log> MustOpen(const LogOptions& o) {
  auto log = Log::Open(o);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

AppendResult MustAppend(Log& log, std::vector<json> entries) {
  AppendRequest req;
  req.entries = std::move(entries);
  auto r = log.Append(std::move(req)).get();
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : AppendResult{};
}

TEST(Log, CreatesDirectoryKeyAndVerifierKey) {
  TempDir dir;
  auto log = MustOpen(Options(dir));
  ASSERT_TRUE(log);
  EXPECT_EQ(log->origin(), "quipu.localhost/log");
  auto v = crypto::ParseVerifierKey(log->verifier_key());
  ASSERT_TRUE(v.ok()) << log->verifier_key();
  EXPECT_EQ(v->name, "quipu.localhost/log");
  struct stat st;
  ASSERT_EQ(::stat(dir.File("data/node.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(log->Head().tree_size, 0u);
  EXPECT_EQ(log->Head().root, crypto::Sha256(std::string_view()));
}

TEST(Log, ReopenKeepsKeyOriginAndHead) {
  TempDir dir;
  LogOptions o = Options(dir);
  o.origin = "example.org/quipu";
  std::string vkey;
  LogHead head;
  {
    auto log = MustOpen(o);
    vkey = log->verifier_key();
    MustAppend(*log, {Note(1), Note(2)});
    head = log->Head();
  }
  o.origin = "";
  auto log = MustOpen(o);
  EXPECT_EQ(log->origin(), "example.org/quipu");
  EXPECT_EQ(log->verifier_key(), vkey);
  EXPECT_EQ(log->Head().tree_size, 2u);
  EXPECT_EQ(log->Head().root, head.root);
  EXPECT_EQ(log->Head().checkpoint, head.checkpoint);
  auto r = MustAppend(*log, {Note(3)});
  EXPECT_EQ(r.first_index, 2u);
}

TEST(Log, EntriesAreTheCanonicalFieldsWithTimeAndVersion) {
  TempDir dir;
  auto log = MustOpen(Options(dir));
  std::vector<json> entries = {
      Note(1),
      {{"type", "note"}, {"author", "a_1"}, {"ref", "r_9"}, {"seal", Hex64(5)},
       {"doc", {{"format", "json"}, {"sha256", Hex64(6)}}}},
      {{"type", "stamp"}, {"digest", Hex64(7)}, {"kind", "b"}, {"label", "l"}},
      {{"type", "retract"}, {"author", "a_1"}, {"target", 2}, {"reason", "reemplazado \"por\" otro, ñ"}},
      {{"type", "retract"}, {"author", "a_1"}, {"target", 1}, {"reason", "x"},
       {"doc", {{"sha256", Hex64(8)}, {"format", "pdf"}}}},
  };
  auto r = MustAppend(*log, entries);
  ASSERT_EQ(r.count, 5u);
  EXPECT_EQ(r.tree_size, 5u);
  const std::optional<std::string> docs[] = {Hex64(1), Hex64(6), Hex64(7), std::nullopt, Hex64(8)};
  ASSERT_TRUE(ParseTime(r.time).ok()) << r.time;
  for (size_t i = 0; i < entries.size(); ++i) {
    auto bytes = log->Entry(i);
    ASSERT_TRUE(bytes.ok());
    auto want = BuildEntry(entries[i], r.time);
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(*bytes, *want);
    auto summary = TestEntryTypes().ParseEntry(*bytes);
    ASSERT_TRUE(summary.ok()) << summary.status().ToString();
    EXPECT_EQ(summary->time, r.time);
    EXPECT_EQ(summary->type, entries[i]["type"]);
    ASSERT_EQ(summary->doc_sha256.has_value(), docs[i].has_value()) << i;
    if (docs[i]) {
      EXPECT_EQ(crypto::HexEncode(*summary->doc_sha256), *docs[i]);
      EXPECT_EQ(*log->FindDocument(*summary->doc_sha256), std::vector<uint64_t>{i});
    }
  }
}

TEST(Log, InvalidEntriesAreRefusedAtOnceAndNothingIsAppended) {
  TempDir dir;
  auto log = MustOpen(Options(dir));
  json extra = Note(1);
  extra["name"] = "Juan";
  json unknown = {{"type", "payment"}, {"author", "a"}};
  json with_time = Note(1);
  with_time["time"] = "2026-01-01T00:00:00.000000Z";
  json huge = {{"type", "retract"}, {"author", "a"}, {"target", 1}, {"reason", std::string(300, 'x')}};
  for (const json& bad : {extra, unknown, with_time, huge, json::array(), json("x")}) {
    AppendRequest req;
    req.entries = {Note(0), bad};
    auto f = log->Append(std::move(req));
    ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    auto r = f.get();
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("entry 1"), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(log->Head().tree_size, 0u);
}

TEST(Log, FieldsCheckedByAnotherSchemaAreRefused) {
  TempDir dir;
  auto log = MustOpen(Options(dir));
  // The same table made again is another schema: the log cannot know it
  // checks what its own does.
  auto other = EntrySchema::Make(TestEntryTypes().types());
  ASSERT_TRUE(other.ok());
  auto fields = other->CanonicalizeFields(Note(1));
  ASSERT_TRUE(fields.ok());
  AppendRequest req;
  req.checked.push_back(*fields);
  auto r = log->Append(std::move(req)).get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("another entry schema"), std::string::npos) << r.status().message();
  AppendRequest own;
  own.checked.push_back(*TestEntryTypes().CanonicalizeFields(Note(1)));
  EXPECT_TRUE(log->Append(std::move(own)).get().ok());
  EXPECT_EQ(log->Head().tree_size, 1u);
}

TEST(Log, CheckpointsAreSignedNotesOverTheRoot) {
  TempDir dir;
  auto log = MustOpen(Options(dir));
  auto v = crypto::ParseVerifierKey(log->verifier_key());
  ASSERT_TRUE(v.ok());
  for (int batch = 1; batch <= 5; ++batch) {
    std::vector<json> entries;
    for (int i = 0; i < batch * 37; ++i) entries.push_back(Note(static_cast<uint64_t>(batch * 1000 + i)));
    auto r = MustAppend(*log, entries);
    const crypto::NoteVerifier verifiers[] = {*v};
    auto opened = crypto::OpenNote(r.checkpoint, verifiers);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    ASSERT_EQ(opened->verified.size(), 1u);
    auto body = ParseCheckpointBody(opened->text);
    ASSERT_TRUE(body.ok());
    EXPECT_EQ(body->origin, log->origin());
    EXPECT_EQ(body->tree_size, r.tree_size);
    auto root = log->Root(r.tree_size);
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(body->root, *root);
    auto stored = log->Checkpoint(r.tree_size);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(*stored, r.checkpoint);
  }
  EXPECT_EQ(log->Checkpoint(1).status().code(), StatusCode::kNotFound);
}

TEST(Log, ProofsVerifyForEveryIndexAndEarlierSizes) {
  TempDir dir;
  auto log = MustOpen(Options(dir));
  std::vector<uint64_t> sizes;
  for (int batch : {1, 2, 255, 1, 300, 7, 600}) {
    std::vector<json> entries;
    for (int i = 0; i < batch; ++i) entries.push_back(Note(log->Head().tree_size + static_cast<uint64_t>(i)));
    sizes.push_back(MustAppend(*log, entries).tree_size);
  }
  for (uint64_t size : sizes) {
    auto root = log->Root(size);
    ASSERT_TRUE(root.ok());
    for (uint64_t index = 0; index < size; index += (size > 300 ? 7 : 1)) {
      auto p = log->ProveInclusion(index, size);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      auto bytes = log->Entry(index);
      ASSERT_TRUE(bytes.ok());
      EXPECT_EQ(p->leaf_hash, LeafHash(crypto::AsBytes(*bytes)));
      EXPECT_TRUE(VerifyInclusion(index, size, p->leaf_hash, p->proof, *root)) << index << "/" << size;
      EXPECT_FALSE(p->checkpoint.empty());
    }
    for (uint64_t old : sizes) {
      if (old > size) continue;
      auto c = log->ProveConsistency(old, size);
      ASSERT_TRUE(c.ok());
      auto old_root = log->Root(old);
      ASSERT_TRUE(old_root.ok());
      EXPECT_TRUE(VerifyConsistency(old, size, *old_root, *root, *c)) << old << "->" << size;
    }
  }
  const uint64_t n = log->Head().tree_size;
  EXPECT_EQ(log->ProveInclusion(n, n).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log->ProveInclusion(0, n + 1).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(log->ProveConsistency(5, 4).ok());
}

// The root a checkpoint note signs (written by the sequencer, which reads
// no cache), to check proofs that a Log serves from its caches.
Hash SignedRoot(const std::string& note) {
  auto body = ParseCheckpointBody(note.substr(0, note.find("\n\n") + 1));
  EXPECT_TRUE(body.ok()) << note;
  return body.ok() ? body->root : Hash{};
}

// Proofs read the upper hash rows and the right edge from per-thread
// caches. They must stay right while the tree grows past the cached rows
// (level 8 gets a second row past 65,536 leaves), for earlier sizes proven
// after later ones, and when one thread serves two ledgers in turn.
TEST(Log, ProofsStayRightWhileTheTreeGrowsUnderTheCaches) {
  TempDir dir_a, dir_b;
  auto a = MustOpen(Options(dir_a));
  auto b = MustOpen(Options(dir_b));
  std::map<uint64_t, Hash> roots_a;  // tree size -> signed root
  Hash root_b{};
  uint64_t size_b = 0;
  std::mt19937_64 rng(7);
  auto check = [&](Log& log, uint64_t size, const Hash& root) {
    for (int k = 0; k < 40; ++k) {
      const uint64_t index = k < 4 ? size - 1 - static_cast<uint64_t>(k) % size : rng() % size;
      auto p = log.ProveInclusion(index, size);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      ASSERT_TRUE(VerifyInclusion(index, size, p->leaf_hash, p->proof, root)) << index << "/" << size;
    }
  };
  uint64_t next = 0;
  for (int batch : {700, 16384, 16384, 16384, 16384, 5000, 3}) {
    std::vector<json> entries;
    for (int i = 0; i < batch; ++i) entries.push_back(Note(next++));
    const AppendResult r = MustAppend(*a, entries);
    roots_a[r.tree_size] = SignedRoot(r.checkpoint);
    const AppendResult rb = MustAppend(*b, {Note(next + 1000000)});
    size_b = rb.tree_size;
    root_b = SignedRoot(rb.checkpoint);
    for (const auto& [size, root] : roots_a) {  // every size so far, oldest first
      check(*a, size, root);
      check(*b, size_b, root_b);
    }
    for (auto it = roots_a.rbegin(); it != roots_a.rend(); ++it) {  // and newest first
      auto c = a->ProveConsistency(it->first, roots_a.rbegin()->first);
      ASSERT_TRUE(c.ok());
      EXPECT_TRUE(VerifyConsistency(it->first, roots_a.rbegin()->first, it->second,
                                    roots_a.rbegin()->second, *c));
      check(*a, it->first, it->second);
    }
  }
  EXPECT_GT(roots_a.rbegin()->first, uint64_t{65536});
}

TEST(Log, TilesAndEntryBundlesFollowTlogTiles) {
  TempDir dir;
  auto log = MustOpen(Options(dir));
  std::vector<json> entries;
  for (int i = 0; i < 600; ++i) entries.push_back(Note(static_cast<uint64_t>(i)));
  MustAppend(*log, entries);
  // Level 0 tile 1 is the leaf hashes of entries 256..511.
  auto tile = log->Tile(0, 1, 256);
  ASSERT_TRUE(tile.ok());
  ASSERT_EQ(tile->size(), 256u * 32);
  for (uint64_t i = 0; i < 256; ++i) {
    auto bytes = log->Entry(256 + i);
    const crypto::Digest leaf = LeafHash(crypto::AsBytes(*bytes));
    EXPECT_EQ(tile->substr(i * 32, 32), std::string(crypto::AsString(leaf)));
  }
  auto partial = log->Tile(0, 2, 88);
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->size(), 88u * 32);
  EXPECT_EQ(log->Tile(0, 2, 89).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log->Tile(0, 3, 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log->Tile(1, 0, 3).status().code(), StatusCode::kNotFound);  // 600 leaves: 2 level-8 hashes
  auto level1 = log->Tile(1, 0, 2);
  ASSERT_TRUE(level1.ok());
  // The first level-1 tile hash is the root of the first 256 entries.
  auto root256 = log->Root(256);
  EXPECT_EQ(level1->substr(0, 32), std::string(crypto::AsString(*root256)));

  auto bundle = log->EntryBundle(2, 88);
  ASSERT_TRUE(bundle.ok());
  size_t at = 0;
  for (uint64_t i = 512; i < 600; ++i) {
    ASSERT_LE(at + 2, bundle->size());
    const size_t len = (static_cast<uint8_t>((*bundle)[at]) << 8) | static_cast<uint8_t>((*bundle)[at + 1]);
    EXPECT_EQ(bundle->substr(at + 2, len), *log->Entry(i));
    at += 2 + len;
  }
  EXPECT_EQ(at, bundle->size());
  EXPECT_EQ(log->EntryBundle(2, 89).status().code(), StatusCode::kNotFound);
}

TEST(Log, BlocksChainEveryCommit) {
  TempDir dir;
  auto log = MustOpen(Options(dir));
  for (int i = 0; i < 4; ++i) MustAppend(*log, {Note(static_cast<uint64_t>(i))});
  crypto::Digest prev{};
  for (uint64_t h = 0; h < 4; ++h) {
    auto b = log->GetBlock(h);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->height, h);
    EXPECT_EQ(b->tree_size, h + 1);
    EXPECT_EQ(b->prev, prev);
    EXPECT_EQ(b->root, *log->Root(h + 1));
    prev = crypto::Sha256(b->CanonicalHeader());
  }
  auto latest = log->LatestBlock();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->height, 3u);
  EXPECT_EQ(log->GetBlock(4).status().code(), StatusCode::kNotFound);
}

TEST(Log, FindsDocumentsByHash) {
  TempDir dir;
  auto log = MustOpen(Options(dir));
  std::vector<json> entries;
  for (int i = 0; i < 30; ++i) entries.push_back(Note(static_cast<uint64_t>(i)));
  MustAppend(*log, entries);
  auto sha = crypto::HexDecode(Hex64(3));
  crypto::Digest d;
  std::copy(sha->begin(), sha->end(), d.begin());
  auto found = log->FindDocument(d);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, (std::vector<uint64_t>{3, 10, 17, 24}));
  EXPECT_TRUE(log->FindDocument(crypto::Sha256(std::string_view("nothing")))->empty());
}

TEST(Log, TimeNeverGoesBackwardsEvenWhenTheClockDoes) {
  TempDir dir;
  LogOptions o = Options(dir);
  std::atomic<int64_t> now{1790000000000000};
  o.clock = [&] { return now.load(); };
  auto log = MustOpen(o);
  auto a = MustAppend(*log, {Note(1)});
  now -= 5000000;  // the wall clock steps back five seconds
  auto b = MustAppend(*log, {Note(2)});
  EXPECT_EQ(a.time, "2026-09-21T14:13:20.000000Z");
  EXPECT_EQ(b.time, a.time);
  now += 10000000;
  auto c = MustAppend(*log, {Note(3)});
  EXPECT_GT(c.time, b.time);
}

TEST(Log, ApplyWritesPrivateRowsAtomicallyWithTheEntries) {
  TempDir dir;
  auto log = MustOpen(Options(dir));
  AppendRequest good;
  good.entries = {Note(1)};
  good.apply = [](PrivateTxn& txn, uint64_t first, const std::string& time) {
    return txn.Put(kRequests, "r_1", std::to_string(first) + " " + time);
  };
  AppendRequest bad;
  bad.entries = {Note(2)};
  bad.apply = [](PrivateTxn& txn, uint64_t, const std::string&) {
    EXPECT_TRUE(txn.Put(kRequests, "r_2", "half done").ok());
    return Status(StatusCode::kAlreadyExists, "request r_2 already decided");
  };
  AppendRequest reads;
  reads.entries = {};
  reads.apply = [](PrivateTxn& txn, uint64_t, const std::string&) -> Status {
    auto v = txn.Get(kRequests, "r_1");
    if (!v.ok() || !*v) return Internal("r_1 not visible");
    return txn.Put(kAccounts, "seen", **v);
  };
  auto f1 = log->Append(std::move(good));
  auto f2 = log->Append(std::move(bad));
  auto f3 = log->Append(std::move(reads));
  auto r1 = f1.get(), r2 = f2.get(), r3 = f3.get();
  ASSERT_TRUE(r1.ok());
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(r3.ok()) << r3.status().ToString();
  EXPECT_EQ(log->Head().tree_size, 1u);
  auto v = log->ReadPrivate(kRequests, "r_1");
  ASSERT_TRUE(v.ok() && *v);
  EXPECT_EQ(**v, "0 " + r1->time);
  EXPECT_FALSE(*log->ReadPrivate(kRequests, "r_2"));
  EXPECT_EQ(**log->ReadPrivate(kAccounts, "seen"), **v);
  std::vector<std::string> keys;
  ASSERT_TRUE(log->ScanPrivate(kRequests, "r_", [&](std::string_view k, std::string_view) {
                   keys.emplace_back(k);
                   return true;
                 }).ok());
  EXPECT_EQ(keys, std::vector<std::string>{"r_1"});
}

TEST(Log, ATableTheLogWasNotOpenedWithFailsItsRequestAlone) {
  TempDir dir;
  auto log = MustOpen(Options(dir));
  constexpr PrivateTable kOther{"other"};
  AppendRequest bad(std::vector<json>{Note(1)});
  bad.apply = [&](PrivateTxn& txn, uint64_t, const std::string&) -> Status {
    EXPECT_EQ(txn.Get(kOther, "k").status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(txn.Delete(kOther, "k").code(), StatusCode::kInvalidArgument);
    return txn.Put(kOther, "k", "v");
  };
  AppendRequest good(std::vector<json>{Note(2)});
  good.apply = [](PrivateTxn& txn, uint64_t, const std::string&) { return txn.Put(kRequests, "r_2", "ok"); };
  auto f1 = log->Append(std::move(bad));
  auto f2 = log->Append(std::move(good));
  auto r1 = f1.get();
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r1.status().message().find("'other'"), std::string::npos) << r1.status().message();
  ASSERT_TRUE(f2.get().ok());
  EXPECT_EQ(log->Head().tree_size, 1u);
  EXPECT_EQ(log->ReadPrivate(kOther, "k").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log->ScanPrivate(kOther, "", [](std::string_view, std::string_view) { return true; }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(**log->ReadPrivate(kRequests, "r_2"), "ok");
}

TEST(Log, LateEntriesKnowTheirIndexAndFailAlone) {
  TempDir dir;
  auto log = MustOpen(Options(dir));
  MustAppend(*log, {Note(0), Note(1)});
  AppendRequest good(std::vector<json>{Note(2)});
  good.late_count = 1;
  good.late_entries = [](uint64_t first) -> Result<std::vector<json>> {
    // The entry names its own index (as a QR Seguro code's sealing does).
    return std::vector<json>{{{"type", "retract"}, {"author", "a"}, {"target", first}, {"reason", "self"}}};
  };
  AppendRequest bad(std::vector<json>{Note(3)});
  bad.apply = [](PrivateTxn& txn, uint64_t, const std::string&) {
    return txn.Put(kRequests, "must-not-stay", "x");
  };
  bad.late_count = 1;
  bad.late_entries = [](uint64_t) -> Result<std::vector<json>> {
    return std::vector<json>{{{"type", "retract"}, {"author", "a"}}};  // invalid
  };
  auto f1 = log->Append(std::move(good));
  auto f2 = log->Append(std::move(bad));
  auto r1 = f1.get();
  auto r2 = f2.get();
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_EQ(r1->first_index, 2u);
  EXPECT_EQ(r1->count, 2u);
  auto late = json::parse(*log->Entry(3));
  EXPECT_EQ(late["target"], 3u);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("entry 1"), std::string::npos) << r2.status().message();
  EXPECT_EQ(log->Head().tree_size, 4u);
  EXPECT_FALSE(*log->ReadPrivate(kRequests, "must-not-stay"));
}

TEST(Log, AFullQueueAnswersBusyAtOnce) {
  TempDir dir;
  LogOptions o = Options(dir);
  o.queue_capacity_entries = 10;
  auto log = MustOpen(o);
  std::latch entered(1), release(1);
  AppendRequest blocker;
  blocker.entries = {Note(0)};
  blocker.apply = [&](PrivateTxn&, uint64_t, const std::string&) {
    entered.count_down();
    release.wait();
    return Status::Ok();
  };
  auto held = log->Append(std::move(blocker));
  entered.wait();  // the sequencer is inside the commit; the queue is empty
  std::vector<std::future<Result<AppendResult>>> queued;
  for (int i = 0; i < 10; ++i) queued.push_back(log->Append(AppendRequest(std::vector<json>{Note(static_cast<uint64_t>(i + 1))})));
  auto busy = log->Append(AppendRequest(std::vector<json>{Note(99)}));
  ASSERT_EQ(busy.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  auto r = busy.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(log->stats().queue_depth_entries, 10u);
  release.count_down();
  ASSERT_TRUE(held.get().ok());
  for (auto& f : queued) EXPECT_TRUE(f.get().ok());
  EXPECT_EQ(log->Head().tree_size, 11u);
}

TEST(Log, ConcurrentCallersAllGetDistinctCommittedIndices) {
  TempDir dir;
  auto log = MustOpen(Options(dir));
  constexpr int kThreads = 8, kEach = 200;
  std::vector<std::vector<uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = log->Append(AppendRequest(std::vector<json>{Note(static_cast<uint64_t>(t * kEach + i))})).get();
        ASSERT_TRUE(r.ok());
        got[t].push_back(r->first_index);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<uint64_t> all;
  for (auto& g : got) all.insert(all.end(), g.begin(), g.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), size_t{kThreads * kEach});
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], i);
  EXPECT_LT(log->stats().batches, uint64_t{kThreads * kEach});  // group commit happened
}

TEST(Log, MapGrowsFromATinyInitialMap) {
  TempDir dir;
  LogOptions o = Options(dir);
  o.initial_map_bytes = 64 * 1024;
  auto log = MustOpen(o);
  for (int b = 0; b < 20; ++b) {
    std::vector<json> entries;
    for (int i = 0; i < 500; ++i) entries.push_back(Note(static_cast<uint64_t>(b * 500 + i)));
    MustAppend(*log, entries);
  }
  EXPECT_EQ(log->Head().tree_size, 10000u);
  log.reset();
  AuditOptions ao;
  ao.dir = o.dir;
  ao.entry_schema = TestEntryTypes();
  auto report = Audit(ao);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->failure;
  EXPECT_EQ(report->entries, 10000u);
}

TEST(Log, ASecondWriterIsRefused) {
  TempDir dir;
  auto log = MustOpen(Options(dir));
  auto second = Log::Open(Options(dir));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
}

TEST(Log, OpenErrors) {
  TempDir dir;
  LogOptions o = Options(dir);
  o.create = false;
  EXPECT_EQ(Log::Open(o).status().code(), StatusCode::kNotFound);
  o.create = true;
  o.origin = "bad origin with spaces";
  EXPECT_EQ(Log::Open(o).status().code(), StatusCode::kInvalidArgument);
  o.origin = "a.example/log";
  { ASSERT_TRUE(Log::Open(o).ok()); }
  o.origin = "b.example/log";
  auto other = Log::Open(o);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("a.example/log"), std::string::npos);
  // A key that is not this ledger's.
  o.origin = "";
  ASSERT_EQ(std::remove(dir.File("data/node.key").c_str()), 0);
  ASSERT_TRUE(crypto::SaveSigningKey(dir.File("data/node.key"), crypto::SigningKey::Generate(), "a.example/log").ok());
  EXPECT_EQ(Log::Open(o).status().code(), StatusCode::kCorruption);
}

// --- audit -------------------------------------------------------------------

// Builds a ledger of `n` entries in batches of `batch`, closed.
std::string BuildLedger(const TempDir& dir, int n, int batch) {
  LogOptions o = Options(dir);
  auto log = MustOpen(o);
  for (int i = 0; i < n; i += batch) {
    std::vector<json> entries;
    for (int j = i; j < std::min(n, i + batch); ++j) entries.push_back(Note(static_cast<uint64_t>(j)));
    MustAppend(*log, entries);
  }
  return o.dir;
}

// Overwrites one byte of a record with LMDB directly, as an attacker with
// the file would. An empty key means the table's first record. Returns the
// record's bytes before the change.
std::string Tamper(const std::string& dir, const char* table, const std::string& key, size_t offset) {
  std::string before;
  MDB_env* env;
  EXPECT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 32);
  mdb_env_set_mapsize(env, size_t{1} << 30);
  EXPECT_EQ(mdb_env_open(env, (dir + "/ledger.mdb").c_str(), MDB_NOSUBDIR, 0600), 0);
  MDB_txn* txn;
  MDB_dbi dbi;
  MDB_cursor* cursor;
  EXPECT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  EXPECT_EQ(mdb_dbi_open(txn, table, 0, &dbi), 0);
  EXPECT_EQ(mdb_cursor_open(txn, dbi, &cursor), 0);
  MDB_val k{key.size(), const_cast<char*>(key.data())}, v;
  if (mdb_cursor_get(cursor, &k, &v, key.empty() ? MDB_FIRST : MDB_SET_KEY) == 0) {
    before.assign(static_cast<const char*>(v.mv_data), v.mv_size);
    std::string value = before;
    EXPECT_LT(offset, value.size());
    value[offset % value.size()] ^= 0x01;
    MDB_val nv{value.size(), value.data()};
    EXPECT_EQ(mdb_cursor_put(cursor, &k, &nv, MDB_CURRENT), 0);
  } else {
    ADD_FAILURE() << "no such record in " << table;
  }
  mdb_cursor_close(cursor);
  EXPECT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  return before;
}

std::string U64Key(uint64_t v) {
  std::string k(8, '\0');
  for (int i = 0; i < 8; ++i) k[i] = static_cast<char>(v >> (56 - 8 * i));
  return k;
}

AuditReport MustAudit(const std::string& dir, int threads = 2) {
  AuditOptions o;
  o.dir = dir;
  o.entry_schema = TestEntryTypes();
  o.threads = threads;
  auto r = Audit(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : AuditReport{};
}

// The audit found damage and named entry `index` first, saying `says`.
void ExpectCaughtAt(const AuditReport& r, uint64_t index, std::string_view says = "") {
  EXPECT_FALSE(r.ok);
  ASSERT_TRUE(r.index.has_value());
  EXPECT_EQ(*r.index, index);
  EXPECT_NE(r.failure.find(says), std::string::npos) << r.failure;
}

TEST(Audit, ACleanLedgerPasses) {
  TempDir dir;
  const std::string data = BuildLedger(dir, 1000, 97);
  AuditReport r = MustAudit(data);
  EXPECT_TRUE(r.ok) << r.failure;
  EXPECT_EQ(r.entries, 1000u);
  EXPECT_EQ(r.blocks, 11u);
  EXPECT_EQ(r.checkpoints, 12u);  // one per commit and the empty tree's
  EXPECT_EQ(r.doc_records, 1000u);
  EXPECT_TRUE(r.vkey_from_ledger);
}

TEST(Audit, EmptyLedgerPasses) {
  TempDir dir;
  { auto log = MustOpen(Options(dir)); }
  AuditReport r = MustAudit(dir.File("data"));
  EXPECT_TRUE(r.ok) << r.failure;
  EXPECT_EQ(r.entries, 0u);
}

TEST(Audit, CatchesAnEntryByteAtItsIndex) {
  TempDir dir;
  const std::string data = BuildLedger(dir, 700, 100);
  // Flip a hex digit inside the subject: still valid JSON, wrong leaf hash.
  Tamper(data, "entries", U64Key(345), 150);
  ExpectCaughtAt(MustAudit(data), 345);
}

TEST(Audit, CatchesATileHash) {
  TempDir dir;
  const std::string data = BuildLedger(dir, 700, 100);
  // Level 0 row 1 holds leaves 256..511; byte 32*10 is in leaf 266's hash.
  Tamper(data, "tiles", std::string(1, '\0') + U64Key(1), 32 * 10 + 3);
  ExpectCaughtAt(MustAudit(data), 266, "tree hash");
}

// Workers check the subtrees inside their parts; the hashes joining parts
// are checked by the audit's main thread. With three workers the parts of a
// 1100-entry ledger are [0,512), [512,1024), [1024,1100): the level-10 hash
// over 0..1023 joins the first two.
TEST(Audit, CatchesATreeHashJoiningTwoParts) {
  TempDir dir;
  const std::string data = BuildLedger(dir, 1100, 550);
  Tamper(data, "tiles", std::string(1, '\x0a') + U64Key(0), 5);
  ExpectCaughtAt(MustAudit(data, /*threads=*/3), 1023, "level 10");
}

// Past the first chunk of 65,536 entries (checked while the next is read),
// a damaged entry is still named by its index.
TEST(Audit, CatchesAnEntryInALaterChunk) {
  TempDir dir;
  const std::string data = BuildLedger(dir, 70100, 16384);
  AuditReport clean = MustAudit(data);
  EXPECT_TRUE(clean.ok) << clean.failure;
  EXPECT_EQ(clean.doc_records, 70100u);
  Tamper(data, "entries", U64Key(70000), 150);
  ExpectCaughtAt(MustAudit(data), 70000);
}

TEST(Audit, CatchesABlock) {
  TempDir dir;
  const std::string data = BuildLedger(dir, 700, 100);
  Tamper(data, "blocks", U64Key(3), 60);  // inside the base64 root or prev
  AuditReport r = MustAudit(data);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.failure.find("block 3"), std::string::npos) << r.failure;
}

TEST(Audit, CatchesACheckpoint) {
  TempDir dir;
  const std::string data = BuildLedger(dir, 700, 100);
  Tamper(data, "checkpoints", U64Key(400), 2);  // the origin line
  AuditReport r = MustAudit(data);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.failure.find("checkpoint 400"), std::string::npos) << r.failure;
}

// The documents index: a record naming another entry is found by the
// index it names; a chunk out of order is named as damage to the index.
TEST(Audit, CatchesADocumentsIndexRecord) {
  TempDir dir;
  const std::string data = BuildLedger(dir, 3000, 50);  // enough commits for merges
  EXPECT_TRUE(MustAudit(data).ok);
  // The last byte of the first record is the low byte of its entry index.
  const std::string chunk = Tamper(data, "docruns", "", 39);
  ASSERT_GE(chunk.size(), 80u);
  uint64_t index = 0;
  for (int i = 32; i < 40; ++i) index = index << 8 | static_cast<uint8_t>(chunk[i]);
  ExpectCaughtAt(MustAudit(data), index ^ 1, "which it does not concern");
}

TEST(Audit, CatchesADocumentsIndexChunkOutOfOrder) {
  TempDir dir;
  const std::string data = BuildLedger(dir, 700, 100);
  // The high byte of the first record's index: it now sorts after the
  // document's next record (entries 0..99 cycle through seven documents).
  Tamper(data, "docruns", "", 32);
  AuditReport r = MustAudit(data);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.index.has_value());
  EXPECT_NE(r.failure.find("documents index run"), std::string::npos) << r.failure;
}

TEST(Audit, CatchesAWrongVerifierKey) {
  TempDir dir;
  const std::string data = BuildLedger(dir, 10, 10);
  AuditOptions o;
  o.dir = data;
  o.entry_schema = TestEntryTypes();
  o.vkey = crypto::VerifierKeyString("quipu.localhost/log", crypto::SigningKey::Generate().PublicKey());
  auto r = Audit(o);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ok);
  EXPECT_NE(r->failure.find("signature"), std::string::npos) << r->failure;
}

TEST(Audit, MissingLedgerIsAnError) {
  TempDir dir;
  AuditOptions o;
  o.dir = dir.File("nothing");
  EXPECT_FALSE(Audit(o).ok());
}

}  // namespace
}  // namespace quipu::ledger
