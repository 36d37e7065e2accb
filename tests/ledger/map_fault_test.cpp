// The fault handler of ledger/map_fault.h, in child processes: a fault
// inside an open ledger's map becomes exit 1 and a line naming the file;
// every other fault still ends the process as it would without the handler.
#include "ledger/map_fault.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "crypto/encoding.h"
#include "crypto/sha256.h"
#include "ledger/lmdb_env.h"
#include "ledger/log.h"
#include "ledger/store.h"
#include "tests/common/process.h"
#include "tests/ledger/test_entry_types.h"

namespace quipu::ledger {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

struct Child {
  int status = 0;
  std::string err;
};

// Runs `body` in a child process with the handler installed (exit status
// 1) and stderr captured.
Child RunInChild(const TempDir& dir, const std::function<void()>& body) {
  const std::string err_path = dir.File("child-stderr");
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(err, 2);
    InstallMapFaultHandler(1);
    body();
    ::_exit(0);
  }
  Child c;
  ::waitpid(pid, &c.status, 0);
  c.err = testing::ReadFile(err_path);
  return c;
}

// A ledger of 2000 entries in `dir`, closed.
std::string BuildLedger(const TempDir& dir) {
  LogOptions o;
  o.dir = dir.File("data");
  o.sync = SyncMode::kNone;
  o.entry_schema = TestEntryTypes();
  auto log = Log::Open(o);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  AppendRequest req;
  for (int i = 0; i < 2000; ++i) {
    const std::string hex = crypto::HexEncode(crypto::Sha256(std::to_string(i)));
    req.entries.push_back({{"type", "note"},
                           {"author", "a_fault"},
                           {"ref", "r_" + std::to_string(i)},
                           {"seal", hex},
                           {"doc", {{"sha256", hex}, {"format", "pdf"}}}});
  }
  EXPECT_TRUE((*log)->Append(std::move(req)).get().ok());
  return o.dir;
}

// A fault the handler does not own ends the child as before: by the signal,
// or, under a sanitizer (whose handler was installed first), by its report.
void ExpectCrashedAsBefore(const Child& c, int sig) {
  EXPECT_THAT(c.err, ::testing::Not(HasSubstr("is damaged")));
  const bool by_signal = WIFSIGNALED(c.status) && WTERMSIG(c.status) == sig;
#if defined(__SANITIZE_ADDRESS__)
  if (!by_signal) {
    EXPECT_THAT(c.err, HasSubstr("AddressSanitizer")) << c.status;
  }
#else
  EXPECT_TRUE(by_signal) << "status " << c.status << ": " << c.err;
#endif
}

// An address in no mapping at all (unlike null, not flagged by UBSan first).
volatile int* UnmappedAddress() {
  void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ::munmap(p, 4096);
  return static_cast<volatile int*>(p);
}

TEST(MapFault, AFaultInsideALedgerMapIsExitOneNamingTheFile) {
  TempDir dir;
  const std::string data = BuildLedger(dir);
  Child c = RunInChild(dir, [&] {
    LogOptions o;
    o.dir = data;
    o.read_only = true;
    auto log = Log::Open(o);
    if (!log.ok()) ::_exit(3);
    // Cut under the open map, as a failing disk or a careless operator
    // would: the next read of a page past the end faults.
    if (::truncate((data + "/ledger.mdb").c_str(), 3 * 4096) != 0) ::_exit(4);
    for (uint64_t i = 0; i < 2000; ++i) (void)(*log)->Entry(i);
    ::_exit(5);  // not reached: the reads fault
  });
  ASSERT_TRUE(WIFEXITED(c.status)) << "killed by signal " << WTERMSIG(c.status);
  EXPECT_EQ(WEXITSTATUS(c.status), 1) << c.err;
  EXPECT_EQ(c.err, "quipu: " + data + "/ledger.mdb is damaged (SIGBUS reading the memory map): run quipu "
                   "audit, restore from a backup\n");
}

TEST(MapFault, FaultsOutsideTheMapCrashAsBefore) {
  TempDir dir;
  const std::string data = BuildLedger(dir);
  auto with_ledger_open = [&](const std::function<void()>& fault) {
    return [&data, fault] {
      LogOptions o;
      o.dir = data;
      o.read_only = true;
      auto log = Log::Open(o);
      if (!log.ok()) ::_exit(3);
      fault();
    };
  };
  // A stray write (a bug), with a ledger open.
  ExpectCrashedAsBefore(RunInChild(dir, with_ledger_open([] { *UnmappedAddress() = 1; })), SIGSEGV);
  // A truncated file that is not a ledger, mapped by someone else.
  const std::string other = dir.File("other.bin");
  testing::WriteFile(other, std::string(3 * 4096, 'x'));
  ExpectCrashedAsBefore(RunInChild(dir, with_ledger_open([&other] {
                          const int fd = ::open(other.c_str(), O_RDWR);
                          auto* p = static_cast<volatile char*>(
                              ::mmap(nullptr, 3 * 4096, PROT_READ, MAP_SHARED, fd, 0));
                          if (::ftruncate(fd, 0) != 0) ::_exit(4);
                          (void)p[2 * 4096];
                        })),
                        SIGBUS);
  // Signals sent by kill(), whatever address they claim.
  for (int sig : {SIGBUS, SIGSEGV}) {
    ExpectCrashedAsBefore(RunInChild(dir, with_ledger_open([sig] { ::raise(sig); })), sig);
  }
}

TEST(MapFault, TheMapRangesFollowTheEnvironment) {
  TempDir dir;
  const std::string data = BuildLedger(dir);
  int probe = 0;
  EXPECT_EQ(lmdb::MappedFileAt(&probe), nullptr);
  {
    StoreOptions o;
    o.read_only = true;
    auto store = Store::Open(data, o);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto view = (*store)->Read();
    ASSERT_TRUE(view.ok());
    auto entry = view->GetEntry(7);
    ASSERT_TRUE(entry.ok());
    // An entry's bytes are read in place from the map; nothing else is in it.
    const char* file = lmdb::MappedFileAt(entry->data());
    ASSERT_NE(file, nullptr);
    EXPECT_EQ(std::string(file), data + "/ledger.mdb");
    EXPECT_EQ(lmdb::MappedFileAt(&probe), nullptr);
  }
  // Closed: nothing recognised any more.
  EXPECT_EQ(lmdb::MappedFileAt(data.c_str()), nullptr);
}

}  // namespace
}  // namespace quipu::ledger
