// The last line of defence against a damaged ledger file. LMDB maps its
// files and reads them as memory, so damage that the checks at open
// (lmdb_env.h: CheckDataFile, CheckLockFile) cannot see — a page in the
// middle that points past the end, a file truncated while the node runs —
// ends in SIGBUS (or SIGSEGV) instead of an error code. This turns such a
// fault into a one-line reason and a clean exit status.
#pragma once

namespace quipu::ledger {

// Installs, once per process (later calls do nothing), handlers for SIGBUS
// and SIGSEGV. A fault whose address lies in the memory map of an LMDB file
// this process has open writes, with write(2) on stderr,
//   quipu: <file> is damaged (SIGBUS reading the memory map): run quipu audit, restore from a backup
// (for the lock file, which holds no data: stop every process that has the
// ledger open and run the command again)
// and ends the process with _exit(`exit_status`) (no destructors, no
// flushing: the process's memory cannot be trusted; LMDB's last committed
// state on disk is untouched by a process that stops mid-transaction).
// Any other fault, or a signal sent by kill(), goes to the handler that was
// installed before (a sanitizer's) or the default action (a crash with a
// core dump), as if this handler did not exist: real bugs stay visible.
// Call it from main() before opening a ledger; thread-safe.
void InstallMapFaultHandler(int exit_status);

}  // namespace quipu::ledger
