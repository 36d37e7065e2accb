// The AGETIC-compatible API end to end, as an integration written against
// Ciudadanía Digital's approval service meets it: curl with the
// institution's token, the citizen's access token from the development
// identity provider (a real OpenID Connect provider, obtained through its
// forms as an institution's login would), the approval page's routes with
// the citizen's own session and authenticator, and the callback received by
// a small server that answers {"finalizado": true}.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/otp.h"
#include "crypto/sha256.h"
#include "tests/common/citizen.h"
#include "tests/common/minimal_pdf.h"
#include "tests/common/node.h"
#include "tests/common/process.h"
#include "tests/common/receiver.h"

namespace quipu {
namespace {

using nlohmann::json;
using testing::Curl;
using testing::Http;
using testing::ShellQuote;

constexpr int64_t kStart = 1795000000;

std::string B64(const std::string& bytes) { return crypto::Base64Encode(crypto::AsBytes(bytes)); }
std::string Sha(const std::string& bytes) { return crypto::HexEncode(crypto::Sha256(bytes)); }

class AgeticTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.File("data");
    clock_ = dir_.File("clock");
    std::ofstream(clock_) << kStart * 1000000 << "\n";
    ASSERT_EQ(testing::RunQuipu("log init --data " + ShellQuote(data_)).exit_code, 0);
    auto r = testing::RunQuipu("client add --data " + ShellQuote(data_) +
                               " --name 'Banco Unión' --redirect-uri https://b.example/r --notify-uri " +
                               ShellQuote(receiver_.Url("/callback")) +
                               " --notify-token nt-secret --allow-local-callbacks");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    token_ = json::parse(r.out)["token"];
    base_ = "http://127.0.0.1:" + std::to_string(testing::FreePort());
    idp_ = std::make_unique<testing::IdentityProvider>(dir_.File("idp"), base_);
    receiver_.SetAnswer({{"finalizado", true}, {"mensaje", "recibido"}});
    node_ = std::make_unique<testing::Node>(data_, "--listen " + base_.substr(7) + " " + idp_->ServeFlags() +
                                                       " --test-clock-file " + ShellQuote(clock_) +
                                                       " --allow-local-callbacks");
  }
  Http Post(const std::string& path, const json& body, const std::string& token) {
    const std::string auth = token.empty() ? "" : "-H " + ShellQuote("Authorization: Bearer " + token) + " ";
    return Curl("-X POST " + auth + "-H 'Content-Type: application/json' --data-binary @- " +
                    ShellQuote(base_ + path),
                body.dump());
  }
  Http Post(const std::string& path, const json& body) { return Post(path, body, token_); }
  // The citizen logged in on their page with an authenticator enrolled.
  struct Citizen {
    testing::CitizenSession session;
    crypto::Bytes key;
  };
  Citizen Enrolled(const std::string& number) {
    Citizen c;
    c.session = testing::LogIn(base_ + "/aprobar", number);
    c.key = testing::EnrolTotp(base_, c.session, kStart);
    return c;
  }
  // The request id of an approval link (/aprobar/<id>?k=<key>).
  static std::string IdOfLink(const std::string& link) {
    const std::string tail = link.substr(link.rfind('/') + 1);
    return tail.substr(0, tail.find('?'));
  }
  Http Decide(const Citizen& c, const std::string& link, bool approve) {
    const std::string id = IdOfLink(link);
    const std::string code = *crypto::Totp(c.key, kStart, 6, crypto::OtpHash::kSha1);
    return Curl("-X POST " + c.session.Headers() + "-H 'Content-Type: application/json' --data-binary @- " +
                    ShellQuote(base_ + "/v1/citizen/approvals/" + id + (approve ? "/confirm" : "/reject")),
                json{{"code", code}}.dump());
  }
  json Single(const std::string& file, const std::string& tramite, const std::string& access_token,
              const std::string& type = "PDF") {
    return {{"tipoDocumento", type},     {"documento", B64(file)},         {"hashDocumento", Sha(file)},
            {"idTramite", tramite},      {"descripcion", "Contrato de préstamo"}, {"accessToken", access_token}};
  }
  // The callback for request `id` (codigoOperacion), once it arrived.
  json CallbackFor(const std::string& id) {
    json found;
    receiver_.WaitFor([&](const auto& got) {
      for (const auto& g : got) {
        json j = json::parse(g.body, nullptr, false);
        if (j.is_object() && j.value("codigoOperacion", "") == id) found = j;
      }
      return !found.is_null();
    });
    return found;
  }
  static std::string IdOf(const Http& created) { return IdOfLink(created.Json()["datos"].value("link", "")); }

