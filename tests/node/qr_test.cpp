// QR Seguro codes: the format (round trips, every single-byte change
// refused, other keys refused), the size of a typical code, rendering read
// back by an independent reader (zbarimg, Debian zbar-tools), and stamping
// on PDFs read back after rendering with pdftoppm (poppler-utils).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>

#include "crypto/aead.h"
#include "crypto/base45.h"
#include "crypto/note.h"
#include "crypto/encoding.h"
#include "crypto/random.h"
#include "node/qr_format.h"
#include "node/qr_render.h"
#include "pdf/inspect.h"
#include "pdf/make.h"
#include "pdf/stamp.h"
#include "tests/common/process.h"

namespace quipu::node {
namespace {

using nlohmann::json;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;

// Five typical fields, about 120 bytes as JSON.
json FiveFields() {
  return {{"tipo", "Certificado de nacimiento"},
          {"numero", "CN-2026-0048213"},
          {"titular", "María Quispe Mamani"},
          {"fecha", "2026-11-23"},
          {"oficina", "SERECI La Paz"}};
}

struct Keys {
  crypto::SigningKey node = crypto::SigningKey::Generate();
  crypto::Bytes data = crypto::RandomBytes(32);
  uint32_t key_id = 0x1a2b3c4d;
};

QrPlain Plain() {
  QrPlain p;
  p.fields = FiveFields().dump();
  p.expires_at = 1900000000;
  return p;
}

TEST(QrFormat, RoundTrip) {
  Keys k;
  auto sealed = SealQr(Plain(), 4242, k.key_id, k.data, k.node);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  const std::string text = QrText(*sealed);
  EXPECT_EQ(text.rfind("QS1:", 0), 0u);
  auto parsed = ParseQrText(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->index, 4242u);
  EXPECT_EQ(parsed->key_id, k.key_id);
  EXPECT_TRUE(VerifyQrSignature(*parsed, k.node.PublicKey()));
  auto plain = OpenQr(*parsed, k.data);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(json::parse(plain->fields), FiveFields());
  EXPECT_EQ(plain->expires_at, 1900000000);
  // The ledger commitment is over nonce || ciphertext.
  crypto::Bytes nc = parsed->nonce;
  nc.insert(nc.end(), parsed->ciphertext.begin(), parsed->ciphertext.end());
  EXPECT_EQ(QrPayloadHash(*parsed), crypto::Sha256(nc));
  // Text only from the Base45 alphabet after the prefix (QR alphanumeric mode).
  EXPECT_EQ(text.find_first_not_of("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"), std::string::npos);
}

TEST(QrFormat, EncodingIsDeterministicCbor) {
  // The associated data for key 0x01020304, index 500: CBOR [1, h'01020304', 500].
  EXPECT_EQ(crypto::HexEncode(QrAssociatedData(0x01020304, 500)), "830144010203041901f4");
  Keys k;
  const crypto::Bytes nonce(24, 0x07);
  auto a = SealQrWithNonce(Plain(), 7, k.key_id, k.data, k.node, nonce);
  auto b = SealQrWithNonce(Plain(), 7, k.key_id, k.data, k.node, nonce);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(QrText(*a), QrText(*b));  // Ed25519 and the AEAD are deterministic for a fixed nonce
  // The signed bytes: context, a zero byte, CBOR of the first five items.
  const crypto::Bytes signed_bytes = QrSignedBytes(*a);
  const std::string ctx = "quipu/qr-seguro/v1";
  ASSERT_GT(signed_bytes.size(), ctx.size() + 1);
  EXPECT_EQ(std::string(signed_bytes.begin(), signed_bytes.begin() + static_cast<std::ptrdiff_t>(ctx.size())), ctx);
  EXPECT_EQ(signed_bytes[ctx.size()], 0);
  EXPECT_EQ(signed_bytes[ctx.size() + 1], 0x85);  // array of 5
}

TEST(QrFormat, EverySingleByteChangeIsRefused) {
  Keys k;
  auto sealed = SealQr(Plain(), 99, k.key_id, k.data, k.node);
  ASSERT_TRUE(sealed.ok());
  const std::string text = QrText(*sealed);
  const std::string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  int checked = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    for (char r : {alphabet[(alphabet.find(text[i]) + 1) % alphabet.size()], 'a', '#'}) {
      if (r == text[i]) continue;
      std::string bad = text;
      bad[i] = r;
      auto p = ParseQrText(bad);
      bool accepted = p.ok() && VerifyQrSignature(*p, k.node.PublicKey()) && OpenQr(*p, k.data).ok();
      ASSERT_FALSE(accepted) << "position " << i;
      ++checked;
    }
  }
  EXPECT_GT(checked, 600);
  EXPECT_FALSE(ParseQrText(text.substr(0, text.size() - 3)).ok());
  EXPECT_FALSE(ParseQrText(text + "00").ok());
  EXPECT_FALSE(ParseQrText("QS2:" + text.substr(4)).ok());
  EXPECT_FALSE(ParseQrText("").ok());
}

TEST(QrFormat, AnotherNodesKeysAreRefused) {
  Keys k, other;
  auto sealed = SealQr(Plain(), 1, k.key_id, k.data, k.node);
  ASSERT_TRUE(sealed.ok());
  EXPECT_FALSE(VerifyQrSignature(*sealed, other.node.PublicKey()));
  EXPECT_EQ(OpenQr(*sealed, other.data).status().code(), StatusCode::kPermissionDenied);
  // A code re-labelled with another index fails both checks.
  QrSealed moved = *sealed;
  moved.index = 2;
  EXPECT_FALSE(VerifyQrSignature(moved, k.node.PublicKey()));
  EXPECT_FALSE(OpenQr(moved, k.data).ok());
}

TEST(QrFormat, FieldsAreLimited) {
  Keys k;
  QrPlain p = Plain();
  p.fields = json{{"x", std::string(600, 'a')}}.dump();
  EXPECT_EQ(SealQr(p, 1, k.key_id, k.data, k.node).status().code(), StatusCode::kInvalidArgument);
  p.fields = "[]";
  EXPECT_FALSE(SealQr(p, 1, k.key_id, k.data, k.node).ok());
  p = Plain();
  p.expires_at = -5;
  EXPECT_FALSE(SealQr(p, 1, k.key_id, k.data, k.node).ok());
}

TEST(QrRender, FiveFieldsFitVersion12AtMAndZbarReadsThePng) {
  Keys k;
  auto sealed = SealQr(Plain(), 123456, k.key_id, k.data, k.node);
  ASSERT_TRUE(sealed.ok());
  const std::string text = QrText(*sealed);
  auto m = EncodeQr(text, 'M');
  ASSERT_TRUE(m.ok());
  std::printf("five-field QR Seguro: %zu characters, version %d at M\n", text.size(), m->version);
  EXPECT_LE(m->version, 12) << text.size() << " characters";
  EXPECT_EQ(m->size, 17 + 4 * m->version);
  auto png = QrPng(*m, 4, 4);
  ASSERT_TRUE(png.ok());
  TempDir dir;
  testing::WriteFile(dir.File("qr.png"), std::string(crypto::AsString(*png)));
  auto r = RunShell("zbarimg --raw -q " + ShellQuote(dir.File("qr.png")));
  ASSERT_EQ(r.exit_code, 0) << "zbarimg (Debian zbar-tools): " << r.err;
  EXPECT_EQ(r.out, text + "\n");
  const std::string svg = QrSvg(*m);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("<path fill=\"#000\" d=\"M4 4h7v1h-7z"), std::string::npos);  // the finder pattern's top row
  EXPECT_FALSE(EncodeQr(text, 'X').ok());
  EXPECT_FALSE(EncodeQr(std::string(5000, 'A')).ok());
}

