// C2SP signed notes: fixed vectors from Go's golang.org/x/mod/sumdb/note,
// round trips, live interop with that Go package, and malformed notes.
#include "crypto/note.h"
#include "crypto/cosignature.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "tests/common/go_interop.h"

namespace quipu::crypto {
namespace {

namespace fs = std::filesystem;

// From the documentation and tests of golang.org/x/mod/sumdb/note.
constexpr std::string_view kPeterVkey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view kPeterSkey =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr std::string_view kEnochVkey =
    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
constexpr std::string_view kText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view kPeterSig =
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
constexpr std::string_view kEnochSig =
    "\xE2\x80\x94 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

std::string PeterNote() { return std::string(kText) + "\n" + std::string(kPeterSig); }

NoteVerifier MustVerifier(std::string_view vkey) {
  Result<NoteVerifier> v = ParseVerifierKey(vkey);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : NoteVerifier{};
}

NoteSigner NewSigner(std::string name) {
  Result<NoteSigner> s = NoteSigner::Create(std::move(name), SigningKey::Generate());
  EXPECT_TRUE(s.ok());
  return std::move(s).value();
}

NoteVerifier VerifierOf(const NoteSigner& s) {
  Result<NoteVerifier> v = NoteVerifier::Create(s.name(), s.public_key());
  EXPECT_TRUE(v.ok());
  return *v;
}

// ------------------------------------------------ vectors from Go's package

TEST(NoteVectorTest, KeyStringsAndKeyHash) {
  NoteVerifier peter = MustVerifier(kPeterVkey);
  EXPECT_EQ(peter.name, "PeterNeumann");
  EXPECT_EQ(peter.key_hash, 0xc74f20a3u);
  EXPECT_EQ(KeyHash(peter.name, peter.public_key), 0xc74f20a3u);
  EXPECT_EQ(VerifierKeyString(peter), kPeterVkey);
  EXPECT_EQ(KeyHash("EnochRoot", MustVerifier(kEnochVkey).public_key), 0xaf0cfe78u);

  Result<NoteSigner> signer = ParsePrivateKey(kPeterSkey);
  ASSERT_TRUE(signer.ok()) << signer.status().ToString();
  EXPECT_EQ(signer->name(), "PeterNeumann");
  EXPECT_EQ(signer->key_hash(), 0xc74f20a3u);
  EXPECT_EQ(signer->public_key(), peter.public_key);
  EXPECT_EQ(PrivateKeyString(*signer), kPeterSkey);
}

TEST(NoteVectorTest, SignReproducesGoNoteExactly) {
  Result<NoteSigner> signer = ParsePrivateKey(kPeterSkey);
  ASSERT_TRUE(signer.ok());
  Result<std::string> note = SignNote(kText, *signer);
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  EXPECT_EQ(*note, PeterNote());  // Ed25519 is deterministic: byte for byte
}

TEST(NoteVectorTest, OpenGoNote) {
  NoteVerifier peter = MustVerifier(kPeterVkey);
  Result<OpenedNote> opened = OpenNote(PeterNote(), {&peter, 1});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->text, kText);
  ASSERT_EQ(opened->verified.size(), 1u);
  EXPECT_EQ(opened->verified[0], (NoteKeyId{"PeterNeumann", 0xc74f20a3}));
  EXPECT_TRUE(opened->unverified.empty());
}

TEST(NoteVectorTest, DoublySignedGoNote) {
  const std::string note = std::string(kText) + "\n" + std::string(kPeterSig) + std::string(kEnochSig);
  NoteVerifier peter = MustVerifier(kPeterVkey), enoch = MustVerifier(kEnochVkey);

  // One known key: the other signature is ignored but reported.
  Result<OpenedNote> one = OpenNote(note, {&peter, 1});
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->verified, (std::vector<NoteKeyId>{{"PeterNeumann", 0xc74f20a3}}));
  EXPECT_EQ(one->unverified, (std::vector<NoteKeyId>{{"EnochRoot", 0xaf0cfe78}}));

  std::vector<NoteVerifier> both = {enoch, peter};
  Result<OpenedNote> two = OpenNote(note, both);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->verified, (std::vector<NoteKeyId>{{"PeterNeumann", 0xc74f20a3},
                                                   {"EnochRoot", 0xaf0cfe78}}));
  EXPECT_TRUE(two->unverified.empty());

  // A repeated signature is listed once.
  Result<OpenedNote> rep = OpenNote(note + std::string(kPeterSig), {&peter, 1});
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->verified.size(), 1u);
}

// ----------------------------------------------------------- round trips

