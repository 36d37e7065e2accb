#include "ledger/store.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crypto/encoding.h"
#include "crypto/sha256.h"
#include "ledger/lmdb_env.h"

namespace quipu::ledger {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/quipu_store_test_XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

// Deterministic entry content, so a reader can check what it finds.
std::string EntryText(uint64_t index, size_t size) {
  std::string s = "entry-" + std::to_string(index) + "-";
  while (s.size() < size) s += static_cast<char>('a' + (index + s.size()) % 26);
  s.resize(size);
  return s;
}

// The private tables of these tests (a caller names its own).
constexpr PrivateTable kSalts{"salts"};
constexpr PrivateTable kAccounts{"accounts"};
constexpr PrivateTable kRequests{"requests"};
constexpr PrivateTable kQueue{"queue"};

// Opens `dir` with the tables above unless `options` names others.
std::unique_ptr<Store> OpenOrDie(const std::string& dir, StoreOptions options = {}) {
  if (options.private_tables.empty()) options.private_tables = {kSalts, kAccounts, kRequests, kQueue};
  auto store = Store::Open(dir, options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

Status AppendEntries(Store& store, uint64_t first, uint64_t count, size_t size) {
  return store.Write([&](WriteBatch& batch) -> Status {
    for (uint64_t i = first; i < first + count; ++i) {
      std::string text = EntryText(i, size);
      QUIPU_RETURN_IF_ERROR(batch.PutEntry(i, crypto::AsBytes(text)));
    }
    return Status::Ok();
  });
}

uint64_t CountEntries(const Store& store) {
  auto view = store.Read();
  EXPECT_TRUE(view.ok()) << view.status().ToString();
  auto n = view->EntryCount();
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return n.ok() ? *n : ~uint64_t{0};
}

// Runs `child` in a forked process and returns its exit status (the child
// must not return into GoogleTest).
int RunInChild(const std::function<int()>& child) {
  pid_t pid = fork();
  if (pid == 0) _exit(child());
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

// ---- Creation and every table ---------------------------------------------

TEST(StoreTest, CreatesDirectoryAndReopens) {
  TempDir tmp;
  std::string dir = tmp.Sub("data");
  {
    auto store = OpenOrDie(dir);
    ASSERT_NE(store, nullptr);
    struct stat st;
    ASSERT_EQ(stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_TRUE(fs::exists(dir + "/ledger.mdb"));
    EXPECT_TRUE(fs::exists(dir + "/quipu.lock"));
    std::ifstream lock(dir + "/quipu.lock");
    long pid = 0;
    lock >> pid;
    EXPECT_EQ(pid, getpid());
    EXPECT_EQ(CountEntries(*store), 0u);
    ASSERT_TRUE(AppendEntries(*store, 0, 3, 100).ok());
  }
  auto store = OpenOrDie(dir);
  ASSERT_NE(store, nullptr);
  auto view = store->Read();
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(*view->EntryCount(), 3u);
  EXPECT_EQ(crypto::AsString(*view->GetEntry(2)), EntryText(2, 100));
  auto version = view->GetMetaU64("format_version");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, kStoreFormatVersion);
}

TEST(StoreTest, PutsAndGetsEveryTable) {
  TempDir tmp;
  auto store = OpenOrDie(tmp.Sub("d"));
  ASSERT_NE(store, nullptr);
  crypto::Digest doc_a = crypto::Sha256("document a");
  crypto::Digest doc_b = crypto::Sha256("document b");
  std::vector<uint8_t> tile(5 * 32), full_tile(256 * 32);
  for (size_t i = 0; i < tile.size(); ++i) tile[i] = static_cast<uint8_t>(i);
  for (size_t i = 0; i < full_tile.size(); ++i) full_tile[i] = static_cast<uint8_t>(i * 7);

  ASSERT_TRUE(store->Write([&](WriteBatch& b) -> Status {
    QUIPU_RETURN_IF_ERROR(b.PutEntry(0, crypto::AsBytes("zero")));
    QUIPU_RETURN_IF_ERROR(b.PutEntry(1, crypto::AsBytes("one")));
    QUIPU_RETURN_IF_ERROR(b.PutTile(0, 0, tile));
    QUIPU_RETURN_IF_ERROR(b.PutTile(0, 0, full_tile));  // a partial tile grows
    QUIPU_RETURN_IF_ERROR(b.PutTile(1, 0, tile));
    QUIPU_RETURN_IF_ERROR(b.PutTile(0, 1, tile));
    // Indices given out of order come back sorted.
    const WriteBatch::DocRecord docs[] = {{doc_a, 300}, {doc_a, 1}, {doc_b, 0}, {doc_a, 1ull << 40}};
    QUIPU_RETURN_IF_ERROR(b.IndexDocuments(docs));
    QUIPU_RETURN_IF_ERROR(b.PutCheckpoint(1, "origin\n1\nroot1\n"));
    QUIPU_RETURN_IF_ERROR(b.PutCheckpoint(2, "origin\n2\nroot2\n"));
    QUIPU_RETURN_IF_ERROR(b.PutBlock(0, crypto::AsBytes("block0")));
    QUIPU_RETURN_IF_ERROR(b.PutBlock(1, crypto::AsBytes("block1")));
    QUIPU_RETURN_IF_ERROR(b.PutMeta("origin", crypto::AsBytes("example.org/log")));
    QUIPU_RETURN_IF_ERROR(b.PutMetaU64("tree_size", 2));
    QUIPU_RETURN_IF_ERROR(b.Put(kSalts, crypto::AsBytes("s1"), crypto::AsBytes("salt1")));
    QUIPU_RETURN_IF_ERROR(b.Put(kAccounts, crypto::AsBytes("c1"), crypto::AsBytes("account")));
    QUIPU_RETURN_IF_ERROR(b.Put(kRequests, crypto::AsBytes("a1"), crypto::AsBytes("request")));
    for (const char* k : {"o3", "o1", "o2"}) {
      QUIPU_RETURN_IF_ERROR(b.Put(kQueue, crypto::AsBytes(k), crypto::AsBytes(k)));
    }
    // The batch reads its own writes.
    QUIPU_ASSIGN_OR_RETURN(ByteView e1, b.GetEntry(1));
    if (crypto::AsString(e1) != "one") return Internal("batch does not see its write");
    return b.Delete(kQueue, crypto::AsBytes("o2"));
  }).ok());

  auto view = store->Read();
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(crypto::AsString(*view->GetEntry(0)), "zero");
  EXPECT_EQ(*view->EntryCount(), 2u);
  auto t00 = view->GetTile(0, 0);
  ASSERT_TRUE(t00.ok());
  EXPECT_TRUE(std::equal(t00->begin(), t00->end(), full_tile.begin(), full_tile.end()));
  EXPECT_EQ(view->GetTile(1, 0)->size(), tile.size());
  EXPECT_EQ(view->GetTile(0, 1)->size(), tile.size());
  EXPECT_EQ(view->GetTile(1, 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*view->DocIndices(doc_a), (std::vector<uint64_t>{1, 300, 1ull << 40}));
  EXPECT_EQ(*view->DocIndices(doc_b), (std::vector<uint64_t>{0}));
  EXPECT_TRUE(view->DocIndices(crypto::Sha256("unknown"))->empty());
  EXPECT_EQ(*view->GetCheckpoint(1), "origin\n1\nroot1\n");
  auto latest = view->LatestCheckpoint();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->tree_size, 2u);
  EXPECT_EQ(latest->note, "origin\n2\nroot2\n");
  EXPECT_EQ(crypto::AsString(*view->GetBlock(0)), "block0");
  auto block = view->LatestBlock();
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(block->height, 1u);
  EXPECT_EQ(crypto::AsString(block->header), "block1");
  EXPECT_EQ(crypto::AsString(*view->GetMeta("origin")), "example.org/log");
  EXPECT_EQ(*view->GetMetaU64("tree_size"), 2u);
  EXPECT_EQ(crypto::AsString(*view->Get(kSalts, crypto::AsBytes("s1"))), "salt1");
  EXPECT_EQ(crypto::AsString(*view->Get(kAccounts, crypto::AsBytes("c1"))), "account");
  EXPECT_EQ(crypto::AsString(*view->Get(kRequests, crypto::AsBytes("a1"))), "request");
  // Tables are separate: the salts key is not in accounts.
  EXPECT_EQ(view->Get(kAccounts, crypto::AsBytes("s1")).status().code(),
            StatusCode::kNotFound);
  std::vector<std::string> queue;
  ASSERT_TRUE(view->ForEach(kQueue, {}, [&](ByteView k, ByteView) {
    queue.emplace_back(crypto::AsString(k));
    return Status::Ok();
  }).ok());
  EXPECT_EQ(queue, (std::vector<std::string>{"o1", "o3"}));
}

TEST(StoreTest, EntriesAppendInOrderAndIterate) {
  TempDir tmp;
  auto store = OpenOrDie(tmp.Sub("d"));
  ASSERT_NE(store, nullptr);
  // Indices past 255 and 65535 check the big-endian key order.
  for (uint64_t first = 0; first < 70000; first += 10000) {
    ASSERT_TRUE(AppendEntries(*store, first, 10000, 20).ok());
  }
  auto view = store->Read();
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(*view->EntryCount(), 70000u);
  uint64_t expected = 250;
  ASSERT_TRUE(view->ForEachEntry(250, 66000, [&](uint64_t index, ByteView bytes) -> Status {
    if (index != expected) return Internal("out of order at " + std::to_string(index));
    if (crypto::AsString(bytes) != EntryText(index, 20)) return Internal("wrong bytes");
    ++expected;
    return Status::Ok();
  }).ok());
  EXPECT_EQ(expected, 66000u);
  // The callback's error stops the iteration and comes back.
  int calls = 0;
  Status stop = view->ForEachEntry(0, 100, [&](uint64_t, ByteView) {
    return ++calls == 3 ? NotFound("stop") : Status::Ok();
  });
  EXPECT_EQ(stop.code(), StatusCode::kNotFound);
  EXPECT_EQ(calls, 3);
}

// ---- Private tables -------------------------------------------------------

// The LMDB database `name` of the data directory `dir`, read without the
// store (the store must be closed): its keys, or nullopt if it does not exist.
std::optional<std::vector<std::string>> RawTableKeys(const std::string& dir, const char* name) {
  lmdb::EnvOptions eo;
  eo.read_only = true;
  auto env = lmdb::Env::Open(dir + "/ledger.mdb", eo);
  EXPECT_TRUE(env.ok()) << env.status().ToString();
  auto txn = lmdb::ReadTxn::Begin(**env);
  EXPECT_TRUE(txn.ok());
  auto dbi = lmdb::OpenDb(*txn, name, 0, /*create=*/false);
  if (!dbi.ok()) return std::nullopt;
  auto cursor = lmdb::Cursor::Open(*txn, *dbi);
  EXPECT_TRUE(cursor.ok());
  std::vector<std::string> keys;
  MDB_val k, v;
  for (int rc = cursor->Get(&k, &v, MDB_FIRST); rc == 0; rc = cursor->Get(&k, &v, MDB_NEXT)) {
    keys.emplace_back(crypto::AsString(lmdb::FromVal(k)));
  }
  return keys;
}

TEST(StoreTest, PrivateTablesAreTheCallersLmdbDatabases) {
  TempDir tmp;
  const std::string dir = tmp.Sub("d");
  {
    auto store = OpenOrDie(dir);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Write([](WriteBatch& b) {
      return b.Put(kQueue, crypto::AsBytes("q1"), crypto::AsBytes("v"));
    }).ok());
  }
  // The handle's name is the database's name: what an earlier version wrote
  // under that name is what the table holds.
  EXPECT_EQ(RawTableKeys(dir, "queue"), (std::vector<std::string>{"q1"}));
  EXPECT_EQ(RawTableKeys(dir, "salts"), (std::vector<std::string>{}));
}

TEST(StoreTest, ATableNewerThanTheDirectory) {
  TempDir tmp;
  const std::string dir = tmp.Sub("d");
  constexpr PrivateTable kLater{"later"};
  StoreOptions before;
  before.private_tables = {kRequests};
  {
    auto store = OpenOrDie(dir, before);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Write([](WriteBatch& b) {
      return b.Put(kRequests, crypto::AsBytes("r1"), crypto::AsBytes("old"));
    }).ok());
  }
  StoreOptions ro;
  ro.read_only = true;
  ro.private_tables = {kRequests, kLater};
  {
    // A reader of the older directory reads the missing table as empty...
    auto store = OpenOrDie(dir, ro);
    ASSERT_NE(store, nullptr);
    auto view = store->Read();
    ASSERT_TRUE(view.ok());
    EXPECT_EQ(crypto::AsString(*view->Get(kRequests, crypto::AsBytes("r1"))), "old");
    auto missing = view->Get(kLater, crypto::AsBytes("r1"));
    EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
    EXPECT_THAT(missing.status().message(), HasSubstr("later"));
    int visited = 0;
    EXPECT_TRUE(view->ForEach(kLater, {}, [&](ByteView, ByteView) {
      ++visited;
      return Status::Ok();
    }).ok());
    EXPECT_EQ(visited, 0);
    EXPECT_TRUE(view->CheckTable(kLater).ok());
  }
  EXPECT_FALSE(RawTableKeys(dir, "later").has_value());  // ...and creates nothing
  {
    // A writer creates it, and the older table keeps its records.
    StoreOptions now;
    now.private_tables = {kRequests, kLater};
    auto store = OpenOrDie(dir, now);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Write([&](WriteBatch& b) {
      return b.Put(kLater, crypto::AsBytes("l1"), crypto::AsBytes("new"));
    }).ok());
    auto view = store->Read();
    ASSERT_TRUE(view.ok());
    EXPECT_EQ(crypto::AsString(*view->Get(kRequests, crypto::AsBytes("r1"))), "old");
    EXPECT_EQ(crypto::AsString(*view->Get(kLater, crypto::AsBytes("l1"))), "new");
  }
  {
    // A writer that lists fewer tables leaves the others alone.
    auto store = OpenOrDie(dir, before);
    ASSERT_NE(store, nullptr);
  }
  EXPECT_EQ(RawTableKeys(dir, "later"), (std::vector<std::string>{"l1"}));
}

// ---- Map growth -----------------------------------------------------------

TEST(StoreTest, GrowsFromTinyMapAndKeepsEverything) {
  TempDir tmp;
  std::string dir = tmp.Sub("d");
  StoreOptions options;
  options.initial_map_size = 64 * 1024;
  constexpr uint64_t kEntries = 3000;
  constexpr size_t kSize = 16 * 1024;
  {
    auto store = OpenOrDie(dir, options);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->MapSize(), 64u * 1024);
    // Readers on other threads while the writer grows the map.
    std::atomic<bool> stop{false};
    std::atomic<int> bad{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 2; ++t) {
      readers.emplace_back([&] {
        while (!stop.load()) {
          auto view = store->Read();
          if (!view.ok()) { ++bad; continue; }
          auto n = view->EntryCount();
          if (!n.ok()) { ++bad; continue; }
          if (*n > 0) {
            auto e = view->GetEntry(*n - 1);
            if (!e.ok() || crypto::AsString(*e) != EntryText(*n - 1, kSize)) ++bad;
          }
        }
      });
    }
    for (uint64_t first = 0; first < kEntries; first += 100) {
      Status s = AppendEntries(*store, first, 100, kSize);
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    stop = true;
    for (auto& t : readers) t.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_GE(store->MapSize(), kEntries * kSize);
    EXPECT_EQ(CountEntries(*store), kEntries);
  }
  auto store = OpenOrDie(dir, options);  // the tiny option: the file's size wins
  ASSERT_NE(store, nullptr);
  EXPECT_GE(store->MapSize(), kEntries * kSize);
  auto view = store->Read();
  ASSERT_TRUE(view.ok());
  uint64_t seen = 0;
  ASSERT_TRUE(view->ForEachEntry(0, kEntries, [&](uint64_t i, ByteView b) -> Status {
    if (i != seen++ || crypto::AsString(b) != EntryText(i, kSize)) return Internal("bad entry");
    return Status::Ok();
  }).ok());
  EXPECT_EQ(seen, kEntries);
}

TEST(StoreTest, GrowthStopsAtMaxMapSize) {
  TempDir tmp;
  StoreOptions options;
  options.initial_map_size = 64 * 1024;
  options.max_map_size = 256 * 1024;
  auto store = OpenOrDie(tmp.Sub("d"), options);
  ASSERT_NE(store, nullptr);
  Status s = AppendEntries(*store, 0, 100, 16 * 1024);  // 1.6 MB > 256 KiB
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("max_map_size"));
  EXPECT_EQ(CountEntries(*store), 0u);
  EXPECT_TRUE(AppendEntries(*store, 0, 2, 100).ok());  // small writes still work
}