// --- version 2 (QS2): two-phase codes ---------------------------------------------

// A typical AGETIC digital document: a school-leaving certificate with one
// holder, issued on 15/03/2024, no expiry.
QrDocument TypicalDocument() {
  QrDocument d;
  d.code = "TB-2024-0012345";
  d.name = "Título de Bachiller en Humanidades";
  d.description = "Unidad Educativa Simón Bolívar";
  d.issued_day = 19797;  // 2024-03-15
  d.holders.push_back({"Ana Quispe Mamani", QrHolder::IdType::kCi, "1234567", "Bachiller"});
  return d;
}

TEST(QrFormat2, RoundTrip) {
  Keys k;
  QrDocument d = TypicalDocument();
  d.expires_day = 20000;
  d.metadata = {{"gestión", "2024"}, {"distrito", "La Paz 1"}};
  d.holders.push_back({"Juan Pérez", QrHolder::IdType::kCie, "E-998877", "Tutor"});
  auto sealed = SealQrDocument(d, k.key_id, k.data, k.node);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  const std::string text = QrText(*sealed);
  EXPECT_EQ(text.rfind("QS2:", 0), 0u);
  EXPECT_EQ(text.find_first_not_of("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"), std::string::npos);
  auto parsed = ParseQr2Text(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->key_id, k.key_id);
  EXPECT_EQ(parsed->nonce, sealed->nonce);
  EXPECT_TRUE(VerifyQrSignature(*parsed, k.node.PublicKey()));
  auto opened = OpenQrDocument(*parsed, k.data);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, d);
  // The code digest: SHA-256 of the context, a zero byte and the nonce.
  std::string message = "quipu/qr-seguro/v2/code";
  message.push_back('\0');
  message.append(parsed->nonce.begin(), parsed->nonce.end());
  EXPECT_EQ(QrCodeDigest(*parsed), crypto::Sha256(message));
  crypto::Bytes nc = parsed->nonce;
  nc.insert(nc.end(), parsed->ciphertext.begin(), parsed->ciphertext.end());
  EXPECT_EQ(QrPayloadHash(*parsed), crypto::Sha256(nc));
  // Two codes for one document differ (random nonces): two identities.
  auto again = SealQrDocument(d, k.key_id, k.data, k.node);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(QrCodeDigest(*again), QrCodeDigest(*sealed));
}

