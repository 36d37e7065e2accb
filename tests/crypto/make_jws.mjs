// Makes the JSON Web Signatures tests/crypto/jose_test.cpp checks, with
// Node's own crypto (not quipu's, not libcjose): a JWK Set and tokens,
// good and crafted, one file each in the directory given.
import { generateKeyPairSync, sign, createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
const b64u = (buf) => Buffer.from(buf).toString('base64url');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });

const rsaJwk = { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa-1', use: 'sig', alg: 'RS256' };
const rsaPssJwk = { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa-pss', use: 'sig' };
const ecJwk = { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-1', use: 'sig' };
const encJwk = { ...other.publicKey.export({ format: 'jwk' }), kid: 'enc-1', use: 'enc' };
writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [rsaJwk, rsaPssJwk, ecJwk, encJwk] }));
writeFileSync(join(dir, 'jwks-hmac-only.json'), JSON.stringify({ keys: [{ kty: 'oct', k: b64u('secret'), kid: 'h' }] }));

const claims = JSON.stringify({ iss: 'http://127.0.0.1:8081', sub: 'c-1', aud: 'quipu-dev', nonce: 'n-1' });
const token = (header, signer) => {
  const input = `${b64u(JSON.stringify(header))}.${b64u(claims)}`;
  return `${input}.${b64u(signer(Buffer.from(input)))}`;
};
const out = {
  rs256: token({ alg: 'RS256', kid: 'rsa-1' }, (d) => sign('sha256', d, rsa.privateKey)),
  ps256: token({ alg: 'PS256', kid: 'rsa-pss' }, (d) =>
    sign('sha256', d, { key: rsa.privateKey, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 })),
  es256: token({ alg: 'ES256', kid: 'ec-1' }, (d) => sign('sha256', d, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' })),
  es256_no_kid: token({ alg: 'ES256' }, (d) => sign('sha256', d, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' })),
  rs256_no_kid: token({ alg: 'RS256' }, (d) => sign('sha256', d, rsa.privateKey)),
  wrong_key: token({ alg: 'RS256', kid: 'rsa-1' }, (d) => sign('sha256', d, other.privateKey)),
  unknown_kid: token({ alg: 'RS256', kid: 'nobody' }, (d) => sign('sha256', d, rsa.privateKey)),
  enc_key: token({ alg: 'RS256', kid: 'enc-1' }, (d) => sign('sha256', d, other.privateKey)),
  // The classic confusion: HMAC keyed with the RSA public key's bytes.
  hs256_public_key: token({ alg: 'HS256', kid: 'rsa-1' }, (d) =>
    createHmac('sha256', rsa.publicKey.export({ format: 'pem', type: 'spki' })).update(d).digest()),
  none: `${b64u(JSON.stringify({ alg: 'none' }))}.${b64u(claims)}.`,
  crit: token({ alg: 'RS256', kid: 'rsa-1', crit: ['exp'] }, (d) => sign('sha256', d, rsa.privateKey)),
  alg_mismatch_key: token({ alg: 'ES256', kid: 'rsa-1' }, (d) => sign('sha256', d, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' })),
};
// One byte of the payload changed after signing.
const parts = out.rs256.split('.');
const changed = Buffer.from(parts[1], 'base64url');
changed[changed.length - 2] ^= 1;
out.tampered = `${parts[0]}.${b64u(changed)}.${parts[2]}`;
for (const [name, value] of Object.entries(out)) writeFileSync(join(dir, `${name}.jws`), value);
writeFileSync(join(dir, 'claims.json'), claims);
