// node/upgrade: a data directory in an earlier quipu's layout (QR Seguro
// records in `approvals`, no `qr` table; approval requests without the
// citizens' index) is read by this one only after the first writer moved or
// indexed them; each step is one commit and happens once.
#include "node/upgrade.h"

#include <gtest/gtest.h>
#include <lmdb.h>

#include "crypto/random.h"
#include "ledger/log.h"
#include "ledger/store.h"
#include "node/approvals.h"
#include "node/clients.h"
#include "node/qr_service.h"
#include "node/schema.h"
#include "pdf/engine.h"
#include "tests/common/process.h"

namespace quipu::node {
namespace {

struct Services {
  std::unique_ptr<ledger::Log> log;
  std::unique_ptr<Clients> clients;
  std::unique_ptr<QrService> qr;
};

Services Open(const std::string& data, const std::array<uint8_t, 32>& key, bool read_only = false) {
  Services s;
  ledger::LogOptions o = LogOptionsFor(data);
  o.read_only = read_only;
  auto log = ledger::Log::Open(o);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  s.log = std::move(log).value();
  s.clients = std::make_unique<Clients>(*s.log, key);
  auto signer = crypto::LoadNoteSigner(data + "/" + ledger::kNodeKeyFile);
  s.qr = std::make_unique<QrService>(*s.log, *s.clients, pdf::InProcessPdfEngine(), std::move(*signer),
                                     std::move(*LoadQrKeys(data, !read_only)));
  return s;
}

std::vector<std::string> Keys(const ledger::Log& log, const ledger::PrivateTable& table) {
  std::vector<std::string> keys;
  EXPECT_TRUE(log.ScanPrivate(table, "", [&](std::string_view k, std::string_view) {
                   keys.emplace_back(k);
                   return true;
                 }).ok());
  return keys;
}

// Puts the directory back in the layout before the qr table: its records
// moved to `approvals` through the store, then the table dropped from the
// LMDB file.
void WriteTheOldLayout(const std::string& data) {
  {
    ledger::StoreOptions so;
    so.private_tables = {tables::kApprovals, tables::kQr};
    auto store = ledger::Store::Open(data, so);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->Write([](ledger::WriteBatch& b) -> Status {
      std::vector<std::pair<std::string, std::string>> records;
      QUIPU_RETURN_IF_ERROR(b.ForEach(tables::kQr, {}, [&](ledger::ByteView k, ledger::ByteView v) {
        records.emplace_back(crypto::AsString(k), crypto::AsString(v));
        return Status::Ok();
      }));
      for (const auto& [k, v] : records) {
        QUIPU_RETURN_IF_ERROR(b.Put(tables::kApprovals, crypto::AsBytes(k), crypto::AsBytes(v)));
        QUIPU_RETURN_IF_ERROR(b.Delete(tables::kQr, crypto::AsBytes(k)));
      }
      return Status::Ok();
    }).ok());
  }
  MDB_env* env;
  ASSERT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 32);
  ASSERT_EQ(mdb_env_open(env, (data + "/ledger.mdb").c_str(), MDB_NOSUBDIR, 0600), 0);
  MDB_txn* txn;
  MDB_dbi dbi;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  ASSERT_EQ(mdb_dbi_open(txn, "qr", 0, &dbi), 0);
  ASSERT_EQ(mdb_drop(txn, dbi, 1), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

TEST(Upgrade, QrRecordsInApprovalsMoveToTheQrTableOnce) {
  testing::TempDir dir;
  const std::string data = dir.File("data");
  std::array<uint8_t, 32> key{};
  crypto::RandomBytes(key);
  ClientInfo client;
  QrIssued issued;
  uint64_t revocation = 0;
  {
    Services s = Open(data, key);
    client = s.clients->Add("SERECI", "https://s.example/r", "https://s.example/n", "t")->client;
    QrIssueRequest request;
    request.document.sha256 = crypto::Sha256(std::string("documento"));
    auto i = s.qr->Issue(client, request);
    ASSERT_TRUE(i.ok()) << i.status().ToString();
    issued = *i;
    auto r = s.qr->Revoke(client, issued.index, "reemplazado");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    revocation = r->index;
    // An approvals record of its own, which stays where it is.
    ledger::AppendRequest own;
    own.apply = [](ledger::PrivateTxn& txn, uint64_t, const std::string&) {
      return txn.Put(tables::kApprovals, "r:req_1", "{}");
    };
    ASSERT_TRUE(s.log->Append(std::move(own)).get().ok());
  }
  WriteTheOldLayout(data);
  const std::string issue_key = "q:" + std::to_string(issued.index);
  const std::string revoke_key = "qrev:" + std::to_string(issued.index);

  {
    // A reader of the old layout: the qr table is not there (read as empty),
    // so the code's records are not found where this version looks.
    Services s = Open(data, key, /*read_only=*/true);
    EXPECT_EQ(Keys(*s.log, tables::kApprovals), (std::vector<std::string>{issue_key, revoke_key, "r:req_1"}));
    EXPECT_TRUE(Keys(*s.log, tables::kQr).empty());
    EXPECT_FALSE(s.qr->RevocationOf(issued.index)->has_value());
    EXPECT_TRUE(*UpgradePending(*s.log));
  }
  const uint64_t tree_size = [&] {
    Services s = Open(data, key, /*read_only=*/true);
    return s.log->Head().tree_size;
  }();
  {
    Services s = Open(data, key);
    auto moved = UpgradeDataDirectory(*s.log);
    ASSERT_TRUE(moved.ok()) << moved.status().ToString();
    EXPECT_EQ(*moved, 2u);
    EXPECT_FALSE(*UpgradePending(*s.log));
    // The request names nobody: no index record; the index is marked done.
    EXPECT_EQ(Keys(*s.log, tables::kApprovals), (std::vector<std::string>{"m:citizen-index", "r:req_1"}));
    EXPECT_EQ(Keys(*s.log, tables::kQr), (std::vector<std::string>{issue_key, revoke_key}));
    EXPECT_EQ(s.log->Head().tree_size, tree_size);  // private records only: no entry
    // The services find the code as before the move.
    auto by = s.qr->RevocationOf(issued.index);
    ASSERT_TRUE(by.ok() && by->has_value());
    EXPECT_EQ(**by, revocation);
    auto text = s.qr->Text(client, issued.index);
    ASSERT_TRUE(text.ok()) << text.status().ToString();
    EXPECT_EQ(*text, issued.text);
    auto verified = s.qr->Verify(issued.text);
    ASSERT_TRUE(verified.ok()) << verified.status().ToString();
    ASSERT_TRUE(verified->record.has_value());
    EXPECT_TRUE(verified->record->revocation.has_value());
    // Again: nothing left to move.
    EXPECT_EQ(*UpgradeDataDirectory(*s.log), 0u);
  }
  {
    Services s = Open(data, key);
    EXPECT_EQ(*UpgradeDataDirectory(*s.log), 0u);
    EXPECT_EQ(Keys(*s.log, tables::kQr), (std::vector<std::string>{issue_key, revoke_key}));
  }
}

// Requests written before the citizens' index are indexed at the first
// start, so the citizen's own page lists them too.
TEST(Upgrade, RequestsOfAnEarlierVersionGetTheCitizensIndexOnce) {
  testing::TempDir dir;
  const std::string data = dir.File("data");
  std::array<uint8_t, 32> key{};
  crypto::RandomBytes(key);
  std::string id;
  {
    Services s = Open(data, key);
    auto client = s.clients->Add("SERECI", "https://s.example/r", "https://s.example/n", "t")->client;
    Approvals approvals(*s.log, *s.clients, pdf::InProcessPdfEngine(), key, {});
    ApprovalRequest request;
    request.subject = "1234567";
    request.documents.push_back({DocumentRef{DocType::kPdf, crypto::Sha256(std::string("d")), std::nullopt}, "d"});
    auto created = approvals.Create(client, request);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    id = created->id;
    ASSERT_EQ(approvals.ListForCitizen("1234567")->size(), 1u);
    // As an earlier version left it: no index record, no mark.
    std::vector<std::string> index = Keys(*s.log, tables::kApprovals);
    std::erase_if(index, [](const std::string& k) { return k.rfind("r:", 0) == 0; });
    ASSERT_EQ(index.size(), 2u);  // the request's index record and the mark
    ledger::AppendRequest old;
    old.apply = [&](ledger::PrivateTxn& txn, uint64_t, const std::string&) -> Status {
      for (const std::string& k : index) QUIPU_RETURN_IF_ERROR(txn.Delete(tables::kApprovals, k));
      return Status::Ok();
    };
    ASSERT_TRUE(s.log->Append(std::move(old)).get().ok());
    EXPECT_TRUE(approvals.ListForCitizen("1234567")->empty());
    EXPECT_TRUE(*UpgradePending(*s.log));
  }
  Services s = Open(data, key);
  auto indexed = UpgradeDataDirectory(*s.log);
  ASSERT_TRUE(indexed.ok()) << indexed.status().ToString();
  EXPECT_EQ(*indexed, 1u);
  EXPECT_FALSE(*UpgradePending(*s.log));
  Approvals approvals(*s.log, *s.clients, pdf::InProcessPdfEngine(), key, {});
  auto listed = approvals.ListForCitizen("1234567");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, id);
  EXPECT_EQ((*listed)[0].institution, "SERECI");
  EXPECT_TRUE(approvals.ListForCitizen("7654321")->empty());
  EXPECT_EQ(*UpgradeDataDirectory(*s.log), 0u);  // once
}

TEST(Upgrade, ANewDirectoryHasNothingToMove) {
  testing::TempDir dir;
  std::array<uint8_t, 32> key{};
  Services s = Open(dir.File("data"), key);
  EXPECT_FALSE(*UpgradePending(*s.log));
  EXPECT_EQ(*UpgradeDataDirectory(*s.log), 0u);
  EXPECT_EQ(s.log->stats().batches, 0u);  // and commits nothing
}

// --- error paths ---

TEST(Upgrade, AReadOnlyLogCannotMove) {
  testing::TempDir dir;
  const std::string data = dir.File("data");
  std::array<uint8_t, 32> key{};
  crypto::RandomBytes(key);
  {
    Services s = Open(data, key);
    ledger::AppendRequest old;
    old.apply = [](ledger::PrivateTxn& txn, uint64_t, const std::string&) {
      return txn.Put(tables::kApprovals, "qrev:3", "4");
    };
    ASSERT_TRUE(s.log->Append(std::move(old)).get().ok());
  }
  Services s = Open(data, key, /*read_only=*/true);
  EXPECT_TRUE(*UpgradePending(*s.log));
  auto moved = UpgradeDataDirectory(*s.log);
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.status().code(), StatusCode::kUnavailable) << moved.status().ToString();
  EXPECT_TRUE(*UpgradePending(*s.log));
}

}  // namespace
}  // namespace quipu::node