  testing::Receiver receiver_;
  testing::TempDir dir_;
  std::string data_, clock_, token_, base_;
  std::unique_ptr<testing::IdentityProvider> idp_;
  std::unique_ptr<testing::Node> node_;
};

TEST_F(AgeticTest, WithoutTheInstitutionsTokenEveryRouteIs401InTheEnvelope) {
  for (const char* path : {"/api/solicitudes", "/api/solicitudes/multiples", "/api/documentos/verificar",
                           "/api/qr/generar", "/api/qr/confirmacion", "/api/qr/anulacion"}) {
    for (const std::string& token : {std::string(), std::string("qk_not-a-client")}) {
      Http r = Post(path, json::object(), token);
      EXPECT_EQ(r.status, 401) << path;
      EXPECT_EQ(r.Json()["finalizado"], false) << r.body;
      EXPECT_FALSE(r.Json()["mensaje"].get<std::string>().empty());
    }
  }
}

TEST_F(AgeticTest, ASingleRequestIsApprovedOnThePageAndTheCallbackSaysSo) {
  const Citizen citizen = Enrolled("1234567");
  const std::string access = idp_->AccessToken("1234567");
  ASSERT_FALSE(access.empty());
  const std::string pdf = testing::MinimalPdf(1, "agetic single");
  const std::string tramite = "0d9e1f7a-3b2c-4d5e-8f90-a1b2c3d4e5f6";

  // A token the provider never issued.
  Http bad = Post("/api/solicitudes", Single(pdf, tramite, "not-a-token"));
  EXPECT_EQ(bad.status, 412) << bad.body;
  EXPECT_EQ(bad.Json()["mensaje"], "Token inválido");

  // Not yet approved: the verification says so.
  Http before = Post("/api/documentos/verificar", {{"archivo", B64(pdf)}});
  EXPECT_EQ(before.status, 201) << before.body;
  EXPECT_EQ(before.Json()["datos"]["verificacionExitosa"], false);
  EXPECT_EQ(before.Json()["datos"]["registros"], json::array());

  Http created = Post("/api/solicitudes", Single(pdf, tramite, access));
  ASSERT_EQ(created.status, 201) << created.body;
  const json datos = created.Json()["datos"];
  EXPECT_EQ(created.Json()["finalizado"], true);
  EXPECT_EQ(datos["link"].get<std::string>().rfind(base_ + "/aprobar/r_", 0), 0u) << datos;
  EXPECT_EQ(datos["idTramite"], tramite);
  // The same idTramite and body: the first answer. Another body: 409.
  Http again = Post("/api/solicitudes", Single(pdf, tramite, access));
  EXPECT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(again.Json()["datos"], datos);
  json other = Single(pdf, tramite, access);
  other["descripcion"] = "Otro contrato";
  EXPECT_EQ(Post("/api/solicitudes", other).status, 409);

  // The citizen approves on the page the link opens (their session, their factor).
  Http decided = Decide(citizen, datos["link"], true);
  ASSERT_EQ(decided.status, 200) << decided.body;
  const json cb = CallbackFor(IdOf(created));
  ASSERT_TRUE(cb.is_object()) << "no callback arrived";
  EXPECT_EQ(cb["aceptado"], true);
  EXPECT_EQ(cb["introducido"], true);
  EXPECT_EQ(cb["idTramite"], tramite);
  EXPECT_EQ(cb["requestUuid"], datos["requestUuid"]);
  EXPECT_EQ(cb["hashDatos"], Sha(pdf));
  EXPECT_FALSE(cb["fechaHoraSolicitud"].get<std::string>().empty());
  EXPECT_FALSE(cb["mensaje"].get<std::string>().empty());
  EXPECT_NE(cb["quipu"]["checkpoint"].get<std::string>().find("quipu.localhost/log"), std::string::npos);
  for (const auto& g : receiver_.Received()) EXPECT_EQ(g.authorization, "Bearer nt-secret");

  // Now the verification finds the approval, with its proof.
  Http after = Post("/api/documentos/verificar", {{"archivo", B64(pdf)}});
  ASSERT_EQ(after.status, 201) << after.body;
  const json reg = after.Json()["datos"]["registros"];
  EXPECT_EQ(after.Json()["datos"]["verificacionExitosa"], true);
  ASSERT_EQ(reg.size(), 1u);
  EXPECT_EQ(reg[0]["tipo"], "approval");
  EXPECT_EQ(reg[0]["institucion"], "Banco Unión");
  EXPECT_EQ(std::to_string(reg[0]["indice"].get<uint64_t>()), cb["transaction_id"]);
  EXPECT_TRUE(reg[0]["prueba"].is_array());
  EXPECT_FALSE(reg[0]["fecha"].get<std::string>().empty());

  // {"finalizado": true} took it: delivered, not retried.
  EXPECT_TRUE(receiver_.WaitFor([&](const auto&) {
    return Curl("-H " + ShellQuote("Authorization: Bearer " + token_) + " " +
                ShellQuote(base_ + "/v1/approvals/" + IdOf(created)))
               .Json()["notification"]["state"] == "delivered";
  }));
}

