// The AGETIC-compatible API's shapes (api/agetic_json.h): every refusal of a
// request with its original status and Spanish message, both ways
// integrators compute hashDocumento, the callback rendered from the node's
// notification and the answers that count as taking it; and the cache of
// institutions' access tokens (api/access_tokens.h).
#include "api/agetic_json.h"

#include <gtest/gtest.h>

#include <functional>

#include "api/access_tokens.h"
#include "api/agetic_routes.h"
#include "api/qr_json.h"
#include "crypto/encoding.h"
#include "tests/common/minimal_pdf.h"

namespace quipu::api {
namespace {

using nlohmann::json;

const std::string kUuid = "5b7f3c1e-8d2a-4c6b-9e0f-1a2b3c4d5e6f";

std::string B64(const std::string& bytes) { return crypto::Base64Encode(crypto::AsBytes(bytes)); }

json Single(const std::string& file = testing::MinimalPdf(1)) {
  return {{"tipoDocumento", "PDF"},
          {"documento", B64(file)},
          {"hashDocumento", crypto::HexEncode(crypto::Sha256(file))},
          {"idTramite", kUuid},
          {"descripcion", "Contrato de préstamo"},
          {"accessToken", "at-123"}};
}

agetic::Refusal RefusalOf(const json& body, bool multiple = false) {
  agetic::Solicitud s;
  auto r = agetic::ReadSolicitud(body, multiple, s);
  return r.value_or(agetic::Refusal{0, ""});
}

TEST(AgeticSolicitud, ReadsASingleRequestWithEitherHash) {
  const std::string pdf = testing::MinimalPdf(1);
  agetic::Solicitud s;
  ASSERT_FALSE(agetic::ReadSolicitud(Single(pdf), false, s));
  EXPECT_EQ(s.access_token, "at-123");
  EXPECT_EQ(s.id_tramite, kUuid);
  EXPECT_EQ(s.descripcion, "Contrato de préstamo");
  ASSERT_EQ(s.documents.size(), 1u);
  EXPECT_EQ(s.documents[0].document.media, node::DocType::kPdf);
  EXPECT_EQ(std::string(s.documents[0].document.content->begin(), s.documents[0].document.content->end()), pdf);
  // The hash of the base64 text as sent, upper-case hex, an unknown field: accepted too.
  json other = Single(pdf);
  other["hashDocumento"] = crypto::HexEncode(crypto::Sha256(B64(pdf)));
  for (char& c : other["hashDocumento"].get_ref<std::string&>()) c = static_cast<char>(std::toupper(c));
  other["campoDesconocido"] = {1, 2};
  other["idTramite"] = "5B7F3C1E-8D2A-4C6B-9E0F-1A2B3C4D5E6F";
  agetic::Solicitud t;
  ASSERT_FALSE(agetic::ReadSolicitud(other, false, t));
  EXPECT_EQ(t.id_tramite, kUuid);  // one key, whatever the case
}

TEST(AgeticSolicitud, RefusesWithTheOriginalsStatusAndMessage) {
  auto expect = [](json body, unsigned status, const std::string& mensaje, bool multiple = false) {
    const agetic::Refusal r = RefusalOf(body, multiple);
    EXPECT_EQ(r.status, status) << body.dump().substr(0, 200);
    EXPECT_EQ(r.mensaje, mensaje) << body.dump().substr(0, 200);
  };
  json b = Single();
  b["accessToken"] = "";
  expect(b, 400, "accessToken no debe estar vacío.");
  b.erase("accessToken");
  expect(b, 400, "accessToken no debe estar vacío.");
  b = Single();
  b["documento"] = "";
  expect(b, 400, "documento no debe estar vacío.");
  b = Single();
  b["documento"] = "esto no es base64!";
  expect(b, 400, "documento no válido");
  b = Single();
  b["descripcion"] = "";
  expect(b, 400, "descripcion no debe estar vacío.");
  b = Single();
  b["idTramite"] = "12345";
  expect(b, 400, "idTramite debe ser un UUID.");
  b = Single();
  b["tipoDocumento"] = "DOCX";
  expect(b, 400, "tipoDocumento debe ser PDF o JSON.");
  b = Single();
  b["descripcion"] = 7;  // a wrong type is refused, not coerced
  expect(b, 400, "descripcion debe ser un texto.");
  b = Single();
  b["hashDocumento"] = crypto::HexEncode(crypto::Sha256(std::string("otro")));
  expect(b, 412, "El hash generado no coincide con el de la solicitud");
  const std::string big(agetic::kMaxFileBytes + 1, 'x');
  b = Single(big);
  expect(b, 412, "El tamaño del archivo excede de 20 MB");
  expect(json::array(), 400, "La solicitud debe ser un objeto JSON.");
  // Multiple requests.
  json m = {{"idTramite", kUuid}, {"accessToken", "at"}, {"documentos", json::array()}};
  expect(m, 400, "documentos no debe estar vacío.", true);
  json d = Single();
  d.erase("idTramite");
  d.erase("accessToken");
  d["uuidDocumento"] = "no-uuid";
  m["documentos"] = {d};
  expect(m, 400, "uuidDocumento debe ser un UUID.", true);
}

TEST(AgeticSolicitud, ReadsAMultipleRequestOfPdfAndJson) {
  const std::string pdf = testing::MinimalPdf(2);
  const std::string doc = R"({"b": 1, "a": [true]})";
  json m = {{"idTramite", kUuid},
            {"accessToken", "at"},
            {"documentos",
             {{{"tipoDocumento", "PDF"}, {"documento", B64(pdf)}, {"hashDocumento", crypto::HexEncode(crypto::Sha256(pdf))},
               {"descripcion", "Contrato"}, {"uuidDocumento", "00000000-0000-4000-8000-000000000001"}},
              {{"tipoDocumento", "json"}, {"documento", B64(doc)}, {"hashDocumento", crypto::HexEncode(crypto::Sha256(doc))},
               {"descripcion", "Datos"}, {"uuidDocumento", "00000000-0000-4000-8000-000000000002"}}}}};
  agetic::Solicitud s;
  ASSERT_FALSE(agetic::ReadSolicitud(m, true, s));
  ASSERT_EQ(s.documents.size(), 2u);
  EXPECT_EQ(s.documents[1].document.media, node::DocType::kJson);
  EXPECT_EQ(*s.documents[0].name, "Contrato");
  EXPECT_EQ(s.documents[1].client_key, "00000000-0000-4000-8000-000000000002");
}

TEST(AgeticSolicitud, TheFingerprintIgnoresTheTokenButNotTheFileOrTheCitizen) {
  auto read = [](const json& body) {
    agetic::Solicitud s;
    EXPECT_FALSE(agetic::ReadSolicitud(body, false, s));
    return s;
  };
  json a = Single();
  json b = a;
  b["accessToken"] = "a-refreshed-token";
  b["campoIgnorado"] = true;
  const auto fa = agetic::Fingerprint(read(a), "/api/solicitudes", "1234567");
  EXPECT_EQ(fa, agetic::Fingerprint(read(b), "/api/solicitudes", "1234567"));
  EXPECT_NE(fa, agetic::Fingerprint(read(a), "/api/solicitudes", "7654321"));
  EXPECT_NE(fa, agetic::Fingerprint(read(a), "/api/solicitudes/multiples", "1234567"));
  b["descripcion"] = "otra";
  EXPECT_NE(fa, agetic::Fingerprint(read(b), "/api/solicitudes", "1234567"));
  EXPECT_NE(fa, agetic::Fingerprint(read(Single(testing::MinimalPdf(2))), "/api/solicitudes", "1234567"));
}

TEST(AgeticStatus, TheNodesRefusalsInTheOriginalsWords) {
  EXPECT_EQ(agetic::RefusalFor(Unprocessable("x")).mensaje, "documento no válido");
  EXPECT_EQ(agetic::RefusalFor(InvalidArgument("documents[0].content: not JSON")).mensaje, "documento no válido");
  EXPECT_EQ(agetic::RefusalFor(InvalidArgument("description: too long")).status, 400u);
  EXPECT_EQ(agetic::RefusalFor(AlreadyExists("k")).status, 409u);
  EXPECT_EQ(agetic::RefusalFor(ResourceExhausted("k")).status, 429u);
  EXPECT_EQ(agetic::RefusalFor(Unavailable("k")).status, 503u);
  EXPECT_EQ(agetic::RefusalFor(Internal("secret detail")).mensaje.find("secret"), std::string::npos);
}

TEST(AgeticArchivo, RefusesWhatIsMissingOrNotBase64) {
  std::vector<uint8_t> out;
  EXPECT_EQ(agetic::ReadArchivo(json::object(), out)->status, 400u);
  EXPECT_EQ(agetic::ReadArchivo(json::object(), out)->mensaje, "archivo no debe estar vacío.");
  EXPECT_EQ(agetic::ReadArchivo({{"archivo", "%%%"}}, out)->mensaje, "El documento enviado no es válido");
  EXPECT_EQ(agetic::ReadArchivo({{"archivo", "%%%"}}, out)->status, 412u);
  EXPECT_FALSE(agetic::ReadArchivo({{"archivo", "data:application/pdf;base64," + B64("%PDF-1.7")}}, out));
  EXPECT_EQ(std::string(out.begin(), out.end()), "%PDF-1.7");
}

// --- QR Seguro ------------------------------------------------------------------

json Generar() {
  return {{"accessToken", "at-123"},
          {"mostrarEnlace", true},
          {"codigoTransaccion", kUuid},
          {"documentoDigital",
           {{"codigoDocumento", "TB-2024-0012345"},
            {"nombreDocumento", "Título de Bachiller"},
            {"descripcionDocumento", "Unidad Educativa Simón Bolívar"},
            {"validez", {{"fechaEmision", "15/03/2024"}, {"fechaExpiracion", "31/12/2030"}}},
            {"titulares",
             {{{"nombreCompleto", "Ana Quispe Mamani"},
               {"tipoDocumento", "CI"},
               {"numeroDocumento", "1234567"},
               {"rol", "Bachiller"}}}},
            {"metadatos", {{{"clave", "gestión"}, {"valor", "2024"}}}}}}};
}

agetic::Refusal QrRefusalOf(const json& body) {
  agetic::QrGenerar g;
  return agetic::ReadQrGenerar(body, g).value_or(agetic::Refusal{0, ""});
}

TEST(AgeticQr, ReadsAGenerationIntoTheTypedDocument) {
  agetic::QrGenerar g;
  ASSERT_FALSE(agetic::ReadQrGenerar(Generar(), g));
  EXPECT_EQ(g.access_token, "at-123");
  EXPECT_TRUE(g.mostrar_enlace);
  EXPECT_EQ(g.codigo_transaccion, kUuid);
  const node::QrDocument& d = g.document;
  EXPECT_EQ(d.code, "TB-2024-0012345");
  EXPECT_EQ(d.name, "Título de Bachiller");
  EXPECT_EQ(d.description, "Unidad Educativa Simón Bolívar");
  EXPECT_EQ(d.issued_day, 19797);        // 2024-03-15
  EXPECT_EQ(d.expires_day, 22279);       // 2030-12-31
  ASSERT_EQ(d.holders.size(), 1u);
  EXPECT_EQ(d.holders[0].id_type, node::QrHolder::IdType::kCi);
  EXPECT_EQ(d.holders[0].id_number, "1234567");
  ASSERT_EQ(d.metadata.size(), 1u);
  EXPECT_EQ(d.metadata[0].first, "gestión");
  // Back in the original's names, as /v1/qr/verify shows a valid code's fields.
  json back = QrDocumentJson(d);
  json sent = Generar()["documentoDigital"];
  EXPECT_EQ(back, sent);
  // Optional parts absent; an unknown field ignored; mostrarEnlace absent: false.
  json minimal = Generar();
  minimal.erase("mostrarEnlace");
  minimal["campoDesconocido"] = 1;
  minimal["documentoDigital"].erase("descripcionDocumento");
  minimal["documentoDigital"].erase("metadatos");
  minimal["documentoDigital"]["validez"].erase("fechaExpiracion");
  minimal["documentoDigital"]["titulares"][0]["tipoDocumento"] = "CIE";
  agetic::QrGenerar m;
  ASSERT_FALSE(agetic::ReadQrGenerar(minimal, m));
  EXPECT_FALSE(m.mostrar_enlace);
  EXPECT_FALSE(m.document.description || m.document.expires_day);
  EXPECT_TRUE(m.document.metadata.empty());
  EXPECT_EQ(m.document.holders[0].id_type, node::QrHolder::IdType::kCie);
}

TEST(AgeticQr, RefusesWithStatusAndMessage) {
  struct Case {
    std::function<void(json&)> change;
    unsigned status;
    std::string mensaje;
  };
  auto dd = [](json& b) -> json& { return b["documentoDigital"]; };
  const std::vector<Case> cases = {
      {[](json& b) { b["accessToken"] = ""; }, 400, "accessToken no debe estar vacío."},
      {[](json& b) { b["mostrarEnlace"] = "sí"; }, 400, "mostrarEnlace debe ser un booleano."},
      {[](json& b) { b.erase("codigoTransaccion"); }, 400, "codigoTransaccion no debe estar vacío."},
      {[](json& b) { b["codigoTransaccion"] = "123"; }, 400, "codigoTransaccion debe ser un UUID."},
      {[](json& b) { b.erase("documentoDigital"); }, 400, "documentoDigital no debe estar vacío."},
      {[](json& b) { b["documentoDigital"] = "x"; }, 400, "documentoDigital debe ser un objeto JSON."},
      {[&](json& b) { dd(b)["codigoDocumento"] = ""; }, 400, "codigoDocumento no debe estar vacío."},
      {[&](json& b) { dd(b)["codigoDocumento"] = 12; }, 400, "codigoDocumento debe ser un texto."},
      {[&](json& b) { dd(b)["nombreDocumento"] = std::string(201, 'n'); }, 400,
       "nombreDocumento debe tener como máximo 200 caracteres."},
      {[&](json& b) { dd(b)["descripcionDocumento"] = 5; }, 400, "descripcionDocumento debe ser un texto."},
      {[&](json& b) { dd(b).erase("validez"); }, 400, "validez no debe estar vacío."},
      {[&](json& b) { dd(b)["validez"]["fechaEmision"] = "2024-03-15"; }, 400,
       "fechaEmision debe ser una fecha DD/MM/AAAA."},
      {[&](json& b) { dd(b)["validez"]["fechaEmision"] = "31/02/2024"; }, 400,
       "fechaEmision debe ser una fecha DD/MM/AAAA."},
      {[&](json& b) { dd(b)["validez"]["fechaExpiracion"] = "1/1/2030"; }, 400,
       "fechaExpiracion debe ser una fecha DD/MM/AAAA."},
      {[&](json& b) { dd(b)["validez"]["fechaExpiracion"] = "14/03/2024"; }, 400,
       "fechaExpiracion no debe ser anterior a fechaEmision."},
      {[&](json& b) { dd(b)["titulares"] = json::array(); }, 400, "titulares no debe estar vacío."},
      {[&](json& b) { dd(b).erase("titulares"); }, 400, "titulares no debe estar vacío."},
      {[&](json& b) { dd(b)["titulares"] = "Ana"; }, 400, "titulares debe ser una lista."},
      {[&](json& b) { dd(b)["titulares"][0]["tipoDocumento"] = "PASAPORTE"; }, 400, "tipoDocumento debe ser CI o CIE."},
      {[&](json& b) { dd(b)["titulares"][0]["numeroDocumento"] = "1234567890123456"; }, 400,
       "numeroDocumento debe tener como máximo 15 caracteres."},
      {[&](json& b) { dd(b)["titulares"][0]["rol"] = std::string(51, 'r'); }, 400,
       "rol debe tener como máximo 50 caracteres."},
      {[&](json& b) { dd(b)["titulares"][0].erase("nombreCompleto"); }, 400, "nombreCompleto no debe estar vacío."},
      {[&](json& b) { dd(b)["titulares"][0] = 1; }, 400, "cada titular debe ser un objeto JSON."},
      {[&](json& b) { dd(b)["metadatos"] = json::array({json{{"clave", "k"}, {"valor", std::string(51, 'v')}}}); },
       400, "valor debe tener como máximo 50 caracteres."},
      {[&](json& b) { dd(b)["metadatos"][0]["valor"] = 2024; }, 400, "valor debe ser un texto."},
      {[&](json& b) { dd(b)["metadatos"] = json::array({json{{"valor", "v"}}}); }, 400, "clave no debe estar vacío."},
      {[&](json& b) {
         dd(b)["metadatos"] = json::array();
         for (int i = 0; i < 21; ++i) dd(b)["metadatos"].push_back({{"clave", "k"}, {"valor", "v"}});
       },
       400, "metadatos debe tener como máximo 20 elementos."},
  };
  for (const Case& c : cases) {
    json body = Generar();
    c.change(body);
    const agetic::Refusal r = QrRefusalOf(body);
    EXPECT_EQ(r.status, c.status) << body.dump();
    EXPECT_EQ(r.mensaje, c.mensaje) << body.dump();
  }
  EXPECT_EQ(QrRefusalOf(json::array()).mensaje, "La solicitud debe ser un objeto JSON.");
  // Characters, not bytes: 50 accented letters are 100 bytes and fit.
  json accented = Generar();
  std::string rol;
  for (int i = 0; i < 50; ++i) rol += "é";
  accented["documentoDigital"]["titulares"][0]["rol"] = rol;
  EXPECT_EQ(QrRefusalOf(accented).status, 0u);
  // Within every field's limit but too large for a code, all together.
  json huge = Generar();
  huge["documentoDigital"]["metadatos"] = json::array();
  for (int i = 0; i < 20; ++i) {
    huge["documentoDigital"]["metadatos"].push_back({{"clave", std::string(50, 'k')}, {"valor", std::string(50, 'v')}});
  }
  const agetic::Refusal too_big = QrRefusalOf(huge);
  EXPECT_EQ(too_big.status, 400u);
  EXPECT_EQ(too_big.mensaje.rfind("documentoDigital no cabe en un QR Seguro", 0), 0u) << too_big.mensaje;
}

TEST(AgeticQr, TheFingerprintIgnoresTheTokenButNotTheDocumentOrTheCitizen) {
  agetic::QrGenerar a, b;
  ASSERT_FALSE(agetic::ReadQrGenerar(Generar(), a));
  json other = Generar();
  other["accessToken"] = "another";
  ASSERT_FALSE(agetic::ReadQrGenerar(other, b));
  EXPECT_EQ(agetic::QrFingerprint(a, "1234567"), agetic::QrFingerprint(b, "1234567"));
  EXPECT_NE(agetic::QrFingerprint(a, "1234567"), agetic::QrFingerprint(a, "7654321"));
  other["documentoDigital"]["titulares"][0]["rol"] = "Tutor";
  ASSERT_FALSE(agetic::ReadQrGenerar(other, b));
  EXPECT_NE(agetic::QrFingerprint(a, "1234567"), agetic::QrFingerprint(b, "1234567"));
  other = Generar();
  other["mostrarEnlace"] = false;
  ASSERT_FALSE(agetic::ReadQrGenerar(other, b));
  EXPECT_NE(agetic::QrFingerprint(a, "1234567"), agetic::QrFingerprint(b, "1234567"));
}

TEST(AgeticQr, ConfirmationAndAnnulmentRefusals) {
  std::string codigo;
  EXPECT_EQ(agetic::ReadCodigoTransaccion(json::object(), codigo)->mensaje, "codigoTransaccion no debe estar vacío.");
  EXPECT_EQ(agetic::ReadCodigoTransaccion({{"codigoTransaccion", "x"}}, codigo)->mensaje,
            "codigoTransaccion debe ser un UUID.");
  EXPECT_FALSE(agetic::ReadCodigoTransaccion({{"codigoTransaccion", kUuid}, {"motivo", "a Juan Pérez"}}, codigo));
  EXPECT_EQ(codigo, kUuid);
  using S = StatusCode;
  using agetic::QrStep;
  EXPECT_EQ(agetic::QrRefusalFor(Status(S::kAlreadyExists, "x"), QrStep::kGenerar).mensaje,
            "El codigoTransaccion ya fue usado con otra solicitud");
  const agetic::Refusal past = agetic::QrRefusalFor(Status(S::kExpired, "x"), QrStep::kGenerar);
  EXPECT_EQ(past.status, 400u);
  EXPECT_EQ(past.mensaje, "fechaExpiracion ya pasó: el documento no está vigente.");
  EXPECT_EQ(agetic::QrRefusalFor(Status(S::kNotFound, "x"), QrStep::kConfirmar).mensaje,
            "No existe un QR generado con ese codigoTransaccion");
  EXPECT_EQ(agetic::QrRefusalFor(Status(S::kExpired, "x"), QrStep::kConfirmar).mensaje,
            "El QR generado con ese codigoTransaccion venció sin confirmarse");
  EXPECT_EQ(agetic::QrRefusalFor(Status(S::kFailedPrecondition, "x"), QrStep::kConfirmar).mensaje, "El QR fue anulado");
  EXPECT_EQ(agetic::QrRefusalFor(Status(S::kFailedPrecondition, "x"), QrStep::kAnular).mensaje, "El QR ya fue anulado");
  for (S code : {S::kNotFound, S::kExpired, S::kFailedPrecondition}) {
    EXPECT_EQ(agetic::QrRefusalFor(Status(code, "x"), QrStep::kAnular).status, 409u);
  }
  EXPECT_EQ(agetic::QrRefusalFor(Status(S::kUnavailable, "x"), QrStep::kGenerar).status, 503u);
}

json Notification(const std::string& status, size_t documents) {
  json docs = json::array();
  for (size_t i = 0; i < documents; ++i) {
    docs.push_back({{"sha256", crypto::HexEncode(crypto::Sha256(std::to_string(i)))},
                    {"index", 10 + i},
                    {"client_key", "uuid-" + std::to_string(i)}});
  }
  return {{"request", "r_0123456789abcdef0123"}, {"status", status}, {"documents", docs},
          {"dialect", "agetic"}, {"uuid", kUuid}, {"client_key", "tramite"},
          {"created_at", "2026-12-03T10:00:00Z"}, {"decided_at", "2026-12-03T10:01:00Z"}, {"checkpoint", "cp"}};
}

TEST(AgeticCallback, CarriesTheOriginalsFieldsAndQuipusProofs) {
  auto cb = agetic::Callback(Notification("approved", 1), "https://quipu.example");
  ASSERT_TRUE(cb);
  EXPECT_EQ((*cb)["aceptado"], true);
  EXPECT_EQ((*cb)["introducido"], true);
  EXPECT_EQ((*cb)["requestUuid"], kUuid);
  EXPECT_EQ((*cb)["idTramite"], "tramite");
  EXPECT_EQ((*cb)["codigoOperacion"], "r_0123456789abcdef0123");
  EXPECT_EQ((*cb)["transaction_id"], "10");
  EXPECT_EQ((*cb)["fechaHoraSolicitud"], "2026-12-03T10:00:00Z");
  EXPECT_EQ((*cb)["hashDatos"], crypto::HexEncode(crypto::Sha256(std::string("0"))));
  EXPECT_FALSE((*cb)["mensaje"].get<std::string>().empty());
  EXPECT_EQ((*cb)["quipu"]["proofs"], "https://quipu.example/v1/approvals/r_0123456789abcdef0123");
  EXPECT_EQ((*cb)["quipu"]["checkpoint"], "cp");
  // Several documents: hashDatos covers them all, in order.
  auto many = agetic::Callback(Notification("rejected", 2), "https://q");
  ASSERT_TRUE(many);
  EXPECT_EQ((*many)["aceptado"], false);
  EXPECT_EQ((*many)["introducido"], true);
  std::string both;
  for (int i = 0; i < 2; ++i) {
    const auto d = crypto::Sha256(std::to_string(i));
    both.append(d.begin(), d.end());
  }
  EXPECT_EQ((*many)["hashDatos"], crypto::HexEncode(crypto::Sha256(both)));
  EXPECT_EQ((*many)["documentos"][1]["uuidDocumento"], "uuid-1");
  // quipu's own notifications keep their shape.
  json own = Notification("approved", 1);
  own.erase("dialect");
  EXPECT_FALSE(agetic::Callback(own, "https://q"));
}

TEST(AgeticCallback, OnlyFinalizadoTrueTakesIt) {
  EXPECT_TRUE(agetic::CallbackAccepted(R"({"finalizado": true, "mensaje": "ok"})"));
  EXPECT_FALSE(agetic::CallbackAccepted(R"({"finalizado": false, "mensaje": "no"})"));
  EXPECT_FALSE(agetic::CallbackAccepted(R"({"finalizado": "true"})"));
  EXPECT_FALSE(agetic::CallbackAccepted(R"({"ok": true})"));
  EXPECT_FALSE(agetic::CallbackAccepted("OK"));
  EXPECT_FALSE(agetic::CallbackAccepted(""));
}

// Before the provider is asked: a token that cannot be one is 412, and a
// client past its limit of lookups is 429; neither reaches the provider.
TEST(AgeticHandler, TokensThatCannotBeAndTooManyLookupsNeverReachTheProvider) {
  int asked = 0;
  AgeticRoutes routes;
  routes.page_base = "http://127.0.0.1:1";
  routes.citizen_of_token = [&asked](const std::string&) -> Result<node::Citizen> {
    ++asked;
    return PermissionDenied("refused");
  };
  node::ClientInfo client;
  client.id = "c_000000000001";
  Request req;
  json body = Single();
  body["accessToken"] = "abc\r\nX-Injected: 1";
  req.body = body.dump();
  Response r = agetic_handlers::Solicitud(routes, client, req, false);
  EXPECT_EQ(r.status, 412u);
  EXPECT_EQ(json::parse(r.body)["mensaje"], "Token inválido");
  EXPECT_EQ(asked, 0);
  int64_t now = 0;
  node::RateLimiter limit(3600, 1, [&now] { return now; });
  body["accessToken"] = "at-valid-looking";
  req.body = body.dump();
  EXPECT_EQ(agetic_handlers::Solicitud(routes, client, req, false, &limit).status, 412u);  // asked: refused
  EXPECT_EQ(asked, 1);
  Response limited = agetic_handlers::Solicitud(routes, client, req, false, &limit);
  EXPECT_EQ(limited.status, 429u);
  EXPECT_EQ(json::parse(limited.body)["finalizado"], false);
  EXPECT_EQ(asked, 1);
}

// A small body of many values is refused before its tree outgrows it.
TEST(JsonBodies, MoreValuesThanTheLimitAre400) {
  Request req;
  req.body = "{\"x\":[";
  for (size_t i = 0; i < kMaxBodyValues; ++i) req.body += "{},";
  req.body += "{}]}";
  json out;
  auto refused = ReadJsonBody(req, out);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400u);
  EXPECT_NE(refused->body.find("values"), std::string::npos) << refused->body;
  req.body = "{\"x\":[{},{}]}";
  EXPECT_FALSE(ReadJsonBody(req, out));
}

TEST(AccessTokens, AskTheProviderOncePerTokenWhileFreshAndNeverRememberARefusal) {
  int asked = 0;
  int64_t now = 1000;
  AccessTokenCache cache(
      [&asked](const std::string& token) -> Result<node::Citizen> {
        ++asked;
        if (token == "bad") return PermissionDenied("refused");
        node::Citizen c;
        c.subject = "sub-" + token;
        c.document_number = "1234567";
        return c;
      },
      std::chrono::seconds(60), 2, [&now] { return now; });
  EXPECT_EQ(cache.Check("t1")->subject, "sub-t1");
  EXPECT_EQ(cache.Check("t1")->subject, "sub-t1");
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(cache.Check("bad").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(cache.Check("bad").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(asked, 3);
  now += 61;  // stale: asked again
  EXPECT_TRUE(cache.Check("t1").ok());
  EXPECT_EQ(asked, 4);
  // At most two tokens: the oldest goes first.
  EXPECT_TRUE(cache.Check("t2").ok());
  EXPECT_TRUE(cache.Check("t3").ok());
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.Check("t1").ok());
  EXPECT_EQ(asked, 7);
}

}  // namespace
}  // namespace quipu::api
