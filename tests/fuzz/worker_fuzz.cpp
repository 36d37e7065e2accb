// libFuzzer target for the PDF worker protocol (pdf/worker_protocol.h), in
// both directions: the worker decodes what the node sends, and the node
// decodes what a worker (maybe subverted by the PDF it parsed) sends back.
// Nothing may crash; what decodes must encode back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "pdf/worker_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace worker = quipu::pdf::worker;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto r = worker::DecodeRequest(input); r.ok()) {
    const std::string again = worker::EncodeRequestPrefix(*r) + std::string(r->pdf);
    auto twice = worker::DecodeRequest(again);
    if (!twice.ok() || twice->op != r->op || twice->pdf != r->pdf || twice->qr.marker != r->qr.marker ||
        twice->options.caption != r->options.caption || twice->options.page != r->options.page) {
      std::abort();
    }
  }
  for (worker::Op op : {worker::Op::kParse, worker::Op::kStamp}) {
    auto r = worker::DecodeReply(op, input);
    if (!r.ok()) continue;
    if (!r->status.ok() && r->status.message().empty()) std::abort();
    if (r->status.ok() && op == worker::Op::kParse && r->facts.pages < 0) std::abort();
    auto twice = worker::DecodeReply(op, worker::EncodeReply(op, *r));
    if (!twice.ok() || twice->status.code() != r->status.code()) std::abort();
  }
  if (size >= worker::kFrameHeaderBytes) {
    (void)worker::ParseFrameHeader(std::span<const uint8_t, worker::kFrameHeaderBytes>(data, worker::kFrameHeaderBytes),
                                   uint64_t{1} << 20);
  }
  return 0;
}