TEST_F(AgeticTest, AMixedMultipleRequestIsOneApprovalAndACallbackThatNamesEachDocument) {
  const Citizen citizen = Enrolled("7654321");
  const std::string access = idp_->AccessToken("7654321");
  const std::string pdf = testing::MinimalPdf(2, "agetic multiple");
  const std::string doc = R"({"monto": 1500, "moneda": "BOB"})";
  json body = {{"idTramite", "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"},
               {"accessToken", access},
               {"documentos",
                {{{"tipoDocumento", "PDF"}, {"documento", B64(pdf)}, {"hashDocumento", Sha(pdf)},
                  {"descripcion", "Contrato"}, {"uuidDocumento", "00000000-0000-4000-8000-0000000000a1"}},
                 {{"tipoDocumento", "JSON"}, {"documento", B64(doc)}, {"hashDocumento", Sha(B64(doc))},
                  {"descripcion", "Plan de pagos"}, {"uuidDocumento", "00000000-0000-4000-8000-0000000000a2"}}}}};
  Http empty = Post("/api/solicitudes/multiples", {{"idTramite", body["idTramite"]}, {"accessToken", access},
                                                   {"documentos", json::array()}});
  EXPECT_EQ(empty.status, 400);
  EXPECT_EQ(empty.Json()["mensaje"], "documentos no debe estar vacío.");
  Http created = Post("/api/solicitudes/multiples", body);
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_EQ(Decide(citizen, created.Json()["datos"]["link"], true).status, 200);
  const json cb = CallbackFor(IdOf(created));
  ASSERT_TRUE(cb.is_object());
  EXPECT_EQ(cb["aceptado"], true);
  ASSERT_EQ(cb["documentos"].size(), 2u);
  EXPECT_EQ(cb["documentos"][0]["uuidDocumento"], "00000000-0000-4000-8000-0000000000a1");
  EXPECT_EQ(cb["documentos"][1]["uuidDocumento"], "00000000-0000-4000-8000-0000000000a2");
  EXPECT_EQ(cb["documentos"][0]["hashDocumento"], Sha(pdf));
  // One commit: consecutive ledger indices.
  EXPECT_EQ(cb["documentos"][1]["indice"].get<uint64_t>(), cb["documentos"][0]["indice"].get<uint64_t>() + 1);
}