TEST(StoreTest, GrowthWaitingForOwnReadViewFailsInsteadOfDeadlocking) {
  TempDir tmp;
  StoreOptions options;
  options.initial_map_size = 64 * 1024;
  options.grow_wait = std::chrono::milliseconds(100);
  auto store = OpenOrDie(tmp.Sub("d"), options);
  ASSERT_NE(store, nullptr);
  auto view = store->Read();
  ASSERT_TRUE(view.ok());
  Status s = AppendEntries(*store, 0, 20, 16 * 1024);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("ReadViews"));
  { ReadView done = std::move(*view); }  // ends the snapshot
  EXPECT_TRUE(AppendEntries(*store, 0, 20, 16 * 1024).ok());
}

// ---- Atomicity ------------------------------------------------------------

TEST(StoreTest, FailedWriteFunctionLeavesNothing) {
  TempDir tmp;
  auto store = OpenOrDie(tmp.Sub("d"));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AppendEntries(*store, 0, 5, 50).ok());
  Status s = store->Write([&](WriteBatch& b) -> Status {
    QUIPU_RETURN_IF_ERROR(b.PutEntry(5, crypto::AsBytes("five")));
    QUIPU_RETURN_IF_ERROR(b.PutCheckpoint(6, "note"));
    QUIPU_RETURN_IF_ERROR(b.Put(kQueue, crypto::AsBytes("k"), crypto::AsBytes("v")));
    return InvalidArgument("the sequencer changed its mind");
  });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  // A failing put also aborts everything before it.
  s = store->Write([&](WriteBatch& b) -> Status {
    QUIPU_RETURN_IF_ERROR(b.PutEntry(5, crypto::AsBytes("five")));
    return b.PutEntry(3, crypto::AsBytes("rewrite history"));
  });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("append-only"));
  auto view = store->Read();
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(*view->EntryCount(), 5u);
  EXPECT_EQ(crypto::AsString(*view->GetEntry(3)), EntryText(3, 50));
  EXPECT_EQ(view->GetCheckpoint(6).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(view->Get(kQueue, crypto::AsBytes("k")).status().code(),
            StatusCode::kNotFound);
}

