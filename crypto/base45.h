// Base45 (RFC 9285): the QR alphanumeric-mode friendly encoding QR Seguro
// codes use.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "crypto/encoding.h"
#include "crypto/status.h"

namespace quipu::crypto {

std::string Base45Encode(std::span<const uint8_t> data);
// Strict: a character outside the 45, a length of 3k+1, or a group whose
// value is too large (> 65535 for three characters, > 255 for two) is
// kInvalidArgument naming the offset.
Result<Bytes> Base45Decode(std::string_view text);

}  // namespace quipu::crypto
