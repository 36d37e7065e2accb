// The public verification page in real headless Chromium (Debian chromium,
// driven by playwright-core), against a fake node that serves the built page
// and answers /v1/documents and /v1/qr/verify from a small ledger built here
// with Node's own crypto: a real RFC 9162 Merkle tree and a checkpoint signed
// in C2SP signed-note format with a fresh Ed25519 key, so every proof the
// page checks is real (or tampered on purpose).
//
// Usage: node tests/web/page.test.mjs <build-dir>   (exits non-zero on failure)
// Screenshots of each state: <build-dir>/web-screenshots/*.png

import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(join(root, 'web/package.json'));
const { chromium } = require('playwright-core');
const QRCode = require('qrcode');

const buildDir = resolve(process.argv[2] ?? join(root, 'build'));
const dist = join(buildDir, 'web/dist');
const shots = join(buildDir, 'web-screenshots');
const kChromium = '/usr/bin/chromium';
for (const f of [join(dist, 'index.html'), kChromium]) {
  if (!existsSync(f)) { console.error(`missing ${f} (build quipu_web; apt-get install chromium)`); process.exit(2); }
}
mkdirSync(shots, { recursive: true });

// ---- an independent ledger -------------------------------------------------

const sha = (...parts) => createHash('sha256').update(Buffer.concat(parts.map((p) => Buffer.from(p)))).digest();
const b64 = (b) => Buffer.from(b).toString('base64');