TEST(NoteTest, RoundTripWithSeveralSigners) {
  NoteSigner a = NewSigner("quipu.example/log");
  NoteSigner b = NewSigner("witness.example/w1");
  const NoteSigner* signers[] = {&a, &b};
  const std::string texts[] = {
      "quipu.example/log\n12345\nq2ZG3QiZrk3ePd5N3bmvQYXlpXdOzsKFwVVSAspQsGk=\n",
      "\n",                                   // just a newline
      "a\n\nb\n",                             // an empty line inside the text
      "trailing blank line\n\n",              // the text may end in an empty line
      "UTF-8: A\xC3\xB1 \xE2\x80\x94 \xF0\x9F\x8C\xBD del \x7F\n",  // non-ASCII and DEL
  };
  std::vector<NoteVerifier> verifiers = {VerifierOf(a), VerifierOf(b)};
  for (const std::string& text : texts) {
    SCOPED_TRACE(text);
    Result<std::string> note = SignNote(text, signers);
    ASSERT_TRUE(note.ok()) << note.status().ToString();
    Result<OpenedNote> opened = OpenNote(*note, verifiers);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(opened->text, text);
    EXPECT_EQ(opened->verified, (std::vector<NoteKeyId>{{a.name(), a.key_hash()},
                                                       {b.name(), b.key_hash()}}));
    // Either key alone suffices.
    EXPECT_TRUE(OpenNote(*note, {&verifiers[1], 1}).ok());
  }
}

TEST(NoteTest, VerifierKeyStringRoundTrip) {
  for (int i = 0; i < 20; ++i) {
    NoteSigner s = NewSigner("log" + std::to_string(i) + ".example/\xC3\xB1");
    std::string vkey = VerifierKeyString(s.name(), s.public_key());
    Result<NoteVerifier> v = ParseVerifierKey(vkey);
    ASSERT_TRUE(v.ok()) << vkey;
    EXPECT_EQ(v->name, s.name());
    EXPECT_EQ(v->key_hash, s.key_hash());
    EXPECT_EQ(v->public_key, s.public_key());

    std::string skey = PrivateKeyString(s);
    Result<NoteSigner> back = ParsePrivateKey(skey);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->public_key(), s.public_key());
    EXPECT_EQ(back->key_hash(), s.key_hash());
  }
}

// ------------------------------------------- live interop with Go's package

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "quipu-note-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    if (!path_.empty()) fs::remove_all(path_);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

const std::string& InteropBinary(std::string* error) { return testing::GoNoteInterop(error); }

struct ProcessResult {
  int exit_code = -1;
  std::string out, err;
};

ProcessResult RunInterop(const std::string& args, const std::string& input, const fs::path& dir) {
  std::string error;
  const std::string& bin = InteropBinary(&error);
  ProcessResult r;
  if (bin.empty()) {
    r.err = error;
    return r;
  }
  const fs::path in = dir / "stdin", out = dir / "stdout", err = dir / "stderr";
  std::ofstream(in, std::ios::binary) << input;
  std::string cmd = Quote(bin) + " " + args + " <" + Quote(in) + " >" + Quote(out) + " 2>" +
                    Quote(err);
  int status = std::system(cmd.c_str());
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  return r;
}

TEST(NoteInteropTest, GoVerifiesQuipuNotes) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  NoteSigner s = NewSigner("quipu.example/log");
  const std::string vkey = VerifierKeyString(s.name(), s.public_key());
  const std::string text = "quipu.example/log\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
  Result<std::string> note = SignNote(text, s);
  ASSERT_TRUE(note.ok());

  ProcessResult ok = RunInterop("verify " + Quote(vkey), *note, dir.path());
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, text);
  EXPECT_NE(ok.err.find("verified quipu.example/log+"), std::string::npos) << ok.err;

  // The same Go verifier rejects a tampered quipu note (so the check can fail).
  std::string tampered = *note;
  tampered[text.size() - 3] ^= 0x01;
  ProcessResult bad = RunInterop("verify " + Quote(vkey), tampered, dir.path());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("invalid signature"), std::string::npos) << bad.err;
}