// ---- Format version -------------------------------------------------------

TEST(StoreTest, RefusesNewerFormatVersion) {
  TempDir tmp;
  std::string dir = tmp.Sub("d");
  { ASSERT_NE(OpenOrDie(dir), nullptr); }
  {  // What a future quipu would leave behind.
    auto env = lmdb::Env::Open(dir + "/ledger.mdb", {});
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    auto txn = lmdb::WriteTxn::Begin(**env);
    ASSERT_TRUE(txn.ok());
    auto meta = lmdb::OpenDb(*txn, "meta", 0, false);
    ASSERT_TRUE(meta.ok());
    lmdb::U64Key seven(7);
    MDB_val k = lmdb::ToVal(std::string_view("format_version")), v = seven.val();
    ASSERT_EQ(mdb_put(txn->get(), *meta, &k, &v, 0), 0);
    ASSERT_TRUE(txn->Commit().ok());
  }
  for (bool read_only : {false, true}) {
    StoreOptions options;
    options.read_only = read_only;
    auto store = Store::Open(dir, options);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
    EXPECT_THAT(store.status().message(),
                HasSubstr("format version 7 is newer than this quipu (3); upgrade quipu"));
  }
}

// A format-2 directory (private tables fixed by the version) is read as it
// is and upgraded by the first writer, so that a format-2 quipu refuses it
// from then on.
TEST(StoreTest, UpgradesAFormatTwoDirectoryWhenWriting) {
  TempDir tmp;
  std::string dir = tmp.Sub("d");
  { ASSERT_NE(OpenOrDie(dir), nullptr); }
  {
    auto env = lmdb::Env::Open(dir + "/ledger.mdb", {});
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    auto txn = lmdb::WriteTxn::Begin(**env);
    ASSERT_TRUE(txn.ok());
    auto meta = lmdb::OpenDb(*txn, "meta", 0, false);
    ASSERT_TRUE(meta.ok());
    lmdb::U64Key two(2);
    MDB_val k = lmdb::ToVal(std::string_view("format_version")), v = two.val();
    ASSERT_EQ(mdb_put(txn->get(), *meta, &k, &v, 0), 0);
    ASSERT_TRUE(txn->Commit().ok());
  }
  auto version = [&](bool read_only) {
    StoreOptions options;
    options.read_only = read_only;
    auto store = OpenOrDie(dir, options);
    auto view = store->Read();
    return *view->GetMetaU64("format_version");
  };
  EXPECT_EQ(version(/*read_only=*/true), 2u);
  EXPECT_EQ(version(/*read_only=*/false), 3u);
  EXPECT_EQ(version(/*read_only=*/true), 3u);
}

