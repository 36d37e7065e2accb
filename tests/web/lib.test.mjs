// web/jcs.js, web/merkle.js and web/qr.js run under Node (same WebCrypto
// API as the browser): RFC 8785 vectors, error paths, and RFC 9162 inclusion
// proofs against a naive tree on many sizes.
// Usage: node tests/web/lib.test.mjs   (exits non-zero on failure)
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { canonicalize, canonicalizeBytes, serialize } from '../../web/jcs.js';
import { ProofError, parseCosignerKey, parsePolicy, parseVerifierKey, rootFromInclusionProof, verifyCosignatures,
         verifyReceipt } from '../../web/merkle.js';
import { QrError, base45Decode, base45Encode, decodeQr } from '../../web/qr.js';

let failures = 0;
async function test(name, fn) {
  try { await fn(); console.log('ok   ' + name); } catch (e) { failures++; console.log('FAIL ' + name + ': ' + e.message); }
}

await test('verifier keys whose base64 holds + and / parse (the real key format)', async () => {
  // Keys made the node's way: hash = SHA-256(name || "\n" || 0x01 || pub)[:4].
  let plus = 0;
  for (let i = 0; i < 64; i++) {
    const pub = createHash('sha256').update('k' + i).digest();
    const key = Buffer.concat([Buffer.from([1]), pub]);
    const hash = createHash('sha256').update(Buffer.concat([Buffer.from('quipu.test/log\n'), key])).digest().subarray(0, 4);
    const vkey = `quipu.test/log+${hash.toString('hex')}+${key.toString('base64')}`;
    if (key.toString('base64').includes('+')) plus++;
    const vk = await parseVerifierKey(vkey);
    assert.equal(vk.name, 'quipu.test/log');
    assert.deepEqual(Buffer.from(vk.pub), pub);
  }
  assert.ok(plus > 10, 'the sample holds keys with + in their base64');
  await assert.rejects(parseVerifierKey('no-plus-here'));
  await assert.rejects(parseVerifierKey('name+zzzzzzzz+AAAA'));
});

await test('RFC 8785 §3.2.2.3 numbers', () => {
  const cases = [['0', '0'], ['-0', '0'], ['1e21', '1e+21'], ['1e-7', '1e-7'], ['0.000001', '0.000001'],
    ['333333333.33333329', '333333333.3333333'], ['4.50', '4.5'], ['2e-3', '0.002'],
    ['1E30', '1e+30'], ['9007199254740993', '9007199254740992'], ['1e-400', '0']];
  for (const [input, want] of cases) assert.equal(canonicalize(input), want, input);
});

await test('RFC 8785 §3.2.3 sorting by UTF-16 code units', () => {
  const input = '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh",' +
    '"1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}';
  assert.equal(canonicalize(input), '{"\\r":"Carriage Return","1":"One","\u0080":"Control",' +
    '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face",' +
    '"\ufb33":"Hebrew Letter Dalet With Dagesh"}');
});

await test('RFC 8785 escaping and whitespace', () => {
  assert.equal(canonicalize(' [ "\\u0001\\b\\f\\n\\r\\t\\"\\\\\\/\\u00e9" , true,null ] '),
               '["\\u0001\\b\\f\\n\\r\\t\\"\\\\/é",true,null]');
  assert.equal(serialize({ b: [1, 'x'], a: { d: null, c: false } }), '{"a":{"c":false,"d":null},"b":[1,"x"]}');
});

await test('parser agrees with JSON.parse + serialize on random documents', () => {
  const rnd = (n) => Math.floor(Math.random() * n);
  const gen = (d) => {
    const k = rnd(d > 3 ? 4 : 6);
    if (k === 0) return rnd(2) ? Math.random() * 10 ** (rnd(40) - 20) : rnd(1e6) - 5e5;
    if (k === 1) return String.fromCharCode(...Array.from({ length: rnd(6) }, () => rnd(0x3000)));
    if (k === 2) return [true, false, null][rnd(3)];
    if (k === 3) return 'x';
    if (k === 4) return Array.from({ length: rnd(4) }, () => gen(d + 1));
    return Object.fromEntries(Array.from({ length: rnd(4) }, () => [String.fromCharCode(rnd(0x3000), rnd(128)), gen(d + 1)]));
  };
  for (let i = 0; i < 500; i++) {
    const v = gen(0);
    const text = JSON.stringify(v, null, rnd(3));
    if (/[\ud800-\udfff]/.test(text)) continue;
    assert.equal(canonicalize(text), serialize(JSON.parse(text)), text);
  }
});

