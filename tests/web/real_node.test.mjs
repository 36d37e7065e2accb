// The page served by a real `quipu serve`, in real headless Chromium: an
// institution asks a citizen to approve three documents (a PDF and a JSON
// document sent with their content, a PDF by its hash only); the citizen
// opens the link, logs in at the development identity provider (dev/oidc, a
// real OpenID Connect provider), enrols an authenticator on quipu's page
// (codes from oathtool), sees the PDF rendered by pdf.js, the JSON formatted
// and compares her own copy of the third, approves and lands back at the
// institution; the ledger holds three approvals in one commit and the
// institution's notification arrives with its token; a second citizen
// opening the link is refused. The institution then issues a QR Seguro code
// and revokes another, and the verification page checks them with the
// node's own answers, proofs and key. Complements page.test.mjs (a fake node
// with hand-made proofs, including tampered ones).
//
// Usage: node tests/web/real_node.test.mjs <build-dir>   (exits non-zero on failure)
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
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

// The institution's notification URI: what arrives, with its Authorization.
const notifications = [];
const deliveries = [];  // the message factor's codes, as an SMS gateway gets them
const receiver = createHttpServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    (req.url === '/deliver' ? deliveries : notifications).push({ authorization: req.headers.authorization, body });
    // {"finalizado": true}: what an AGETIC integration answers its callback.
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"finalizado":true,"mensaje":"recibido"}');
  });
});
const notifyPort = await new Promise((ok) => receiver.listen(0, '127.0.0.1', () => ok(receiver.address().port)));

const vkey = run('log', 'init', '--data', data).trim();
const client = JSON.parse(run('client', 'add', '--data', data, '--name', 'Ministerio de Educación',
  '--redirect-uri', 'https://m.example/r', '--notify-uri', `http://127.0.0.1:${notifyPort}/n`,
  '--notify-token', 'token-de-notificacion', '--allow-local-callbacks'));

const children = [];
function start(cmd, args, ready) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((ok, fail) => {
    const seen = (d) => {
      out += d;
      const m = out.match(ready);
      if (m) ok(m[1]);
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('exit', (code) => fail(new Error(`${cmd} exited (${code}): ${out}`)));
  });
}
const freePort = () => new Promise((ok) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => ok(port));
  });
});

// The development provider, and a development node that uses it (the
// client's notification URI is on 127.0.0.1).
const port = await freePort();
const idp = join(work, 'idp');
const issuer = await start(process.execPath, [join(root, 'dev/oidc/provider.mjs'), '--listen', '127.0.0.1:0',
  '--data', idp, '--redirect-uri', `http://127.0.0.1:${port}/aprobar/callback`], /listening on (http:\/\/127\.0\.0\.1:\d+)/);
// A second quipu witnesses the node (C2SP tlog-witness); the node's policy
// asks it, and the page shows it vouching for what it verifies.
const wdata = join(work, 'witness');
run('log', 'init', '--data', wdata);
const wkey = run('witness', 'key', '--data', wdata, '--name', 'testigo.example/w').trim();
writeFileSync(join(work, 'logs'), `log ${vkey}\n`);
const witnessUrl = await start(quipu, ['serve', '--data', wdata, '--listen', '127.0.0.1:0', '--witness-logs', join(work, 'logs')],
  /serving (http:\/\/[0-9.:]+)/);
writeFileSync(join(work, 'policy'), `witness testigo ${wkey} ${witnessUrl}\nquorum testigo\n`);
const base = await start(quipu, ['serve', '--data', data, '--listen', `127.0.0.1:${port}`, '--allow-local-callbacks',
  '--policy', join(work, 'policy'), '--cosign-interval-ms', '100',
  '--delivery-webhook', `http://127.0.0.1:${notifyPort}/deliver`,
  '--oidc-issuer', issuer, '--oidc-client-id', 'quipu-dev', '--oidc-client-secret-file', join(idp, 'client-secret'),
  '--oidc-document-claim', 'documento_identidad'], /serving (http:\/\/[0-9.:]+)/);
