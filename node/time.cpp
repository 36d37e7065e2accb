#include "node/time.h"

#include "ledger/entry.h"

#include <string>

namespace quipu::node {
namespace {

bool Digits(std::string_view s, size_t at, size_t n, int& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar.
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

Result<int64_t> ParseRfc3339(std::string_view s) {
  const Status shape = InvalidArgument("'" + std::string(s.substr(0, 40)) +
                                       "' is not an RFC 3339 time like 2030-01-01T00:00:00Z");
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, month) || s[7] != '-' ||
      !Digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') || !Digits(s, 11, 2, hour) || s[13] != ':' ||
      !Digits(s, 14, 2, minute) || s[16] != ':' || !Digits(s, 17, 2, second)) {
    return shape;
  }
  size_t at = 19;
  int64_t micros = 0;
  if (at < s.size() && s[at] == '.') {
    ++at;
    size_t digits = 0;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      if (digits < 6) micros = micros * 10 + (s[at] - '0');
      ++digits;
      ++at;
    }
    if (digits == 0 || digits > 9) return shape;
    for (size_t i = digits; i < 6; ++i) micros *= 10;
  }
  int64_t offset_minutes = 0;
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
    ++at;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    int oh, om;
    if (!Digits(s, at + 1, 2, oh) || at + 3 >= s.size() || s[at + 3] != ':' || !Digits(s, at + 4, 2, om) ||
        oh > 23 || om > 59) {
      return shape;
    }
    offset_minutes = (s[at] == '+' ? 1 : -1) * (oh * 60 + om);
    at += 6;
  } else {
    return shape;
  }
  if (at != s.size()) return shape;
  if (year < 1970 || year > 9999) return InvalidArgument("the year must be 1970 to 9999");
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) {
    return InvalidArgument("'" + std::string(s.substr(0, 10)) + "' is not a date");
  }
  if (hour > 23 || minute > 59) return InvalidArgument("the hour or minute is out of range");
  if (second > 59) return InvalidArgument("leap seconds (:60) are not accepted");
  const int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
                          offset_minutes * 60;
  if (seconds < 0) return InvalidArgument("the time is before 1970");
  return seconds * 1000000 + micros;
}

std::string FormatRfc3339(int64_t unix_micros) { return ledger::FormatTime(unix_micros); }

}  // namespace quipu::node
