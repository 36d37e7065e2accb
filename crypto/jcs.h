// RFC 8785 JSON Canonicalization Scheme (JCS) with a strict RFC 8259 parser.
//
// The hash of every JSON document and every ledger entry is the SHA-256 of
// the bytes these functions produce, so the output must match any other
// conforming JCS implementation byte for byte:
//   - no whitespace; object members sorted by their names compared as arrays
//     of UTF-16 code units (RFC 8785 §3.2.3), not as UTF-8 bytes;
//   - strings escape only '"', '\\' and U+0000..U+001F (\b \t \n \f \r short
//     forms, other controls as \u00xx in lower-case hex); everything else is
//     literal UTF-8 (§3.2.2.2);
//   - numbers are IEEE-754 doubles written as ECMAScript Number::toString
//     (§3.2.2.3).
//
// Strict input rules (I-JSON, RFC 7493): RFC 8259 grammar only (no comments,
// trailing commas, leading zeros, NaN/Infinity, or bytes after the value; any
// value may be at the top level; whitespace is space, \t, \n, \r), valid UTF-8
// only (no overlongs, no encoded surrogates, nothing above U+10FFFF), \u
// escapes must form valid surrogate pairs, no unescaped control characters,
// no duplicate member names (compared after unescaping), no number whose
// magnitude overflows a double (underflow to zero is accepted, as IEEE
// parsing does), nesting at most max_depth, size at most max_bytes.
// Every error is kInvalidArgument with a message "json: <reason> at offset N"
// where N is the byte offset in the input of the offending token or byte.
//
// All functions are pure and thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/status.h"

namespace quipu::crypto {

struct JcsLimits {
  // Arrays and objects nested deeper than this are rejected. The parser
  // recurses once per level, so keep this modest (it bounds stack use).
  size_t max_depth = 64;
  // Inputs longer than this many bytes are rejected before parsing.
  size_t max_bytes = size_t{64} << 20;
  // More values than this (every scalar, array and object counts one) are
  // rejected as they are met: a parsed tree costs about 80 bytes a value,
  // so "[{},{},...]" would cost some 25 times its length.
  size_t max_values = SIZE_MAX;
};

// Parses `json_text` strictly and returns its RFC 8785 canonical form, in one
// pass (no intermediate DOM). Errors: kInvalidArgument naming the rule broken
// and the byte offset.
Result<std::string> Canonicalize(std::string_view json_text, const JcsLimits& limits = {});

// Parses `text` by exactly the same rules as Canonicalize and returns it as an
// nlohmann::json for callers that read fields. A number written as an integer
// (no fraction, no exponent) whose written value is at most 2^53 in magnitude
// is kept as an integer (number_integer); every other number (including
// 9007199254740993, which no double holds) is a double
// (number_float) holding the correctly rounded value.
Result<nlohmann::json> ParseJsonStrict(std::string_view text, const JcsLimits& limits = {});

// Serializes `value` canonically (the same bytes Canonicalize would produce
// from any spelling of the same data). Choice for integers: RFC 8785 numbers
// are IEEE-754 doubles, so an integer (signed or unsigned) is accepted only if
// its magnitude is at most 2^53 (9007199254740992), where every integer is
// exactly a double; larger ones are rejected rather than silently rounded.
// Errors (kInvalidArgument): NaN or infinite doubles, integers beyond ±2^53,
// invalid UTF-8 in a string or member name, binary or discarded values.
Result<std::string> CanonicalDump(const nlohmann::json& value);

// Returns ECMAScript Number::toString(value) (RFC 8785 §3.2.2.3): the
// shortest digits that round-trip, plain notation for 1e-7 <= |value| < 1e21,
// otherwise exponent notation like "1e+21" or "1.5e-7"; -0 gives "0".
// Precondition: `value` is finite (NaN/Infinity give "NaN"/"Infinity" as in
// ECMAScript, which are not JSON; callers must reject them first).
std::string FormatJsonNumber(double value);

}  // namespace quipu::crypto
