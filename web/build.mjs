// Builds the pages into `outdir` (argv[2], default ./dist): app.js (the
// verification page) and aprobar.js (the citizen's approval page) bundled
// with their imports (jsQR and pdf.js included, so nothing is fetched from
// the internet at run time), the HTML and style.css copied, and pdf.js's
// worker beside them.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, 'dist'));
mkdirSync(out, { recursive: true });
for (const entry of ['app.js', 'aprobar.js']) {
  await build({
    entryPoints: [join(here, entry)],
    outfile: join(out, entry),
    bundle: true,
    format: 'iife',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    legalComments: 'inline',
    logLevel: 'warning',
  });
}
for (const f of ['index.html', 'aprobar.html', 'style.css']) copyFileSync(join(here, f), join(out, f));
// pdf.js's worker, as its package builds it: the approval page renders the
// PDFs a citizen is asked to approve with it (served at /pdf.worker.mjs).
copyFileSync(join(here, 'node_modules/pdfjs-dist/build/pdf.worker.min.mjs'), join(out, 'pdf.worker.mjs'));
// Its image decoders (JPEG 2000, JBIG2, colour profiles), served at /pdfjs/wasm/.
for (const f of ['openjpeg.wasm', 'jbig2.wasm', 'qcms_bg.wasm']) {
  copyFileSync(join(here, 'node_modules/pdfjs-dist/wasm', f), join(out, f));
}