TEST(QrFormat2, EncodingIsDeterministicCbor) {
  // The associated data for key 0x01020304: CBOR [2, h'01020304'].
  EXPECT_EQ(crypto::HexEncode(Qr2AssociatedData(0x01020304)), "82024401020304");
  Keys k;
  // The plaintext, byte by byte: a 7-array of the texts, null, the day
  // 19797 (0x4d55), null, one holder [name, 0, number, role], no metadata.
  auto pt = EncodeQrDocument(TypicalDocument());
  ASSERT_TRUE(pt.ok());
  const std::string hex = crypto::HexEncode(*pt);
  EXPECT_EQ(hex.substr(0, 4), "876f");  // array(7), text(15)
  EXPECT_NE(hex.find("194d55f681"), std::string::npos) << hex;  // the day, no expiry, array(1) of holders
  EXPECT_EQ(hex.substr(hex.size() - 2), "80");  // no metadata: an empty array, last
  const crypto::Bytes nonce(24, 0x07);
  auto a = SealQrDocumentWithNonce(TypicalDocument(), k.key_id, k.data, k.node, nonce);
  auto b = SealQrDocumentWithNonce(TypicalDocument(), k.key_id, k.data, k.node, nonce);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(QrText(*a), QrText(*b));
  const crypto::Bytes signed_bytes = QrSignedBytes(*a);
  const std::string ctx = "quipu/qr-seguro/v2";
  EXPECT_EQ(std::string(signed_bytes.begin(), signed_bytes.begin() + static_cast<std::ptrdiff_t>(ctx.size())), ctx);
  EXPECT_EQ(signed_bytes[ctx.size()], 0);
  EXPECT_EQ(signed_bytes[ctx.size() + 1], 0x84);  // array of 4
  EXPECT_FALSE(SealQrDocumentWithNonce(TypicalDocument(), k.key_id, k.data, k.node, crypto::Bytes(12, 1)).ok());
}

TEST(QrFormat2, EverySingleByteChangeIsRefused) {
  Keys k;
  auto sealed = SealQrDocument(TypicalDocument(), k.key_id, k.data, k.node);
  ASSERT_TRUE(sealed.ok());
  const std::string text = QrText(*sealed);
  const std::string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  int checked = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    for (char r : {alphabet[(alphabet.find(text[i]) + 1) % alphabet.size()], 'a'}) {
      if (r == text[i]) continue;
      std::string bad = text;
      bad[i] = r;
      auto p = ParseQr2Text(bad);
      const bool accepted = p.ok() && VerifyQrSignature(*p, k.node.PublicKey()) && OpenQrDocument(*p, k.data).ok();
      ASSERT_FALSE(accepted) << "position " << i;
      ++checked;
    }
  }
  EXPECT_GT(checked, 500);
  EXPECT_FALSE(ParseQr2Text(text.substr(0, text.size() - 3)).ok());
  EXPECT_FALSE(ParseQr2Text(text + "00").ok());
  // Each version's parser refuses the other's texts.
  EXPECT_FALSE(ParseQrText(text).ok());
  EXPECT_FALSE(ParseQrText("QS1:" + text.substr(4)).ok());
  auto v1 = SealQr(Plain(), 9, k.key_id, k.data, k.node);
  ASSERT_TRUE(v1.ok());
  EXPECT_FALSE(ParseQr2Text(QrText(*v1)).ok());
  EXPECT_FALSE(ParseQr2Text("QS2:" + QrText(*v1).substr(4)).ok());
}