TEST(NoteInteropTest, QuipuOpensGoSignedNotesWithQuipuKeyFile) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  // quipu generates and saves the key; Go's note.NewSigner reads the file.
  const std::string key_path = (dir.path() / "node.key").string();
  SigningKey key = SigningKey::Generate();
  ASSERT_TRUE(SaveSigningKey(key_path, key, "quipu.example/log").ok());
  Result<NoteSigner> signer = LoadNoteSigner(key_path);
  ASSERT_TRUE(signer.ok()) << signer.status().ToString();
  NoteVerifier verifier = VerifierOf(*signer);

  const std::string text = "quipu.example/log\n7\nsigned by Go \xE2\x9C\x93\n";
  ProcessResult go = RunInterop("sign " + Quote(key_path), text, dir.path());
  ASSERT_EQ(go.exit_code, 0) << go.err;
  Result<OpenedNote> opened = OpenNote(go.out, {&verifier, 1});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString() << "\n" << go.out;
  EXPECT_EQ(opened->text, text);
  EXPECT_EQ(opened->verified, (std::vector<NoteKeyId>{{"quipu.example/log", verifier.key_hash}}));
  // Same key, same text, deterministic Ed25519: the very same bytes.
  Result<std::string> ours = SignNote(text, *signer);
  ASSERT_TRUE(ours.ok());
  EXPECT_EQ(*ours, go.out);
}

// ------------------------------------------------------------ error paths

TEST(NoteErrorTest, BadVerifierKeys) {
  const std::string good(kPeterVkey);
  const std::string bad[] = {
      "",
      "PeterNeumann",
      "PeterNeumann+c74f20a3",                                   // no key
      "PeterNeumann+c74f20a3+",                                  // empty key
      "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  // empty name
      "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  // space
      "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",   // wrong hash
      "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",    // 7 digits
      "PeterNeumann+c74f20a3a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  // 9 digits
      "PeterNeumann+g74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",   // not hex
      "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",    // bad base64
      "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T!",   // bad base64
      "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",   // algorithm 2
      "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy",       // 31-byte key
      "Peter\xFFNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  // bad UTF-8
      "Peter\xC2\xA0Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  // NBSP
      std::string(kPeterSkey),                                   // a private key
  };
  for (const std::string& vkey : bad) {
    Result<NoteVerifier> v = ParseVerifierKey(vkey);
    EXPECT_FALSE(v.ok()) << vkey;
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument) << vkey;
  }
  Result<NoteVerifier> wrong_hash = ParseVerifierKey(
      "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  EXPECT_NE(wrong_hash.status().message().find("does not match"), std::string::npos);
  // Upper-case hex digits are accepted, as Go does.
  EXPECT_TRUE(ParseVerifierKey("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").ok());
  EXPECT_TRUE(ParseVerifierKey(good).ok());
}

TEST(NoteErrorTest, BadPrivateKeys) {
  const std::string bad[] = {
      std::string(kPeterVkey),  // a public key
      "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",  // hash
      "PRIVATE+KEY+PaulNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",   // name
      "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDF",   // b64
      "PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",  // alg
      "private+key+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",  // case
  };
  for (const std::string& skey : bad) {
    Result<NoteSigner> s = ParsePrivateKey(skey);
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << skey;
    EXPECT_EQ(s.status().message().find("AYEKFALV"), std::string::npos) << "leaks key";
  }
}

