// crypto/secret_file.h: mode 0600 whatever the umask, symbolic links and
// group-readable files refused, no overwrite unless asked, no temporary
// file left by a failure, and (crash safety) a writer killed with SIGKILL
// at random moments never leaves an empty or partial file at the target.
#include "crypto/secret_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "tests/common/process.h"

namespace quipu::crypto {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::ReadFile;
using testing::TempDir;

size_t FilesIn(const TempDir& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()));
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(SecretFile, WrittenWithMode0600WhateverTheUmaskAndReadBack) {
  TempDir dir;
  int i = 0;
  for (mode_t mask : {0000, 0022, 0077, 0777}) {
    const std::string path = dir.File("secret" + std::to_string(i++));
    const mode_t old = ::umask(mask);
    Status s = WriteSecretFile(path, "hunter2\n", SecretFileOverwrite::kRefuse);
    ::umask(old);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(ModeOf(path), 0600u) << "umask " << std::oct << mask;
    auto text = ReadSecretFile(path, 64);
    ASSERT_TRUE(text.ok()) << text.status().ToString();
    EXPECT_EQ(text->view(), "hunter2\n");
    EXPECT_EQ(text->line(), "hunter2");
  }
  // Any bytes, as written; no temporary file beside them.
  const std::string bytes("\x00\x01\xff\n\r\nend\r\n", 11);
  ASSERT_TRUE(WriteSecretFile(dir.File("bytes"), bytes, SecretFileOverwrite::kRefuse).ok());
  auto text = ReadSecretFile(dir.File("bytes"), 11);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->view(), bytes);
  EXPECT_EQ(text->line(), bytes.substr(0, 9));
  EXPECT_EQ(FilesIn(dir), 5u);
}

TEST(SecretFile, RefusesToOverwriteUnlessAsked) {
  TempDir dir;
  const std::string path = dir.File("data.key");
  ASSERT_TRUE(WriteSecretFile(path, "first\n", SecretFileOverwrite::kRefuse).ok());
  Status again = WriteSecretFile(path, "second\n", SecretFileOverwrite::kRefuse);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();
  EXPECT_THAT(again.message(), HasSubstr(path));
  EXPECT_EQ(ReadFile(path), "first\n");
  EXPECT_EQ(FilesIn(dir), 1u) << "the temporary file of the refused write is gone";
  ASSERT_TRUE(WriteSecretFile(path, "second\n", SecretFileOverwrite::kReplace).ok());
  EXPECT_EQ(ReadFile(path), "second\n");
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(FilesIn(dir), 1u);
}

// ------------------------------------------------------------- error paths

TEST(SecretFile, RefusesSymbolicLinks) {
  TempDir dir;
  const std::string real = dir.File("real.key"), link = dir.File("link.key");
  ASSERT_TRUE(WriteSecretFile(real, "secret\n", SecretFileOverwrite::kRefuse).ok());
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  auto read = ReadSecretFile(link, 64);
  EXPECT_EQ(read.status().code(), StatusCode::kPermissionDenied) << read.status().ToString();
  EXPECT_THAT(read.status().message(), HasSubstr("symbolic link"));
  // Writing never goes through the link: refused, or the link itself replaced.
  EXPECT_EQ(WriteSecretFile(link, "other\n", SecretFileOverwrite::kRefuse).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadFile(real), "secret\n");
  ASSERT_TRUE(WriteSecretFile(link, "other\n", SecretFileOverwrite::kReplace).ok());
  EXPECT_EQ(ReadFile(real), "secret\n");
  EXPECT_FALSE(fs::is_symlink(link));
  EXPECT_EQ(ReadFile(link), "other\n");
}

TEST(SecretFile, RefusesFilesOthersMayReadOrWrite) {
  TempDir dir;
  const std::string path = dir.File("admin.token");
  ASSERT_TRUE(WriteSecretFile(path, "qa_token_token_token\n", SecretFileOverwrite::kRefuse).ok());
  for (mode_t mode : {0640, 0604, 0620, 0602, 0644, 0666}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto read = ReadSecretFile(path, 64);
    EXPECT_EQ(read.status().code(), StatusCode::kPermissionDenied) << std::oct << mode;
    EXPECT_THAT(read.status().message(), HasSubstr("chmod 600 " + path));
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);  // stricter is fine
  EXPECT_TRUE(ReadSecretFile(path, 64).ok());
}

