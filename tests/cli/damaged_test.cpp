// Damaged data directories as the built program meets them: ledger.mdb cut
// to 0, 4 KiB, 8 KiB, 12 KiB, 1 MB, 3 MB and a random size; every byte of
// both meta pages flipped; the lock file cut, zeroed or garbage, with and
// without another process holding it; files cut under a running writer;
// secret files left empty.
// Every command must end with exit 1 and a message naming the file and the
// reason: a signal (exit 128 + n) or a hang (exit 124) fails.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/sha256.h"
#include "tests/common/process.h"

extern char** environ;

namespace quipu {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::ProcessResult;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;

constexpr int kEntries = 8000;  // about 4 MB of ledger.mdb
constexpr uint64_t kPage = 4096;

std::string Hex64(int n) { return crypto::HexEncode(crypto::Sha256(std::to_string(n))); }

// One canonical entry line (nlohmann's dump sorts keys as RFC 8785 does).
std::string Entry(int n) {
  const std::string hex = Hex64(n);
  return nlohmann::json{{"type", "approval"},
                        {"client", "c_damage"},
                        {"request", "r_" + std::to_string(n)},
                        {"subject", hex},
                        {"doc", {{"sha256", hex}, {"media_type", "application/json"}}}}
             .dump();
}

// Runs quipu under timeout(1): a command that hangs fails with 124.
ProcessResult Quipu(const std::string& args, const std::string& input = "") {
  return RunShell("timeout 30 " + ShellQuote(QUIPU_BINARY) + " " + args, input);
}

struct Command {
  std::string args;
  std::string input;
  bool writer = false;  // opens the ledger for writing (refused while another process writes)
};

// Every command that opens a ledger, on `dir`.
std::vector<Command> AllCommands(const std::string& dir, const std::string& qr_text) {
  const std::string data = " --data " + ShellQuote(dir);
  return {
      {"audit" + data, ""},
      {"log vkey" + data, ""},
      {"log checkpoint" + data, ""},
      {"log entry 5" + data, ""},
      {"log prove 5" + data, ""},
      {"log consistency 3 10" + data, ""},
      {"qr verify " + ShellQuote(qr_text) + data, ""},
      {"log append" + data, Entry(kEntries + 1) + "\n", true},
      {"client list" + data, "", true},
      {"serve --listen 127.0.0.1:0" + data, "", true},
  };
}

// Exit 1, the file named, each of `reasons` said.
void ExpectCleanFailure(const ProcessResult& r, const std::string& what, const std::string& file,
                        const std::vector<std::string>& reasons) {
  EXPECT_EQ(r.exit_code, 1) << what << "\nstderr: " << r.err;
  EXPECT_THAT(r.err, HasSubstr(file)) << what;
  for (const std::string& reason : reasons) EXPECT_THAT(r.err, HasSubstr(reason)) << what;
}

class DamagedFiles : public ::testing::Test {
 protected:
  // One real ledger for the suite: kEntries entries and a QR code.
  static void SetUpTestSuite() {
    root_ = new TempDir;
    const std::string data = " --data " + ShellQuote(Pristine());
    ASSERT_EQ(Quipu("log init" + data).exit_code, 0);
    std::string lines;
    for (int i = 0; i < kEntries; ++i) lines += Entry(i) + "\n";
    ProcessResult appended = Quipu("log append --quiet" + data, lines);
    ASSERT_EQ(appended.exit_code, 0) << appended.err;
    ProcessResult issued = Quipu("qr issue --sha256 " + Hex64(1) + " --media-type application/pdf" + data);
    ASSERT_EQ(issued.exit_code, 0) << issued.err;
    qr_text_ = new std::string(nlohmann::json::parse(issued.out)["qr_text"].get<std::string>());
  }
  static void TearDownTestSuite() {
    delete qr_text_;
    delete root_;
  }
  static std::string Pristine() { return root_->File("pristine"); }
  static uint64_t PristineSize() { return fs::file_size(Pristine() + "/ledger.mdb"); }

  // A fresh copy of the ledger's directory.
  std::string Copy() {
    const std::string dir = root_->File("copy" + std::to_string(copies_++));
    fs::copy(Pristine(), dir, fs::copy_options::recursive);
    return dir;
  }
  std::vector<Command> Commands(const std::string& dir) { return AllCommands(dir, *qr_text_); }

  static TempDir* root_;
  static std::string* qr_text_;
  static inline int copies_ = 0;
};
TempDir* DamagedFiles::root_ = nullptr;
std::string* DamagedFiles::qr_text_ = nullptr;

void Truncate(const std::string& path, uint64_t size) {
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(size)), 0) << path;
}

