#include "crypto/note.h"

#include <sodium.h>

#include <cstdio>
#include <cstring>

#include "crypto/encoding.h"
#include "crypto/sha256.h"

namespace quipu::crypto {
namespace {

constexpr uint8_t kAlgEd25519 = 0x01;
constexpr std::string_view kSigPrefix = "\xE2\x80\x94 ";  // U+2014 EM DASH, space
constexpr std::string_view kPrivatePrefix = "PRIVATE+KEY+";

// Decodes one UTF-8 code point at s[i], advancing i. Returns -1 for an invalid
// sequence (overlong forms, surrogates, > U+10FFFF, truncation), the same set
// Go's utf8.DecodeRune rejects.
int32_t DecodeRune(std::string_view s, size_t& i) {
  auto b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  size_t len;
  int32_t cp;
  int32_t min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (s.size() - i < len) return -1;
  for (size_t k = 1; k < len; ++k) {
    auto b = static_cast<uint8_t>(s[i + k]);
    if ((b & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  i += len;
  return cp;
}

// Unicode White_Space, the set Go's unicode.IsSpace reports.
bool IsUnicodeSpace(int32_t c) {
  switch (c) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

// Returns an empty string when `s` is valid UTF-8 without ASCII control
// characters other than "\n", or the reason it is not.
std::string CheckNoteBytes(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t at = i;
    int32_t c = DecodeRune(s, i);
    if (c < 0) return "invalid UTF-8 at byte " + std::to_string(at);
    if (c < 0x20 && c != '\n') {
      return "control character " + std::to_string(c) + " at byte " + std::to_string(at);
    }
  }
  return {};
}

std::string Hex8(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

// Splits s at the first '+'; `rest` is empty when there is none.
std::string_view Chop(std::string_view& rest, char sep, bool* found) {
  size_t at = rest.find(sep);
  *found = at != std::string_view::npos;
  std::string_view head = rest.substr(0, at);
  rest = *found ? rest.substr(at + 1) : std::string_view();
  return head;
}

// The fields shared by verifier and private key strings: name+hash+key64,
// with the key decoded and its algorithm byte checked. `what` names the kind
// of string in messages; messages never quote the key data.
struct KeyFields {
  std::string_view name;
  uint32_t hash = 0;
  Bytes key;  // without the algorithm byte
};

Result<KeyFields> ParseKeyFields(std::string_view s, const char* what) {
  bool found;
  KeyFields f;
  f.name = Chop(s, '+', &found);
  if (!found) return InvalidArgument(std::string(what) + ": expected name+hash+key");
  std::string_view hash16 = Chop(s, '+', &found);
  if (!found) return InvalidArgument(std::string(what) + ": expected name+hash+key");
  if (!IsValidKeyName(f.name)) {
    return InvalidArgument(std::string(what) + ": invalid key name");
  }
  if (hash16.size() != 8) return InvalidArgument(std::string(what) + ": key hash is not 8 hex digits");
  for (char c : hash16) {
    int v = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : -1;
    if (v < 0) return InvalidArgument(std::string(what) + ": key hash is not 8 hex digits");
    f.hash = (f.hash << 4) | static_cast<uint32_t>(v);
  }
  Result<Bytes> key = Base64Decode(s);
  if (!key.ok()) return InvalidArgument(std::string(what) + ": key is not valid base64");
  if (key->empty()) return InvalidArgument(std::string(what) + ": key is empty");
  if ((*key)[0] != kAlgEd25519) {
    uint8_t alg = (*key)[0];
    sodium_memzero(key->data(), key->size());
    return InvalidArgument(std::string(what) + ": unknown key algorithm " + std::to_string(alg) +
                           " (only 1, Ed25519, is supported)");
  }
  if (key->size() != 1 + 32) {
    size_t n = key->size() - 1;
    sodium_memzero(key->data(), key->size());
    return InvalidArgument(std::string(what) + ": Ed25519 key must be 32 bytes, got " +
                           std::to_string(n));
  }
  f.key.assign(key->begin() + 1, key->end());
  sodium_memzero(key->data(), key->size());
  return f;
}

std::string KeyIdText(std::string_view name, uint32_t hash) {
  return std::string(name) + "+" + Hex8(hash);
}

}  // namespace

uint32_t KeyHash(std::string_view name,
                 std::span<const uint8_t, kEd25519PublicKeySize> public_key) {
  Sha256Hasher h;
  h.Update(name);
  const uint8_t sep[2] = {'\n', kAlgEd25519};
  h.Update(std::span<const uint8_t>(sep, 2));
  h.Update(public_key);
  Digest d = h.Finish();
  return (uint32_t{d[0]} << 24) | (uint32_t{d[1]} << 16) | (uint32_t{d[2]} << 8) | d[3];
}

bool IsValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size();) {
    int32_t c = DecodeRune(name, i);
    if (c < 0 || c == '+' || IsUnicodeSpace(c)) return false;
  }
  return true;
}

Result<NoteSigner> NoteSigner::Create(std::string name, SigningKey key) {
  if (!IsValidKeyName(name)) {
    return InvalidArgument("invalid note key name: must be non-empty UTF-8 without spaces or '+'");
  }
  if (!key.valid()) return InvalidArgument("note signer " + name + " has an empty key");
  uint32_t hash = KeyHash(name, key.PublicKey());
  return NoteSigner(std::move(name), std::move(key), hash);
}

Result<NoteVerifier> NoteVerifier::Create(std::string name, const Ed25519PublicKey& public_key) {
  if (!IsValidKeyName(name)) {
    return InvalidArgument("invalid note key name: must be non-empty UTF-8 without spaces or '+'");
  }
  NoteVerifier v;
  v.key_hash = KeyHash(name, public_key);
  v.name = std::move(name);
  v.public_key = public_key;
  return v;
}

std::string VerifierKeyString(std::string_view name, const Ed25519PublicKey& public_key) {
  uint8_t raw[1 + kEd25519PublicKeySize];
  raw[0] = kAlgEd25519;
  std::memcpy(raw + 1, public_key.data(), public_key.size());
  return KeyIdText(name, KeyHash(name, public_key)) + "+" + Base64Encode(raw);
}

std::string VerifierKeyString(const NoteVerifier& verifier) {
  return VerifierKeyString(verifier.name, verifier.public_key);
}

Result<NoteVerifier> ParseVerifierKey(std::string_view vkey) {
  QUIPU_ASSIGN_OR_RETURN(KeyFields f, ParseKeyFields(vkey, "verifier key"));
  NoteVerifier v;
  std::memcpy(v.public_key.data(), f.key.data(), v.public_key.size());
  uint32_t expected = KeyHash(f.name, v.public_key);
  if (expected != f.hash) {
    return InvalidArgument("verifier key " + KeyIdText(f.name, f.hash) +
                           ": key hash does not match the name and key (expected " +
                           Hex8(expected) + ")");
  }
  v.name = std::string(f.name);
  v.key_hash = f.hash;
  return v;
}

std::string PrivateKeyString(std::string_view name, const SigningKey& key) {
  uint8_t raw[1 + kEd25519SeedSize];
  raw[0] = kAlgEd25519;
  std::memcpy(raw + 1, key.Seed().data(), kEd25519SeedSize);
  std::string out;
  // Exact size plus one, so a caller appending "\n" does not reallocate and
  // leave a stray copy of the secret in freed memory.
  const size_t b64_size = (sizeof raw + 2) / 3 * 4;
  out.reserve(kPrivatePrefix.size() + name.size() + 1 + 8 + 1 + b64_size + 1);
  out += kPrivatePrefix;
  out += name;
  out += '+';
  out += Hex8(KeyHash(name, key.PublicKey()));
  out += '+';
  std::string b64 = Base64Encode(raw);
  out += b64;
  sodium_memzero(b64.data(), b64.size());
  sodium_memzero(raw, sizeof raw);
  return out;
}

std::string PrivateKeyString(const NoteSigner& signer) {
  return PrivateKeyString(signer.name(), signer.key());
}

Result<NoteSigner> ParsePrivateKey(std::string_view skey) {
  if (skey.substr(0, kPrivatePrefix.size()) != kPrivatePrefix) {
    return InvalidArgument("private key: does not start with PRIVATE+KEY+");
  }
  skey.remove_prefix(kPrivatePrefix.size());
  QUIPU_ASSIGN_OR_RETURN(KeyFields f, ParseKeyFields(skey, "private key"));
  Result<SigningKey> key = SigningKey::FromSeed(f.key);
  sodium_memzero(f.key.data(), f.key.size());
  if (!key.ok()) return key.status();
  uint32_t expected = KeyHash(f.name, key->PublicKey());
  if (expected != f.hash) {
    return InvalidArgument("private key " + KeyIdText(f.name, f.hash) +
                           ": key hash does not match the name and the key's public key");
  }
  return NoteSigner::Create(std::string(f.name), std::move(*key));
}

Result<NoteSigner> LoadNoteSigner(const std::string& path) {
  std::string name;
  QUIPU_ASSIGN_OR_RETURN(SigningKey key, LoadSigningKey(path, &name));
  return NoteSigner::Create(std::move(name), std::move(key));
}

Result<std::string> SignNote(std::string_view text, std::span<const NoteSigner* const> signers) {
  if (text.empty()) return InvalidArgument("note text is empty");
  if (text.back() != '\n') return InvalidArgument("note text does not end in a newline");
  if (std::string why = CheckNoteBytes(text); !why.empty()) {
    return InvalidArgument("note text: " + why);
  }
  if (signers.empty()) return InvalidArgument("a note needs at least one signer");
  size_t size = text.size() + 1;
  for (size_t i = 0; i < signers.size(); ++i) {
    if (signers[i] == nullptr) return InvalidArgument("note signer " + std::to_string(i) + " is null");
    for (size_t j = 0; j < i; ++j) {
      if (signers[j]->name() == signers[i]->name() &&
          signers[j]->key_hash() == signers[i]->key_hash()) {
        return InvalidArgument("note signer " + KeyIdText(signers[i]->name(), signers[i]->key_hash()) +
                               " is given twice");
      }
    }
    // prefix, name, space, base64 of 4 + 64 bytes (92 chars), newline
    size += kSigPrefix.size() + signers[i]->name().size() + 1 + 92 + 1;
  }

  std::string note;
  note.reserve(size);
  note += text;
  note += '\n';
  uint8_t raw[4 + kEd25519SignatureSize];
  for (const NoteSigner* s : signers) {
    uint32_t h = s->key_hash();
    raw[0] = static_cast<uint8_t>(h >> 24);
    raw[1] = static_cast<uint8_t>(h >> 16);
    raw[2] = static_cast<uint8_t>(h >> 8);
    raw[3] = static_cast<uint8_t>(h);
    Ed25519Signature sig = s->key().Sign(text);
    std::memcpy(raw + 4, sig.data(), sig.size());
    note += kSigPrefix;
    note += s->name();
    note += ' ';
    note += Base64Encode(raw);
    note += '\n';
  }
  return note;
}

Result<std::string> SignNote(std::string_view text, const NoteSigner& signer) {
  const NoteSigner* one[1] = {&signer};
  return SignNote(text, std::span<const NoteSigner* const>(one));
}

Result<OpenedNote> OpenNote(std::string_view note, std::span<const NoteVerifier> verifiers) {
  for (size_t i = 0; i < verifiers.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (verifiers[i].name == verifiers[j].name && verifiers[i].key_hash == verifiers[j].key_hash) {
        return InvalidArgument("ambiguous verifiers: two keys named " +
                               KeyIdText(verifiers[i].name, verifiers[i].key_hash));
      }
    }
  }
  if (std::string why = CheckNoteBytes(note); !why.empty()) {
    return InvalidArgument("malformed note: " + why);
  }
  // The text ends at the last blank line: signature lines are never empty.
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) {
    return InvalidArgument("malformed note: no blank line before the signatures");
  }
  std::string_view text = note.substr(0, split + 1);
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty()) return InvalidArgument("malformed note: no signature lines");
  if (sigs.back() != '\n') {
    return InvalidArgument("malformed note: last signature line does not end in a newline");
  }

