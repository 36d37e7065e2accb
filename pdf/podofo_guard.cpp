#include "pdf/podofo_guard.h"

#include <podofo/podofo.h>

namespace quipu::pdf {

std::mutex& PodofoMutex() {
  static std::mutex* mu = [] {
    PoDoFo::PdfError::EnableDebug(false);
    PoDoFo::PdfError::EnableLogging(false);
    return new std::mutex;
  }();
  return *mu;
}

}  // namespace quipu::pdf
