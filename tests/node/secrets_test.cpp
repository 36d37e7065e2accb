// The node's secret files (data.key, admin.token, qr-keys/<id>.key) through
// crypto/secret_file.h: made once with mode 0600 and kept, and a file a
// crash left empty or cut short (before they were written atomically) is a
// clear error naming it, not a parse error.
#include "node/secrets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "node/qr_service.h"
#include "tests/common/process.h"

namespace quipu::node {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::ReadFile;
using testing::TempDir;

TEST(NodeSecrets, MadeOnceWithMode0600AndKept) {
  TempDir dir;
  const std::string d = dir.path().string();
  auto first = LoadNodeSecrets(d, /*create=*/true);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  for (const char* name : {kDataKeyFile, kAdminTokenFile}) {
    struct stat st;
    ASSERT_EQ(::stat((d + "/" + name).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u) << name;
  }
  const std::string token = ReadFile(d + "/" + kAdminTokenFile);
  auto again = LoadNodeSecrets(d, /*create=*/true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->data_key, first->data_key);
  EXPECT_EQ(ReadFile(d + "/" + kAdminTokenFile), token);
  EXPECT_TRUE(CheckAdminToken(*again, token.substr(0, token.size() - 1)));
  EXPECT_FALSE(CheckAdminToken(*again, "qa_wrong"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 2);

  auto id = RotateQrKey(d);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto ring = LoadQrKeys(d, /*create=*/false);
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  EXPECT_EQ(ring->newest(), *id);
  auto key = ReadHexKeyFile(d + "/qr-keys/" + std::to_string(*id) + ".key");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(ring->keys.at(*id), *key);
}

// ------------------------------------------------------------- error paths

// What a crash during the old, non-atomic first start could leave.
TEST(NodeSecrets, EmptyOrCutShortFilesNameTheFile) {
  for (const char* name : {kDataKeyFile, kAdminTokenFile}) {
    for (bool empty : {true, false}) {
      SCOPED_TRACE(std::string(name) + (empty ? " empty" : " cut short"));
      TempDir dir;
      const std::string d = dir.path().string();
      ASSERT_TRUE(LoadNodeSecrets(d, /*create=*/true).ok());
      const std::string path = d + "/" + name;
      ASSERT_EQ(::truncate(path.c_str(), empty ? 0 : 10), 0);
      auto s = LoadNodeSecrets(d, /*create=*/true);
      ASSERT_FALSE(s.ok());
      EXPECT_EQ(s.status().code(), StatusCode::kCorruption) << s.status().ToString();
      EXPECT_THAT(s.status().message(), HasSubstr(path));
      EXPECT_THAT(s.status().message(), HasSubstr(empty ? "is empty" : "truncated"));
      EXPECT_THAT(s.status().message(), HasSubstr("restore it from a backup"));
      // Never quietly replaced: what sealed the private tables stays.
      EXPECT_EQ(fs::file_size(path), empty ? 0u : 10u);
    }
  }
  TempDir dir;
  const std::string d = dir.path().string();
  ASSERT_TRUE(RotateQrKey(d).ok());
  ASSERT_EQ(::truncate((d + "/qr-keys/1.key").c_str(), 0), 0);
  auto ring = LoadQrKeys(d, /*create=*/true);
  EXPECT_EQ(ring.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(ring.status().message(), HasSubstr("qr-keys/1.key is empty"));
}

TEST(NodeSecrets, RefusedWhenOthersMayReadOrALinkStandsInstead) {
  TempDir dir;
  const std::string d = dir.path().string();
  ASSERT_TRUE(LoadNodeSecrets(d, /*create=*/true).ok());
  const std::string key = d + "/" + kDataKeyFile;
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  auto readable = LoadNodeSecrets(d, /*create=*/true);
  EXPECT_EQ(readable.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(readable.status().message(), HasSubstr("chmod 600 " + key));
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  fs::rename(key, d + "/elsewhere.key");
  ASSERT_EQ(::symlink((d + "/elsewhere.key").c_str(), key.c_str()), 0);
  auto linked = LoadNodeSecrets(d, /*create=*/true);
  EXPECT_EQ(linked.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(linked.status().message(), HasSubstr("symbolic link"));
}

}  // namespace
}  // namespace quipu::node