void FlipByte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0xff));
}

TEST_F(DamagedFiles, TruncatedLedgerIsExitOneWithTheReasonForEveryCommand) {
  const uint64_t size = PristineSize();
  ASSERT_GT(size, uint64_t{3000000}) << "the ledger must be larger than the largest cut";
  ASSERT_EQ(size % kPage, 0u);
  std::random_device rd;
  const uint64_t random_cut = 2 * kPage + 1 + rd() % (size - 2 * kPage - 1);
  for (uint64_t cut : {uint64_t{0}, kPage, 2 * kPage, 3 * kPage, uint64_t{1000000}, uint64_t{3000000}, random_cut}) {
    SCOPED_TRACE("ledger.mdb cut to " + std::to_string(cut) + " of " + std::to_string(size) + " bytes");
    const std::string dir = Copy();
    Truncate(dir + "/ledger.mdb", cut);
    for (const Command& c : Commands(dir)) {
      ExpectCleanFailure(Quipu(c.args, c.input), c.args, "ledger.mdb", {cut == 0 ? "empty" : "truncated"});
    }
    // Nothing was made anew in its place.
    EXPECT_EQ(fs::file_size(dir + "/ledger.mdb"), cut);
  }
}

TEST_F(DamagedFiles, EmptyOrMissingLedgerBesideAKeyIsNotANewLedger) {
  for (bool remove : {false, true}) {
    SCOPED_TRACE(remove ? "ledger.mdb removed" : "ledger.mdb emptied");
    const std::string dir = Copy();
    if (remove) {
      fs::remove(dir + "/ledger.mdb");
    } else {
      Truncate(dir + "/ledger.mdb", 0);
    }
    for (const std::string cmd : {"log init", "log append", "serve --listen 127.0.0.1:0"}) {
      ProcessResult r = Quipu(cmd + " --data " + ShellQuote(dir), Entry(0) + "\n");
      ExpectCleanFailure(r, cmd, "ledger.mdb", {"node.key", "history is lost", "backup", "quipu log init"});
    }
    EXPECT_EQ(fs::exists(dir + "/ledger.mdb"), !remove);
  }
  // A brand new directory is still created.
  const std::string fresh = root_->File("fresh");
  EXPECT_EQ(Quipu("log init --data " + ShellQuote(fresh)).exit_code, 0);
  EXPECT_EQ(Quipu("log checkpoint --data " + ShellQuote(fresh)).exit_code, 0);
}

// Secret files that a crash during the old, non-atomic first start left
// empty: each is named, nothing is made anew in its place.
TEST_F(DamagedFiles, EmptySecretFilesAreExitOneNamingThem) {
  for (const std::string name : {"node.key", "data.key", "admin.token", "qr-keys/1.key"}) {
    SCOPED_TRACE(name + " empty");
    const std::string dir = Copy();
    Truncate(dir + "/" + name, 0);
    for (const std::string& cmd : {std::string("serve --listen 127.0.0.1:0"), "qr verify " + ShellQuote(*qr_text_)}) {
      ExpectCleanFailure(Quipu(cmd + " --data " + ShellQuote(dir)), cmd, name, {"is empty", "backup"});
    }
    EXPECT_EQ(fs::file_size(dir + "/" + name), 0u);
  }
}

// LMDB keeps no checksum: a byte changed in a meta page is either harmless
// (a statistic, padding) or must be refused before LMDB follows it.
TEST_F(DamagedFiles, EveryMetaPageByteFlippedIsHarmlessOrExitOne) {
  const std::string pristine = Pristine() + "/ledger.mdb";
  for (uint64_t page : {0, 1}) {
    for (uint64_t offset = 0; offset < 152; ++offset) {
      SCOPED_TRACE("meta page " + std::to_string(page) + " byte " + std::to_string(offset));
      const std::string dir = root_->File("flip");
      fs::remove_all(dir);
      fs::create_directory(dir);
      for (const char* f : {"ledger.mdb", "node.key", "data.key", "admin.token"}) {
        fs::copy_file(Pristine() + "/" + f, dir + "/" + f);
      }
      FlipByte(dir + "/ledger.mdb", page * kPage + offset);
      const std::string data = " --data " + ShellQuote(dir);
      // The reader and the writer paths (audit opens as the reader does).
      for (const std::string cmd : {"log checkpoint", "log append"}) {
        ProcessResult r = Quipu(cmd + data, Entry(kEntries + 2) + "\n");
        EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << cmd << " exit " << r.exit_code << ": " << r.err;
        if (r.exit_code == 1) {
          EXPECT_THAT(r.err, HasSubstr("ledger.mdb")) << cmd;
        }
      }
    }
  }
}