// ---- Writer lock and readers ----------------------------------------------

TEST(StoreTest, SecondWriterInThisProcessIsRefused) {
  TempDir tmp;
  std::string dir = tmp.Sub("d");
  auto store = OpenOrDie(dir);
  ASSERT_NE(store, nullptr);
  auto second = Store::Open(dir);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr(dir));
  EXPECT_THAT(second.status().message(), HasSubstr("pid " + std::to_string(getpid())));
  // LMDB forbids a second environment on the file in one process.
  StoreOptions ro;
  ro.read_only = true;
  auto reader = Store::Open(dir, ro);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(reader.status().message(), HasSubstr("already open in this process"));
  // The first store is unharmed; after it closes the directory opens again.
  EXPECT_TRUE(AppendEntries(*store, 0, 1, 10).ok());
  store.reset();
  EXPECT_NE(OpenOrDie(dir), nullptr);
}

TEST(StoreTest, SecondWriterInAnotherProcessIsRefused) {
  TempDir tmp;
  std::string dir = tmp.Sub("d");
  auto store = OpenOrDie(dir);
  ASSERT_NE(store, nullptr);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  int code = RunInChild([&] {
    close(pipefd[0]);
    auto other = Store::Open(dir);
    std::string msg = other.ok() ? "opened" : other.status().ToString();
    (void)!write(pipefd[1], msg.data(), msg.size());
    return other.ok() ? 1 : 0;
  });
  close(pipefd[1]);
  char buf[512] = {0};
  ssize_t n = read(pipefd[0], buf, sizeof buf - 1);
  close(pipefd[0]);
  ASSERT_GT(n, 0);
  EXPECT_EQ(code, 0);
  std::string msg(buf, n);
  EXPECT_THAT(msg, HasSubstr("unavailable"));
  EXPECT_THAT(msg, HasSubstr(dir));
  EXPECT_THAT(msg, HasSubstr("pid " + std::to_string(getpid())));
  // Once the writer is gone, another process may write.
  store.reset();
  code = RunInChild([&] {
    auto other = Store::Open(dir);
    return other.ok() && AppendEntries(**other, 0, 1, 10).ok() ? 0 : 1;
  });
  EXPECT_EQ(code, 0);
}

