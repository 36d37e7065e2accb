// Times given by people and clients, in RFC 3339 (the ledger's own stamps
// are the stricter ledger::FormatTime shape).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/status.h"

namespace quipu::node {

// Parses an RFC 3339 date-time: "2030-01-01T00:00:00Z", with an optional
// fraction of 1 to 9 digits (kept to the microsecond, cut beyond), "Z" or an
// offset "+HH:MM" / "-HH:MM"; "t" and "z" may be lower case. Returns unix
// microseconds. Errors (kInvalidArgument, saying what is wrong): another
// shape, a field out of range (a day the month does not have, hour 24, a
// leap second), a year before 1970 or after 9999.
Result<int64_t> ParseRfc3339(std::string_view text);

// The ledger's shape of a time, for answers: "2026-11-23T04:05:06.123456Z".
std::string FormatRfc3339(int64_t unix_micros);

}  // namespace quipu::node
