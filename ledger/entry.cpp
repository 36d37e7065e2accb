#include "ledger/entry.h"

#include <cstdio>
#include <ctime>

#include "crypto/encoding.h"
#include "crypto/jcs.h"

namespace quipu::ledger {
namespace {

using nlohmann::json;

constexpr size_t kMaxTextField = 256;

bool IsLowerHex(std::string_view s, size_t len) {
  if (s.size() != len) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// A short identifier: 1..256 printable ASCII characters.
Status CheckText(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return InvalidArgument(std::string("entry: missing field '") + name + "'");
  if (!it->is_string()) return InvalidArgument(std::string("entry: '") + name + "' must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.empty() || s.size() > kMaxTextField) {
    return InvalidArgument(std::string("entry: '") + name + "' must have 1 to 256 characters");
  }
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e) {
      return InvalidArgument(std::string("entry: '") + name + "' must be printable ASCII");
    }
  }
  return Status::Ok();
}

// Free text (a revocation reason): 1..256 bytes of UTF-8; JCS checks UTF-8.
Status CheckFreeText(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return InvalidArgument(std::string("entry: missing field '") + name + "'");
  if (!it->is_string()) return InvalidArgument(std::string("entry: '") + name + "' must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.empty() || s.size() > kMaxTextField) {
    return InvalidArgument(std::string("entry: '") + name + "' must have 1 to 256 bytes");
  }
  return Status::Ok();
}

Status CheckHex64(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return InvalidArgument(std::string("entry: missing field '") + name + "'");
  if (!it->is_string() || !IsLowerHex(it->get_ref<const std::string&>(), 64)) {
    return InvalidArgument(std::string("entry: '") + name + "' must be 64 lower-case hex digits");
  }
  return Status::Ok();
}

Status CheckDoc(const json& obj) {
  auto it = obj.find("doc");
  if (it == obj.end()) return InvalidArgument("entry: missing field 'doc'");
  if (!it->is_object()) return InvalidArgument("entry: 'doc' must be an object");
  if (it->size() != 2) return InvalidArgument("entry: 'doc' must have exactly sha256 and media_type");
  QUIPU_RETURN_IF_ERROR(CheckHex64(*it, "sha256"));
  auto mt = it->find("media_type");
  if (mt == it->end() || !mt->is_string() ||
      (*mt != "application/pdf" && *mt != "application/json")) {
    return InvalidArgument("entry: 'doc.media_type' must be application/pdf or application/json");
  }
  return Status::Ok();
}

Status CheckIndex(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return InvalidArgument(std::string("entry: missing field '") + name + "'");
  // Indices stay below 2^53 so that every JSON reader reads them exactly.
  const bool non_negative = it->is_number_unsigned() ||
                            (it->is_number_integer() && it->get<int64_t>() >= 0);
  if (!non_negative || it->get<uint64_t>() >= (uint64_t{1} << 53)) {
    return InvalidArgument(std::string("entry: '") + name + "' must be a ledger index");
  }
  return Status::Ok();
}

Status CheckFieldCount(const json& obj, size_t expected, const std::string& type) {
  if (obj.size() != expected) {
    return InvalidArgument("entry: a '" + type + "' entry has exactly " +
                           std::to_string(expected - 1) + " fields besides type; got extra fields");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateEntryFields(const json& fields) {
  if (!fields.is_object()) return InvalidArgument("entry: must be a JSON object");
  if (fields.contains("v") || fields.contains("time")) {
    return InvalidArgument("entry: 'v' and 'time' are set by the sequencer, not by callers");
  }
  auto t = fields.find("type");
  if (t == fields.end() || !t->is_string()) return InvalidArgument("entry: missing string field 'type'");
  const std::string& type = t->get_ref<const std::string&>();
  if (type == "approval" || type == "rejection") {
    QUIPU_RETURN_IF_ERROR(CheckText(fields, "client"));
    QUIPU_RETURN_IF_ERROR(CheckText(fields, "request"));
    QUIPU_RETURN_IF_ERROR(CheckHex64(fields, "subject"));
    QUIPU_RETURN_IF_ERROR(CheckDoc(fields));
    return CheckFieldCount(fields, 5, type);
  }
  if (type == "qr_issue") {
    QUIPU_RETURN_IF_ERROR(CheckText(fields, "client"));
    QUIPU_RETURN_IF_ERROR(CheckDoc(fields));
    QUIPU_RETURN_IF_ERROR(CheckHex64(fields, "payload"));
    return CheckFieldCount(fields, 4, type);
  }
  if (type == "qr_revoke") {
    QUIPU_RETURN_IF_ERROR(CheckText(fields, "client"));
    QUIPU_RETURN_IF_ERROR(CheckIndex(fields, "target"));
    QUIPU_RETURN_IF_ERROR(CheckFreeText(fields, "reason"));
    return CheckFieldCount(fields, 4, type);
  }
  return InvalidArgument("entry: unknown type '" + type + "'");
}

Result<std::string> BuildEntry(const json& fields, std::string_view time) {
  json full = fields;
  full["v"] = kEntryVersion;
  full["time"] = std::string(time);
  QUIPU_ASSIGN_OR_RETURN(std::string bytes, crypto::CanonicalDump(full));
  if (bytes.size() > kMaxEntryBytes) {
    return InvalidArgument("entry: " + std::to_string(bytes.size()) + " bytes, over the 16 KiB limit");
  }
  return bytes;
}

Result<EntrySummary> ParseEntry(std::string_view bytes) {
  auto parsed = crypto::ParseJsonStrict(bytes);
  if (!parsed.ok()) return Corruption("entry is not valid JSON: " + parsed.status().message());
  json j = std::move(parsed).value();
  auto canonical = crypto::CanonicalDump(j);
  if (!canonical.ok() || *canonical != bytes) return Corruption("entry is not in RFC 8785 canonical form");
  if (!j.is_object()) return Corruption("entry is not an object");
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_integer() || v->get<int64_t>() != kEntryVersion) {
    return Corruption("entry has no 'v' of 1");
  }
  auto time = j.find("time");
  if (time == j.end() || !time->is_string() || !ParseTime(time->get_ref<const std::string&>()).ok()) {
    return Corruption("entry has no valid 'time'");
  }
  EntrySummary s;
  s.time = time->get<std::string>();
  j.erase("v");
  j.erase("time");
  if (Status st = ValidateEntryFields(j); !st.ok()) return Corruption(st.message());
  s.type = j["type"].get<std::string>();
  s.client = j["client"].get<std::string>();
  if (auto doc = j.find("doc"); doc != j.end()) {
    auto hex = crypto::HexDecode((*doc)["sha256"].get<std::string>());
    crypto::Digest d;
    std::copy(hex->begin(), hex->end(), d.begin());
    s.doc_sha256 = d;
    s.media_type = (*doc)["media_type"].get<std::string>();
  }
  if (auto target = j.find("target"); target != j.end()) s.target = target->get<uint64_t>();
  return s;
}

std::string FormatTime(int64_t unix_micros) {
  int64_t secs = unix_micros / 1000000;
  int64_t micros = unix_micros % 1000000;
  if (micros < 0) {
    micros += 1000000;
    secs -= 1;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(micros));
  return buf;
}

Result<int64_t> ParseTime(std::string_view text) {
  // Exactly YYYY-MM-DDTHH:MM:SS.ffffffZ
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (text.size() != kShape.size()) return InvalidArgument("time: not YYYY-MM-DDTHH:MM:SS.ffffffZ");
  for (size_t i = 0; i < kShape.size(); ++i) {
    bool ok = kShape[i] == 'd' ? (text[i] >= '0' && text[i] <= '9') : text[i] == kShape[i];
    if (!ok) return InvalidArgument("time: not YYYY-MM-DDTHH:MM:SS.ffffffZ");
  }
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (text[i] - '0');
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 59) {
    return InvalidArgument("time: field out of range");
  }
  int64_t secs = static_cast<int64_t>(timegm(&tm));
  int64_t micros = secs * 1000000 + num(20, 6);
  if (FormatTime(micros) != text) return InvalidArgument("time: not a real date");
  return micros;
}

}  // namespace quipu::ledger