TEST(SecretFile, EmptyTooLargeMissingOrNotAFile) {
  TempDir dir;
  const std::string empty = dir.File("empty.key");
  testing::WriteFile(empty, "");
  ASSERT_EQ(::chmod(empty.c_str(), 0600), 0);
  auto r = ReadSecretFile(empty, 64);
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(r.status().message(), HasSubstr(empty + " is empty"));
  EXPECT_THAT(r.status().message(), HasSubstr("restore it from a backup"));

  const std::string large = dir.File("large.key");
  testing::WriteFile(large, std::string(65, 'a'));
  ASSERT_EQ(::chmod(large.c_str(), 0600), 0);
  EXPECT_EQ(ReadSecretFile(large, 64).status().code(), StatusCode::kCorruption);
  EXPECT_TRUE(ReadSecretFile(large, 65).ok());

  EXPECT_EQ(ReadSecretFile(dir.File("absent"), 64).status().code(), StatusCode::kNotFound);
  fs::create_directory(dir.path() / "sub");
  ::chmod(dir.File("sub").c_str(), 0700);
  EXPECT_EQ(ReadSecretFile(dir.File("sub"), 64).status().code(), StatusCode::kInvalidArgument);

  Status damaged = DamagedSecretFile(large, 65, "64 hex digits");
  EXPECT_EQ(damaged.code(), StatusCode::kCorruption);
  EXPECT_THAT(damaged.message(), HasSubstr(large + " (65 bytes) does not hold 64 hex digits"));
  EXPECT_THAT(damaged.message(), HasSubstr("truncated"));
}

TEST(SecretFile, AFailedWriteLeavesNoFileBehind) {
  TempDir dir;
  EXPECT_EQ(WriteSecretFile(dir.File("no/such/dir/x.key"), "x", SecretFileOverwrite::kRefuse).code(),
            StatusCode::kIoError);
  // A write that fails halfway (the file size limit: EFBIG), in a child.
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{16, 16};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    Status s = WriteSecretFile(dir.File("big.key"), std::string(4096, 's'), SecretFileOverwrite::kRefuse);
    ::_exit(s.code() == StatusCode::kIoError ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the write did not fail with kIoError";
  EXPECT_EQ(FilesIn(dir), 0u) << "neither the target nor the temporary file remains";
}

// A writer killed with SIGKILL at a random moment: the target is absent or
// whole (either version when replacing), never empty or partial. Temporary
// files a kill leaves are removed between rounds.
TEST(SecretFile, KilledWriterNeverLeavesAnEmptyOrPartialFile) {
  TempDir dir;
  const std::string a(256 * 1024, 'a'), b(256 * 1024, 'b');
  std::mt19937 rng(20261202);
  int absent = 0, whole = 0;
  for (int round = 0; round < 40; ++round) {
    const bool replace = round % 2 == 1;
    const std::string path = dir.File("secret" + std::to_string(round));
    const pid_t pid = ::fork();
    if (pid == 0) {
      // Creating once, or replacing again and again until killed.
      for (int i = 0;; ++i) {
        Status s = WriteSecretFile(path, i % 2 ? b : a,
                                   replace ? SecretFileOverwrite::kReplace : SecretFileOverwrite::kRefuse);
        if (!s.ok() || !replace) ::_exit(0);
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 6000));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    SCOPED_TRACE("round " + std::to_string(round));
    if (fs::exists(path)) {
      ++whole;
      const std::string content = ReadFile(path);
      EXPECT_TRUE(content == a || (replace && content == b)) << content.size() << " bytes";
      EXPECT_EQ(ModeOf(path), 0600u);
    } else {
      ++absent;
    }
    for (const auto& f : fs::directory_iterator(dir.path())) {
      if (f.path().filename().string().find(".tmp-") != std::string::npos) fs::remove(f.path());
    }
  }
  // Both outcomes happened, or the kills were not at random moments.
  EXPECT_GT(whole, 0);
  EXPECT_GT(absent, 0);
}

}  // namespace
}  // namespace quipu::crypto
