// The citizen's approval end to end, headless, against the real node and the
// real development provider: a client creates a request (with its state) and
// gets the link; the citizen opens it, logs in at the provider (code flow,
// PKCE), lands on quipu's page, enrols an authenticator (codes from
// oathtool), approves, and is sent back to the client's redirect URI with
// the request, the outcome and the state; the ledger holds the approval. A
// second citizen opening the same link is refused.
//
// With --claims-at-userinfo-only the provider keeps the scopes' claims (the
// document number among them) out of the ID token, as a strict OpenID
// Connect provider does: the node must read them at userinfo.
//
// Usage: node tests/oidc/citizen_login.test.mjs QUIPU_BINARY [--claims-at-userinfo-only]
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CookieJar, browse, formAction, post } from './browser.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const quipu = process.argv[2];
const userinfoOnly = process.argv.includes('--claims-at-userinfo-only');
assert.ok(quipu, 'usage: citizen_login.test.mjs QUIPU_BINARY');
const work = mkdtempSync(join(tmpdir(), 'quipu-citizen-'));
const children = new Set();
const watchdog = setTimeout(() => {
  console.error('FAIL the test took over 50 s');
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
}, 50_000);

const freePort = () => new Promise((ok) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => ok(port));
  });
});

function start(cmd, args, ready) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  return new Promise((ok, fail) => {
    const seen = (d) => {
      out += d;
      const m = out.match(ready);
      if (m) ok({ child, match: m, out: () => out });
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('exit', (code) => fail(new Error(`${cmd} exited (${code}): ${out}`)));
  });
}

const nodePort = await freePort();
const base = `http://127.0.0.1:${nodePort}`;
const idpData = join(work, 'idp');
const provider = await start(process.execPath, [join(root, 'dev/oidc/provider.mjs'), '--listen', '127.0.0.1:0',
  '--data', idpData, '--redirect-uri', `${base}/aprobar/callback`, ...(userinfoOnly ? ['--claims-at-userinfo-only'] : [])],
  /listening on (http:\/\/127\.0\.0\.1:\d+)/);
const issuer = provider.match[1];
const data = join(work, 'node');
await start(quipu, ['serve', '--data', data, '--listen', `127.0.0.1:${nodePort}`, '--allow-local-callbacks',
  '--oidc-issuer', issuer, '--oidc-client-id', 'quipu-dev', '--oidc-client-secret-file', join(idpData, 'client-secret'),
  '--oidc-document-claim', 'documento_identidad'], /quipu: serving/);

const api = async (path, { token, method = 'GET', body } = {}) => {
  const res = await fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: await res.json().catch(() => null) };
};
const admin = readFileSync(join(data, 'admin.token'), 'utf8').trim();
const client = await api('/v1/admin/clients', { token: admin, method: 'POST',
  body: { name: 'Servicio de Impuestos', redirect_uri: 'https://impuestos.example/vuelta',
          notify_uri: 'http://127.0.0.1:9/n', notify_token: 'nt' } });
assert.equal(client.status, 201, JSON.stringify(client.json));
const docs = ['contrato', 'anexo', 'formulario'].map((name, i) => ({
  sha256: execFileSync('sh', ['-c', `printf '%s' "${name}" | sha256sum | cut -c1-64`]).toString().trim(),
  media_type: i === 2 ? 'application/json' : 'application/pdf', name,
}));
const created = await api('/v1/approvals', { token: client.json.token, method: 'POST',
  body: { subject: '1234567', state: 'tramite-77', documents: docs } });
assert.equal(created.status, 201, JSON.stringify(created.json));
const link = created.json.link;
assert.equal(link, `${base}/aprobar/${created.json.id}`);