TEST(StoreTest, ReaderProcessWorksWhileWriterRunsAndGrows) {
  TempDir tmp;
  std::string dir = tmp.Sub("d");
  StoreOptions options;
  options.initial_map_size = 64 * 1024;
  auto store = OpenOrDie(dir, options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AppendEntries(*store, 0, 2, 1000).ok());
  int to_child[2], to_parent[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(to_parent), 0);
  pid_t pid = fork();
  if (pid == 0) {
    StoreOptions ro;
    ro.read_only = true;
    auto reader = Store::Open(dir, ro);
    uint64_t counts[2] = {~0ull, ~0ull};
    if (reader.ok()) {
      counts[0] = CountEntries(**reader);
      if ((*reader)->Write([](WriteBatch&) { return Status::Ok(); }).code() !=
          StatusCode::kInvalidArgument) {
        counts[0] = ~1ull;
      }
    }
    (void)!write(to_parent[1], &counts[0], 8);
    char go;
    (void)!read(to_child[0], &go, 1);
    if (reader.ok()) {
      auto view = (*reader)->Read();  // the writer grew the map meanwhile
      if (view.ok()) {
        auto n = view->EntryCount();
        auto last = n.ok() && *n > 0 ? view->GetEntry(*n - 1) : Result<ByteView>(NotFound(""));
        if (last.ok() && crypto::AsString(*last) == EntryText(*n - 1, 1000)) counts[1] = *n;
      }
    }
    (void)!write(to_parent[1], &counts[1], 8);
    _exit(0);
  }
  uint64_t before = 0, after = 0;
  ASSERT_EQ(read(to_parent[0], &before, 8), 8);
  EXPECT_EQ(before, 2u);
  size_t map_before = store->MapSize();
  ASSERT_TRUE(AppendEntries(*store, 2, 2000, 1000).ok());  // ~2 MB: several doublings
  EXPECT_GT(store->MapSize(), map_before);
  ASSERT_EQ(write(to_child[1], "g", 1), 1);
  ASSERT_EQ(read(to_parent[0], &after, 8), 8);
  EXPECT_EQ(after, 2002u);
  int wstatus;
  waitpid(pid, &wstatus, 0);
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) close(fd);
}

