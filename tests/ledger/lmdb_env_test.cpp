// The checks Env::Open runs before LMDB maps a file (CheckDataFile,
// CheckLockFile), on files LMDB itself wrote: every state a healthy ledger
// goes through passes, and a main tree that lost its meta table is damage,
// not a new ledger. The damaged cases run through the program in
// tests/cli/damaged_test.cpp.
#include "ledger/lmdb_env.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "crypto/encoding.h"
#include "ledger/store.h"
#include "tests/common/process.h"

namespace quipu::ledger {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

// Commits one record per transaction into `table` of the writer `store`.
void Commit(Store& store, int n) {
  for (int i = 0; i < n; ++i) {
    const std::string key = "k" + std::to_string(i);
    ASSERT_TRUE(store.Write([&](WriteBatch& b) {
                       return b.PutMeta(key, crypto::AsBytes(key));
                     }).ok());
  }
}

TEST(LmdbChecks, EveryHealthyStatePasses) {
  TempDir dir;
  const std::string data = dir.File("d");
  const std::string file = data + "/ledger.mdb";
  {
    auto store = Store::Open(data, StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    // Fresh, then each meta page in turn the newer one.
    for (int round = 0; round < 3; ++round) {
      auto info = lmdb::CheckDataFile(file);
      ASSERT_TRUE(info.ok()) << info.status().ToString();
      EXPECT_EQ(info->page_size, 4096u);
      EXPECT_EQ(info->meta, static_cast<int>(info->txnid & 1));
      EXPECT_GE(info->file_size, (info->last_page + 1) * info->page_size);
      // (A process does not see its own locks: to it the file is unheld.
      // tests/cli/damaged_test.cpp checks it held by another process.)
      EXPECT_TRUE(lmdb::CheckLockFile(file + "-lock").ok());
      Commit(**store, 1);
    }
    // A compacted backup (mdb_env_copyfd2) passes as well.
    ASSERT_TRUE((*store)->Backup(dir.File("backup")).ok());
  }
  auto backup = lmdb::CheckDataFile(dir.File("backup") + "/ledger.mdb");
  ASSERT_TRUE(backup.ok()) << backup.status().ToString();
  EXPECT_EQ(backup->txnid, 1u);  // a compacted copy starts again at transaction 1
  EXPECT_TRUE(lmdb::CheckLockFile(dir.File("no-such-file-lock")).ok());
  EXPECT_EQ(lmdb::CheckDataFile(dir.File("no-such-file")).status().code(), StatusCode::kNotFound);
}

TEST(LmdbChecks, TablesWithoutTheMetaTableAreDamageNotANewLedger) {
  TempDir dir;
  const std::string data = dir.File("d");
  { ASSERT_TRUE(Store::Open(data, StoreOptions()).ok()); }
  // Drop the meta table with LMDB itself: what a damaged main tree shows.
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 32);
  ASSERT_EQ(mdb_env_open(env, (data + "/ledger.mdb").c_str(), MDB_NOSUBDIR, 0600), 0);
  MDB_txn* txn = nullptr;
  MDB_dbi meta = 0;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
  ASSERT_EQ(mdb_drop(txn, meta, 1), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);

  for (bool read_only : {false, true}) {
    StoreOptions o;
    o.read_only = read_only;
    auto store = Store::Open(data, o);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), StatusCode::kCorruption) << store.status().ToString();
    EXPECT_THAT(store.status().message(), HasSubstr("no meta table"));
  }
}

}  // namespace
}  // namespace quipu::ledger