TEST_F(AgeticTest, ARejectionIsRecordedAndAnAnswerWithoutFinalizadoIsRetried) {
  receiver_.SetAnswer({{"ok", true}});  // 200, but not the original's answer
  const Citizen citizen = Enrolled("1111111");
  const std::string access = idp_->AccessToken("1111111");
  const std::string pdf = testing::MinimalPdf(1, "agetic rejected");
  Http created = Post("/api/solicitudes", Single(pdf, "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f60", access));
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_EQ(Decide(citizen, created.Json()["datos"]["link"], false).status, 200);
  const json cb = CallbackFor(IdOf(created));
  ASSERT_TRUE(cb.is_object());
  EXPECT_EQ(cb["aceptado"], false);
  EXPECT_EQ(cb["introducido"], true);  // the rejection is in the ledger too
  EXPECT_TRUE(receiver_.WaitFor([&](const auto&) {
    return Curl("-H " + ShellQuote("Authorization: Bearer " + token_) + " " +
                ShellQuote(base_ + "/v1/approvals/" + IdOf(created)))
               .Json()["notification"]["state"] == "retrying";
  }));
}

TEST_F(AgeticTest, AFileThatIsNotItsDeclaredTypeIsNotValidAndNothingIsRecorded) {
  const std::string access = idp_->AccessToken("2222222");
  const std::string text = "esto es un archivo de texto, no un PDF\n";
  Http txt = Post("/api/solicitudes", Single(text, "3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b", access));
  EXPECT_EQ(txt.status, 400) << txt.body;
  EXPECT_EQ(txt.Json()["mensaje"], "documento no válido");
  Http json_bad = Post("/api/solicitudes", Single("{not json", "4f5a6b7c-8d9e-4f0a-9b1c-2d3e4f5a6b7c", access, "JSON"));
  EXPECT_EQ(json_bad.status, 400) << json_bad.body;
  EXPECT_EQ(json_bad.Json()["mensaje"], "documento no válido");
  Http empty = Post("/api/solicitudes", Single("", "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d", access));
  EXPECT_EQ(empty.Json()["mensaje"], "documento no debe estar vacío.");
  Http no_token = Post("/api/solicitudes", Single(testing::MinimalPdf(1), "6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e", ""));
  EXPECT_EQ(no_token.status, 400);
  EXPECT_EQ(no_token.Json()["mensaje"], "accessToken no debe estar vacío.");
  // The verification's own refusals.
  Http missing = Post("/api/documentos/verificar", json::object());
  EXPECT_EQ(missing.status, 400);
  Http not_b64 = Post("/api/documentos/verificar", {{"archivo", "%%%"}});
  EXPECT_EQ(not_b64.status, 412);
  EXPECT_EQ(not_b64.Json()["mensaje"], "El documento enviado no es válido");
  // No entry was written by any of it.
  const std::string checkpoint = Curl(ShellQuote(base_ + "/checkpoint")).body;
  const size_t first = checkpoint.find('\n');
  EXPECT_EQ(checkpoint.substr(first + 1, checkpoint.find('\n', first + 1) - first - 1), "0") << checkpoint;
}

// A digital document as POST /api/qr/generar sends it.
json Generar(const std::string& codigo, const std::string& access_token, const std::string& rol = "Bachiller") {
  return {{"accessToken", access_token},
          {"mostrarEnlace", true},
          {"codigoTransaccion", codigo},
          {"documentoDigital",
           {{"codigoDocumento", "TB-2026-0048213"},
            {"nombreDocumento", "Título de Bachiller en Humanidades"},
            {"validez", {{"fechaEmision", "15/11/2026"}}},
            {"titulares",
             {{{"nombreCompleto", "María Quispe Mamani"},
               {"tipoDocumento", "CI"},
               {"numeroDocumento", "1234567"},
               {"rol", rol}}}}}}};
}