// ---- Crash safety ---------------------------------------------------------

TEST(StoreTest, KillNineLosesNoCommittedBatch) {
  TempDir tmp;
  std::string dir = tmp.Sub("d");
  constexpr uint64_t kPerBatch = 10;
  std::mt19937 rng(12345);
  size_t total_reported = 0;
  for (int iteration = 0; iteration < 10; ++iteration) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      StoreOptions options;
      options.initial_map_size = 256 * 1024;  // growth happens under the kill too
      auto store = Store::Open(dir, options);
      if (!store.ok()) _exit(2);
      uint64_t batch = CountEntries(**store) / kPerBatch;
      for (;; ++batch) {
        Status s = (*store)->Write([&](WriteBatch& b) -> Status {
          for (uint64_t i = batch * kPerBatch; i < (batch + 1) * kPerBatch; ++i) {
            std::string text = EntryText(i, 300);
            QUIPU_RETURN_IF_ERROR(b.PutEntry(i, crypto::AsBytes(text)));
          }
          return b.PutMetaU64("last_batch", batch);
        });
        if (!s.ok()) _exit(3);
        if (write(fds[1], &batch, 8) != 8) _exit(4);
      }
    }
    close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 80));
    kill(pid, SIGKILL);
    int wstatus;
    waitpid(pid, &wstatus, 0);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited early with " << WEXITSTATUS(wstatus);
    std::vector<uint64_t> reported;
    uint64_t b;
    while (read(fds[0], &b, 8) == 8) reported.push_back(b);
    close(fds[0]);
    total_reported += reported.size();

    auto store = OpenOrDie(dir);
    ASSERT_NE(store, nullptr);
    auto view = store->Read();
    ASSERT_TRUE(view.ok());
    uint64_t count = *view->EntryCount();
    EXPECT_EQ(count % kPerBatch, 0u) << "a partial batch is visible";
    for (uint64_t batch : reported) {
      for (uint64_t i = batch * kPerBatch; i < (batch + 1) * kPerBatch; ++i) {
        auto e = view->GetEntry(i);
        ASSERT_TRUE(e.ok()) << "iteration " << iteration << ": committed entry " << i << " lost";
        ASSERT_EQ(crypto::AsString(*e), EntryText(i, 300));
      }
    }
    if (count > 0) {
      EXPECT_EQ(*view->GetMetaU64("last_batch"), count / kPerBatch - 1);
    }
  }
  EXPECT_GT(total_reported, 10u);  // the children did commit before dying
}

// ---- Backup ---------------------------------------------------------------

TEST(StoreTest, BackupIsAnOpenableCopy) {
  TempDir tmp;
  auto store = OpenOrDie(tmp.Sub("d"));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AppendEntries(*store, 0, 500, 300).ok());
  ASSERT_TRUE(store->Write([](WriteBatch& b) { return b.PutCheckpoint(500, "note 500"); }).ok());
  ASSERT_TRUE(store->Backup(tmp.Sub("backup")).ok());
  Status again = store->Backup(tmp.Sub("backup"));
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(AppendEntries(*store, 500, 1, 300).ok());  // not in the backup
  auto copy = OpenOrDie(tmp.Sub("backup"));
  ASSERT_NE(copy, nullptr);
  auto view = copy->Read();
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(*view->EntryCount(), 500u);
  EXPECT_EQ(crypto::AsString(*view->GetEntry(499)), EntryText(499, 300));
  EXPECT_EQ(*view->GetCheckpoint(500), "note 500");
}

// ---- Error paths ----------------------------------------------------------

