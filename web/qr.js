// QR Seguro texts decoded in the browser (docs/qr-seguro.md), and their
// signatures checked: "QS1:" + Base45(CBOR [1, key_id, index, nonce,
// ciphertext, signature]), signed by the node key over "quipu/qr-seguro/v1"
// || 0x00 || deterministic CBOR of the first five items; "QS2:" +
// Base45(CBOR [2, key_id, nonce, ciphertext, signature]), signed over
// "quipu/qr-seguro/v2" || 0x00 || CBOR of the first four, and found in the
// log by its code digest SHA-256("quipu/qr-seguro/v2/code" || 0x00 || nonce).
// The page cannot decrypt the ciphertext; the node's /v1/qr/verify answers
// the fields.

import { concat, ed25519Verify, equalBytes, sha256, toHex } from './merkle.js';

export class QrError extends Error {}

const kAlphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
const kPrefix = 'QS1:';
const kContext = 'quipu/qr-seguro/v1';
const kPrefix2 = 'QS2:';
const kContext2 = 'quipu/qr-seguro/v2';
const kDigestContext2 = 'quipu/qr-seguro/v2/code';

// RFC 9285 Base45 decode; throws QrError on a character outside the
// alphabet, a dangling single character or a group out of range.
export function base45Decode(text) {
  const v = Array.from(text, (c) => {
    const i = kAlphabet.indexOf(c);
    if (i < 0) throw new QrError(`base45: bad character ${JSON.stringify(c)}`);
    return i;
  });
  if (v.length % 3 === 1) throw new QrError('base45: bad length');
  const out = [];
  for (let i = 0; i < v.length; i += 3) {
    if (i + 2 < v.length) {
      const n = v[i] + v[i + 1] * 45 + v[i + 2] * 2025;
      if (n > 0xffff) throw new QrError('base45: group out of range');
      out.push(n >> 8, n & 0xff);
    } else {
      const n = v[i] + v[i + 1] * 45;
      if (n > 0xff) throw new QrError('base45: group out of range');
      out.push(n);
    }
  }
  return Uint8Array.from(out);
}

// A minimal CBOR reader for what a QR Seguro holds: unsigned integers, byte
// strings and one array. Accepts only definite lengths.
function readCbor(bytes) {
  let at = 0;
  function head() {
    if (at >= bytes.length) throw new QrError('cbor: truncated');
    const b = bytes[at++];
    const major = b >> 5;
    const info = b & 31;
    let n;
    if (info < 24) n = info;
    else if (info <= 27) {
      const len = 1 << (info - 24);
      if (at + len > bytes.length) throw new QrError('cbor: truncated');
      n = 0n;
      for (let i = 0; i < len; i++) n = (n << 8n) | BigInt(bytes[at++]);
      if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new QrError('cbor: integer too large');
      n = Number(n);
    } else throw new QrError('cbor: indefinite or reserved length');
    return { major, n };
  }
  function item() {
    const { major, n } = head();
    if (major === 0) return n;
    if (major === 2) {
      if (at + n > bytes.length) throw new QrError('cbor: truncated byte string');
      const s = bytes.slice(at, at + n);
      at += n;
      return s;
    }
    if (major === 4) {
      if (n > 16) throw new QrError('cbor: array too long');
      const a = [];
      for (let i = 0; i < n; i++) a.push(item());
      return a;
    }
    throw new QrError(`cbor: unexpected major type ${major}`);
  }
  const value = item();
  if (at !== bytes.length) throw new QrError('cbor: bytes after the value');
  return value;
}