TEST_F(AgeticTest, ATwoPhaseQrVerifiesOnlyOnceConfirmedAndShowsRevokedOnceAnnulled) {
  const std::string access = idp_->AccessToken("1234567");
  ASSERT_FALSE(access.empty());
  const std::string codigo = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
  EXPECT_EQ(Post("/api/qr/generar", Generar(codigo, "")).Json()["mensaje"], "accessToken no debe estar vacío.");
  Http bad = Post("/api/qr/generar", Generar(codigo, "not-a-token"));
  EXPECT_EQ(bad.status, 412) << bad.body;
  EXPECT_EQ(bad.Json()["mensaje"], "Token inválido");

  Http generated = Post("/api/qr/generar", Generar(codigo, access));
  ASSERT_EQ(generated.status, 201) << generated.body;
  const json datos = generated.Json()["datos"];
  const std::string text = datos["textoQr"];
  EXPECT_EQ(text.rfind("QS2:", 0), 0u);
  EXPECT_EQ(datos["estado"], "GENERADO");
  EXPECT_EQ(datos["enlace"], base_ + "/?qr=" + crypto::PercentEncode(text));
  // The image is a PNG an independent reader decodes to the code's text.
  auto png = crypto::Base64Decode(datos["qrImagen"].get<std::string>());
  ASSERT_TRUE(png.ok());
  testing::WriteFile(dir_.File("qr.png"), std::string(crypto::AsString(*png)));
  auto read = testing::RunShell("zbarimg --raw -q " + ShellQuote(dir_.File("qr.png")));
  ASSERT_EQ(read.exit_code, 0) << "zbarimg (Debian zbar-tools): " << read.err;
  EXPECT_EQ(read.out, text + "\n");
  auto verify = [&] {
    return Curl("-X POST -H 'Content-Type: application/json' --data-binary @- " + ShellQuote(base_ + "/v1/qr/verify"),
                json{{"qr_text", text}}.dump());
  };
  // Generated, not confirmed: not in the ledger, not valid.
  Http before = verify();
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_EQ(before.Json()["valid"], false);
  EXPECT_EQ(before.Json()["format"], "QS2");
  EXPECT_EQ(before.Json()["reasons"][0].get<std::string>().rfind("not in ledger", 0), 0u) << before.body;
  EXPECT_EQ(Curl(ShellQuote(base_ + "/checkpoint")).body.find("\n0\n"), std::string("quipu.localhost/log").size());

  // The same codigoTransaccion and body: the first answer; another body: 409.
  Http again = Post("/api/qr/generar", Generar(codigo, access));
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.Json()["datos"]["textoQr"], text);
  Http reused = Post("/api/qr/generar", Generar(codigo, access, "Tutor"));
  EXPECT_EQ(reused.status, 409);
  EXPECT_EQ(reused.Json()["mensaje"], "El codigoTransaccion ya fue usado con otra solicitud");

  // Confirmed: its qr_issue is in the ledger and it verifies, with its fields.
  Http unknown = Post("/api/qr/confirmacion", {{"codigoTransaccion", "00000000-0000-4000-8000-000000000000"}});
  EXPECT_EQ(unknown.status, 409);
  EXPECT_EQ(unknown.Json()["mensaje"], "No existe un QR generado con ese codigoTransaccion");
  Http confirmed = Post("/api/qr/confirmacion", {{"codigoTransaccion", codigo}});
  ASSERT_EQ(confirmed.status, 201) << confirmed.body;
  EXPECT_EQ(confirmed.Json()["finalizado"], true);
  const uint64_t index = confirmed.Json()["datos"]["indice"];
  EXPECT_EQ(Post("/api/qr/confirmacion", {{"codigoTransaccion", codigo}}).Json()["datos"]["indice"], index);
  Http valid = verify();
  ASSERT_EQ(valid.status, 200);
  EXPECT_EQ(valid.Json()["valid"], true) << valid.body;
  EXPECT_EQ(valid.Json()["index"], index);
  EXPECT_EQ(valid.Json()["client_name"], "Banco Unión");
  EXPECT_EQ(valid.Json()["fields"]["codigoDocumento"], "TB-2026-0048213");
  EXPECT_EQ(valid.Json()["fields"]["titulares"][0]["nombreCompleto"], "María Quispe Mamani");
  EXPECT_EQ(valid.Json()["fields"]["validez"]["fechaEmision"], "15/11/2026");
  // The public log names the code's digest, nobody's name.
  const json entry = Curl(ShellQuote(base_ + "/v1/entries/" + std::to_string(index))).Json();
  EXPECT_EQ(entry.dump().find("Quispe"), std::string::npos) << entry;
  EXPECT_EQ(entry.dump().find("1234567"), std::string::npos) << entry;

  // Annulled: a qr_revoke, and the code shows revoked.
  // A reason the client gives does not reach the public log (it could name the holder).
  Http annulled = Post("/api/qr/anulacion", {{"codigoTransaccion", codigo}, {"motivo", "emitido a María Quispe por error"}});
  ASSERT_EQ(annulled.status, 202) << annulled.body;
  EXPECT_EQ(annulled.Json()["datos"]["indice"], index + 1);
  Http revoked = verify();
  EXPECT_EQ(revoked.Json()["valid"], false);
  EXPECT_EQ(revoked.Json()["revoked"], true);
  EXPECT_EQ(revoked.Json()["revocation"]["reason"], "Anulado por la institución");
  EXPECT_EQ(Curl(ShellQuote(base_ + "/v1/entries/" + std::to_string(index + 1))).body.find("Quispe"), std::string::npos);
  Http twice = Post("/api/qr/anulacion", {{"codigoTransaccion", codigo}});
  EXPECT_EQ(twice.status, 409);
  EXPECT_EQ(twice.Json()["mensaje"], "El QR ya fue anulado");
  EXPECT_EQ(Post("/api/qr/confirmacion", {{"codigoTransaccion", codigo}}).Json()["mensaje"], "El QR fue anulado");
  Http never = Post("/api/qr/anulacion", {{"codigoTransaccion", "00000000-0000-4000-8000-000000000000"}});
  EXPECT_EQ(never.status, 409);
  EXPECT_EQ(never.Json()["mensaje"], "No existe un QR generado con ese codigoTransaccion");
}

