#include "pdf/podofo_adapter.h"

#include <podofo/podofo.h>

#include <cctype>

namespace quipu::pdf::internal {

std::unique_lock<std::mutex> LockPodofo() {
  static std::mutex mutex;
  std::unique_lock<std::mutex> lock(mutex);
  static const bool quiet = [] {
    PoDoFo::PdfError::EnableDebug(false);
    PoDoFo::PdfError::EnableLogging(false);
    return true;
  }();
  (void)quiet;
  return lock;
}

static bool IsEol(char c) { return c == '\r' || c == '\n'; }

bool NestingDepthWithin(std::string_view text, int limit) {
  int depth = 0;
  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    if (c == '%') {  // comment to end of line
      while (i < n && !IsEol(text[i])) ++i;
    } else if (c == '(') {  // literal string: balanced parentheses, escapes
      int parens = 1;
      for (++i; i < n && parens > 0; ++i) {
        if (text[i] == '\\') ++i;
        else if (text[i] == '(') ++parens;
        else if (text[i] == ')') --parens;
      }
      --i;
    } else if (c == '<' || c == '[') {
      if (c == '<' && (i + 1 >= n || text[i + 1] != '<')) continue;  // hex string
      if (c == '<') ++i;
      if (++depth > limit) return false;
    } else if (c == '>' || c == ']') {
      if (c == '>' && (i + 1 >= n || text[i + 1] != '>')) continue;
      if (c == '>') ++i;
      if (depth > 0) --depth;
    } else if (c == 's' && text.compare(i, 6, "stream") == 0 && i + 6 < n &&
               IsEol(text[i + 6]) && (i == 0 || !std::isalnum(static_cast<unsigned char>(text[i - 1])))) {
      const size_t end = text.find("endstream", i + 6);  // skip binary data
      if (end == std::string_view::npos) return true;
      i = end + 8;
    }
  }
  return true;
}

SpanStreamBuf::SpanStreamBuf(std::span<const char> bytes) {
  // std::streambuf wants mutable pointers; nothing here ever writes.
  char* begin = const_cast<char*>(bytes.data());
  setg(begin, begin, begin + bytes.size());
}

SpanStreamBuf::pos_type SpanStreamBuf::seekoff(off_type off, std::ios_base::seekdir dir,
                                               std::ios_base::openmode which) {
  if (!(which & std::ios_base::in)) return pos_type(off_type(-1));
  off_type base = 0;
  if (dir == std::ios_base::cur) base = gptr() - eback();
  else if (dir == std::ios_base::end) base = egptr() - eback();
  const off_type target = base + off;
  if (target < 0 || target > egptr() - eback()) return pos_type(off_type(-1));
  setg(eback(), eback() + target, egptr());
  return pos_type(target);
}

SpanStreamBuf::pos_type SpanStreamBuf::seekpos(pos_type pos, std::ios_base::openmode which) {
  return seekoff(off_type(pos), std::ios_base::beg, which);
}

}  // namespace quipu::pdf::internal