TEST(QrFormat2, AnotherNodesKeysAreRefused) {
  Keys k, other;
  auto sealed = SealQrDocument(TypicalDocument(), k.key_id, k.data, k.node);
  ASSERT_TRUE(sealed.ok());
  EXPECT_FALSE(VerifyQrSignature(*sealed, other.node.PublicKey()));
  EXPECT_EQ(OpenQrDocument(*sealed, other.data).status().code(), StatusCode::kPermissionDenied);
  QrSealed2 relabelled = *sealed;
  relabelled.key_id = k.key_id ^ 1;
  EXPECT_FALSE(VerifyQrSignature(relabelled, k.node.PublicKey()));
  EXPECT_FALSE(OpenQrDocument(relabelled, k.data).ok());
}

TEST(QrFormat2, DocumentsAreCheckedAndLimited) {
  Keys k;
  auto refused = [&](const QrDocument& d) {
    return SealQrDocument(d, k.key_id, k.data, k.node).status().code() == StatusCode::kInvalidArgument;
  };
  QrDocument d = TypicalDocument();
  d.code.clear();
  EXPECT_TRUE(refused(d));
  d = TypicalDocument();
  d.holders.clear();
  EXPECT_TRUE(refused(d));
  d = TypicalDocument();
  d.holders[0].role = "\xff\xfe";
  EXPECT_TRUE(refused(d));
  d = TypicalDocument();
  d.issued_day = -1;
  EXPECT_TRUE(refused(d));
  d = TypicalDocument();
  d.metadata.assign(30, {std::string(50, 'k'), std::string(50, 'v')});
  EXPECT_TRUE(refused(d));
  EXPECT_NE(EncodeQrDocument(d).status().message().find("over 1200"), std::string::npos);
  // The end of the expiry day in Bolivia (UTC-4) is 04:00 UTC the next day.
  d = TypicalDocument();
  EXPECT_EQ(QrDocumentExpiresAt(d), std::nullopt);
  d.expires_day = 19797;  // 2024-03-15
  EXPECT_EQ(QrDocumentExpiresAt(d), int64_t{1710561600});  // 2024-03-16T04:00:00Z
}

TEST(QrRender, ATypicalTwoPhaseCodeFitsVersion12AtMAndZbarReadsIt) {
  Keys k;
  auto sealed = SealQrDocument(TypicalDocument(), k.key_id, k.data, k.node);
  ASSERT_TRUE(sealed.ok());
  const std::string text = QrText(*sealed);
  auto m = EncodeQr(text, 'M');
  ASSERT_TRUE(m.ok());
  std::printf("typical QS2 code: %zu characters, version %d at M\n", text.size(), m->version);
  EXPECT_LE(m->version, 12) << text.size() << " characters";
  auto png = QrPng(*m, 4, 4);
  ASSERT_TRUE(png.ok());
  TempDir dir;
  testing::WriteFile(dir.File("qr.png"), std::string(crypto::AsString(*png)));
  auto r = RunShell("zbarimg --raw -q " + ShellQuote(dir.File("qr.png")));
  ASSERT_EQ(r.exit_code, 0) << "zbarimg (Debian zbar-tools): " << r.err;
  EXPECT_EQ(r.out, text + "\n");
}