TEST(NoteErrorTest, SignRejectsBadTextAndSigners) {
  NoteSigner s = NewSigner("log");
  for (std::string_view text : {std::string_view(""), std::string_view("no newline"),
                                std::string_view("tab\there\n"), std::string_view("cr\r\n"),
                                std::string_view("nul\0x\n", 6), std::string_view("bad \xFF utf8\n"),
                                std::string_view("surrogate \xED\xA0\x80\n"),
                                std::string_view("overlong \xC0\xAF\n")}) {
    Result<std::string> note = SignNote(text, s);
    EXPECT_EQ(note.status().code(), StatusCode::kInvalidArgument) << text;
  }
  EXPECT_EQ(SignNote("x\n", std::span<const NoteSigner* const>()).status().code(),
            StatusCode::kInvalidArgument);
  const NoteSigner* twice[] = {&s, &s};
  EXPECT_EQ(SignNote("x\n", twice).status().code(), StatusCode::kInvalidArgument);
  const NoteSigner* null[] = {nullptr};
  EXPECT_EQ(SignNote("x\n", null).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NoteSigner::Create("a b", SigningKey::Generate()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(NoteSigner::Create("", SigningKey::Generate()).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(NoteErrorTest, MalformedNotes) {
  NoteVerifier peter = MustVerifier(kPeterVkey);
  const std::string text(kText), sig(kPeterSig);
  const std::string nosig_line = sig.substr(0, sig.size() - 1);
  const std::string bad[] = {
      text,                                         // no signatures at all
      text + "\n",                                  // blank line, no signature lines
      text + sig,                                   // no blank line before the signatures
      text + "\n" + nosig_line,                     // last line without newline
      "\x01" + text + "\n" + sig,                   // control character
      "\xFF" + text + "\n" + sig,                   // invalid UTF-8
      text + "\r\n" + sig,                          // CR
      text + "\n" + "- PeterNeumann " + sig.substr(sig.find(' ', 4) + 1),      // ASCII dash
      text + "\n" + "\xE2\x80\x94PeterNeumann " + sig.substr(sig.find(' ', 4) + 1),  // no space
      text + "\n" + "\xE2\x80\x94 Bad Name " + sig.substr(sig.find(' ', 4) + 1),     // name
      text + "\n" + "\xE2\x80\x94 PeterNeumann\n",                              // no signature
      text + "\n" + "\xE2\x80\x94 PeterNeumann \n",                             // empty sig
      text + "\n" + "\xE2\x80\x94 PeterNeumann AAAA\n",                         // 3 bytes
      text + "\n" + "\xE2\x80\x94 PeterNeumann x08go/ZJ!!BS9UG\n",              // bad base64
      text + "\n" + "\xE2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/S\n",            // bad padding
      text + "\n" + "\xE2\x80\x94 a+b " + sig.substr(sig.find(' ', 4) + 1),     // '+' in name
      text + "\n" + sig + "Unexpected line.\n",                                 // trailing text
  };
  int i = 0;
  for (const std::string& note : bad) {
    SCOPED_TRACE("case " + std::to_string(i++));
    Result<OpenedNote> r = OpenNote(note, {&peter, 1});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
    EXPECT_NE(r.status().message().find("malformed note"), std::string::npos);
  }
}

TEST(NoteErrorTest, TooManySignatures) {
  NoteVerifier peter = MustVerifier(kPeterVkey);
  std::string note = std::string(kText) + "\n";
  for (size_t i = 0; i < kMaxNoteSignatures; ++i) note += kPeterSig;
  EXPECT_TRUE(OpenNote(note, {&peter, 1}).ok());  // exactly the limit
  note += kEnochSig;
  Result<OpenedNote> r = OpenNote(note, {&peter, 1});
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("more than 100"), std::string::npos);
}

TEST(NoteErrorTest, TamperedNotesFailWithCorruption) {
  NoteVerifier peter = MustVerifier(kPeterVkey);
  const std::string note = PeterNote();
  // Every single-bit change of the text (that keeps it well-formed) is caught.
  for (size_t i = 0; i + 1 < kText.size(); ++i) {
    std::string t = note;
    t[i] ^= 0x20;
    if (static_cast<unsigned char>(t[i]) < 0x20) continue;  // would be malformed instead
    Result<OpenedNote> r = OpenNote(t, {&peter, 1});
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << i << r.status().ToString();
  }
  // A changed signature (still valid base64, same key hash), as in Go's test.
  const std::string sig(kPeterSig);
  std::string longer = std::string(kText) + "\n" + sig.substr(0, 60) + "ABCD" + sig.substr(60);
  Result<OpenedNote> r = OpenNote(longer, {&peter, 1});
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("PeterNeumann+c74f20a3"), std::string::npos);
  std::string flipped = PeterNote();
  size_t at = flipped.size() - 10;
  flipped[at] = flipped[at] == 'A' ? 'B' : 'A';
  EXPECT_EQ(OpenNote(flipped, {&peter, 1}).status().code(), StatusCode::kCorruption);
  // A bad signature by the known key fails the note even next to a good one.
  EXPECT_EQ(OpenNote(PeterNote() + longer.substr(kText.size() + 1), {&peter, 1}).status().code(),
            StatusCode::kCorruption);
  // A note from the right name signed by a different key with a colliding
  // name and hash would also fail; a different key under the same name and
  // a different hash is only "unknown".
  NoteSigner impostor_key = NewSigner("PeterNeumann");
  Result<std::string> impostor = SignNote(kText, impostor_key);
  ASSERT_TRUE(impostor.ok());
  EXPECT_EQ(OpenNote(*impostor, {&peter, 1}).status().code(), StatusCode::kPermissionDenied);
}

TEST(NoteErrorTest, NoKnownSignatureIsPermissionDenied) {
  NoteVerifier enoch = MustVerifier(kEnochVkey);
  Result<OpenedNote> r = OpenNote(PeterNote(), {&enoch, 1});
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(OpenNote(PeterNote(), {}).status().code(), StatusCode::kPermissionDenied);
  // Same name, other hash: unknown, not a failure of the known key.
  NoteVerifier other = enoch;
  other.name = "PeterNeumann";
  other.key_hash = 0x12345678;
  EXPECT_EQ(OpenNote(PeterNote(), {&other, 1}).status().code(), StatusCode::kPermissionDenied);
}

TEST(NoteErrorTest, AmbiguousVerifiers) {
  NoteVerifier peter = MustVerifier(kPeterVkey);
  std::vector<NoteVerifier> twice = {peter, peter};
  EXPECT_EQ(OpenNote(PeterNote(), twice).status().code(), StatusCode::kInvalidArgument);
}

// --- cosignatures (c2sp.org/tlog-cosignature, Ed25519, type 0x04) -----------

TEST(CosignatureTest, GoVerifiesQuipuCosignaturesOnACheckpoint) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  NoteSigner log = NewSigner("quipu.example/log");
  SigningKey witness = SigningKey::Generate();
  const std::string name = "witness.example/w1";
  const std::string body = "quipu.example/log\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
  auto signed_note = SignNote(body, log);
  ASSERT_TRUE(signed_note.ok());
  auto line = Cosign(name, witness, body, 1796083200);
  ASSERT_TRUE(line.ok()) << line.status().ToString();
  ASSERT_EQ(line->rfind("\xE2\x80\x94 witness.example/w1 ", 0), 0u);
  const std::string cosigned = *signed_note + *line;
  const std::string vkey = CosignerVerifierKey(name, witness.PublicKey());
  const size_t key_at = vkey.find('+', vkey.find('+') + 1) + 1;
  EXPECT_EQ(vkey[key_at], 'B') << "base64 of 0x04 || key: " << vkey;

  ProcessResult go = RunInterop("cosigned " + Quote(vkey), cosigned, dir.path());
  ASSERT_EQ(go.exit_code, 0) << go.err;
  EXPECT_EQ(go.out, "1796083200\n");
  // quipu reads its own line back, and a line of another key is not its.
  auto c = ParseCosignerVerifierKey(vkey);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->key_id, CosignerKeyId(name, witness.PublicKey()));
  auto t = VerifyCosignature(*line, *c, body);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, std::optional<uint64_t>(1796083200));
  const std::string log_line = signed_note->substr(body.size() + 1);
  EXPECT_EQ(*VerifyCosignature(log_line, *c, body), std::nullopt);
  // A note-signature key of the same name and key is not a cosigner (the
  // type byte differs, so does the key ID), and tampering fails: in Go too.
  EXPECT_NE(CosignerKeyId(name, witness.PublicKey()), KeyHash(name, witness.PublicKey()));
  std::string other_body = body;
  other_body[18] = '3';
  EXPECT_EQ(VerifyCosignature(*line, *c, other_body).status().code(), StatusCode::kCorruption);
  std::string raw = line->substr(line->find(' ', 4) + 1);
  raw.pop_back();
  auto blob = Base64Decode(raw);
  ASSERT_TRUE(blob.ok());
  (*blob)[11] ^= 1;  // the timestamp's last byte
  const std::string retimed = "\xE2\x80\x94 " + name + " " + Base64Encode(*blob) + "\n";
  EXPECT_EQ(VerifyCosignature(retimed, *c, body).status().code(), StatusCode::kCorruption);
  ProcessResult bad = RunInterop("cosigned " + Quote(vkey), *signed_note + retimed, dir.path());
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_FALSE(Cosign(name, witness, body, 0).ok());
  EXPECT_FALSE(Cosign(name, witness, "no newline", 1).ok());
  EXPECT_FALSE(Cosign("bad name", witness, body, 1).ok());
}

TEST(CosignatureTest, BadCosignerKeysAreRefused) {
  SigningKey k = SigningKey::Generate();
  const std::string good = CosignerVerifierKey("w.example/w", k.PublicKey());
  EXPECT_TRUE(ParseCosignerVerifierKey(good).ok());
  EXPECT_FALSE(ParseCosignerVerifierKey("w.example/w+00000000").ok());
  const std::string key = good.substr(good.find('+', good.find('+') + 1) + 1);
  EXPECT_FALSE(ParseCosignerVerifierKey("w.example/w+0000000g+" + key).ok());
  EXPECT_FALSE(ParseCosignerVerifierKey("w.example/w+00000000+" + key).ok());
  // A note key (type 0x01) is not a cosigner key.
  EXPECT_FALSE(ParseCosignerVerifierKey(VerifierKeyString("w.example/w", k.PublicKey())).ok());
  EXPECT_FALSE(ParseCosignerVerifierKey(good + "x").ok());
}

}  // namespace
}  // namespace quipu::crypto
