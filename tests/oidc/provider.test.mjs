// The development identity provider (dev/oidc/provider.mjs) met the way quipu
// will meet Ciudadanía Digital: discovery, the JWKS, then the authorization code
// flow with PKCE walked headlessly (a cookie jar follows the redirects, the login
// and consent forms are posted, the code arrives at a local HTTP listener that
// plays the node's redirect URI), the code exchanged with npm openid-client, and
// the ID token verified with npm jose against the provider's JWKS. Also the
// refusals: a wrong password, an unknown citizen, a missing or wrong PKCE
// verifier, an unregistered redirect URI, a cancelled login, a key file that
// others can read.
//
// Usage: node tests/oidc/provider.test.mjs   (exits non-zero on failure)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { CookieJar, browse, formAction, post } from './browser.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const providerScript = join(root, 'dev/oidc/provider.mjs');
const fromDevOidc = createRequire(join(root, 'dev/oidc/package.json'));
const oidc = await import(pathToFileURL(fromDevOidc.resolve('openid-client')));
const jose = await import(pathToFileURL(fromDevOidc.resolve('jose')));

const kClientId = 'quipu-dev';
const kPassword = 'clave-dev';
const kClaim = 'documento_identidad';
const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'quipu-oidc-'));
const data = join(work, 'dev-oidc');
const children = new Set();

// Whatever happens, no process outlives the test.
const watchdog = setTimeout(() => {
  console.error('FAIL the test took over 50 s');
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
}, 50_000);

// The node's redirect URI: records every request it receives.
const arrivals = [];
const rp = createServer((req, res) => {
  arrivals.push(new URL(req.url, `http://${req.headers.host}`));
  res.writeHead(200, { 'content-type': 'text/plain' }).end('callback received');
});
await new Promise((ok) => rp.listen(0, '127.0.0.1', ok));
const redirectUri = `http://127.0.0.1:${rp.address().port}/aprobar/callback`;

// Starts the provider on a free port; resolves with its issuer and output so far.
function startProvider(extra = []) {
  const child = spawn(process.execPath, [providerScript, '--listen', '127.0.0.1:0', '--data', data,
    '--redirect-uri', redirectUri, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((ok, bad) => {
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) ok({ child, issuer: m[1], output: () => out, errors: () => err });
    });
    child.on('exit', (code) => bad(Object.assign(new Error(`provider exited ${code}: ${err}`), { code, err })));
  });
}

function stopProvider(child) {
  return new Promise((ok) => {
    if (child.exitCode !== null) return ok(child.exitCode);
    child.once('exit', (code) => ok(code));
    child.kill('SIGTERM');
  });
}

