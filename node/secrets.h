// The node's secrets besides its signing key, each a file of mode 0600 in
// the data directory, created on first use:
//   data.key     32 random bytes (hex): seals the private tables' secrets
//                (TOTP keys, notification tokens, queued codes) with
//                XChaCha20-Poly1305
//   admin.token  the token of /v1/admin/... (the node keeps only its hash
//                in memory; compare with CheckAdminToken)
// All are written and read through crypto/secret_file.h: created atomically
// (a crash at first start leaves no file or a whole one), refused when
// group or others may read them or when they are symbolic links.
#pragma once

#include <array>
#include <string>

#include "crypto/encoding.h"
#include "crypto/sha256.h"
#include "crypto/status.h"

namespace quipu::node {

inline constexpr char kDataKeyFile[] = "data.key";
inline constexpr char kAdminTokenFile[] = "admin.token";

struct NodeSecrets {
  std::array<uint8_t, 32> data_key{};
  crypto::Digest admin_token_hash{};
  std::string admin_token_path;
};

// Loads data.key and admin.token from `dir`, creating them when absent
// (`create`; one made by another process meanwhile is kept). Errors:
// crypto::ReadSecretFile's and WriteSecretFile's (kNotFound when absent and
// not `create`, kPermissionDenied, kCorruption for an empty file,
// kInvalidArgument for one that is not a regular file, kIoError), and
// kCorruption naming the file when its content is not a data key (64 hex
// digits) or a token (crypto::DamagedSecretFile).
Result<NodeSecrets> LoadNodeSecrets(const std::string& dir, bool create);

// Reads a file holding a 32-byte key as 64 hex digits and a newline (data.key,
// qr-keys/<id>.key). Errors: as LoadNodeSecrets's.
Result<std::array<uint8_t, 32>> ReadHexKeyFile(const std::string& path);

// Creates `path` with a new random 32-byte key in that form; kAlreadyExists
// if it exists (it is left as it was), kIoError.
Status CreateHexKeyFile(const std::string& path);

// Constant-time check of a presented admin token.
bool CheckAdminToken(const NodeSecrets& secrets, std::string_view presented);

// A new random bearer token: prefix + base64url of 32 random bytes.
std::string NewToken(std::string_view prefix);

// Seals `plaintext` with the data key: hex(nonce || ciphertext). The
// associated data binds it to its purpose (e.g. "totp:<subject key>").
Result<std::string> SealSecret(const std::array<uint8_t, 32>& key, std::string_view plaintext,
                               std::string_view purpose);
// Opens what SealSecret sealed for `purpose`. kCorruption for text that
// is not a sealed secret or does not open with `key` for `purpose`.
Result<std::string> OpenSecret(const std::array<uint8_t, 32>& key, std::string_view sealed_hex,
                               std::string_view purpose);
// The same, as bytes: nonce || ciphertext, for large values (a document's
// content) where hex would double the size.
Result<std::string> SealBytes(const std::array<uint8_t, 32>& key, std::string_view plaintext,
                              std::string_view purpose);
Result<std::string> OpenBytes(const std::array<uint8_t, 32>& key, std::string_view sealed,
                              std::string_view purpose);

}  // namespace quipu::node
