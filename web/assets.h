// The public verification page's files (web/), built by esbuild at build
// time and embedded in the binary, so the node serves the page with no files
// beside it and nothing fetched from elsewhere.
#pragma once

#include <string_view>

namespace quipu::web {

struct Asset {
  std::string_view path;          // "/", "/app.js", "/style.css", "/aprobar.html", "/aprobar.js",
                                  // "/pdf.worker.mjs", "/pdfjs/wasm/*.wasm"
  std::string_view content_type;  // with charset for text
  std::string_view body;          // static storage; "/" holds the placeholder
                                  // {{QUIPU_VKEY}} for the node to replace
};

// Returns the asset served at `path`, or nullptr. The pointer is to static
// storage, valid for the program's life. Thread-safe.
const Asset* FindAsset(std::string_view path);

// The placeholder in "/"'s body that the node replaces with its verifier key
// (HTML-attribute-safe: the key holds only [A-Za-z0-9+/=.:_-] characters).
inline constexpr std::string_view kVkeyPlaceholder = "{{QUIPU_VKEY}}";

}  // namespace quipu::web
