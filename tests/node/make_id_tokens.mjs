// ID tokens for tests/node/id_token_test.cpp, signed with Node's own
// crypto: one good token and one per rule of OpenID Connect Core §3.1.3.7
// that a token can break. Usage: node make_id_tokens.mjs DIR NOW_SECONDS
import { generateKeyPairSync, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, nowText] = process.argv.slice(2);
const now = Number(nowText);
const b64u = (buf) => Buffer.from(buf).toString('base64url');
const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
writeFileSync(join(dir, 'jwks.json'),
  JSON.stringify({ keys: [{ ...key.publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'ES256' }] }));

const good = {
  iss: 'https://id.example.bo', sub: 'c-81', aud: 'quipu-dev', nonce: 'n-1', iat: now - 5, exp: now + 300,
  document_number: '1234567', name: 'Ana Quispe', email: 'ana@example.bo', phone_number: '+59170000000',
  email_verified: true, phone_number_verified: true,
};
const variants = {
  good: {},
  wrong_issuer: { iss: 'https://id.example.bo/' },
  wrong_audience: { aud: 'other-client' },
  audiences_without_azp: { aud: ['quipu-dev', 'other-client'] },
  audiences_with_azp: { aud: ['quipu-dev', 'other-client'], azp: 'quipu-dev' },
  expired: { exp: now - 120 },
  issued_in_the_future: { iat: now + 600 },
  stale: { iat: now - 3600 },
  wrong_nonce: { nonce: 'n-2' },
  no_nonce: { nonce: undefined },
  no_subject: { sub: undefined },
  no_document: { document_number: undefined },
  bad_document: { document_number: '12 34' },
  email_unverified: { email_verified: false },
  string_flags: { email_verified: 'no', phone_number_verified: 'yes' },
  unflagged: { email_verified: undefined },
};
for (const [name, change] of Object.entries(variants)) {
  const claims = { ...good, ...change };
  for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
  const input = `${b64u(JSON.stringify({ alg: 'ES256', kid: 'k1', typ: 'JWT' }))}.${b64u(JSON.stringify(claims))}`;
  const sig = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  writeFileSync(join(dir, `${name}.jwt`), `${input}.${b64u(sig)}`);
}