// RFC 8785 for the ASCII strings and small integers these entries hold:
// sorted keys, no whitespace (JSON.stringify's escaping agrees for ASCII).
function jcs(v) {
  if (Array.isArray(v)) return '[' + v.map(jcs).join(',') + ']';
  if (v && typeof v === 'object') {
    return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + jcs(v[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

const leafOf = (entry) => sha([0], Buffer.from(jcs(entry)));
const nodeOf = (l, r) => sha([1], l, r);
const split = (n) => { let k = 1; while (k * 2 < n) k *= 2; return k; };  // largest power of 2 < n
function mth(leaves) {
  if (leaves.length === 1) return leaves[0];
  const k = split(leaves.length);
  return nodeOf(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
function path(m, leaves) {  // RFC 9162 §2.1.3.1 PATH(m, D[n])
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return m < k ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))]
               : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

const origin = 'quipu.test/log';
function makeKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
  const keyHash = sha(origin + '\n', [1], pub).subarray(0, 4);
  return { privateKey, pub, keyHash,
           vkey: `${origin}+${keyHash.toString('hex')}+${b64(Buffer.concat([Buffer.from([1]), pub]))}` };
}
const key = makeKey();
const otherKey = makeKey();  // signs things the page must refuse

function signNote(text, k = key) {
  const sig = sign(null, Buffer.from(text), k.privateKey);
  return `${text}\n\u2014 ${origin} ${b64(Buffer.concat([k.keyHash, sig]))}\n`;
}

// QR Seguro, encoded independently of web/qr.js.
const kB45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
function base45(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 2) {
    let n = i + 1 < bytes.length ? bytes[i] * 256 + bytes[i + 1] : bytes[i];
    for (let k = 0; k < (i + 1 < bytes.length ? 3 : 2); k++) { out += kB45[n % 45]; n = Math.floor(n / 45); }
  }
  return out;
}
function cborHead(major, n) {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 256) return Buffer.from([(major << 5) | 24, n]);
  return Buffer.from([(major << 5) | 25, n >> 8, n & 255]);
}
const cbor = (v) => typeof v === 'number' ? cborHead(0, v)
  : Array.isArray(v) ? Buffer.concat([cborHead(4, v.length), ...v.map(cbor)])
  : Buffer.concat([cborHead(2, v.length), v]);
function makeQr(index, signer = key) {
  const nonce = Buffer.alloc(24, index);
  const ciphertext = Buffer.from(`sealed fields of QR ${index}`);
  const body = [1, signer.keyHash, index, nonce, ciphertext];
  const sig = sign(null, Buffer.concat([Buffer.from('quipu/qr-seguro/v1'), Buffer.from([0]), cbor(body)]),
                   signer.privateKey);
  return { text: 'QS1:' + base45(cbor([...body, sig])), payload: sha(nonce, ciphertext).toString('hex') };
}

// Version 2 (two-phase codes): no index; found by its code digest.
function makeQr2(seed, signer = key) {
  const nonce = Buffer.alloc(24, seed);
  const ciphertext = Buffer.from(`sealed document of QS2 code ${seed}`);
  const body = [2, signer.keyHash, nonce, ciphertext];
  const sig = sign(null, Buffer.concat([Buffer.from('quipu/qr-seguro/v2'), Buffer.from([0]), cbor(body)]),
                   signer.privateKey);
  return { text: 'QS2:' + base45(cbor([...body, sig])), payload: sha(nonce, ciphertext).toString('hex'),
           digest: sha('quipu/qr-seguro/v2/code', Buffer.from([0]), nonce).toString('hex') };
}

const pdf = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n');
const pdfTampered = Buffer.from(pdf); pdfTampered[20] ^= 1;
const pdfStamped = Buffer.concat([pdf, Buffer.from('2 0 obj\n<< /Stamp (sello) >>\nendobj\ntrailer\n<< /Prev 0 >>\n%%EOF\n')]);
const pdfBadProof = Buffer.from('%PDF-1.7\n% served with a tampered proof\n%%EOF\n');
const jsonDoc = { nombre: 'Ana Quispe', título: 'Bachiller', nota: 18.5, cursos: [1, 2, 3] };
// Canonical form: keys sorted by UTF-16 code units, numbers as JS prints them.
const jsonCanonical = '{"cursos":[1,2,3],"nombre":"Ana Quispe","nota":18.5,"título":"Bachiller"}';
const jsonReordered = '{\n  "título": "Bachiller",\n  "cursos": [1, 2, 3.0],\n  "nota": 1.85e1,\n  "nombre": "Ana Quispe"\n}\n';
const qrGood = makeQr(2);
const qrRevoked = makeQr(3);
const qrForged = makeQr(2, otherKey);  // same index, signed by another key
const qr2Good = makeQr2(7);
const qr2Forged = makeQr2(7, otherKey);  // same nonce (same digest), signed by another key

const T = '2026-11-23T04:05:06.123456Z';
const hex = (b) => sha(b).toString('hex');
const doc = (bytes, media_type) => ({ media_type, sha256: hex(bytes) });
const entries = [
  { client: 'c_min', doc: doc(pdf, 'application/pdf'), request: 'r_1', subject: 'a'.repeat(64), time: T, type: 'approval', v: 1 },
  { client: 'c_uni', doc: doc(Buffer.from(jsonCanonical), 'application/json'), request: 'r_2', subject: 'b'.repeat(64), time: '2026-11-24T15:00:00.000001Z', type: 'approval', v: 1 },
  { client: 'c_uni', doc: { media_type: 'application/pdf', sha256: 'c'.repeat(64) }, payload: qrGood.payload, time: '2026-11-25T10:00:00.5Z', type: 'qr_issue', v: 1 },
  { client: 'c_uni', doc: { media_type: 'application/pdf', sha256: 'd'.repeat(64) }, payload: qrRevoked.payload, time: '2026-11-25T11:00:00Z', type: 'qr_issue', v: 1 },
  { client: 'c_uni', doc: { media_type: 'application/pdf', sha256: 'd'.repeat(64) }, reason: 'emitido por error', target: 3, time: '2026-11-26T09:30:00Z', type: 'qr_revoke', v: 1 },
  { client: 'c_min', doc: { media_type: 'application/pdf', sha256: 'e'.repeat(64) }, request: 'r_3', subject: 'f'.repeat(64), time: T, type: 'rejection', v: 1 },
  { client: 'c_min', doc: doc(pdfBadProof, 'application/pdf'), request: 'r_4', subject: '0'.repeat(64), time: T, type: 'approval', v: 1 },
  { client: 'c_uni', doc: { media_type: 'application/vnd.quipu.qr-code', sha256: qr2Good.digest }, payload: qr2Good.payload, time: '2026-11-27T12:00:00Z', type: 'qr_issue', v: 1 },
];
const names = { c_min: 'Ministerio de Educación', c_uni: 'Universidad Nacional' };
const leaves = entries.map(leafOf);
const size = leaves.length;
const checkpoint = signNote(`${origin}\n${size}\n${b64(mth(leaves))}\n`);

function record(i) {
  const e = entries[i];
  return { index: i, type: e.type, time: e.time, client: e.client, client_name: names[e.client], entry: e,
           leaf_hash: b64(leaves[i]), proof: path(i, leaves).map(b64), tree_size: size };
}

function documentAnswer(docSha) {
  const records = entries.flatMap((e, i) => (e.doc?.sha256 === docSha ? [record(i)] : []));
  if (docSha === hex(pdfBadProof)) {  // the fake server lies about one proof
    const p = Buffer.from(records[0].proof[0], 'base64'); p[0] ^= 0x80;
    records[0].proof[0] = b64(p);
  }
  return { sha256: docSha, found: records.length > 0, records, tree_size: size, checkpoint };
}

function qrAnswer(text) {
  const forged = text === qrForged.text || text === qr2Forged.text;
  const index = text === qrGood.text || text === qrForged.text ? 2 : text === qrRevoked.text ? 3
    : text === qr2Good.text || text === qr2Forged.text ? 7 : -1;
  if (index < 0) return { valid: false, reasons: ['not in ledger'] };
  const rec = record(index);
  const revoked = index === 3;
  return {
    valid: !revoked && !forged, reasons: revoked ? ['revoked'] : forged ? ['signature invalid'] : [],
    index, issued_at: rec.time, client: rec.client, client_name: rec.client_name,
    document_sha256: rec.entry.doc.sha256, revoked,
    revocation: revoked ? { index: 4, time: entries[4].time, reason: entries[4].reason } : null,
    expired: false, expires_at: '2027-11-25T10:00:00Z',
    fields: revoked || forged ? undefined
      : index === 7 ? { codigoDocumento: 'TB-2026-0048213', nombreDocumento: 'Título de Bachiller' }
      : { nombre: 'Ana Quispe', grado: 'Bachiller en Ciencias' },
    entry: rec.entry, leaf_hash: rec.leaf_hash, proof: rec.proof, tree_size: size, checkpoint,
  };
}

// ---- the fake node ---------------------------------------------------------

const files = {
  '/': ['text/html; charset=utf-8', readFileSync(join(dist, 'index.html'), 'utf8').replace('{{QUIPU_VKEY}}', key.vkey)],
  '/app.js': ['text/javascript; charset=utf-8', readFileSync(join(dist, 'app.js'))],
  '/style.css': ['text/css; charset=utf-8', readFileSync(join(dist, 'style.css'))],
};
const requests = [];
const server = createServer((req, res) => {
  requests.push(`${req.method} ${req.url}`);
  const send = (status, type, body) => { res.writeHead(status, { 'Content-Type': type }); res.end(body); };
  const json = (v) => send(200, 'application/json', JSON.stringify(v));
  const m = /^\/v1\/documents\/([0-9a-f]{64})$/.exec(req.url);
  const file = files[req.url.replace(/\?.*$/, '')];
  if (req.method === 'GET' && file) return send(200, ...file);
  if (req.method === 'GET' && m) return json(documentAnswer(m[1]));
  if (req.method === 'GET' && req.url === '/v1/log') {
    return json({ origin, vkey: otherKey.vkey, tree_size: size, root: b64(mth(leaves)), checkpoint });
  }
  if (req.method === 'POST' && req.url === '/v1/qr/verify') {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => json(qrAnswer(JSON.parse(body).qr_text)));
    return;
  }
  send(404, 'application/problem+json', JSON.stringify({ title: 'not found', status: 404 }));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

// ---- the cases -------------------------------------------------------------

const failures = [];
const browser = await chromium.launch({ executablePath: kChromium, args: ['--no-sandbox'] });
const context = await browser.newContext({ timezoneId: 'America/Lima', locale: 'es-PE',
                                           viewport: { width: 800, height: 1000 } });
// Nothing may be loaded from anywhere but the node.
await context.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => { failures.push('external ' + route.request().url()); route.abort(); });
const page = await context.newPage();
const consoleErrors = [];
page.on('pageerror', (e) => consoleErrors.push(e.message));
await page.goto(base + '/');

let passed = 0;
function expect(cond, what) {
  if (!cond) throw new Error(what);
}
async function state() {
  await page.waitForSelector('#state', { timeout: 15000 });
  return page.getAttribute('#state', 'data-state');
}
const text = (sel) => page.textContent(sel).then((s) => s ?? '', () => '');
async function check(name, fn) {
  try {
    await page.evaluate(() => document.getElementById('result').replaceChildren());
    await fn();
    await page.screenshot({ path: join(shots, name + '.png'), fullPage: true });
    passed++;
    console.log('ok   ' + name);
  } catch (e) {
    failures.push(`${name}: ${e.message}`);
    console.log('FAIL ' + name + ': ' + e.message);
    await page.screenshot({ path: join(shots, name + '.FAILED.png'), fullPage: true }).catch(() => {});
  }
}
const file = (name, mimeType, buffer) => page.setInputFiles('#file', { name, mimeType, buffer });
const qrPng = (t) => QRCode.toBuffer(t, { type: 'png', errorCorrectionLevel: 'M', margin: 4, scale: 6 });

await check('approved-pdf', async () => {
  await file('titulo.pdf', 'application/pdf', pdf);
  expect(await state() === 'approved', 'state is ' + await state());
  expect((await text('#state')).includes('Aprobado'), 'banner says Aprobado');
  expect(await text('#institution') === 'Ministerio de Educación', 'institution: ' + await text('#institution'));
  const utc = await text('#when-utc');
  expect(utc.includes('23 de noviembre de 2026') && utc.includes('4:05:06') && utc.includes('UTC'), 'utc: ' + utc);
  const local = await text('#when-local');  // Lima is UTC-5
  expect(local.includes('22 de noviembre de 2026') && local.includes('23:05:06'), 'local: ' + local);
  expect(await text('#ledger-index') === '0', 'ledger index');
  expect(await text('#record-count') === '1', 'record count');
  expect(await text('#sha256') === hex(pdf), 'sha256 shown');
  expect(await page.getAttribute('#proof-status', 'data-ok') === 'true', 'proof: ' + await text('#proof-status'));
  await page.click('#technical summary');
  const tech = await text('#technical-text');
  expect(tech.includes(checkpoint.trimEnd()) && tech.includes(key.vkey) && tech.includes(b64(leaves[0])), 'technical proof');
});

await check('not-found-one-byte-changed', async () => {
  await file('titulo.pdf', 'application/pdf', pdfTampered);
  expect(await state() === 'notFound', 'state is ' + await state());
  expect((await text('#state')).includes('No encontrado'), 'banner');
  expect(requests.some((r) => r.endsWith(hex(pdfTampered))), 'looked up the changed file');
});

await check('json-reordered-keys', async () => {
  await file('titulo.json', 'application/json', Buffer.from(jsonReordered));
  expect(await state() === 'approved', 'state is ' + await state());
  expect(await text('#sha256') === hex(Buffer.from(jsonCanonical)), 'hash of the RFC 8785 form');
  expect(await text('#institution') === 'Universidad Nacional', 'institution');
  expect(await page.getAttribute('#proof-status', 'data-ok') === 'true', 'proof');
});

await check('pdf-found-through-earlier-revision', async () => {
  // Bytes after the approved revision can change what the PDF shows: a
  // warning, never the plain green "Aprobado", and the approved version to
  // compare with.
  await file('titulo-sellado.pdf', 'application/pdf', pdfStamped);
  expect(await state() === 'approvedEarlier', 'state is ' + await state());
  expect((await page.getAttribute('#state', 'class')).includes('warn'), 'a warning, not a success');
  const added = pdfStamped.length - pdf.length;
  expect((await text('#state')).includes(`${added} bytes agregados`), 'says what was added: ' + await text('#state'));
  expect(await text('#sha256') === hex(pdf), 'the revision\'s hash');
  expect((await text('#revision')).includes(`${pdf.length} de ${pdfStamped.length} bytes`), 'revision: ' + await text('#revision'));
  expect(await page.getAttribute('#proof-status', 'data-ok') === 'true', 'proof');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-earlier')]);
  expect(download.suggestedFilename() === 'titulo-sellado-registrado.pdf', 'file name ' + download.suggestedFilename());
  const saved = readFileSync(await download.path());
  expect(Buffer.compare(saved, pdf) === 0, 'the download is the approved revision, byte for byte');
});

await check('document-of-a-revoked-qr', async () => {
  // Looking up the document of a revoked code (by hash here; by file the
  // same): the revocation is among its records.
  await page.fill('#text', 'd'.repeat(64));
  await page.press('#text', 'Enter');
  expect(await state() === 'revoked', 'state is ' + await state());
  expect((await page.getAttribute('#state', 'class')).includes('bad'), 'a failure state');
  expect(await text('#record-count') === '2', 'the issue and its revocation');
});

await check('qr-image-issued', async () => {
  await page.setInputFiles('#qr-image', { name: 'qr.png', mimeType: 'image/png', buffer: await qrPng(qrGood.text) });
  expect(await state() === 'issued', 'state is ' + await state());
  expect((await text('#qr-fields')).includes('Bachiller en Ciencias'), 'fields shown');
  expect(await text('#institution') === 'Universidad Nacional', 'institution');
  expect((await text('#qr-signature')).includes('válida'), 'signature: ' + await text('#qr-signature'));
  expect(await page.getAttribute('#proof-status', 'data-ok') === 'true', 'proof: ' + await text('#proof-status'));
});

await check('qr-revoked', async () => {
  await page.setInputFiles('#qr-image', { name: 'qr.png', mimeType: 'image/png', buffer: await qrPng(qrRevoked.text) });
  expect(await state() === 'revoked', 'state is ' + await state());
  expect((await text('#revoked-reason')) === 'emitido por error', 'revocation reason');
  expect(await page.getAttribute('#proof-status', 'data-ok') === 'true', 'proof');
});

await check('proof-invalid-tampered', async () => {
  await file('otro.pdf', 'application/pdf', pdfBadProof);
  expect(await state() === 'proofInvalid', 'state is ' + await state());
  expect((await text('#state')).includes('Prueba no válida'), 'banner');
  expect(await page.getAttribute('#proof-status', 'data-ok') === 'false', 'proof status');
});

await check('qs2-link-issued', async () => {
  // The link the AGETIC API's mostrarEnlace gives: /?qr=<text>.
  await page.goto(base + '/?qr=' + encodeURIComponent(qr2Good.text));
  expect(await state() === 'issued', 'state is ' + await state());
  expect((await text('#qr-fields')).includes('TB-2026-0048213'), 'fields shown');
  expect((await text('#qr-signature')).includes('válida'), 'signature: ' + await text('#qr-signature'));
  expect(await page.getAttribute('#proof-status', 'data-ok') === 'true', 'proof: ' + await text('#proof-status'));
  expect(await text('#ledger-index') === '7', 'the index the node found it at');
  await page.click('#technical summary');
  expect((await text('#technical-text')).includes(qr2Good.digest), 'the code digest shown');
});

await check('qs2-forged-signature', async () => {
  await page.goto(base + '/');
  await page.fill('#text', qr2Forged.text);
  await page.press('#text', 'Enter');
  expect(await state() === 'proofInvalid', 'state is ' + await state());
  expect((await text('#qr-signature')).includes('NO válida'), 'signature flagged');
});

// ---- error paths and other ways in -----------------------------------------

await check('qr-forged-signature', async () => {  // a QR signed by another key
  await page.fill('#text', qrForged.text);
  await page.press('#text', 'Enter');
  expect(await state() === 'proofInvalid', 'state is ' + await state());
  expect((await text('#qr-signature')).includes('NO válida'), 'signature flagged');
});

await check('pasted-sha256', async () => {
  await page.fill('#text', hex(pdf).toUpperCase());
  await page.click('button[type=submit]');
  expect(await state() === 'approved', 'state is ' + await state());
});

await check('bad-text', async () => {
  await page.fill('#text', 'hola');
  await page.click('button[type=submit]');
  expect(await state() === 'error', 'state is ' + await state());
});

await check('json-duplicate-key-refused', async () => {
  await file('dup.json', 'application/json', Buffer.from('{"a":1,"a":2}'));
  expect(await state() === 'error', 'state is ' + await state());
  expect((await text('#state')).includes('duplicate member name'), 'names the reason');
});

await check('image-without-qr', async () => {
  const png = await QRCode.toBuffer('x', { type: 'png' });
  const blank = Buffer.from(png); // corrupt the image: a decode error is reported, not a crash
  blank.fill(0, 40);
  await page.setInputFiles('#qr-image', { name: 'nada.png', mimeType: 'image/png', buffer: blank });
  expect(await state() === 'error', 'state is ' + await state());
});

await check('english-approved-phone', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.click('#lang');
  await file('titulo.pdf', 'application/pdf', pdf);
  expect(await state() === 'approved', 'state is ' + await state());
  expect((await text('#state')).includes('Approved'), 'English banner');
  expect(await page.evaluate(() => document.documentElement.lang) === 'en', 'lang attribute');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  expect(!overflow, 'no horizontal scrolling on a phone-sized screen');
  await page.click('#lang');
  expect((await text('#state')).includes('Aprobado'), 'back to Spanish');
});

await check('keyboard-only', async () => {
  await page.setViewportSize({ width: 800, height: 1000 });
  await page.fill('#text', '');
  // From the page's start, Tab reaches the text field (through the drop
  // zone, the file inputs and the camera button).
  await page.evaluate(() => document.activeElement?.blur());
  let guard = 0;
  while (await page.evaluate(() => document.activeElement?.id) !== 'text' && guard++ < 20) {
    await page.keyboard.press('Tab');
  }
  expect(guard < 20, 'Tab never reached the text field');
  await page.keyboard.type(hex(pdf));
  await page.keyboard.press('Enter');
  expect(await state() === 'approved', 'state is ' + await state());
  // Every control has an accessible name.
  const unlabeled = await page.evaluate(() => [...document.querySelectorAll('input,button')]
    .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || e.textContent.trim())).map((e) => e.id));
  expect(unlabeled.length === 0, 'unlabeled controls: ' + unlabeled);
});

if (consoleErrors.length) failures.push('page errors: ' + consoleErrors.join('; '));
await browser.close();
server.close();
console.log(`${passed} passed, ${failures.length} failed; screenshots in ${shots}`);
if (failures.length) {
  for (const f of failures) console.error('FAIL ' + f);
  process.exit(1);
}