await test('errors: bad JSON is refused with a reason', () => {
  for (const [bad, reason] of [['{"a":1,"a":2}', 'duplicate'], ['{"a":1,}', 'member name'], ['[1,]', 'unexpected'],
    ['01', 'bad number'], ['1.', 'bad number'], ['1e999', 'overflows'], ['"\\ud800"', 'surrogate'], ['"\\udc00x"', 'surrogate'],
    ['"a\u0001"', 'control'], ['NaN', 'unexpected'], ['[1] x', 'bytes after'], ['"\\x"', 'escape'],
    ['['.repeat(65) + ']'.repeat(65), 'nesting'], ['', 'end of input'], ['{"a" 1}', "':'"]]) {
    assert.throws(() => canonicalize(bad), (e) => e.message.includes(reason), bad);
  }
  assert.throws(() => canonicalizeBytes(Uint8Array.of(0x22, 0xc0, 0xaf, 0x22)), /UTF-8/);
  assert.throws(() => serialize({ a: NaN }), /finite/);
  assert.throws(() => serialize('\ud800'), /surrogate/);
});

// Naive RFC 9162 tree.
const h = (...p) => new Uint8Array(createHash('sha256').update(Buffer.concat(p.map((x) => Buffer.from(x)))).digest());
const split = (n) => { let k = 1; while (k * 2 < n) k *= 2; return k; };
const mth = (l) => l.length === 1 ? l[0] : h([1], mth(l.slice(0, split(l.length))), mth(l.slice(split(l.length))));
const path = (m, l) => {
  if (l.length === 1) return [];
  const k = split(l.length);
  return m < k ? [...path(m, l.slice(0, k)), mth(l.slice(k))] : [...path(m - k, l.slice(k)), mth(l.slice(0, k))];
};

await test('inclusion proofs for every leaf of trees of size 1..40', async () => {
  for (let n = 1; n <= 40; n++) {
    const leaves = Array.from({ length: n }, (_, i) => h([0], `leaf ${i}`));
    const root = mth(leaves);
    for (let m = 0; m < n; m++) {
      assert.deepEqual(await rootFromInclusionProof(m, n, leaves[m], path(m, leaves)), root, `${m}/${n}`);
    }
  }
});

await test('errors: wrong proofs do not lead to the root or are refused', async () => {
  const leaves = Array.from({ length: 13 }, (_, i) => h([0], `leaf ${i}`));
  const root = mth(leaves);
  const p = path(5, leaves);
  assert.notDeepEqual(await rootFromInclusionProof(4, 13, leaves[5], p), root);
  assert.notDeepEqual(await rootFromInclusionProof(5, 13, leaves[4], p), root);
  await assert.rejects(rootFromInclusionProof(5, 13, leaves[5], p.slice(1)), ProofError);
  await assert.rejects(rootFromInclusionProof(5, 13, leaves[5], [...p, p[0]]), ProofError);
  await assert.rejects(rootFromInclusionProof(13, 13, leaves[5], p), ProofError);
});

// Keys and signatures made with Node's own Ed25519 (OpenSSL), not quipu's:
// a log key (signed-note type 0x01) and witness keys (cosignature/v1, 0x04).
function keyOf(name, type) {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
  const key = Buffer.concat([Buffer.from([type]), pub]);
  const id = createHash('sha256').update(Buffer.concat([Buffer.from(name + '\n'), key])).digest().subarray(0, 4);
  return { name, id, privateKey, vkey: `${name}+${id.toString('hex')}+${key.toString('base64')}` };
}
const sigLine = (k, blob) => `\u2014 ${k.name} ${Buffer.concat([k.id, blob]).toString('base64')}\n`;
const logSign = (k, text) => sigLine(k, sign(null, Buffer.from(text), k.privateKey));
function cosign(k, text, time) {
  const t = Buffer.alloc(8);
  t.writeBigUInt64BE(BigInt(time));
  return sigLine(k, Buffer.concat([t, sign(null, Buffer.from(`cosignature/v1\ntime ${time}\n` + text), k.privateKey)]));
}

