// A citizen's access token as an institution holds it (for the AGETIC-
// compatible API's accessToken): the authorization code flow with PKCE at the
// development provider, walked through its real login and consent forms, the
// code taken at the redirect URI (not followed: the institution's backend
// receives it) and exchanged at the token endpoint with the client's secret.
// Prints {"access_token": "..."}; on a failure {"error": "..."} and exits 1.
//
// Usage: node tests/oidc/access_token.mjs ISSUER CLIENT_ID SECRET_FILE REDIRECT_URI DOCUMENT [PASSWORD]
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { CookieJar, browse, formAction, post } from './browser.mjs';

const [issuer, clientId, secretFile, redirectUri, document, password = 'clave-dev'] = process.argv.slice(2);
const b64url = (bytes) => Buffer.from(bytes).toString('base64url');
try {
  if (!document) throw new Error('usage: access_token.mjs ISSUER CLIENT_ID SECRET_FILE REDIRECT_URI DOCUMENT [PASSWORD]');
  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  const verifier = b64url(randomBytes(32));
  const authorization = new URL(discovery.authorization_endpoint);
  for (const [k, v] of Object.entries({
    client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'openid profile',
    state: b64url(randomBytes(16)), nonce: b64url(randomBytes(16)),
    code_challenge: b64url(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256',
  })) authorization.searchParams.set(k, v);
  const jar = new CookieJar();
  const login = await browse(jar, authorization.href, {}, redirectUri);
  const consent = await post(jar, formAction(login, '/login'), { username: document, password }, redirectUri);
  const back = await post(jar, formAction(consent, '/confirm'), {}, redirectUri);
  const code = back.url.searchParams.get('code');
  if (!code) throw new Error(`no code at the redirect URI: ${back.url.href}`);
  const secret = readFileSync(secretFile, 'utf8').trim();
  const res = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri,
      code_verifier: verifier }).toString(),
  });
  const tokens = await res.json();
  if (res.status !== 200 || !tokens.access_token) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(tokens)}`);
  console.log(JSON.stringify({ access_token: tokens.access_token }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e.message ?? e) }));
  process.exit(1);
}
