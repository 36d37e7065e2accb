#!/usr/bin/env node
// quipu's DEVELOPMENT identity provider: npm's oidc-provider (a complete,
// OpenID-certified OpenID Connect provider) configured with the test citizens
// of citizens.json, one registered client for quipu, and the authorization
// code flow with PKCE (S256) required. Nothing of OpenID Connect or JWT is
// implemented here; this file only configures oidc-provider and keeps its keys.
//
// State: the signing key (jwks.json), the cookie keys and the client secret are
// files with mode 0600 in --data, made at first start and reused after. Sessions,
// codes and tokens live in oidc-provider's in-memory adapter: a restart logs
// everyone out, which is what a development provider should do.
//
// Usage: node dev/oidc/provider.mjs [--listen 127.0.0.1:8081] [--data DIR] ...
//        node dev/oidc/provider.mjs --help
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  chmodSync, closeSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, writeSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { interactionRoutes } from './interactions.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const kUsage = `usage: node dev/oidc/provider.mjs [options]

  --listen HOST:PORT        where to listen (default 127.0.0.1:8081; port 0 picks a free one)
  --issuer URL              the issuer identifier (default http://HOST:PORT as listened)
  --data DIR                keys and client secret, mode 0600 (default ./quipu-data/dev-oidc)
  --citizens FILE           test citizens (default dev/oidc/citizens.json)
  --password PW             the one password of every test citizen (default clave-dev)
  --client-id ID            quipu's client_id (default quipu-dev)
  --client-secret-file F    quipu's client secret; made if missing (default DATA/client-secret)
  --redirect-uri URI        quipu's redirect URI, repeatable
                            (default http://127.0.0.1:8080/aprobar/callback)
  --document-claim NAME     the claim that carries the document number (default documento_identidad)
  --claims-at-userinfo-only the scopes' claims only at userinfo, as OpenID Connect Core has it for
                            the code flow (default: in the ID token too)
  --print-config            print what a node needs (JSON) and exit
  --help`;

function fail(message) {
  console.error(`quipu-dev-oidc: ${message}`);
  process.exit(2);
}

function parseOptions(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        listen: { type: 'string', default: '127.0.0.1:8081' },
        issuer: { type: 'string' },
        data: { type: 'string', default: './quipu-data/dev-oidc' },
        citizens: { type: 'string', default: join(here, 'citizens.json') },
        password: { type: 'string', default: 'clave-dev' },
        'client-id': { type: 'string', default: 'quipu-dev' },
        'client-secret-file': { type: 'string' },
        'redirect-uri': { type: 'string', multiple: true },
        'document-claim': { type: 'string', default: 'documento_identidad' },
        'claims-at-userinfo-only': { type: 'boolean', default: false },
        'print-config': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (e) {
    fail(`${e.message}\n${kUsage}`);
  }
  if (values.help) {
    console.log(kUsage);
    process.exit(0);
  }
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(values.listen);
  if (!m || Number(m[2]) > 65535) fail(`--listen ${values.listen}: expected HOST:PORT`);
  const data = resolve(values.data);
  const redirectUris = values['redirect-uri'] ?? ['http://127.0.0.1:8080/aprobar/callback'];
  for (const uri of redirectUris) {
    if (!URL.canParse(uri) || !/^https?:$/.test(new URL(uri).protocol)) {
      fail(`--redirect-uri ${uri}: expected an http(s) URL`);
    }
  }
  if (values.issuer !== undefined && !URL.canParse(values.issuer)) fail(`--issuer ${values.issuer}: not a URL`);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(values['document-claim'])) {
    fail(`--document-claim ${values['document-claim']}: expected a claim name`);
  }
  return {
    host: m[1].replace(/^\[|\]$/g, ''),
    port: Number(m[2]),
    issuer: values.issuer?.replace(/\/$/, ''),
    data,
    citizensFile: resolve(values.citizens),
    password: values.password,
    clientId: values['client-id'],
    secretFile: resolve(values['client-secret-file'] ?? join(data, 'client-secret')),
    redirectUris,
    documentClaim: values['document-claim'],
    userinfoOnly: values['claims-at-userinfo-only'],
    printConfig: values['print-config'],
  };
}

// A secret file is private to its owner, as ssh insists for its keys (and as
// quipu does for its own): one that others may read was exposed, and is refused
// rather than silently used.
function readPrivateFile(path) {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  }
  if (!st.isFile()) fail(`${path} is not a regular file (a symbolic link is refused too)`);
  if ((st.mode & 0o077) !== 0) {
    fail(`${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 ${path}`);
  }
  return readFileSync(path, 'utf8');
}

// Written whole or not at all: a temporary file with mode 0600, then renamed.
function writePrivateFile(path, text) {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

function loadOrCreate(path, make, parse) {
  const text = readPrivateFile(path);
  if (text !== undefined) {
    try {
      return parse(text);
    } catch (e) {
      fail(`${path}: ${e.message} (delete it to make a new one)`);
    }
  }
  const value = make();
  writePrivateFile(path, typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`);
  return value;
}

// The ID token signing key: RSA 2048, RS256 (what OpenID Connect requires every
// provider to support, so the node's verifier meets it everywhere).
function signingKeys(data) {
  return loadOrCreate(join(data, 'jwks.json'), () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { keys: [{ ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig' }] };
  }, (text) => {
    const jwks = JSON.parse(text);
    if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error('no "keys"');
    return jwks;
  });
}

function cookieKeys(data) {
  return loadOrCreate(join(data, 'cookie-keys.json'), () => [randomBytes(32).toString('base64url')], (text) => {
    const keys = JSON.parse(text);
    if (!Array.isArray(keys) || keys.length === 0) throw new Error('expected a non-empty array');
    return keys;
  });
}

function clientSecret(path) {
  return loadOrCreate(path, () => randomBytes(32).toString('base64url'), (text) => {
    const secret = text.trim();
    if (secret.length < 16) throw new Error('a client secret of at least 16 characters');
    return secret;
  });
}

// citizens.json: { "citizens": [ { "sub", "document", "name", "given_name",
// "family_name", "email", "phone_number", ... } ] }. `document` is served under
// the --document-claim name; every other field is a standard claim.
function loadCitizens(file) {
  let list;
  try {
    list = JSON.parse(readFileSync(file, 'utf8')).citizens;
  } catch (e) {
    fail(`${file}: ${e.message}`);
  }
  if (!Array.isArray(list) || list.length === 0) fail(`${file}: expected {"citizens": [...]}`);
  const bySub = new Map();
  const byDocument = new Map();
  for (const [i, c] of list.entries()) {
    for (const field of ['sub', 'document', 'name']) {
      if (typeof c[field] !== 'string' || c[field] === '') fail(`${file}: citizen ${i}: "${field}" missing`);
    }
    if (bySub.has(c.sub) || byDocument.has(c.document)) fail(`${file}: citizen ${i}: duplicate sub or document`);
    bySub.set(c.sub, c);
    byDocument.set(c.document, c);
  }
  return { bySub, byDocument };
}

const kScopes = ['openid', 'profile', 'email', 'phone'];

function configuration(opts, { citizens, jwks, cookies, secret }) {
  return {
    clients: [{
      client_id: opts.clientId,
      client_secret: secret,
      client_name: 'quipu (desarrollo)',
      redirect_uris: opts.redirectUris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    }],
    responseTypes: ['code'],
    pkce: { required: () => true },  // oidc-provider 9 accepts only S256
    scopes: kScopes,
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', opts.documentClaim],
      email: ['email', 'email_verified'],
      phone: ['phone_number', 'phone_number_verified'],
    },
    // By default the scopes' claims go into the ID token too (not only at
    // userinfo), so the node learns the document number from the token it
    // verifies; --claims-at-userinfo-only keeps them at userinfo, where a
    // strict provider puts them (the node then asks userinfo).
    conformIdTokenClaims: opts.userinfoOnly,
    async findAccount(ctx, sub) {
      const citizen = citizens.bySub.get(sub);
      if (!citizen) return undefined;
      return {
        accountId: sub,
        async claims() {
          const { document, ...standard } = citizen;
          return { ...standard, [opts.documentClaim]: document };
        },
      };
    },
    jwks,
    cookies: { keys: cookies },
    features: {
      devInteractions: { enabled: false },  // replaced by ./interactions.mjs
      userinfo: { enabled: true },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    // The node exchanges codes server-side; no browser calls this provider cross-origin.
    clientBasedCORS: () => false,
    ttl: {
      AccessToken: 10 * 60,
      AuthorizationCode: 60,
      IdToken: 10 * 60,
      Interaction: 10 * 60,
      Session: 60 * 60,
      Grant: 60 * 60,
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      ctx.body = `<!doctype html><html lang="es"><meta charset="utf-8"><title>Error</title>
<p><strong>Proveedor de identidad de DESARROLLO</strong></p><h1>Error</h1>
${Object.entries(out).map(([k, v]) => `<p><code>${esc(k)}</code>: ${esc(v)}</p>`).join('\n')}`;
    },
  };
}

function nodeConfig(opts, issuer) {
  return {
    issuer,
    discovery: `${issuer}/.well-known/openid-configuration`,
    client_id: opts.clientId,
    client_secret_file: opts.secretFile,
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: opts.redirectUris,
    scopes: kScopes,
    document_claim: opts.documentClaim,
    id_token_signing_alg: 'RS256',
  };
}

function banner(opts, issuer, citizenCount) {
  const line = '='.repeat(72);
  console.log([
    line,
    '  DEVELOPMENT identity provider — never use in production',
    `  ${citizenCount} test citizens from ${opts.citizensFile}`,
    `  log in with a document number and the password "${opts.password}"`,
    line,
    `quipu-dev-oidc: listening on ${issuer}`,
    `quipu-dev-oidc: discovery ${issuer}/.well-known/openid-configuration`,
    `quipu-dev-oidc: client_id ${opts.clientId}, secret in ${opts.secretFile}`,
    `quipu-dev-oidc: redirect_uri ${opts.redirectUris.join(' ')}`,
    `quipu-dev-oidc: document number claim "${opts.documentClaim}", scopes "${kScopes.join(' ')}"`,
  ].join('\n'));
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const citizens = loadCitizens(opts.citizensFile);
  mkdirSync(opts.data, { recursive: true, mode: 0o700 });
  const state = {
    citizens, jwks: signingKeys(opts.data), cookies: cookieKeys(opts.data), secret: clientSecret(opts.secretFile),
  };
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;

  if (opts.printConfig) {
    console.log(JSON.stringify(nodeConfig(opts, opts.issuer ?? `http://${hostForUrl}:${opts.port}`), null, 2));
    return;
  }

  // Imported here so that --help and --print-config stay quiet: at import,
  // oidc-provider 9 warns that it supports Node.js 22 LTS and later (see README).
  const { default: Provider } = await import('oidc-provider');

  // Listen first, so that with port 0 the issuer names the port actually bound.
  const server = createServer();
  await new Promise((ok) => {
    server.once('error', (e) => fail(`cannot listen on ${hostForUrl}:${opts.port}: ${e.code ?? e.message}` +
      (e.code === 'EADDRINUSE' ? ' (another provider running? choose --listen, or OIDC_LISTEN for make run)' : '')));
    server.listen(opts.port, opts.host, ok);
  });
  const issuer = opts.issuer ?? `http://${hostForUrl}:${server.address().port}`;
  const provider = new Provider(issuer, configuration(opts, state));
  const log = (msg) => console.log(`quipu-dev-oidc: ${msg}`);
  provider.use(interactionRoutes(provider, { citizens, password: opts.password, log }));
  provider.on('server_error', (ctx, err) => log(`server error: ${err.stack ?? err}`));
  server.on('request', provider.callback());
  banner(opts, issuer, citizens.bySub.size);

  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => fail(e.stack ?? String(e)));