// The meta page LMDB uses (the higher transaction id): each field that
// steers it, changed, is refused with what is wrong.
TEST_F(DamagedFiles, MetaPageFieldsChangedAreRefusedWithTheReason) {
  std::ifstream in(Pristine() + "/ledger.mdb", std::ios::binary);
  uint64_t txnid[2];
  for (uint64_t page : {0, 1}) {
    in.seekg(static_cast<std::streamoff>(page * kPage + 144));
    in.read(reinterpret_cast<char*>(&txnid[page]), 8);
  }
  const uint64_t current = txnid[1] > txnid[0] ? 1 : 0;
  const struct {
    uint64_t offset;
    const char* reason;
  } kFields[] = {
      {16, "magic"},           {20, "version"},     {41, "page size"},
      {44, "free-space tree"}, {92, "main tree"},   {128, "main tree"},
      {120, "table records"},  {143, "last page"},  {144, "transaction id"},
  };
  for (const auto& field : kFields) {
    SCOPED_TRACE("byte " + std::to_string(field.offset) + " of meta page " + std::to_string(current));
    const std::string dir = Copy();
    FlipByte(dir + "/ledger.mdb", current * kPage + field.offset);
    for (const Command& c : Commands(dir)) {
      ExpectCleanFailure(Quipu(c.args, c.input), c.args, "ledger.mdb", {field.reason, "backup"});
    }
  }
}

// The current meta page's free-space tree pointed at another tree's page
// (found by a flipped byte: LMDB then read table records as a list of free
// pages and asked for gigabytes): refused before LMDB maps the file.
TEST_F(DamagedFiles, AFreeSpaceRootAtAnotherTreesPageIsRefused) {
  std::ifstream in(Pristine() + "/ledger.mdb", std::ios::binary);
  uint64_t txnid[2], free_root[2], main_root[2];
  for (uint64_t page : {0, 1}) {
    in.seekg(static_cast<std::streamoff>(page * kPage + 144));
    in.read(reinterpret_cast<char*>(&txnid[page]), 8);
    in.seekg(static_cast<std::streamoff>(page * kPage + 80));
    in.read(reinterpret_cast<char*>(&free_root[page]), 8);
    in.seekg(static_cast<std::streamoff>(page * kPage + 128));
    in.read(reinterpret_cast<char*>(&main_root[page]), 8);
  }
  const uint64_t current = txnid[1] > txnid[0] ? 1 : 0;
  ASSERT_NE(free_root[current], ~uint64_t{0}) << "the pristine ledger has free pages after 8000 entries";
  const std::string dir = Copy();
  {
    std::fstream f(dir + "/ledger.mdb", std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(current * kPage + 80));
    f.write(reinterpret_cast<const char*>(&main_root[current]), 8);
  }
  for (const Command& c : Commands(dir)) {
    ExpectCleanFailure(Quipu(c.args, c.input), c.args, "ledger.mdb", {"free", "backup"});
  }
}

// A `quipu log append` left running with its stdin open: it holds the
// ledger (and its lock file) until Finish.
class Writer {
 public:
  Writer(const std::string& dir, const std::string& err_path) : err_path_(err_path) {
    int in[2], out[2];
    EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<std::string> args = {QUIPU_BINARY, "log", "append", "--data", dir};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, QUIPU_BINARY, &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    in_ = in[1];
    out_ = out[0];
  }
  ~Writer() {
    if (pid_ > 0) Finish("");
  }
  pid_t pid() const { return pid_; }

  // Sends one entry and waits for its {"index":N}: from then on the writer
  // has the ledger open. Returns the line ("" if it died).
  std::string AppendOne(const std::string& entry) {
    const std::string line = entry + "\n";
    EXPECT_EQ(::write(in_, line.data(), line.size()), static_cast<ssize_t>(line.size()));
    std::string ack;
    char c;
    while (::read(out_, &c, 1) == 1 && c != '\n') ack += c;
    return ack;
  }

  // Sends `input`, closes stdin and waits: exit status (128 + signal when
  // killed) and stderr.
  ProcessResult Finish(const std::string& input) {
    if (!input.empty()) (void)!::write(in_, input.data(), input.size());
    ::close(in_);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    ::close(out_);
    ProcessResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.err = testing::ReadFile(err_path_);
    return r;
  }