TEST(QrRender, TheLargestTwoPhaseCodeStillFitsAQrCode) {
  // Metadata up to the encoded limit: the longest plaintext a code carries.
  Keys k;
  QrDocument d = TypicalDocument();
  while (EncodeQrDocument(d).ok()) d.metadata.push_back({"clave", std::string(40, 'v')});
  d.metadata.pop_back();
  auto pt = EncodeQrDocument(d);
  ASSERT_TRUE(pt.ok());
  ASSERT_GT(pt->size(), kMaxQrDocumentBytes - 60);
  auto sealed = SealQrDocument(d, k.key_id, k.data, k.node);
  ASSERT_TRUE(sealed.ok());
  const std::string text = QrText(*sealed);
  auto m = EncodeQr(text, 'M');
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::printf("largest QS2 code: %zu plaintext bytes, %zu characters, version %d at M\n", pt->size(), text.size(),
              m->version);
  EXPECT_LE(m->version, 30);
  auto png = QrPng(*m, 4, 4);
  ASSERT_TRUE(png.ok());
  TempDir dir;
  testing::WriteFile(dir.File("qr.png"), std::string(crypto::AsString(*png)));
  auto r = RunShell("zbarimg --raw -q " + ShellQuote(dir.File("qr.png")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, text + "\n");
}

// Renders page `page` of `pdf` and decodes every QR code on it.
std::string ReadQrsFromPdf(const TempDir& dir, const crypto::Bytes& pdf, int page) {
  testing::WriteFile(dir.File("stamped.pdf"), std::string(crypto::AsString(pdf)));
  auto render = RunShell("pdftoppm -r 200 -f " + std::to_string(page) + " -l " + std::to_string(page) + " -png " +
                         ShellQuote(dir.File("stamped.pdf")) + " " + ShellQuote(dir.File("page")));
  EXPECT_EQ(render.exit_code, 0) << "pdftoppm (Debian poppler-utils): " << render.err;
  auto r = RunShell("zbarimg --raw -q " + ShellQuote(dir.File("page")) + "-*.png");
  return r.out;
}

TEST(QrStamp, TheCodeIsDrawnAsAnIncrementalUpdateAndReadsBack) {
  Keys k;
  auto sealed = SealQr(Plain(), 77, k.key_id, k.data, k.node);
  const std::string text = QrText(*sealed);
  auto m = EncodeQr(text);
  auto original = pdf::MakeSamplePdf(3, "Certificado");
  ASSERT_TRUE(original.ok());
  const struct {
    int page;
    pdf::Corner corner;
  } cases[] = {{1, pdf::Corner::kBottomRight}, {2, pdf::Corner::kTopLeft}, {0, pdf::Corner::kBottomLeft},
               {3, pdf::Corner::kTopRight}};
  for (const auto& c : cases) {
    TempDir dir;
    pdf::StampOptions o;
    o.page = c.page;
    o.corner = c.corner;
    o.caption = "QR Seguro - verifique en quipu";
    auto stamped = pdf::StampQr(*original, m->dark, m->size, o);
    ASSERT_TRUE(stamped.ok()) << stamped.status().ToString();
    ASSERT_GT(stamped->size(), original->size());
    EXPECT_TRUE(std::equal(original->begin(), original->end(), stamped->begin()));  // a prefix
    auto info = pdf::InspectPdf(*stamped);
    ASSERT_TRUE(info.ok());
    ASSERT_EQ(info->revisions.size(), 2u);
    EXPECT_EQ(info->revisions[0].length, original->size());
    EXPECT_EQ(info->pages, 3);
    const int page = c.page == 0 ? 3 : c.page;
    EXPECT_EQ(ReadQrsFromPdf(dir, *stamped, page), text + "\n") << "page " << page;
    auto words = RunShell("pdftotext -f " + std::to_string(page) + " -l " + std::to_string(page) + " " +
                          ShellQuote(dir.File("stamped.pdf")) + " -");
    EXPECT_NE(words.out.find("QR Seguro"), std::string::npos) << words.out;
    EXPECT_NE(words.out.find("Certificado"), std::string::npos);  // the page's own content is still there
  }
}

TEST(QrStamp, StampingTwiceKeepsBothCodes) {
  Keys k;
  const std::string t1 = QrText(*SealQr(Plain(), 1, k.key_id, k.data, k.node));
  const std::string t2 = QrText(*SealQr(Plain(), 2, k.key_id, k.data, k.node));
  auto original = pdf::MakeSamplePdf(1, "Permiso");
  pdf::StampOptions o;
  auto once = pdf::StampQr(*original, EncodeQr(t1)->dark, EncodeQr(t1)->size, o);
  ASSERT_TRUE(once.ok());
  o.corner = pdf::Corner::kTopLeft;
  auto twice = pdf::StampQr(*once, EncodeQr(t2)->dark, EncodeQr(t2)->size, o);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(pdf::InspectPdf(*twice)->revisions.size(), 3u);
  TempDir dir;
  const std::string read = ReadQrsFromPdf(dir, *twice, 1);
  EXPECT_NE(read.find(t1), std::string::npos);
  EXPECT_NE(read.find(t2), std::string::npos);
}

TEST(QrStamp, BadInputIsRefused) {
  auto m = EncodeQr("QS1:TEST");
  auto pdf = pdf::MakeSamplePdf(2, "x");
  pdf::StampOptions o;
  o.page = 3;
  EXPECT_EQ(pdf::StampQr(*pdf, m->dark, m->size, o).status().code(), StatusCode::kInvalidArgument);
  o.page = 1;
  EXPECT_FALSE(pdf::StampQr(crypto::AsBytes("not a pdf"), m->dark, m->size, o).ok());
  EXPECT_FALSE(pdf::StampQr(*pdf, std::vector<bool>(10), 3, o).ok());
  crypto::Bytes cut(pdf->begin(), pdf->begin() + static_cast<std::ptrdiff_t>(pdf->size() / 2));
  EXPECT_FALSE(pdf::StampQr(cut, m->dark, m->size, o).ok());
  o.size_pt = 2000;
  EXPECT_FALSE(pdf::StampQr(*pdf, m->dark, m->size, o).ok());
}

}  // namespace
}  // namespace quipu::node