// A citizen's browser: the link, the provider's login and consent, back to quipu.
async function logIn(document) {
  const jar = new CookieJar();
  const login = await browse(jar, link);
  assert.equal(new URL(login.url).origin, issuer, 'the link sends a browser without a session to the provider');
  const consent = await post(jar, formAction(login, '/login'), { username: document, password: 'clave-dev' });
  const page = await post(jar, formAction(consent, '/confirm'), {});
  return { jar, page };
}
const citizenApi = async (jar, path, { method = 'GET', body, csrf } = {}) => {
  const res = await fetch(base + path, {
    method,
    headers: { cookie: jar.header(base + path), 'content-type': 'application/json', ...(csrf ? { 'x-quipu-csrf': csrf } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: res.status === 204 ? null : await res.json().catch(() => null) };
};
const totp = (secret, at) => execFileSync('oathtool', ['--totp', '-b', `--now=@${at}`, secret]).toString().trim();

// A browser without a session at the provider: the node asks silently
// first (prompt=none), the provider answers login_required, and the node
// asks again with the provider's forms.
async function silentThenAloud() {
  const jar = new CookieJar();
  const step = async (url) => {
    const res = await fetch(url, { headers: { cookie: jar.header(url) }, redirect: 'manual' });
    jar.store(url, res);
    return new URL(res.headers.get('location') ?? '', url);
  };
  const first = await step(link);
  assert.equal(first.origin, issuer);
  assert.equal(first.searchParams.get('prompt'), 'none', 'asked silently first: ' + first.href);
  let at = first;
  for (let i = 0; i < 5 && at.origin === issuer; i++) at = await step(at.href);  // the provider's own redirects
  assert.equal(at.pathname, '/aprobar/callback');
  assert.equal(at.searchParams.get('error'), 'login_required', at.href);
  const aloud = await step(at.href);
  assert.equal(aloud.origin, issuer, 'then with its forms: ' + aloud.href);
  assert.equal(aloud.searchParams.get('prompt'), null);
  assert.equal(aloud.searchParams.get('client_id'), 'quipu-dev');
}

try {
  await silentThenAloud();
  const ana = await logIn('1234567');
  assert.equal(ana.page.url.href, link, 'after the login the citizen is back at the link');
  assert.equal(ana.page.res.status, 200);
  assert.match(ana.page.body, /Aprobar documentos/);
  const me = await citizenApi(ana.jar, '/v1/citizen/me');
  assert.equal(me.json.document_number, '1234567');
  assert.equal(me.json.name, 'Juana Mamani Quispe');
  const request = await citizenApi(ana.jar, `/v1/citizen/approvals/${created.json.id}`);
  assert.equal(request.status, 200);
  assert.equal(request.json.institution, 'Servicio de Impuestos');
  assert.deepEqual(request.json.documents.map((d) => d.name), ['contrato', 'anexo', 'formulario']);

  // The authenticator: begun and confirmed by the citizen, with the page's token.
  assert.equal((await citizenApi(ana.jar, '/v1/citizen/totp', { method: 'POST', body: {} })).status, 403);
  const begun = await citizenApi(ana.jar, '/v1/citizen/totp', { method: 'POST', body: {}, csrf: me.json.csrf });
  assert.equal(begun.status, 201, JSON.stringify(begun.json));
  const now = Math.floor(Date.now() / 1000);
  const confirmed = await citizenApi(ana.jar, '/v1/citizen/totp/confirm',
    { method: 'POST', body: { code: totp(begun.json.secret, now) }, csrf: me.json.csrf });
  assert.equal(confirmed.status, 204, JSON.stringify(confirmed.json));
  // The client cannot decide for the citizen with the code... nor see it: approve here.
  const decided = await citizenApi(ana.jar, `/v1/citizen/approvals/${created.json.id}/confirm`,
    { method: 'POST', body: { code: totp(begun.json.secret, now + 30) }, csrf: me.json.csrf });
  assert.equal(decided.status, 200, JSON.stringify(decided.json));
  assert.equal(decided.json.redirect_url,
    `https://impuestos.example/vuelta?request=${created.json.id}&status=approved&state=tramite-77`);
  // Three approval entries, in one commit.
  const indices = [];
  for (const d of docs) {
    const found = await api(`/v1/documents/${d.sha256}`);
    assert.equal(found.json.found, true, d.name);
    assert.equal(found.json.records[0].type, 'approval');
    indices.push(found.json.records[0].index);
  }
  const block = await api('/v1/blocks/latest');
  assert.equal(block.json.tree_size, 3);
  assert.deepEqual(indices, [0, 1, 2]);

  // Her next request, from the same institution: her browser still has its
  // session at the provider and her consent, so the link logs her in
  // silently (prompt=none): no form, straight to the page, where only her
  // factor is asked.
  const second = await api('/v1/approvals', { token: client.json.token, method: 'POST',
    body: { subject: '1234567', documents: [docs[0]] } });
  assert.equal(second.status, 201, JSON.stringify(second.json));
  // (Her session at quipu is gone, as after a restart or its 30 minutes.)
  ana.jar.drop('quipu_citizen');
  const again = await browse(ana.jar, second.json.link);
  assert.equal(again.url.href, second.json.link, 'a silent login lands on the page: ' + again.url.href);
  assert.equal(again.res.status, 200);
  assert.match(again.body, /Aprobar documentos/);
  assert.doesNotMatch(again.body, /name="password"/);
  const meAgain = await citizenApi(ana.jar, '/v1/citizen/me');
  assert.equal(meAgain.json.document_number, '1234567', 'logged in as herself');

  // Another citizen with the same link: logged in, and refused.
  const carlos = await logIn('7654321');
  assert.equal(carlos.page.res.status, 200);
  const theirs = await citizenApi(carlos.jar, `/v1/citizen/approvals/${created.json.id}`);
  assert.equal(theirs.status, 403);
  assert.equal(JSON.stringify(theirs.json).includes('contrato'), false);

  // A callback with a state that was not this browser's: refused.
  const forged = await fetch(`${base}/aprobar/callback?code=x&state=forged`, { redirect: 'manual' });
  assert.equal(forged.status, 400);
  console.log('ok   the citizen logs in at the provider, enrols, approves and goes back to the client' +
              (userinfoOnly ? ' (claims read at userinfo)' : ''));
} finally {
  clearTimeout(watchdog);
  for (const c of children) c.kill('SIGTERM');
  await new Promise((ok) => setTimeout(ok, 300));
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
