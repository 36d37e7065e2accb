// The page served by a real `quipu serve`, in real headless Chromium: an
// institution approves a PDF through the API (TOTP computed here), issues a
// QR Seguro code and revokes another; the page then checks them with the
// node's own answers, proofs and key. Complements page.test.mjs (a fake
// node with hand-made proofs, including tampered ones).
//
// Usage: node tests/web/real_node.test.mjs <build-dir>   (exits non-zero on failure)
import { spawn, execFileSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(join(root, 'web/package.json'));
const { chromium } = require('playwright-core');
const QRCode = require('qrcode');
const buildDir = resolve(process.argv[2] ?? join(root, 'build'));
const quipu = join(buildDir, 'quipu');
const shots = join(buildDir, 'web-screenshots');
mkdirSync(shots, { recursive: true });

const work = mkdtempSync(join(tmpdir(), 'quipu-web-'));
const data = join(work, 'data');
const run = (...args) => execFileSync(quipu, args, { encoding: 'utf8' });
run('log', 'init', '--data', data);
const client = JSON.parse(run('client', 'add', '--data', data, '--name', 'Ministerio de Educación',
  '--redirect-uri', 'https://m.example/r', '--notify-uri', 'http://127.0.0.1:9/n', '--notify-token', 't',
  '--allow-local-callbacks'));

// A development node: the client's notification URI is on 127.0.0.1.
const node = spawn(quipu, ['serve', '--data', data, '--listen', '127.0.0.1:0', '--allow-local-callbacks'],
  { stdio: ['ignore', 'pipe', 'ignore'] });
const base = await new Promise((ok, fail) => {
  let out = '';
  node.stdout.on('data', (d) => {
    out += d;
    const m = out.match(/serving (http:\/\/[0-9.:]+)/);
    if (m) ok(m[1]);
  });
  node.on('exit', () => fail(new Error('quipu serve exited')));
});
const api = async (path, body) => {
  const r = await fetch(base + path, { method: body ? 'POST' : 'GET', body: body && JSON.stringify(body),
    headers: { authorization: 'Bearer ' + client.token, 'content-type': 'application/json' } });
  return r.json();
};

// RFC 6238 TOTP (SHA-1, 6 digits), written here from the RFC.
function totp(key) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const o = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1e6).padStart(6, '0');
}
function base32(s) {
  const a = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '', out = [];
  for (const c of s) bits += a.indexOf(c).toString(2).padStart(5, '0');
  for (let i = 0; i + 8 <= bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(out);
}

// A PDF: the node's own sample maker is not exposed, so a minimal valid one.
function pdfBytes(title) {
  const objs = ['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Title (${title}) >>`];
  let out = '%PDF-1.7\n';
  const offs = [];
  objs.forEach((o, i) => { offs.push(out.length); out += `${i + 1} 0 obj\n${o}\nendobj\n`; });
  const x = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n` + offs.map((o) => String(o).padStart(10, '0') + ' 00000 n \n').join('');
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${x}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

const failures = [];
const expect = (cond, what) => { if (!cond) throw new Error(what); };
let browser;
try {
  // Approve a PDF through the API.
  const pdf = pdfBytes('Titulo');
  const uri = (await api('/v1/subjects/1234567/totp', {})).otpauth_uri;
  const key = base32(new URL(uri).searchParams.get('secret'));
  const req = await api('/v1/approvals', { subject: '1234567',
    documents: [{ content: pdf.toString('base64'), media_type: 'application/pdf' }] });
  const decided = await api(`/v1/approvals/${req.id}/confirm`, { code: totp(key) });
  expect(decided.status === 'approved', 'approval: ' + JSON.stringify(decided));
  // Issue a QR Seguro code, and another that is revoked.
  const doc = createHash('sha256').update('certificado').digest('hex');
  const good = await api('/v1/qr', { document: { sha256: doc, media_type: 'application/pdf' },
    fields: { tipo: 'Certificado', numero: 'CN-1' } });
  const bad = await api('/v1/qr', { document: { sha256: doc, media_type: 'application/pdf' }, fields: { numero: 'CN-2' } });
  await api(`/v1/qr/${bad.index}/revoke`, { reason: 'emitido por error' });

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const context = await browser.newContext({ locale: 'es-BO', timezoneId: 'America/La_Paz' });
  await context.route(/^(?!http:\/\/127\.0\.0\.1:)/, (r) => { failures.push('external ' + r.request().url()); r.abort(); });
  const page = await context.newPage();
  await page.goto(base + '/');
  const state = async () => { await page.waitForSelector('#state', { timeout: 15000 }); return page.getAttribute('#state', 'data-state'); };
  const check = async (name, fn) => {
    try {
      await page.evaluate(() => document.getElementById('result').replaceChildren());
      await fn();
      await page.screenshot({ path: join(shots, 'real-' + name + '.png'), fullPage: true });
      console.log('ok   ' + name);
    } catch (e) {
      failures.push(name + ': ' + e.message);
      console.log('FAIL ' + name + ': ' + e.message);
    }
  };
  await check('approved-pdf', async () => {
    await page.setInputFiles('#file', { name: 'titulo.pdf', mimeType: 'application/pdf', buffer: pdf });
    expect(await state() === 'approved', 'state is ' + await state());
    expect((await page.textContent('#institution')) === 'Ministerio de Educación', 'institution');
    expect(await page.getAttribute('#proof-status', 'data-ok') === 'true', 'proof verified in the browser');
  });
  await check('changed-pdf-not-found', async () => {
    const changed = Buffer.from(pdf);
    changed[changed.length - 20] ^= 1;
    await page.setInputFiles('#file', { name: 'otro.pdf', mimeType: 'application/pdf', buffer: changed });
    expect(await state() === 'notFound', 'state is ' + await state());
  });
  await check('qr-issued', async () => {
    const png = await QRCode.toBuffer(good.qr_text, { type: 'png', errorCorrectionLevel: 'M', margin: 4, scale: 4 });
    await page.setInputFiles('#qr-image', { name: 'qr.png', mimeType: 'image/png', buffer: png });
    expect(await state() === 'issued', 'state is ' + await state());
    expect((await page.textContent('#result')).includes('CN-1'), 'fields shown');
    expect(await page.getAttribute('#proof-status', 'data-ok') === 'true', 'proof verified in the browser');
  });
  await check('qr-revoked', async () => {
    const png = await QRCode.toBuffer(bad.qr_text, { type: 'png', errorCorrectionLevel: 'M', margin: 4, scale: 4 });
    await page.setInputFiles('#qr-image', { name: 'qr.png', mimeType: 'image/png', buffer: png });
    expect(await state() === 'revoked', 'state is ' + await state());
  });
} catch (e) {
  failures.push(e.message);
} finally {
  await browser?.close();
  node.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
if (failures.length) {
  console.error(failures.join('\n'));
  process.exit(1);
}
console.log('all passed');