TEST(StoreErrorTest, DirectoryNotWritable) {
  TempDir tmp;
  std::string dir = tmp.Sub("locked");
  ASSERT_EQ(chmod(tmp.path().c_str(), 0755), 0);
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  // Root ignores permissions: check as an unprivileged user in a child.
  int code = RunInChild([&] {
    if (getuid() == 0 && setuid(65534) != 0) return 10;
    auto store = Store::Open(dir);
    if (store.ok()) return 11;
    if (store.status().code() != StatusCode::kIoError) return 12;
    const std::string& m = store.status().message();
    if (m.find(dir + "/quipu.lock") == std::string::npos) return 13;
    if (m.find("Permission denied") == std::string::npos) return 14;
    auto sub = Store::Open(dir + "/sub");  // cannot even create it
    if (sub.ok() || sub.status().code() != StatusCode::kIoError) return 15;
    return 0;
  });
  EXPECT_EQ(code, 0);
}

TEST(StoreErrorTest, PathThroughARegularFile) {
  TempDir tmp;
  std::string file = tmp.Sub("file");
  std::ofstream(file) << "x";
  auto store = Store::Open(file);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kIoError);
  EXPECT_THAT(store.status().message(), HasSubstr("not a directory"));
  store = Store::Open(file + "/d");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kIoError);
}

TEST(StoreErrorTest, GarbageDataFileIsCorruption) {
  TempDir tmp;
  std::mt19937 rng(7);
  for (size_t size : {size_t{30}, size_t{64 * 1024}}) {
    std::string dir = tmp.Sub("g" + std::to_string(size));
    ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
    std::string garbage(size, '\0');
    for (char& c : garbage) c = static_cast<char>(rng());
    std::ofstream(dir + "/ledger.mdb", std::ios::binary) << garbage;
    for (bool read_only : {false, true}) {
      StoreOptions options;
      options.read_only = read_only;
      auto store = Store::Open(dir, options);
      ASSERT_FALSE(store.ok());
      EXPECT_EQ(store.status().code(), StatusCode::kCorruption) << store.status().ToString();
      EXPECT_THAT(store.status().message(), HasSubstr("not an LMDB file"));
      EXPECT_THAT(store.status().message(), HasSubstr(dir + "/ledger.mdb"));
    }
  }
}

TEST(StoreErrorTest, ReadOnlyOpenNeedsALedger) {
  TempDir tmp;
  StoreOptions ro;
  ro.read_only = true;
  auto missing = Store::Open(tmp.Sub("nothing"), ro);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(tmp.Sub("nothing")));  // a reader creates nothing
  auto empty = Store::Open(tmp.path(), ro);
  EXPECT_EQ(empty.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(empty.status().message(), HasSubstr("no ledger"));
  EXPECT_EQ(Store::Open("", {}).status().code(), StatusCode::kInvalidArgument);
  StoreOptions bad;
  bad.initial_map_size = 1 << 20;
  bad.max_map_size = 1 << 19;
  EXPECT_EQ(Store::Open(tmp.Sub("x"), bad).status().code(), StatusCode::kInvalidArgument);
}