let failures = 0;
async function test(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e.stack ?? e.message}`);
  }
}

let provider;
try {
  provider = await startProvider();
  const { issuer } = provider;
  const secret = readFileSync(join(data, 'client-secret'), 'utf8');
  const config = await oidc.discovery(new URL(issuer), kClientId, undefined, oidc.ClientSecretBasic(secret),
    { execute: [oidc.allowInsecureRequests] });
  const meta = config.serverMetadata();

  // An authorization request as the node will make it; returns what it must keep.
  async function authorizationRequest(extra = {}) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email phone',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...extra,
    });
    return { url, verifier, state, nonce };
  }

  // Login and consent in a fresh browser; returns the callback URL that arrived.
  async function loginFlow(document, request, jar = new CookieJar()) {
    const login = await browse(jar, request.url);
    assert.equal(login.res.status, 200, login.body);
    assert.match(login.body, /name="username"/);
    const consent = await post(jar, formAction(login, '/login'), { username: document, password: kPassword });
    assert.equal(consent.res.status, 200, consent.body);
    assert.match(consent.body, /Autorizar/);
    const done = await post(jar, formAction(consent, '/confirm'), {});
    assert.equal(done.url.origin + done.url.pathname, redirectUri, `landed on ${done.url}`);
    assert.equal(done.body, 'callback received');
    return arrivals.at(-1);
  }

  await test('the banner says it is a development provider and names the discovery URL', async () => {
    assert.match(provider.output(), /DEVELOPMENT identity provider — never use in production/);
    assert.ok(provider.output().includes(`discovery ${issuer}/.well-known/openid-configuration`));
  });

  await test('key, cookie keys and client secret are files of mode 0600 in a 0700 directory', async () => {
    assert.equal(statSync(data).mode & 0o777, 0o700);
    for (const f of ['jwks.json', 'cookie-keys.json', 'client-secret']) {
      assert.equal(statSync(join(data, f)).mode & 0o777, 0o600, f);
    }
    assert.ok(secret.length >= 32);
  });

  await test('discovery: issuer, code flow only, S256 only, the scopes and the document claim', async () => {
    assert.equal(meta.issuer, issuer);
    assert.deepEqual(meta.response_types_supported, ['code']);
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    for (const s of ['openid', 'profile', 'email', 'phone']) assert.ok(meta.scopes_supported.includes(s), s);
    for (const c of [kClaim, 'name', 'email', 'phone_number']) assert.ok(meta.claims_supported.includes(c), c);
    assert.ok(meta.id_token_signing_alg_values_supported.includes('RS256'));
    assert.equal(meta.authorization_response_iss_parameter_supported, true);
  });

  let kid;
  await test('the JWKS serves one public RS256 signing key, never its private part', async () => {
    const jwks = await (await fetch(meta.jwks_uri)).json();
    assert.equal(jwks.keys.length, 1);
    const [key] = jwks.keys;
    assert.equal(key.kty, 'RSA');
    assert.equal(key.alg, 'RS256');
    assert.equal(key.use, 'sig');
    assert.ok(key.kid);
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(key[priv], undefined, priv);
    const stored = JSON.parse(readFileSync(join(data, 'jwks.json'), 'utf8')).keys[0];
    assert.equal(stored.n, key.n);
    kid = key.kid;
  });

  await test('code flow + PKCE: the ID token verifies (signature, iss, aud, nonce) and names the citizen', async () => {
    const request = await authorizationRequest();
    const callback = await loginFlow('1234567', request);
    assert.equal(callback.searchParams.get('state'), request.state);
    assert.equal(callback.searchParams.get('iss'), issuer);
    assert.ok(callback.searchParams.get('code'));
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce,
      idTokenExpected: true,
    });
    // openid-client trusts the token endpoint's TLS for the ID token; quipu
    // checks the signature itself, as here, against the discovered JWKS.
    const jwks = jose.createRemoteJWKSet(new URL(meta.jwks_uri));
    const { payload, protectedHeader } = await jose.jwtVerify(tokens.id_token, jwks, {
      issuer, audience: kClientId, algorithms: ['RS256'],
    });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(protectedHeader.kid, kid);
    assert.equal(payload.nonce, request.nonce);
    assert.equal(payload[kClaim], '1234567');
    assert.equal(payload.sub, 'ciudadano-0001');
    assert.equal(payload.name, 'Juana Mamani Quispe');
    assert.equal(payload.email, 'juana.mamani@ciudadano.example');
    assert.equal(payload.phone_number, '+59170000001');
    assert.ok(payload.exp > Date.now() / 1000 && payload.exp <= Date.now() / 1000 + 600 + 5);
    // The same claims at userinfo, for a node that reads them there.
    const info = await oidc.fetchUserInfo(config, tokens.access_token, payload.sub);
    assert.equal(info[kClaim], '1234567');
    // A token whose signature was altered is refused by the same check.
    const [h, p, s] = tokens.id_token.split('.');
    const flipped = `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
    await assert.rejects(jose.jwtVerify(flipped, jwks, { issuer, audience: kClientId, algorithms: ['RS256'] }));
    // A code is used once.
    await assert.rejects(oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce,
    }), (e) => e.error === 'invalid_grant');
  });

  await test('a document number with a complement (4455667-1B) logs in; no phone claim when none', async () => {
    const request = await authorizationRequest();
    const callback = await loginFlow('4455667-1B', request);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce,
    });
    const claims = tokens.claims();
    assert.equal(claims[kClaim], '4455667-1B');
    assert.equal(claims.phone_number, undefined);
  });

  await test('the session is remembered (no form the second time) and prompt=login asks again', async () => {
    const jar = new CookieJar();
    await loginFlow('7654321', await authorizationRequest(), jar);
    const again = await authorizationRequest();
    const silent = await browse(jar, again.url);
    assert.equal(silent.url.origin + silent.url.pathname, redirectUri);
    const tokens = await oidc.authorizationCodeGrant(config, arrivals.at(-1), {
      pkceCodeVerifier: again.verifier, expectedState: again.state, expectedNonce: again.nonce,
    });
    assert.equal(tokens.claims()[kClaim], '7654321');
    const forced = await browse(jar, (await authorizationRequest({ prompt: 'login' })).url);
    assert.match(forced.body, /name="username"/);
  });

  await test('a wrong password is refused (401, no redirect); the right one then works', async () => {
    const request = await authorizationRequest();
    const jar = new CookieJar();
    const login = await browse(jar, request.url);
    const before = arrivals.length;
    const refused = await post(jar, formAction(login, '/login'), { username: '1234567', password: 'wrong' });
    assert.equal(refused.res.status, 401);
    assert.match(refused.body, /Documento o contraseña incorrectos/);
    assert.equal(arrivals.length, before, 'nothing reached the redirect URI');
    const consent = await post(jar, formAction(refused, '/login'), { username: '1234567', password: kPassword });
    assert.equal(consent.res.status, 200);
    assert.match(consent.body, /Autorizar/);
  });

  await test('an unknown citizen is refused with the same answer', async () => {
    const jar = new CookieJar();
    const login = await browse(jar, (await authorizationRequest()).url);
    const refused = await post(jar, formAction(login, '/login'), { username: '9999999', password: kPassword });
    assert.equal(refused.res.status, 401);
    assert.match(refused.body, /Documento o contraseña incorrectos/);
    const empty = await post(jar, formAction(login, '/login'), { username: '', password: '' });
    assert.equal(empty.res.status, 401);
  });

  await test('cancelling (login or consent page) sends access_denied and the state back', async () => {
    const request = await authorizationRequest();
    const jar = new CookieJar();
    const login = await browse(jar, request.url);
    const back = await post(jar, formAction(login, '/abort'), {});
    assert.equal(back.url.origin + back.url.pathname, redirectUri);
    assert.equal(arrivals.at(-1).searchParams.get('error'), 'access_denied');
    assert.equal(arrivals.at(-1).searchParams.get('state'), request.state);
    assert.equal(arrivals.at(-1).searchParams.get('code'), null);
    // And at the consent page, after a good login.
    const second = await authorizationRequest();
    const jar2 = new CookieJar();
    const consent = await post(jar2, formAction(await browse(jar2, second.url), '/login'),
      { username: '7654321', password: kPassword });
    await post(jar2, formAction(consent, '/abort'), {});
    assert.equal(arrivals.at(-1).searchParams.get('error'), 'access_denied');
    assert.equal(arrivals.at(-1).searchParams.get('state'), second.state);
  });

  await test('PKCE is required: no code_challenge, or method plain, is refused', async () => {
    for (const params of [{ code_challenge: undefined, code_challenge_method: undefined },
      { code_challenge_method: 'plain' }]) {
      const request = await authorizationRequest();
      const url = new URL(request.url);
      for (const [k, v] of Object.entries(params)) {
        if (v === undefined) url.searchParams.delete(k);
        else url.searchParams.set(k, v);
      }
      const back = await browse(new CookieJar(), url);
      assert.equal(back.url.origin + back.url.pathname, redirectUri, JSON.stringify(params));
      assert.equal(arrivals.at(-1).searchParams.get('error'), 'invalid_request', JSON.stringify(params));
    }
  });

  await test('a code exchanged with another PKCE verifier is refused (invalid_grant)', async () => {
    const request = await authorizationRequest();
    const callback = await loginFlow('1234567', request);
    await assert.rejects(oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: request.state, expectedNonce: request.nonce,
    }), (e) => e.error === 'invalid_grant');
  });

  await test('a wrong client secret is refused at the token endpoint (invalid_client)', async () => {
    const request = await authorizationRequest();
    const callback = await loginFlow('1234567', request);
    const wrong = await oidc.discovery(new URL(issuer), kClientId, undefined, oidc.ClientSecretBasic(`${secret}x`),
      { execute: [oidc.allowInsecureRequests] });
    await assert.rejects(oidc.authorizationCodeGrant(wrong, callback, {
      pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce,
    }), (e) => e.status === 401 && e.cause.some((c) => c.parameters.error === 'invalid_client'));
  });

  await test('an unregistered redirect URI gets an error page, never a redirect', async () => {
    const before = arrivals.length;
    const request = await authorizationRequest({ redirect_uri: `${redirectUri}-other` });
    const page = await browse(new CookieJar(), request.url);
    assert.equal(page.res.status, 400);
    assert.match(page.body, /redirect_uri/);
    assert.equal(arrivals.length, before);
  });

  await test('a restart keeps the signing key and the client secret', async () => {
    assert.equal(await stopProvider(provider.child), 0, 'SIGTERM ends it with status 0');
    provider = await startProvider();
    const jwks = await (await fetch(`${provider.issuer}/jwks`)).json();
    assert.equal(jwks.keys[0].kid, kid);
    assert.equal(readFileSync(join(data, 'client-secret'), 'utf8'), secret);
  });

  await test('a key file that others can read is refused at start', async () => {
    await stopProvider(provider.child);
    chmodSync(join(data, 'jwks.json'), 0o644);
    const e = await startProvider().then(() => null, (err) => err);
    assert.ok(e, 'the provider started');
    assert.equal(e.code, 2);
    assert.match(e.err, /jwks\.json is readable by others/);
  });
} catch (e) {
  failures++;
  console.log(`FAIL ${e.stack ?? e.message}`);
} finally {
  for (const c of children) await stopProvider(c);
  rp.close();
  rmSync(work, { recursive: true, force: true });
  clearTimeout(watchdog);
}
console.log(`${failures ? 'FAILED' : 'all passed'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(failures ? 1 : 0);
