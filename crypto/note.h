// C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys
// (signature type 0x01), byte-compatible with Go's
// golang.org/x/mod/sumdb/note. quipu's checkpoints are signed notes.
//
//   <text, one or more lines, each ending in "\n">
//   "\n"
//   "— " <key name> " " base64(key hash (4 bytes, big-endian) || signature) "\n"
//   ...one or more signature lines
//
// The separator is U+2014 EM DASH then a space. The signature covers the text
// including its final newline but not the blank line. A whole note is valid
// UTF-8 without ASCII control characters other than "\n".
//
// Key strings (one line each):
//   verifier key: <name>+<key hash, 8 hex>+base64(0x01 || public key)
//   private key:  PRIVATE+KEY+<name>+<key hash, 8 hex>+base64(0x01 || seed)
// A key name is non-empty UTF-8 without Unicode white space and without '+'.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/ed25519.h"
#include "crypto/status.h"

namespace quipu::crypto {

// The limit on signature lines OpenNote accepts (the spec requires >= 16).
inline constexpr size_t kMaxNoteSignatures = 100;

// Returns the C2SP key ID of an Ed25519 key: the first 4 bytes, big-endian, of
// SHA-256(name || "\n" || 0x01 || public_key).
uint32_t KeyHash(std::string_view name, std::span<const uint8_t, kEd25519PublicKeySize> public_key);

// Returns true iff `name` is a valid key name (see above).
bool IsValidKeyName(std::string_view name);

// A key that signs notes: a name and an Ed25519 key. Not copyable (it owns a
// secret), movable. Thread-safe for concurrent const use.
class NoteSigner {
 public:
  // Errors: kInvalidArgument (name invalid, key empty).
  static Result<NoteSigner> Create(std::string name, SigningKey key);

  const std::string& name() const { return name_; }
  uint32_t key_hash() const { return key_hash_; }
  const SigningKey& key() const { return key_; }
  Ed25519PublicKey public_key() const { return key_.PublicKey(); }

 private:
  NoteSigner(std::string name, SigningKey key, uint32_t key_hash)
      : name_(std::move(name)), key_(std::move(key)), key_hash_(key_hash) {}

  std::string name_;
  SigningKey key_;
  uint32_t key_hash_;
};

// A public key that checks notes. Copyable value type.
struct NoteVerifier {
  std::string name;
  uint32_t key_hash = 0;
  Ed25519PublicKey public_key{};

  // Errors: kInvalidArgument (name invalid).
  static Result<NoteVerifier> Create(std::string name, const Ed25519PublicKey& public_key);
};

// Returns "<name>+<hash>+<base64(0x01 || public key)>". `name` must be valid.
std::string VerifierKeyString(std::string_view name, const Ed25519PublicKey& public_key);
std::string VerifierKeyString(const NoteVerifier& verifier);

// Parses a verifier key string. Errors (kInvalidArgument, naming the reason):
// not three '+'-separated fields, invalid name, hash not 8 hex digits, bad
// base64, unknown algorithm byte, key not 32 bytes, hash not matching.
Result<NoteVerifier> ParseVerifierKey(std::string_view vkey);

// Returns "PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>": a secret; the
// caller wipes it (sodium_memzero over its bytes) when done. `name` must be
// valid and `key` not empty.
std::string PrivateKeyString(std::string_view name, const SigningKey& key);
std::string PrivateKeyString(const NoteSigner& signer);

// Parses a private key string (as written by PrivateKeyString or Go's
// note.GenerateKey). Errors: kInvalidArgument like ParseVerifierKey, plus a
// missing "PRIVATE+KEY+" prefix; the messages never contain key material.
Result<NoteSigner> ParsePrivateKey(std::string_view skey);

// Reads a key file (see crypto/ed25519.h) into a signer with the file's key
// name. Errors: as LoadSigningKey.
Result<NoteSigner> LoadNoteSigner(const std::string& path);

// Returns the signed note: `text`, a blank line, then one signature line per
// signer in the order given. Errors: kInvalidArgument when the text is empty,
// does not end in "\n", is not valid UTF-8 or holds a control character other
// than "\n"; when there is no signer, a null signer, or two signers with the
// same name and key hash. Thread-safe.
Result<std::string> SignNote(std::string_view text, std::span<const NoteSigner* const> signers);
Result<std::string> SignNote(std::string_view text, const NoteSigner& signer);

// A signature line's key, as named in the note.
struct NoteKeyId {
  std::string name;
  uint32_t key_hash = 0;
  bool operator==(const NoteKeyId&) const = default;
};

// What OpenNote found.
struct OpenedNote {
  std::string text;                   // the signed text, with its final "\n"
  std::vector<NoteKeyId> verified;    // known keys whose signatures checked, note order
  std::vector<NoteKeyId> unverified;  // signatures by keys not in `verifiers`, ignored
};

// Parses `note` and checks every signature whose (name, key hash) matches one
// of `verifiers`; signatures by other keys are ignored (listed in
// `unverified`), as the spec requires, and repeated ones are listed once.
// Errors:
//   kInvalidArgument  malformed note: not valid UTF-8, a control character,
//                     no blank line before the signatures, a malformed
//                     signature line (prefix, name, base64, < 5 bytes), more
//                     than kMaxNoteSignatures signatures; or two verifiers
//                     with the same name and key hash;
//   kCorruption       a signature by a known key fails to verify (the note
//                     was tampered with, or the key is not the one expected);
//   kPermissionDenied the note is well-formed but no known key signed it.
// Thread-safe.
Result<OpenedNote> OpenNote(std::string_view note, std::span<const NoteVerifier> verifiers);

}  // namespace quipu::crypto