  OpenedNote out;
  size_t count = 0;
  while (!sigs.empty()) {
    size_t nl = sigs.find('\n');  // found: sigs ends in '\n'
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    ++count;
    if (count > kMaxNoteSignatures) {
      return InvalidArgument("malformed note: more than " + std::to_string(kMaxNoteSignatures) +
                             " signatures");
    }
    const std::string where = "malformed note: signature line " + std::to_string(count);
    if (line.substr(0, kSigPrefix.size()) != kSigPrefix) {
      return InvalidArgument(where + " does not start with an em dash and a space");
    }
    line.remove_prefix(kSigPrefix.size());
    size_t space = line.find(' ');
    if (space == std::string_view::npos) return InvalidArgument(where + " has no signature");
    std::string_view name = line.substr(0, space);
    std::string_view b64 = line.substr(space + 1);
    if (!IsValidKeyName(name)) return InvalidArgument(where + " has an invalid key name");
    Result<Bytes> raw = Base64Decode(b64);
    if (!raw.ok()) return InvalidArgument(where + ": signature is not valid base64");
    if (raw->size() < 5) return InvalidArgument(where + ": signature is too short");
    uint32_t hash = (uint32_t{(*raw)[0]} << 24) | (uint32_t{(*raw)[1]} << 16) |
                    (uint32_t{(*raw)[2]} << 8) | (*raw)[3];

    const NoteVerifier* verifier = nullptr;
    for (const NoteVerifier& v : verifiers) {
      if (v.key_hash == hash && v.name == name) {
        verifier = &v;
        break;
      }
    }
    auto listed = [&](const std::vector<NoteKeyId>& ids) {
      for (const NoteKeyId& id : ids) {
        if (id.key_hash == hash && id.name == name) return true;
      }
      return false;
    };
    if (verifier == nullptr) {
      // The spec: unknown keys are ignored, even if they share a name or a
      // hash (but not both) with a known key.
      if (!listed(out.unverified)) out.unverified.push_back({std::string(name), hash});
      continue;
    }
    // A known key's signature is always checked, repeated or not.
    std::span<const uint8_t> sig(raw->data() + 4, raw->size() - 4);
    if (!VerifyEd25519(verifier->public_key, AsBytes(text), sig)) {
      return Corruption("note signature by " + KeyIdText(name, hash) +
                        " does not verify: the note was altered or signed by another key");
    }
    if (!listed(out.verified)) out.verified.push_back({std::string(name), hash});
  }
  if (out.verified.empty()) {
    return PermissionDenied("note has no signature by a known key (" +
                            std::to_string(out.unverified.size()) + " by unknown keys)");
  }
  out.text = std::string(text);
  return out;
}

}  // namespace quipu::crypto
