// Go's golang.org/x/mod/sumdb/note (code nobody here wrote) as a command:
// tests/interop/note, built once per test process with Debian's Go and
// golang-golang-x-mod-dev into the build directory.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/common/process.h"

namespace quipu::testing {

// The note_interop binary (usage in tests/interop/note/main.go), or "" with
// *error saying why it could not be built. The Go build cache lives under
// the build directory, so later runs are quick; the binary is built under a
// temporary name and renamed, so parallel test processes never run a
// half-written one.
inline const std::string& GoNoteInterop(std::string* error) {
  static std::string binary;
  static std::string build_error;
  static bool done = false;
  if (!done) {
    done = true;
    std::string go;
    for (const char* p : {"/usr/bin/go", "/usr/lib/go/bin/go", "/usr/local/go/bin/go"}) {
      if (::access(p, X_OK) == 0) {
        go = p;
        break;
      }
    }
    if (go.empty()) {
      build_error = "go not found: install Debian golang-go and golang-golang-x-mod-dev";
    } else {
      const std::string build = QUIPU_BUILD_DIR;
      const std::string out = build + "/interop/note_interop";
      const std::string tmp = out + ".tmp" + std::to_string(::getpid());
      std::filesystem::create_directories(build + "/interop");
      const std::string cmd = "cd " + ShellQuote(QUIPU_SOURCE_DIR) +
                              " && GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE=" +
                              ShellQuote(build + "/go-cache") + " " + ShellQuote(go) + " build -o " +
                              ShellQuote(tmp) + " ./tests/interop/note 2>" + ShellQuote(tmp + ".log");
      if (std::system(cmd.c_str()) != 0 || std::rename(tmp.c_str(), out.c_str()) != 0) {
        build_error = "go build of tests/interop/note failed: " + ReadFile(tmp + ".log");
      } else {
        binary = out;
      }
      std::filesystem::remove(tmp + ".log");
    }
  }
  *error = build_error;
  return binary;
}

}  // namespace quipu::testing