TEST(StoreErrorTest, BadArgumentsAndMissingRecords) {
  TempDir tmp;
  auto store = OpenOrDie(tmp.Sub("d"));
  ASSERT_NE(store, nullptr);
  std::vector<uint8_t> hashes(33), key512(512, 'k');
  auto expect_invalid = [&](const std::function<Status(WriteBatch&)>& fn) {
    Status s = store->Write(fn);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  };
  expect_invalid([&](WriteBatch& b) { return b.PutTile(0, 0, hashes); });
  expect_invalid([&](WriteBatch& b) { return b.PutTile(0, 0, {}); });
  expect_invalid([&](WriteBatch& b) { return b.PutTile(0, 0, std::vector<uint8_t>(257 * 32)); });
  expect_invalid([&](WriteBatch& b) { return b.PutMeta("", Bytes("v")); });
  expect_invalid([&](WriteBatch& b) { return b.PutMeta("format_version", Bytes("v")); });
  expect_invalid([&](WriteBatch& b) { return b.PutMeta("docs_runs", Bytes("v")); });
  expect_invalid([&](WriteBatch& b) {
    const crypto::Digest doc = crypto::Sha256("d");
    const WriteBatch::DocRecord twice[] = {{doc, 4}, {doc, 4}};
    return b.IndexDocuments(twice);
  });
  expect_invalid([&](WriteBatch& b) { return b.Put(kAccounts, key512, Bytes("v")); });
  expect_invalid([&](WriteBatch& b) -> Status {
    QUIPU_RETURN_IF_ERROR(b.PutBlock(5, Bytes("b")));
    return b.PutBlock(5, Bytes("again"));
  });
  Status s = store->Write(
      [](WriteBatch& b) { return b.Delete(kQueue, crypto::AsBytes("none")); });
  EXPECT_EQ(s.code(), StatusCode::kNotFound);

  auto view = store->Read();
  ASSERT_TRUE(view.ok());
  auto entry = view->GetEntry(0);
  EXPECT_EQ(entry.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(entry.status().message(), "entry 0 not found");
  EXPECT_EQ(*view->EntryCount(), 0u);
  EXPECT_EQ(view->LatestCheckpoint().status().code(), StatusCode::kNotFound);
  EXPECT_EQ(view->LatestBlock().status().code(), StatusCode::kNotFound);
  EXPECT_EQ(view->GetBlock(5).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(view->GetMeta("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(view->Get(kSalts, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(view->GetMeta("format_version")->size(), 8u);
  EXPECT_EQ(view->GetMetaU64("format_version").ok(), true);
}

TEST(StoreErrorTest, BadPrivateTableNamesAreRefusedAtOpen) {
  TempDir tmp;
  auto refused = [&](std::vector<PrivateTable> tables, const std::string& what) {
    StoreOptions o;
    o.private_tables = std::move(tables);
    auto store = Store::Open(tmp.Sub("d"), o);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument) << store.status().ToString();
    EXPECT_THAT(store.status().message(), HasSubstr(what));
  };
  refused({PrivateTable("")}, "a-z and _");
  refused({PrivateTable("Notes")}, "'Notes'");
  refused({PrivateTable("notes-2")}, "'notes-2'");
  refused({PrivateTable("notes2")}, "'notes2'");
  refused({PrivateTable(std::string_view("n\0tes", 5))}, "a-z and _");
  refused({PrivateTable(std::string(33, 'a'))}, "longer than 32");
  for (const char* own : {"meta", "entries", "tiles", "docruns", "docs", "checkpoints", "blocks"}) {
    refused({PrivateTable(own)}, "store's own");
  }
  refused({kQueue, kSalts, kQueue}, "'queue' is listed twice");
  std::vector<PrivateTable> many;
  for (char c = 'a'; c <= 'q'; ++c) many.emplace_back(std::string(3, c));
  refused(many, "at most 16");
  EXPECT_FALSE(fs::exists(tmp.Sub("d")));  // refused before anything is made
  // The longest name is fine, and a 33-character name is not its prefix.
  StoreOptions o;
  o.private_tables = {PrivateTable(std::string(32, 'a'))};
  auto store = OpenOrDie(tmp.Sub("d"), o);
  ASSERT_NE(store, nullptr);
  auto view = store->Read();
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->Get(PrivateTable(std::string(32, 'a')), Bytes("k")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(view->Get(PrivateTable(std::string(33, 'a')), Bytes("k")).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(StoreErrorTest, ATableTheStoreWasNotOpenedWithIsRefused) {
  TempDir tmp;
  StoreOptions o;
  o.private_tables = {kQueue};
  auto store = OpenOrDie(tmp.Sub("d"), o);
  ASSERT_NE(store, nullptr);
  constexpr PrivateTable kOther{"other"};
  auto expect_unknown = [](const Status& s) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr("'other' is not one this store was opened with"));
  };
  expect_unknown(store->Write([&](WriteBatch& b) { return b.Put(kOther, Bytes("k"), Bytes("v")); }));
  expect_unknown(store->Write([&](WriteBatch& b) { return b.Delete(kOther, Bytes("k")); }));
  expect_unknown(store->Write([&](WriteBatch& b) { return b.CheckTable(kOther); }));
  // So is a table of another caller, whatever the directory holds.
  auto view = store->Read();
  ASSERT_TRUE(view.ok());
  expect_unknown(view->Get(kOther, Bytes("k")).status());
  expect_unknown(view->ForEach(kOther, {}, [](ByteView, ByteView) { return Status::Ok(); }));
  EXPECT_EQ(view->Get(kSalts, Bytes("k")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(view->CheckTable(kQueue).ok());
}

TEST(StoreErrorTest, LmdbErrorsMapToStatusCodes) {
  EXPECT_TRUE(lmdb::FromMdb(0, "x").ok());
  EXPECT_EQ(lmdb::FromMdb(MDB_NOTFOUND, "x").code(), StatusCode::kNotFound);
  EXPECT_EQ(lmdb::FromMdb(MDB_CORRUPTED, "x").code(), StatusCode::kCorruption);
  EXPECT_EQ(lmdb::FromMdb(MDB_PAGE_NOTFOUND, "x").code(), StatusCode::kCorruption);
  EXPECT_EQ(lmdb::FromMdb(MDB_MAP_FULL, "x").code(), StatusCode::kUnavailable);
  Status io = lmdb::FromMdb(EIO, "read page");
  EXPECT_EQ(io.code(), StatusCode::kIoError);
  EXPECT_EQ(io.message(), std::string("read page: ") + strerror(EIO));
  uint8_t buf[8];
  lmdb::StoreU64BE(0x0102030405060708ull, buf);
  EXPECT_EQ(buf[0], 1);
  EXPECT_EQ(buf[7], 8);
  EXPECT_EQ(lmdb::LoadU64BE(buf), 0x0102030405060708ull);
}

}  // namespace
}  // namespace quipu::ledger