 private:
  std::string err_path_;
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
};

enum class LockDamage { kEmpty, kShort, kZeroed, kGarbage };

void DamageLockFile(const std::string& path, LockDamage damage) {
  const uint64_t size = fs::file_size(path);
  std::string bytes(size, '\0');
  std::mt19937 rng(static_cast<unsigned>(damage));
  switch (damage) {
    case LockDamage::kEmpty:
      return Truncate(path, 0);
    case LockDamage::kShort:
      return Truncate(path, 100);
    case LockDamage::kZeroed:
      break;
    case LockDamage::kGarbage:
      for (char& c : bytes) c = static_cast<char>(rng());
      break;
  }
  // In place (not a new file): a process that has it mapped sees this.
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

const char* Name(LockDamage d) {
  switch (d) {
    case LockDamage::kEmpty: return "empty";
    case LockDamage::kShort: return "100 bytes";
    case LockDamage::kZeroed: return "zeroed";
    case LockDamage::kGarbage: return "garbage";
  }
  return "?";
}

constexpr LockDamage kLockDamages[] = {LockDamage::kEmpty, LockDamage::kShort, LockDamage::kZeroed,
                                       LockDamage::kGarbage};

// What LMDB does: when no process has the environment open, it takes the
// lock file's exclusive lock and rebuilds the file whatever it holds.
TEST_F(DamagedFiles, LockFileDamageIsRebuiltWhenNoProcessHoldsIt) {
  for (LockDamage damage : kLockDamages) {
    SCOPED_TRACE(std::string("lock file ") + Name(damage));
    const std::string dir = Copy();
    DamageLockFile(dir + "/ledger.mdb-lock", damage);
    for (const Command& c : Commands(dir)) {
      if (c.args.rfind("serve", 0) == 0) continue;  // it would serve until the timeout
      ProcessResult r = Quipu(c.args, c.input);
      EXPECT_EQ(r.exit_code, 0) << c.args << ": " << r.err;
    }
  }
}

// While another process holds it, LMDB maps the lock file as it is: a
// reader must refuse it (naming the holder), and the holder itself, whose
// map the damage changed under it, must not die of a signal.
TEST_F(DamagedFiles, LockFileDamageWhileAWriterHoldsItIsExitOne) {
  for (LockDamage damage : kLockDamages) {
    SCOPED_TRACE(std::string("lock file ") + Name(damage));
    const std::string dir = Copy();
    Writer writer(dir, dir + ".writer-stderr");
    ASSERT_EQ(writer.AppendOne(Entry(kEntries + 1)), "{\"index\":" + std::to_string(kEntries + 1) + "}");
    DamageLockFile(dir + "/ledger.mdb-lock", damage);
    for (const Command& c : Commands(dir)) {
      ProcessResult r = Quipu(c.args, c.input);
      // Writers are refused by the writer lock first ("in use by ... pid").
      ExpectCleanFailure(r, c.args, c.writer ? "quipu.lock" : "ledger.mdb-lock",
                         {"pid " + std::to_string(writer.pid())});
    }
    ProcessResult held = writer.Finish(Entry(kEntries + 2) + "\n");
    EXPECT_TRUE(held.exit_code == 0 || held.exit_code == 1) << "writer exit " << held.exit_code << ": " << held.err;
    if (damage == LockDamage::kEmpty) {
      // Its reader table is gone from under its map: SIGBUS, caught.
      ExpectCleanFailure(held, "the writer", "ledger.mdb-lock", {"damaged (SIGBUS reading the memory map)"});
    }
  }
}

TEST_F(DamagedFiles, LedgerCutUnderARunningWriterIsExitOne) {
  const std::string dir = Copy();
  Writer writer(dir, dir + ".writer-stderr");
  ASSERT_EQ(writer.AppendOne(Entry(kEntries + 1)), "{\"index\":" + std::to_string(kEntries + 1) + "}");
  Truncate(dir + "/ledger.mdb", 3 * kPage);
  ProcessResult reader = Quipu("log checkpoint --data " + ShellQuote(dir));
  ExpectCleanFailure(reader, "a reader", "ledger.mdb", {"truncated"});
  ProcessResult held = writer.Finish(Entry(kEntries + 2) + "\n");
  ExpectCleanFailure(held, "the writer", "ledger.mdb",
                     {"ledger.mdb is damaged (SIGBUS reading the memory map)", "quipu audit"});
}

}  // namespace
}  // namespace quipu
