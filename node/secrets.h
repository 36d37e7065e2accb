// The node's secrets besides its signing key, each a file of mode 0600 in
// the data directory, created on first use:
//   data.key     32 random bytes (hex): seals the private tables' secrets
//                (TOTP keys, notification tokens, queued codes) with
//                XChaCha20-Poly1305
//   admin.token  the token of /v1/admin/... (the node keeps only its hash
//                in memory; compare with CheckAdminToken)
// A secret file that others can read is refused.
#pragma once

#include <array>
#include <string>

#include "crypto/encoding.h"
#include "crypto/sha256.h"
#include "crypto/status.h"

namespace quipu::node {

inline constexpr char kDataKeyFile[] = "data.key";
inline constexpr char kAdminTokenFile[] = "admin.token";

// Writes `content` to a new file of mode 0600 (fsynced). kAlreadyExists if
// the file exists.
Status WriteSecretFile(const std::string& path, const std::string& content);
// Reads a secret file; kPermissionDenied if group or others may read it.
Result<std::string> ReadSecretFile(const std::string& path);

struct NodeSecrets {
  std::array<uint8_t, 32> data_key{};
  crypto::Digest admin_token_hash{};
  std::string admin_token_path;
};

// Loads data.key and admin.token from `dir`, creating them when absent
// (`create`), and wipes nothing else. Errors: the files' (see above).
Result<NodeSecrets> LoadNodeSecrets(const std::string& dir, bool create);

// Constant-time check of a presented admin token.
bool CheckAdminToken(const NodeSecrets& secrets, std::string_view presented);

// A new random bearer token: prefix + base64url of 32 random bytes.
std::string NewToken(std::string_view prefix);

// Seals `plaintext` with the data key: hex(nonce || ciphertext). The
// associated data binds it to its purpose (e.g. "totp:<subject key>").
Result<std::string> SealSecret(const std::array<uint8_t, 32>& key, std::string_view plaintext,
                               std::string_view purpose);
Result<std::string> OpenSecret(const std::array<uint8_t, 32>& key, std::string_view sealed_hex,
                               std::string_view purpose);

}  // namespace quipu::node