await test('cosignatures (C2SP cosignature/v1) and receipts (tlog-proof@v1) verify, and their forgeries do not', async () => {
  const log = keyOf('log.example/q', 1);
  const [wa, wb, wc] = ['a.example/w', 'b.example/w', 'c.example/w'].map((n) => keyOf(n, 4));
  const entries = Array.from({ length: 6 }, (_, i) => Buffer.from(`{"i":${i}}`));
  const leaves = entries.map((e) => h([0], e));
  const text = `log.example/q\n6\n${Buffer.from(mth(leaves)).toString('base64')}\n`;
  const note = text + '\n' + logSign(log, text) + cosign(wb, text, 1700000000) + cosign(wc, text, 1700000005);
  const policy = await parsePolicy(`# three witnesses, two of them\nlog ${log.vkey}\nwitness wa ${wa.vkey} https://a/\n` +
                                   `witness wb ${wb.vkey}\nwitness wc ${wc.vkey}\ngroup two 2 wa wb wc\nquorum two\n`);
  const got = await verifyCosignatures(note, policy);
  assert.deepEqual(got.cosigned, [{ name: 'wb', time: 1700000000 }, { name: 'wc', time: 1700000005 }]);
  assert.equal(got.quorum, true);
  const all = await parsePolicy(`witness wa ${wa.vkey}\nwitness wb ${wb.vkey}\nwitness wc ${wc.vkey}\ngroup g all wa wb wc\nquorum g\n`);
  assert.equal((await verifyCosignatures(note, all)).quorum, false);
  // A cosignature over another time, or another checkpoint, is refused.
  const forged = note.replace(cosign(wb, text, 1700000000), cosign(wb, text.replace('\n6\n', '\n7\n'), 1700000000));
  await assert.rejects(verifyCosignatures(forged, policy), /witness wb does not verify/);
  // The receipt of entry 4.
  const vk = await parseVerifierKey(log.vkey);
  const receipt = `c2sp.org/tlog-proof@v1\nextra ${entries[4].toString('base64')}\nindex 4\n` +
                  path(4, leaves).map((x) => Buffer.from(x).toString('base64') + '\n').join('') + '\n' + note;
  const r = await verifyReceipt(receipt, vk, policy);
  assert.equal(r.index, 4);
  assert.equal(r.size, 6);
  assert.equal(r.quorum, true);
  assert.deepEqual(Buffer.from(r.leaf), Buffer.from(leaves[4]));
  await assert.rejects(verifyReceipt(receipt.replace('index 4', 'index 3'), vk, policy), ProofError);
  await assert.rejects(verifyReceipt(receipt.replace(entries[4].toString('base64'), entries[3].toString('base64')), vk, policy), ProofError);
  await assert.rejects(verifyReceipt(receipt, await parseVerifierKey(keyOf('log.example/q', 1).vkey), policy), ProofError);
  // Keys and policies that do not parse.
  await assert.rejects(parseCosignerKey(log.vkey), /cosignature\/v1/);
  await assert.rejects(parseCosignerKey(wa.vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+')), /key ID/);
  await assert.rejects(parsePolicy(`witness wa ${wa.vkey}\n`), /quorum/);
  await assert.rejects(parsePolicy(`group g 1 wz\nquorum g\n`), /not defined/);
  await assert.rejects(parsePolicy(`witness wa ${wa.vkey}\nwitness wa ${wb.vkey}\nquorum wa\n`), /taken/);
});

await test('base45 (RFC 9285 §4 examples) and QR errors', () => {
  const enc = new TextEncoder();
  assert.equal(base45Encode(enc.encode('AB')), 'BB8');
  assert.equal(base45Encode(enc.encode('Hello!!')), '%69 VD92EX0');
  assert.equal(base45Encode(enc.encode('base-45')), 'UJCLQE7W581');
  assert.deepEqual(base45Decode('QED8WEX0'), enc.encode('ietf!'));
  assert.throws(() => base45Decode('GGW'), QrError);      // 65536 + out of range
  assert.throws(() => base45Decode('A'), QrError);
  assert.throws(() => base45Decode('ab'), QrError);
  assert.throws(() => decodeQr('QS2:BB8'), QrError);
  assert.throws(() => decodeQr('QS1:BB8'), QrError);
});

console.log(failures ? `${failures} failed` : 'all passed');
process.exit(failures ? 1 : 0);
