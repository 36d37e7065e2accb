#include "ledger/map_fault.h"

#include <signal.h>
#include <unistd.h>

#include <mutex>

#include "ledger/lmdb_env.h"

namespace quipu::ledger {
namespace {

// Written once, before the handlers are installed; read by them.
int fault_exit_status = 1;
struct sigaction previous_bus, previous_segv;

// Only async-signal-safe calls from here on: write(2), sigaction, raise,
// _exit, and reads of the map-range table.
void WriteText(const char* text) {
  size_t n = 0;
  while (text[n] != '\0') ++n;
  while (n > 0) {
    const ssize_t done = ::write(STDERR_FILENO, text, n);
    if (done <= 0) return;  // EINTR included: nothing better to do in a dying process
    text += done;
    n -= static_cast<size_t>(done);
  }
}

void OnFault(int sig, siginfo_t* info, void* /*context*/) {
  // si_code > 0: the kernel raised it for this access, so si_addr is the
  // faulting address (kill() and sigqueue() give SI_USER, SI_QUEUE <= 0).
  const char* file = info != nullptr && info->si_code > 0 ? lmdb::MappedFileAt(info->si_addr) : nullptr;
  if (file != nullptr) {
    WriteText("quipu: ");
    WriteText(file);
    WriteText(sig == SIGBUS ? " is damaged (SIGBUS reading the memory map)"
                            : " is damaged (SIGSEGV reading the memory map)");
    size_t n = 0;
    while (file[n] != '\0') ++n;
    const bool lock_file = n >= 5 && file[n - 5] == '-' && file[n - 4] == 'l' && file[n - 3] == 'o' &&
                           file[n - 2] == 'c' && file[n - 1] == 'k';
    // The lock file holds no data: LMDB rebuilds it when no process has the
    // ledger open.
    WriteText(lock_file ? ": stop every process that has the ledger open and run the command again\n"
                        : ": run quipu audit, restore from a backup\n");
    ::_exit(fault_exit_status);
  }
  // Not ours: put back what was there and let it happen again. A fault
  // from an instruction repeats when we return; a sent signal is raised
  // anew (blocked until we return).
  ::sigaction(sig, sig == SIGBUS ? &previous_bus : &previous_segv, nullptr);
  if (info == nullptr || info->si_code <= 0) ::raise(sig);
}

}  // namespace

void InstallMapFaultHandler(int exit_status) {
  static std::once_flag once;
  std::call_once(once, [exit_status] {
    fault_exit_status = exit_status;
    struct sigaction action = {};
    action.sa_sigaction = OnFault;
    // SA_ONSTACK: on a thread with an alternate stack (sanitizers set one),
    // a stack overflow still reaches the previous handler through us.
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGBUS, &action, &previous_bus);
    ::sigaction(SIGSEGV, &action, &previous_segv);
  });
}

}  // namespace quipu::ledger