namespace quipu::node {
namespace {

std::string Wrap(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 64) out += hex.substr(i, 64) + "\n";
  return out;
}

// docs/qr-seguro.md §9: every value of the worked example is recomputed
// here and must appear in the document as written.
TEST(QrFormat, WorkedExampleInTheFormatDocument) {
  crypto::Bytes seed(32), data_key(32), nonce(24);
  for (int i = 0; i < 32; ++i) seed[i] = static_cast<uint8_t>(i + 1);
  for (int i = 0; i < 32; ++i) data_key[i] = static_cast<uint8_t>(0x40 + i);
  for (int i = 0; i < 24; ++i) nonce[i] = static_cast<uint8_t>(0x80 + i);
  auto key = crypto::SigningKey::FromSeed(seed);
  ASSERT_TRUE(key.ok());
  const std::string name = "quipu.example/node";
  const uint32_t key_id = crypto::KeyHash(name, key->PublicKey());
  QrPlain plain;
  plain.fields = R"({"tipo":"Bachiller","nro":"TB-2024-0012345","nombre":"Ana Quispe Mamani",)"
                 R"("fecha":"2024-03-15","oficina":"SEDUCA La Paz"})";
  plain.expires_at = 1893456000;
  auto sealed = SealQrWithNonce(plain, 42, key_id, data_key, *key, nonce);
  ASSERT_TRUE(sealed.ok());
  char kid[9];
  std::snprintf(kid, sizeof kid, "%08x", key_id);
  const crypto::Bytes code_cbor = *crypto::Base45Decode(QrText(*sealed).substr(4));
  const std::vector<std::pair<std::string, std::string>> values = {
      {"public key", crypto::HexEncode(key->PublicKey())},
      {"verifier key", crypto::VerifierKeyString(name, key->PublicKey())},
      {"key_id", kid},
      {"fields", Wrap(crypto::HexEncode(nlohmann::json::to_cbor(json::parse(plain.fields))))},
      {"plaintext", Wrap(crypto::HexEncode(*EncodeQrPlain(plain)))},
      {"associated data", crypto::HexEncode(QrAssociatedData(key_id, 42))},
      {"ciphertext", Wrap(crypto::HexEncode(sealed->ciphertext))},
      {"signed bytes", Wrap(crypto::HexEncode(QrSignedBytes(*sealed)))},
      {"signature", Wrap(crypto::HexEncode(sealed->signature))},
      {"code", Wrap(crypto::HexEncode(code_cbor))},
      {"payload", crypto::HexEncode(QrPayloadHash(*sealed))},
      {"text", Wrap(QrText(*sealed))},
  };
  if (std::getenv("QUIPU_PRINT_EXAMPLE")) {
    for (const auto& [what, v] : values) std::printf("== %s\n%s\n", what.c_str(), v.c_str());
  }
  const std::string doc = testing::ReadFile(std::string(QUIPU_SOURCE_DIR) + "/docs/qr-seguro.md");
  for (const auto& [what, v] : values) EXPECT_NE(doc.find(v), std::string::npos) << what << ":\n" << v;
  // And the example opens and verifies.
  EXPECT_TRUE(VerifyQrSignature(*sealed, key->PublicKey()));
  EXPECT_EQ(json::parse(OpenQr(*sealed, data_key)->fields), json::parse(plain.fields));
}

}  // namespace
}  // namespace quipu::node