const api = async (path, body) => {
  const r = await fetch(base + path, { method: body ? 'POST' : 'GET', body: body && JSON.stringify(body),
    headers: { authorization: 'Bearer ' + client.token, 'content-type': 'application/json' } });
  return r.json();
};

// The citizen's authenticator: oathtool (RFC 6238, SHA-1, 6 digits) at a time.
const totp = (secret, at) => execFileSync('oathtool', ['--totp', '-b', `--now=@${at}`, secret]).toString().trim();

// A PDF: the node's own sample maker is not exposed, so a minimal valid one
// with one page that shows a dark band and its title.
function pdfBytes(title) {
  const drawing = `0.1 0.1 0.1 rg 50 650 495 120 re f BT /F1 28 Tf 60 560 Td (${title}) Tj ET`;
  const objs = ['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${drawing.length} >>\nstream\n${drawing}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'];
  let out = '%PDF-1.7\n';
  const offs = [];
  objs.forEach((o, i) => { offs.push(out.length); out += `${i + 1} 0 obj\n${o}\nendobj\n`; });
  const x = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n` + offs.map((o) => String(o).padStart(10, '0') + ' 00000 n \n').join('');
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${x}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

// What the node answers a page's own fetch of a document's content.
const contentStatus = (page, id) => page.evaluate(async (rid) => {
  const me = await (await fetch('/v1/citizen/me')).json();
  return (await fetch(`/v1/citizen/approvals/${rid}/documents/0`, { headers: { 'X-Quipu-CSRF': me.csrf } })).status;
}, id);

const failures = [];
const expect = (cond, what) => { if (!cond) throw new Error(what); };
let browser;
try {
  // An institution asks a citizen to approve three documents; it gets the link.
  const pdf = pdfBytes('Titulo');
  const json = Buffer.from('{"titular":"Ana Mamani","monto":1500.5,"materias":["Algebra","Fisica"]}');
  const theirs = pdfBytes('Certificado de notas');  // sent by its hash only; the citizen has her copy
  const req = await api('/v1/approvals', { subject: '1234567', state: 'tramite-9',
    description: 'Título de bachiller y sus notas,\ngestión 2026',
    documents: [{ content: pdf.toString('base64'), media_type: 'application/pdf', name: 'titulo.pdf' },
                { content: json.toString('base64'), media_type: 'application/json', name: 'datos.json' },
                { sha256: createHash('sha256').update(theirs).digest('hex'), media_type: 'application/pdf',
                  name: 'notas.pdf' }] });
  expect(req.link === `${base}/aprobar/${req.id}`, 'link: ' + JSON.stringify(req));

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  // The citizen, in their own browser: the link, the provider's login and
  // consent, quipu's page, an authenticator, the decision, the way back.
  const citizen = async (document) => {
    const context = await browser.newContext({ locale: 'es-BO', timezoneId: 'America/La_Paz' });
    await context.route(/^(?!http:\/\/127\.0\.0\.1:)/, (r) => { failures.push('external ' + r.request().url()); r.abort(); });
    // The institution's redirect URI: answered here, as its site would.
    await context.route(/^https:\/\/m\.example\//, (r) => r.fulfill({ status: 200, contentType: 'text/html', body: '<p>vuelta</p>' }));
    const page = await context.newPage();
    // Nothing the page does may fail: a CSP violation, a script error.
    // (The refusals this test asks for on purpose are answers, not failures.)
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 40[39] /.test(m.text())) failures.push(`console (${document}): ${m.text()}`);
    });
    page.on('pageerror', (e) => failures.push(`page error (${document}): ${e.message}`));
    await page.goto(req.link);
    expect(page.url().startsWith(issuer), 'the link leads to the provider: ' + page.url());
    await page.fill('#username', document);
    await page.fill('#password', 'clave-dev');
    await page.click('button[type=submit]');
    await page.click('form[action$="/confirm"] button');
    await page.waitForURL(req.link);
    return { context, page };
  };
  const ana = await citizen('1234567');
  // Nothing is enrolled by opening the page: the citizen asks for it.
  await ana.page.waitForSelector('#enrol-start:not([hidden])', { timeout: 15000 });
  expect(await ana.page.isHidden('#enrol'), 'no key before the citizen asks');
  await ana.page.click('#enrol-begin');
  await ana.page.waitForSelector('#enrol:not([hidden])', { timeout: 15000 });
  expect((await ana.page.textContent('#institution')) === 'Ministerio de Educación', 'the institution is named');
  expect((await ana.page.textContent('#documents')).includes('titulo.pdf'), 'the document is listed');
  expect((await ana.page.textContent('#description')) === 'Título de bachiller y sus notas,\ngestión 2026',
         'the description is shown as written');
  expect((await ana.page.textContent('#documents')).includes(`· ${pdf.length} B ·`), 'the size of a sent document');
  // The PDF, rendered by pdf.js: its page drawn on a canvas, dark band and all.
  await ana.page.waitForSelector('#content-0[data-rendered="1"]', { timeout: 20000 });
  expect(await ana.page.getAttribute('#content-0', 'data-match') === 'true', 'the PDF content matches its hash');
  const dark = await ana.page.evaluate(() => {
    const c = document.querySelector('#content-0 canvas');
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i] < 80 && px[i + 3] > 0) n++;
    return n / (c.width * c.height);
  });
  expect(dark > 0.05 && dark < 0.5, `the PDF page is drawn (dark share ${dark})`);
  // pdf.js's image decoders are the node's own (WebAssembly, served beside its worker).
  const wasm = await ana.page.evaluate(async () => {
    const r = await fetch('/pdfjs/wasm/openjpeg.wasm');
    const b = new Uint8Array(await r.arrayBuffer());
    return { type: r.headers.get('content-type'), magic: Array.from(b.subarray(0, 4)), ok: WebAssembly.validate(b) };
  });
  expect(wasm.type === 'application/wasm' && wasm.magic.join() === '0,97,115,109' && wasm.ok,
         'the JPEG 2000 decoder is served: ' + JSON.stringify(wasm));
  // The JSON, formatted: one member a line.
  await ana.page.waitForSelector('#content-1 pre.json', { timeout: 15000 });
  const shown = await ana.page.textContent('#content-1 pre.json');
  expect(shown.includes('\n  "titular": "Ana Mamani"\n') && shown.includes('"Fisica"'), 'JSON formatted: ' + shown);
  expect(await ana.page.getAttribute('#content-1', 'data-match') === 'true', 'the JSON content matches its hash');
  // The hash-only document: the page says so; a wrong file does not match, hers does.
  expect((await ana.page.textContent('#content-2')).includes('SHA-256'), 'hash-only explained');
  await ana.page.setInputFiles('#compare-2', { name: 'otro.pdf', mimeType: 'application/pdf', buffer: pdfBytes('Otro') });
  await ana.page.waitForSelector('#content-2[data-match="false"]', { timeout: 15000 });
  await ana.page.setInputFiles('#compare-2', { name: 'notas.pdf', mimeType: 'application/pdf', buffer: theirs });
  await ana.page.waitForSelector('#content-2[data-match="true"]', { timeout: 15000 });
  expect((await ana.page.textContent('#content-2')).includes('Coincide'), 'her copy matches');
  // On a phone: nothing wider than the screen; in English on request.
  await ana.page.setViewportSize({ width: 360, height: 740 });
  const overflow = await ana.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow <= 0, `the page fits a 360 px screen (${overflow} px too wide)`);
  await ana.page.screenshot({ path: join(shots, 'real-approval-phone.png'), fullPage: true });
  await ana.page.click('#lang');
  expect((await ana.page.textContent('#content-2')).includes('It matches'), 'English on request');
  await ana.page.click('#lang');
  await ana.page.setViewportSize({ width: 1280, height: 720 });
  const secret = (await ana.page.textContent('#enrol-secret')).trim();
  const now = Math.floor(Date.now() / 1000);
  await ana.page.fill('#enrol-code', totp(secret, now - 30));
  await ana.page.click('#enrol-form button[type=submit]');
  await ana.page.waitForSelector('#decide:not([hidden])', { timeout: 15000 });
  await ana.page.screenshot({ path: join(shots, 'real-approval-page.png'), fullPage: true });
  const approvedAt = Math.floor(Date.now() / 1000);
  await ana.page.fill('#decide-code', totp(secret, approvedAt));
  await ana.page.click('#approve');
  await ana.page.waitForURL(/^https:\/\/m\.example\/r/, { timeout: 15000 });
  const back = new URL(ana.page.url());
  expect(back.searchParams.get('request') === req.id && back.searchParams.get('status') === 'approved' &&
         back.searchParams.get('state') === 'tramite-9', 'back at the institution with the outcome: ' + back);
  const decided = await api(`/v1/approvals/${req.id}`);
  expect(decided.status === 'approved' && decided.entries.length === 3, 'approval: ' + JSON.stringify(decided));
  // Three approval entries, one commit: the block that holds them holds nothing else.
  const indices = decided.entries.map((e) => e.index).sort((a, b) => a - b);
  for (const i of indices) {
    const e = await api(`/v1/entries/${i}`);
    expect(e.entry.type === 'approval', `entry ${i}: ${JSON.stringify(e.entry)}`);
  }
  const block = await api('/v1/blocks/latest');
  const before = block.height === 0 ? 0 : (await api(`/v1/blocks/${block.height - 1}`)).tree_size;
  expect(before === indices[0] && block.tree_size === indices[2] + 1 && indices[2] - indices[0] === 2,
         `one commit: ${JSON.stringify(block)} after ${before}, entries ${indices}`);
  // The institution is notified, with its token, of the three.
  for (let i = 0; i < 100 && !notifications.length; i++) await new Promise((ok) => setTimeout(ok, 100));
  expect(notifications.length === 1, `one notification: ${notifications.length}`);
  expect(notifications[0].authorization === 'Bearer token-de-notificacion', 'notified with its token');
  const note = JSON.parse(notifications[0].body);
  expect(note.request === req.id && note.status === 'approved' && note.documents.length === 3,
         'notification: ' + notifications[0].body);

  // Her own page lists it; its link checks the entry and its proof in the browser.
  await ana.page.goto(`${base}/aprobar`);
  await ana.page.waitForSelector('#mine:not([hidden])', { timeout: 15000 });
  // Decided: the contents are gone from the node.
  expect(await contentStatus(ana.page, req.id) === 409, 'no content after the decision');
  expect((await ana.page.textContent('#mine-list')).includes('Ministerio de Educación'), 'her request is listed');
  await ana.page.screenshot({ path: join(shots, 'real-own-page.png'), fullPage: true });
  // A request decided with a code sent to her: asked for on the page, it
  // goes to the phone her login gives; she rejects with it.
  const bySms = await api('/v1/approvals', { subject: '1234567', factor: 'message', channel: 'sms',
    documents: [{ sha256: createHash('sha256').update('formulario').digest('hex'), media_type: 'application/pdf' }] });
  await ana.page.goto(bySms.link);
  await ana.page.waitForSelector('#send-code:not([hidden])', { timeout: 15000 });
  expect(await ana.page.isHidden('#decide') && deliveries.length === 0, 'nothing sent before she asks');
  await ana.page.click('#send-code-button');
  await ana.page.waitForSelector('#decide:not([hidden])', { timeout: 15000 });
  expect((await ana.page.textContent('#code-sent')).includes('•••• 0001'), 'where the code went');
  for (let i = 0; i < 100 && !deliveries.length; i++) await new Promise((ok) => setTimeout(ok, 100));
  const sms = JSON.parse(deliveries[0].body);
  expect(sms.to === '+59170000001' && sms.text.includes('Ministerio de Educación le pide aprobar 1 documento'),
         'the code to her phone, naming the institution: ' + deliveries[0].body);
  await ana.page.fill('#decide-code', sms.code);
  await ana.page.click('#reject');
  await ana.page.waitForURL(/^https:\/\/m\.example\/r/, { timeout: 15000 });
  expect(new URL(ana.page.url()).searchParams.get('status') === 'rejected', 'rejected: ' + ana.page.url());
  await ana.page.goto(`${base}/aprobar`);
  await ana.page.waitForSelector('#mine:not([hidden])', { timeout: 15000 });
  await ana.page.click('#mine-list > li:last-child a');
  await ana.page.waitForSelector('#state', { timeout: 15000 });
  expect(await ana.page.getAttribute('#state', 'data-state') === 'approved', 'verified from her list');
  expect(await ana.page.getAttribute('#proof-status', 'data-ok') === 'true', 'proof verified in the browser');

  // The same, through the AGETIC-compatible API: the institution holds her
  // access token (its own login at the provider) and asks for a PDF and a
  // JSON document at once; she approves on the page the link opens; the
  // callback says aceptado and introducido.
  const token = JSON.parse(execFileSync(process.execPath, [join(root, 'tests/oidc/access_token.mjs'), issuer,
    'quipu-dev', join(idp, 'client-secret'), `http://127.0.0.1:${port}/aprobar/callback`, '1234567'],
  { encoding: 'utf8' })).access_token;
  const contrato = pdfBytes('Contrato de credito');
  const plan = Buffer.from('{"cuotas":12,"monto":5000,"moneda":"BOB"}');
  const sha = (b) => createHash('sha256').update(b).digest('hex');
  const solicitud = await api('/api/solicitudes/multiples', { idTramite: '7e57a9e1-0c1d-4e2f-8a3b-4c5d6e7f8091',
    accessToken: token, documentos: [
      { tipoDocumento: 'PDF', documento: contrato.toString('base64'), hashDocumento: sha(contrato),
        descripcion: 'Contrato de crédito', uuidDocumento: '7e57a9e1-0000-4000-8000-000000000001' },
      { tipoDocumento: 'JSON', documento: plan.toString('base64'), hashDocumento: sha(plan.toString('base64')),
        descripcion: 'Plan de pagos', uuidDocumento: '7e57a9e1-0000-4000-8000-000000000002' }] });
  expect(solicitud.finalizado === true && solicitud.datos.link.startsWith(`${base}/aprobar/r_`),
         'the AGETIC request: ' + JSON.stringify(solicitud));
  await ana.page.goto(solicitud.datos.link);
  await ana.page.waitForSelector('#decide:not([hidden])', { timeout: 15000 });
  await ana.page.waitForSelector('#content-0[data-rendered="1"]', { timeout: 20000 });
  await ana.page.waitForSelector('#content-1 pre.json', { timeout: 15000 });
  expect((await ana.page.textContent('#documents')).includes('Plan de pagos'), 'each document named as described');
  await ana.page.fill('#decide-code', totp(secret, approvedAt + 30));  // her next step: a code is used once
  await ana.page.click('#approve');
  await ana.page.waitForURL(/^https:\/\/m\.example\/r/, { timeout: 15000 });
  let callback;
  for (let i = 0; i < 100 && !callback; i++) {
    callback = notifications.map((n) => JSON.parse(n.body)).find((n) => n.idTramite === '7e57a9e1-0c1d-4e2f-8a3b-4c5d6e7f8091');
    if (!callback) await new Promise((ok) => setTimeout(ok, 100));
  }
  expect(callback && callback.aceptado === true && callback.introducido === true && callback.documentos.length === 2 &&
         callback.documentos[1].uuidDocumento === '7e57a9e1-0000-4000-8000-000000000002',
         'the AGETIC callback: ' + JSON.stringify(callback));
  await ana.context.close();
  // Another citizen with the same link: logged in, and refused.
  const carlos = await citizen('7654321');
  await carlos.page.waitForSelector('#error:not([hidden])', { timeout: 15000 });
  expect(await contentStatus(carlos.page, req.id) === 403, 'another citizen reads no content');
  expect(!(await carlos.page.textContent('body')).includes('titulo.pdf'), 'nothing of the request is shown');
  await carlos.context.close();

  // Issue a QR Seguro code, and another that is revoked.
  const doc = createHash('sha256').update('certificado').digest('hex');
  const good = await api('/v1/qr', { document: { sha256: doc, media_type: 'application/pdf' },
    fields: { tipo: 'Certificado', numero: 'CN-1' } });
  const bad = await api('/v1/qr', { document: { sha256: doc, media_type: 'application/pdf' }, fields: { numero: 'CN-2' } });
  await api(`/v1/qr/${bad.index}/revoke`, { reason: 'emitido por error' });
  // And two-phase codes (QS2) through the AGETIC API: one generated and
  // confirmed, one generated and left unconfirmed, one confirmed and annulled.
  const generar = (codigo, rol) => api('/api/qr/generar', { accessToken: token, mostrarEnlace: true,
    codigoTransaccion: codigo, documentoDigital: { codigoDocumento: 'TB-2026-0048213',
      nombreDocumento: 'Título de Bachiller', validez: { fechaEmision: '15/11/2026' },
      titulares: [{ nombreCompleto: 'Ana Quispe Mamani', tipoDocumento: 'CI', numeroDocumento: '1234567', rol }] } });
  const qs2 = await generar('9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', 'Bachiller');
  const qs2Pending = await generar('9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6e', 'Titular');
  const qs2Annulled = await generar('9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6f', 'Egresado');
  expect(qs2.finalizado && qs2.datos.textoQr.startsWith('QS2:') && qs2.datos.enlace.startsWith(base + '/?qr='),
         'generated: ' + JSON.stringify(qs2));
  for (const codigo of ['9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6f']) {
    const c = await api('/api/qr/confirmacion', { codigoTransaccion: codigo });
    expect(c.finalizado === true, 'confirmed: ' + JSON.stringify(c));
  }
  const annul = await api('/api/qr/anulacion', { codigoTransaccion: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6f' });
  expect(annul.finalizado === true, 'annulled: ' + JSON.stringify(annul));

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
    const witnesses = await page.textContent('#witnesses');
    expect(witnesses.includes('testigo') && witnesses.includes('cumple'), 'the witness vouches: ' + witnesses);
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
  await check('qs2-image-confirmed', async () => {
    // The PNG the node drew, as the institution prints it.
    const png = Buffer.from(qs2.datos.qrImagen, 'base64');
    await page.setInputFiles('#qr-image', { name: 'qr.png', mimeType: 'image/png', buffer: png });
    expect(await state() === 'issued', 'state is ' + await state());
    expect((await page.textContent('#result')).includes('TB-2026-0048213'), 'fields shown');
    expect(await page.getAttribute('#proof-status', 'data-ok') === 'true', 'proof verified in the browser');
  });
  await check('qs2-unconfirmed-not-valid', async () => {
    await page.goto(qs2Pending.datos.enlace);
    expect(await state() === 'qrInvalid', 'state is ' + await state() + ': ' + await page.textContent('#result'));
    expect((await page.textContent('#reasons')).includes('not in ledger'), 'reasons: ' + await page.textContent('#reasons'));
  });
  await check('qs2-annulled-revoked', async () => {
    await page.goto(qs2Annulled.datos.enlace);
    expect(await state() === 'revoked', 'state is ' + await state());
    expect(await page.getAttribute('#proof-status', 'data-ok') === 'true', 'proof verified in the browser');
  });
} catch (e) {
  failures.push(e.message);
} finally {
  await browser?.close();
  for (const c of children) c.kill('SIGTERM');
  receiver.close();
  rmSync(work, { recursive: true, force: true });
}
if (failures.length) {
  console.error(failures.join('\n'));
  process.exit(1);
}
console.log('all passed');
