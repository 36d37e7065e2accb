// The documents index as sorted runs (ledger/doc_index.h), through the
// Store: lookups against a plain reference while runs are written, merged
// and deleted across many commits; the state record; reading format 1.
#include <lmdb.h>
#include <unistd.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crypto/sha256.h"
#include "ledger/doc_index.h"
#include "ledger/lmdb_env.h"
#include "ledger/store.h"
#include "tests/common/process.h"

namespace quipu::ledger {
namespace {

using Reference = std::map<crypto::Digest, std::vector<uint64_t>>;

using testing::TempDir;

crypto::Digest Doc(uint64_t n) { return crypto::Sha256("document " + std::to_string(n)); }

// The counts in the state record (docs/ledger.md): live runs, merges in
// progress, runs waiting for deletion.
struct StateCounts {
  uint64_t live = 0, merges = 0, dead = 0;
};
StateCounts ReadState(const Store& store) {
  StateCounts out;
  auto view = store.Read();
  EXPECT_TRUE(view.ok());
  auto blob = view->GetMeta(doc_index::kStateKey);
  if (!blob.ok()) return out;
  auto u64 = [&](size_t at) { return lmdb::LoadU64BE(blob->data() + at); };
  size_t at = 8;
  out.live = u64(at);
  at += 8 + 16 * out.live;
  out.merges = u64(at);
  at += 8;
  for (uint64_t i = 0; i < out.merges; ++i) {
    at += 16 + doc_index::kRecordSize;
    at += 8 + 8 * u64(at);
  }
  out.dead = u64(at);
  return out;
}

void ExpectMatches(const Store& store, const Reference& ref, const std::vector<crypto::Digest>& probe) {
  auto view = store.Read();
  ASSERT_TRUE(view.ok());
  for (const crypto::Digest& d : probe) {
    auto got = view->DocIndices(d);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    auto want = ref.find(d);
    EXPECT_EQ(*got, want == ref.end() ? std::vector<uint64_t>{} : want->second);
  }
}

// Every record the audit walk yields, and nothing else.
void ExpectWalkMatches(const Store& store, const Reference& ref) {
  auto view = store.Read();
  ASSERT_TRUE(view.ok());
  Reference walked;
  Status s = view->ForEachDocIndex([&](const crypto::Digest& d, uint64_t index) {
    walked[d].push_back(index);
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (auto& [d, indices] : walked) std::sort(indices.begin(), indices.end());
  EXPECT_TRUE(walked == ref);
}

// Commits of random sizes (1 to 700 records, so runs of several size
// classes), with a few documents recorded over and over (their records span
// chunks and runs) and many recorded once. After each commit every hot
// document, some others and an absent one must read back exactly.
TEST(DocIndex, LookupsMatchAReferenceWhileRunsMerge) {
  TempDir tmp;
  auto opened = Store::Open(tmp.File("d"), {});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Store& store = **opened;
  std::mt19937_64 rng(7);
  Reference ref;
  uint64_t index = 0, most_live = 0, merges_seen = 0;
  std::vector<crypto::Digest> probe;
  for (uint64_t hot = 0; hot < 5; ++hot) probe.push_back(Doc(hot));
  probe.push_back(crypto::Sha256("never indexed"));
  for (int commit = 0; commit < 300; ++commit) {
    const size_t n = 1 + rng() % (commit % 10 == 0 ? 700 : 60);
    std::vector<WriteBatch::DocRecord> records;
    for (size_t i = 0; i < n; ++i, ++index) {
      const uint64_t doc = rng() % 4 == 0 ? rng() % 5 : 1000 + index;
      records.push_back({Doc(doc), index});
      ref[Doc(doc)].push_back(index);
      if (doc >= 1000 && rng() % 50 == 0) probe.push_back(Doc(doc));
    }
    std::shuffle(records.begin(), records.end(), rng);
    Status s = store.Write([&](WriteBatch& b) { return b.IndexDocuments(records); });
    ASSERT_TRUE(s.ok()) << s.ToString();
    ExpectMatches(store, ref, probe);
    if (::testing::Test::HasFailure()) FAIL() << "after commit " << commit;
    StateCounts c = ReadState(store);
    most_live = std::max(most_live, c.live);
    merges_seen += c.merges + c.dead;
  }
  ExpectWalkMatches(store, ref);
  // Merges ran, and the runs a lookup searches stayed few: at most
  // kFanIn - 1 idle runs per size class, plus the inputs of merges under way.
  EXPECT_GT(merges_seen, 0u);
  EXPECT_LE(most_live, 40u);

  // Commits without documents finish the merges and delete what they
  // replaced; then each live run is exactly its full chunks and one partial.
  for (int i = 0; i < 200 && (ReadState(store).merges > 0 || ReadState(store).dead > 0); ++i) {
    ASSERT_TRUE(store.Write([](WriteBatch& b) { return b.IndexDocuments({}); }).ok());
  }
  StateCounts settled = ReadState(store);
  EXPECT_EQ(settled.merges, 0u);
  EXPECT_EQ(settled.dead, 0u);
  ExpectMatches(store, ref, probe);
  ExpectWalkMatches(store, ref);
  opened->reset();

  // No chunk of a deleted run is left behind: the table holds about
  // records / 102 chunks, not a multiple of it.
  auto env = lmdb::Env::Open(tmp.File("d") + "/ledger.mdb", {});
  ASSERT_TRUE(env.ok());
  auto txn = lmdb::ReadTxn::Begin(**env);
  ASSERT_TRUE(txn.ok());
  auto runs = lmdb::OpenDb(*txn, "docruns", 0, false);
  ASSERT_TRUE(runs.ok());
  MDB_stat st;
  ASSERT_EQ(mdb_stat(txn->get(), *runs, &st), 0);
  EXPECT_LE(st.ms_entries, index / doc_index::kChunkRecords + settled.live);
  EXPECT_GE(st.ms_entries, index / doc_index::kChunkRecords);
}

// Filters are built only from committed snapshots: a lookup inside a write
// that then aborts must not leave a filter for a run number the next commit
// reuses with other records.
TEST(DocIndex, ALookupInsideAnAbortedWriteLeavesNoStaleFilter) {
  TempDir tmp;
  auto store = Store::Open(tmp.File("d"), {});
  ASSERT_TRUE(store.ok());
  Status aborted = (*store)->Write([](WriteBatch& b) -> Status {
    const WriteBatch::DocRecord first[] = {{Doc(1), 0}};
    QUIPU_RETURN_IF_ERROR(b.IndexDocuments(first));
    auto seen = b.DocIndices(Doc(1));
    if (!seen.ok() || *seen != std::vector<uint64_t>{0}) return Internal("the write does not see its run");
    return Internal("abort on purpose");
  });
  EXPECT_EQ(aborted.message(), "abort on purpose");
  const WriteBatch::DocRecord other[] = {{Doc(2), 0}};
  ASSERT_TRUE((*store)->Write([&](WriteBatch& b) { return b.IndexDocuments(other); }).ok());
  auto view = (*store)->Read();
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(*view->DocIndices(Doc(2)), (std::vector<uint64_t>{0}));
  EXPECT_TRUE(view->DocIndices(Doc(1))->empty());
}

// A directory of format 1 kept its index in the `docs` table: it is still
// read (read-only, before any upgrade), and a writer upgrades the directory
// to the current format and adds runs beside it.
TEST(DocIndex, ReadsAndUpgradesAFormatOneDirectory) {
  TempDir tmp;
  const std::string dir = tmp.File("d");
  { ASSERT_TRUE(Store::Open(dir, {}).ok()); }
  {  // Rewind to what format 1 left: records in `docs`, no `docruns`.
    auto env = lmdb::Env::Open(dir + "/ledger.mdb", {});
    ASSERT_TRUE(env.ok());
    auto txn = lmdb::WriteTxn::Begin(**env);
    ASSERT_TRUE(txn.ok());
    auto docs = lmdb::OpenDb(*txn, "docs", MDB_DUPSORT | MDB_DUPFIXED, false);
    auto runs = lmdb::OpenDb(*txn, "docruns", 0, false);
    auto meta = lmdb::OpenDb(*txn, "meta", 0, false);
    ASSERT_TRUE(docs.ok() && runs.ok() && meta.ok());
    ASSERT_EQ(mdb_drop(txn->get(), *runs, 1), 0);
    for (uint64_t i : {3u, 9u}) {
      lmdb::U64Key v(i);
      const crypto::Digest d = Doc(1);
      MDB_val k = lmdb::ToVal(std::span<const uint8_t>(d)), val = v.val();
      ASSERT_EQ(mdb_put(txn->get(), *docs, &k, &val, 0), 0);
    }
    lmdb::U64Key one(1);
    MDB_val k = lmdb::ToVal(std::string_view("format_version")), v = one.val();
    ASSERT_EQ(mdb_put(txn->get(), *meta, &k, &v, 0), 0);
    ASSERT_TRUE(txn->Commit().ok());
  }
  {
    StoreOptions ro;
    ro.read_only = true;
    auto store = Store::Open(dir, ro);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto view = (*store)->Read();
    ASSERT_TRUE(view.ok());
    EXPECT_EQ(*view->DocIndices(Doc(1)), (std::vector<uint64_t>{3, 9}));
    EXPECT_EQ(*view->GetMetaU64("format_version"), 1u);
  }
  auto store = Store::Open(dir, {});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const WriteBatch::DocRecord more[] = {{Doc(1), 12}, {Doc(2), 10}, {Doc(1), 11}};
  ASSERT_TRUE((*store)->Write([&](WriteBatch& b) { return b.IndexDocuments(more); }).ok());
  auto view = (*store)->Read();
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(*view->GetMetaU64("format_version"), kStoreFormatVersion);
  EXPECT_EQ(*view->DocIndices(Doc(1)), (std::vector<uint64_t>{3, 9, 11, 12}));
  EXPECT_EQ(*view->DocIndices(Doc(2)), (std::vector<uint64_t>{10}));
  size_t walked = 0;
  ASSERT_TRUE(view->ForEachDocIndex([&](const crypto::Digest&, uint64_t) {
    ++walked;
    return Status::Ok();
  }).ok());
  EXPECT_EQ(walked, 5u);
}

// ---- Damage the walk reports ------------------------------------------------

// Rewrites the state record or the first chunk with LMDB directly.
void Damage(const std::string& dir, const std::function<void(MDB_txn*, MDB_dbi meta, MDB_dbi runs)>& fn) {
  auto env = lmdb::Env::Open(dir + "/ledger.mdb", {});
  ASSERT_TRUE(env.ok());
  auto txn = lmdb::WriteTxn::Begin(**env);
  ASSERT_TRUE(txn.ok());
  auto meta = lmdb::OpenDb(*txn, "meta", 0, false);
  auto runs = lmdb::OpenDb(*txn, "docruns", 0, false);
  ASSERT_TRUE(meta.ok() && runs.ok());
  fn(txn->get(), *meta, *runs);
  ASSERT_TRUE(txn->Commit().ok());
}

Status Walk(const std::string& dir) {
  StoreOptions ro;
  ro.read_only = true;
  auto store = Store::Open(dir, ro);
  if (!store.ok()) return store.status();
  auto view = (*store)->Read();
  if (!view.ok()) return view.status();
  return view->ForEachDocIndex([](const crypto::Digest&, uint64_t) { return Status::Ok(); });
}

// The walk an audit makes reports damage naming `says`.
void ExpectWalkFails(const std::string& dir, std::string_view says) {
  Status s = Walk(dir);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_THAT(s.message(), ::testing::HasSubstr(std::string(says)));
}

std::string IndexedDirectory(const TempDir& tmp) {
  const std::string dir = tmp.File("d");
  auto store = Store::Open(dir, {});
  EXPECT_TRUE(store.ok());
  std::vector<WriteBatch::DocRecord> records;
  for (uint64_t i = 0; i < 300; ++i) records.push_back({Doc(i % 40), i});
  EXPECT_TRUE((*store)->Write([&](WriteBatch& b) { return b.IndexDocuments(records); }).ok());
  return dir;
}

TEST(DocIndexDamage, RecordsOutOfOrderInAChunk) {
  TempDir tmp;
  const std::string dir = IndexedDirectory(tmp);
  ASSERT_TRUE(Walk(dir).ok());
  Damage(dir, [](MDB_txn* txn, MDB_dbi, MDB_dbi runs) {
    MDB_cursor* c;
    ASSERT_EQ(mdb_cursor_open(txn, runs, &c), 0);
    MDB_val k, v;
    ASSERT_EQ(mdb_cursor_get(c, &k, &v, MDB_FIRST), 0);
    std::string key(static_cast<char*>(k.mv_data), k.mv_size);
    std::string value(static_cast<char*>(v.mv_data), v.mv_size);
    std::swap_ranges(value.begin(), value.begin() + 40, value.begin() + 40);  // first two records
    mdb_cursor_close(c);
    MDB_val nk{key.size(), key.data()}, nv{value.size(), value.data()};
    ASSERT_EQ(mdb_put(txn, runs, &nk, &nv, 0), 0);
  });
  ExpectWalkFails(dir, "out of order");
}

TEST(DocIndexDamage, AChunkOfNoListedRun) {
  TempDir tmp;
  const std::string dir = IndexedDirectory(tmp);
  Damage(dir, [](MDB_txn* txn, MDB_dbi, MDB_dbi runs) {
    std::string key(48, '\x7f'), value(40, '\x7f');
    MDB_val k{key.size(), key.data()}, v{value.size(), value.data()};
    ASSERT_EQ(mdb_put(txn, runs, &k, &v, 0), 0);
  });
  ExpectWalkFails(dir, "state lists no such run");
}

TEST(DocIndexDamage, AMissingChunk) {
  TempDir tmp;
  const std::string dir = IndexedDirectory(tmp);
  Damage(dir, [](MDB_txn* txn, MDB_dbi, MDB_dbi runs) {
    MDB_cursor* c;
    ASSERT_EQ(mdb_cursor_open(txn, runs, &c), 0);
    MDB_val k, v;
    ASSERT_EQ(mdb_cursor_get(c, &k, &v, MDB_LAST), 0);
    ASSERT_EQ(mdb_cursor_del(c, 0), 0);
    mdb_cursor_close(c);
  });
  ExpectWalkFails(dir, "the state says 300");
}

TEST(DocIndexDamage, ATruncatedStateRecord) {
  TempDir tmp;
  const std::string dir = IndexedDirectory(tmp);
  Damage(dir, [](MDB_txn* txn, MDB_dbi meta, MDB_dbi) {
    MDB_val k = lmdb::ToVal(doc_index::kStateKey), v;
    ASSERT_EQ(mdb_get(txn, meta, &k, &v), 0);
    std::string value(static_cast<char*>(v.mv_data), v.mv_size - 3);
    MDB_val nv{value.size(), value.data()};
    ASSERT_EQ(mdb_put(txn, meta, &k, &nv, 0), 0);
  });
  ExpectWalkFails(dir, "docs_runs");
}

// State records written by hand from the grammar in docs/ledger.md: the
// directory's one run is number 0 with 300 records. The grammar read as
// documented gives the same lookups; records breaking its rules are damage.
std::string U64(uint64_t v) {
  std::string out(8, '\0');
  lmdb::StoreU64BE(v, reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

void PutState(const std::string& dir, const std::string& state) {
  Damage(dir, [&](MDB_txn* txn, MDB_dbi meta, MDB_dbi) {
    MDB_val k = lmdb::ToVal(doc_index::kStateKey), v{state.size(), const_cast<char*>(state.data())};
    ASSERT_EQ(mdb_put(txn, meta, &k, &v, 0), 0);
  });
}

TEST(DocIndexDamage, StateRecordsFromTheDocumentedGrammar) {
  TempDir tmp;
  const std::string dir = IndexedDirectory(tmp);
  const std::string run0 = U64(0) + U64(300), none = U64(0);
  // As written: next_run 1, one live run, no merge, none dead.
  PutState(dir, U64(1) + U64(1) + run0 + none + none);
  EXPECT_TRUE(Walk(dir).ok());
  {
    StoreOptions ro;
    ro.read_only = true;
    auto store = Store::Open(dir, ro);
    ASSERT_TRUE(store.ok());
    EXPECT_EQ(*(*store)->Read()->DocIndices(Doc(7)), (std::vector<uint64_t>{7, 47, 87, 127, 167, 207, 247, 287}));
  }
  PutState(dir, U64(1) + U64(2) + run0 + run0 + none + none);
  ExpectWalkFails(dir, "listed twice");
  PutState(dir, U64(0) + U64(1) + run0 + none + none);
  ExpectWalkFails(dir, "not below next_id");
  const std::string merge = U64(2) + U64(0) + std::string(40, '\0') + U64(2) + U64(0) + U64(1);
  PutState(dir, U64(3) + U64(1) + run0 + U64(1) + merge + none);
  ExpectWalkFails(dir, "not a live run");
  PutState(dir, U64(1) + U64(1) + U64(0) + U64(299) + none + none);
  ExpectWalkFails(dir, "the state says 299");
  PutState(dir, U64(1) + U64(1) + run0 + none + none + "x");
  ExpectWalkFails(dir, "trailing bytes");
  PutState(dir, U64(1) + U64(0) + none + none);
  ExpectWalkFails(dir, "state lists no such run");
}

}  // namespace
}  // namespace quipu::ledger