// Deterministic CBOR head (RFC 8949 §4.2.1: shortest form).
function cborHead(major, n) {
  const m = major << 5;
  if (n < 24) return Uint8Array.of(m | n);
  if (n < 0x100) return Uint8Array.of(m | 24, n);
  if (n < 0x10000) return Uint8Array.of(m | 25, n >> 8, n & 0xff);
  if (n < 0x100000000) return Uint8Array.of(m | 26, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  const out = new Uint8Array(9);
  out[0] = m | 27;
  let v = BigInt(n);
  for (let i = 8; i >= 1; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

function cborEncode(v) {
  if (typeof v === 'number') return cborHead(0, v);
  if (v instanceof Uint8Array) return concat(cborHead(2, v.length), v);
  if (Array.isArray(v)) return concat(cborHead(4, v.length), ...v.map(cborEncode));
  throw new QrError('cbor: cannot encode');
}

export function looksLikeQrText(text) {
  return text.startsWith(kPrefix) || text.startsWith(kPrefix2);
}

function decodeQr2(text) {
  const a = readCbor(base45Decode(text.slice(kPrefix2.length)));
  if (!Array.isArray(a) || a.length !== 5) throw new QrError('QR Seguro is not a 5-item array');
  const [version, keyId, nonce, ciphertext, signature] = a;
  if (version !== 2) throw new QrError('unknown QR Seguro version');
  if (!(keyId instanceof Uint8Array) || keyId.length !== 4) throw new QrError('bad key id');
  if (!(nonce instanceof Uint8Array) || nonce.length !== 24) throw new QrError('bad nonce');
  if (!(ciphertext instanceof Uint8Array) || ciphertext.length < 16) throw new QrError('bad ciphertext');
  if (!(signature instanceof Uint8Array) || signature.length !== 64) throw new QrError('bad signature');
  return { version, keyId, index: null, nonce, ciphertext, signature };
}

// Decodes a QR Seguro text. Returns {version, keyId, index (null for
// version 2), nonce, ciphertext, signature}; throws QrError naming the
// problem.
export function decodeQr(text) {
  if (!looksLikeQrText(text)) throw new QrError('not a QR Seguro (no QS1: or QS2: prefix)');
  if (text.startsWith(kPrefix2)) return decodeQr2(text);
  const a = readCbor(base45Decode(text.slice(kPrefix.length)));
  if (!Array.isArray(a) || a.length !== 6) throw new QrError('QR Seguro is not a 6-item array');
  const [version, keyId, index, nonce, ciphertext, signature] = a;
  if (version !== 1) throw new QrError('unknown QR Seguro version');
  if (!(keyId instanceof Uint8Array) || keyId.length !== 4) throw new QrError('bad key id');
  if (typeof index !== 'number') throw new QrError('bad ledger index');
  if (!(nonce instanceof Uint8Array) || nonce.length !== 24) throw new QrError('bad nonce');
  if (!(ciphertext instanceof Uint8Array)) throw new QrError('bad ciphertext');
  if (!(signature instanceof Uint8Array) || signature.length !== 64) throw new QrError('bad signature');
  return { version, keyId, index, nonce, ciphertext, signature };
}

// Checks the QR's signature with the verifier key `vk` (parseVerifierKey) and
// returns {signatureOk, keyOk, payload (hex SHA-256(nonce||ciphertext)),
// codeDigest (version 2: the hex doc.sha256 of its qr_issue; else null)}.
export async function checkQr(qr, vk) {
  const keyOk = equalBytes(qr.keyId, vk.keyHash);
  const enc = new TextEncoder();
  const signed = qr.version === 2
    ? concat(enc.encode(kContext2), Uint8Array.of(0), cborEncode([2, qr.keyId, qr.nonce, qr.ciphertext]))
    : concat(enc.encode(kContext), Uint8Array.of(0),
             cborEncode([qr.version, qr.keyId, qr.index, qr.nonce, qr.ciphertext]));
  const signatureOk = keyOk && await ed25519Verify(vk.pub, qr.signature, signed);
  const payload = toHex(await sha256(concat(qr.nonce, qr.ciphertext)));
  const codeDigest = qr.version === 2
    ? toHex(await sha256(concat(enc.encode(kDigestContext2), Uint8Array.of(0), qr.nonce)))
    : null;
  return { keyOk, signatureOk, payload, codeDigest };
}

// For tests and the fake server: encodes a QR Seguro text from its parts.
export function base45Encode(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 2) {
    if (i + 1 < bytes.length) {
      let n = bytes[i] * 256 + bytes[i + 1];
      for (let k = 0; k < 3; k++) { out += kAlphabet[n % 45]; n = Math.floor(n / 45); }
    } else {
      let n = bytes[i];
      for (let k = 0; k < 2; k++) { out += kAlphabet[n % 45]; n = Math.floor(n / 45); }
    }
  }
  return out;
}

export function encodeQrSigned(version, keyId, index, nonce, ciphertext) {
  return concat(new TextEncoder().encode(kContext), Uint8Array.of(0),
                cborEncode([version, keyId, index, nonce, ciphertext]));
}

export function encodeQrText(version, keyId, index, nonce, ciphertext, signature) {
  return kPrefix + base45Encode(cborEncode([version, keyId, index, nonce, ciphertext, signature]));
}