TEST_F(AgeticTest, AnUnconfirmedQrLapsesAfterADay) {
  const std::string access = idp_->AccessToken("1234567");
  ASSERT_FALSE(access.empty());
  const std::string codigo = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
  json past = Generar(codigo, access);
  past["documentoDigital"]["validez"]["fechaExpiracion"] = "16/11/2026";  // before the node's clock
  Http expired = Post("/api/qr/generar", past);
  EXPECT_EQ(expired.status, 400) << expired.body;
  EXPECT_EQ(expired.Json()["mensaje"], "fechaExpiracion ya pasó: el documento no está vigente.");
  Http generated = Post("/api/qr/generar", Generar(codigo, access));
  ASSERT_EQ(generated.status, 201) << generated.body;
  // Annulled before it was ever confirmed: nothing public to revoke.
  const std::string other = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e";
  ASSERT_EQ(Post("/api/qr/generar", Generar(other, access)).status, 201);
  Http annulled = Post("/api/qr/anulacion", {{"codigoTransaccion", other}});
  EXPECT_EQ(annulled.status, 202) << annulled.body;
  EXPECT_TRUE(annulled.Json()["datos"]["indice"].is_null());
  std::ofstream(clock_) << (kStart + 24 * 3600 + 1) * 1000000 << "\n";
  Http late = Post("/api/qr/confirmacion", {{"codigoTransaccion", codigo}});
  EXPECT_EQ(late.status, 409) << late.body;
  EXPECT_EQ(late.Json()["mensaje"], "El QR generado con ese codigoTransaccion venció sin confirmarse");
  EXPECT_EQ(Curl(ShellQuote(base_ + "/checkpoint")).body.find("\n0\n"), std::string("quipu.localhost/log").size())
      << "nothing entered the log";
}

}  // namespace
}  // namespace quipu
