// The messages between the node and its PDF worker processes
// (pdf/sandbox.h), over a stream socket. docs/pdf-worker.md has the grammar.
// Both directions are decoded strictly: the node treats a worker's reply as
// hostile bytes too (a worker may have been subverted by the PDF it parsed).
// Public for the sandbox, its tests and the fuzzers; nothing else needs it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "crypto/status.h"
#include "pdf/inspect.h"
#include "pdf/stamp.h"

namespace quipu::pdf::worker {

enum class Op : uint8_t { kParse = 1, kStamp = 2 };

// Every message is a frame: an 8-byte big-endian length, then that many
// bytes. Frames longer than this are refused by both sides.
inline constexpr uint64_t kMaxFrameBytes = uint64_t{1} << 32;
inline constexpr size_t kFrameHeaderBytes = 8;
// A worker's error message is cut to this many bytes.
inline constexpr size_t kMaxMessageBytes = 1024;

struct Request {
  Op op = Op::kParse;
  QrPlaceholder qr;      // kStamp only
  StampOptions options;  // kStamp only
  std::string_view pdf;  // borrowed from the frame it was decoded from
};

struct Reply {
  Status status;           // ok, or what the worker refused with
  PdfFacts facts;          // kParse, when ok
  std::string_view pdf;    // kStamp, when ok; borrowed from the frame
};

// The frame header for a body of `body_bytes`.
std::string FrameHeader(uint64_t body_bytes);
// The length a frame header announces. kInvalidArgument when it is over
// `max_body` (or kMaxFrameBytes).
Result<uint64_t> ParseFrameHeader(std::span<const uint8_t, kFrameHeaderBytes> header, uint64_t max_body);

// A request body without its PDF: the PDF bytes follow it in the same
// frame (so the node sends them from where they are, without a copy).
std::string EncodeRequestPrefix(const Request& request);
// Decodes a request body. kInvalidArgument naming what is wrong.
Result<Request> DecodeRequest(std::string_view body);

// A reply body for `op`. Messages over kMaxMessageBytes are cut.
std::string EncodeReply(Op op, const Reply& reply);
// Decodes a reply body to a request of `op`. Only ok, kInvalidArgument and
// kUnprocessable may come back (anything else is refused), the message is
// at most kMaxMessageBytes of printable ASCII, facts are in range (pages >=
// 0, version at most 8 bytes of digits and dots). kInvalidArgument naming
// what is wrong.
Result<Reply> DecodeReply(Op op, std::string_view body);

}  // namespace quipu::pdf::worker
