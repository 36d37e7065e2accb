// PoDoFo 0.9.8 keeps process-wide state (logging switches, font caches):
// every call into it goes through this one mutex, and the first use turns
// its logging off (it would print on stdout, which carries quipu's output).
#pragma once

#include <mutex>

namespace quipu::pdf {

std::mutex& PodofoMutex();

}  // namespace quipu::pdf
