// Ledger proofs checked in the browser with WebCrypto:
//   - RFC 9162 leaf hash and inclusion proof (§2.1.1, §2.1.3.2);
//   - the C2SP tlog-checkpoint inside a C2SP signed note, its Ed25519
//     signature checked against a verifier key "name+hex8+b64(0x01||pub32)".
// Every check returns a result or throws ProofError naming what failed; none
// of them trusts the server.

export class ProofError extends Error {}

const enc = new TextEncoder();

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(hex) {
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new ProofError('bad hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}

export function fromBase64(b64) {
  if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new ProofError('bad base64');
  }
  const bin = atob(b64);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function toBase64(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

export async function leafHash(entryBytes) {
  return sha256(concat(Uint8Array.of(0), entryBytes));
}

async function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

// RFC 9162 §2.1.3.2: the root that `proof` leads to from `leaf` at `index`
// in a tree of `size` leaves; throws ProofError if the path has the wrong
// length for (index, size).
export async function rootFromInclusionProof(index, size, leaf, proof) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn > sn) throw new ProofError(`index ${index} is outside a tree of size ${size}`);
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) throw new ProofError('proof is longer than the tree is deep');
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError('proof is shorter than the tree is deep');
  return r;
}

// Parses "name+hex8+base64(0x01||pub32)" and checks that the key hash is the
// one the name and key give. Returns {name, keyHash (4 bytes), pub (32)}.
export async function parseVerifierKey(vkey) {
  // The name has no '+' and the hash is hex, but base64 may hold '+':
  // split at the first two only.
  const text = String(vkey).trim();
  const a = text.indexOf('+');
  const b = a < 0 ? -1 : text.indexOf('+', a + 1);
  if (a <= 0 || b < 0) throw new ProofError('verifier key is not name+hash+key');
  const [name, hashHex, keyB64] = [text.slice(0, a), text.slice(a + 1, b), text.slice(b + 1)];
  if (!/^[0-9a-f]{8}$/.test(hashHex)) throw new ProofError('verifier key hash is not 8 hex digits');
  const key = fromBase64(keyB64);
  if (key.length !== 33 || key[0] !== 1) throw new ProofError('verifier key is not an Ed25519 key');
  const keyHash = (await sha256(concat(enc.encode(name + '\n'), key))).slice(0, 4);
  if (toHex(keyHash) !== hashHex) throw new ProofError('verifier key hash does not match its key');
  return { name, keyHash, pub: key.slice(1) };
}

export async function ed25519Verify(pub, signature, message) {
  const key = await crypto.subtle.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
  return crypto.subtle.verify('Ed25519', key, signature, message);
}

// Parses a C2SP signed note holding a tlog checkpoint and checks the
// signature by `vk` (from parseVerifierKey). Returns {origin, size, root,
// text}. Throws ProofError when the note is malformed or no signature line
// of that key verifies.
export async function verifyCheckpoint(note, vk) {
  if (typeof note !== 'string') throw new ProofError('checkpoint missing');
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new ProofError('checkpoint is not a signed note');
  const text = note.slice(0, split + 1);
  const sigLines = note.slice(split + 2, -1).split('\n');
  let verified = false;
  for (const line of sigLines) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) throw new ProofError('malformed signature line in checkpoint');
    if (m[1] !== vk.name) continue;
    const blob = fromBase64(m[2]);
    if (blob.length !== 68 || !equalBytes(blob.slice(0, 4), vk.keyHash)) continue;
    if (await ed25519Verify(vk.pub, blob.slice(4), enc.encode(text))) verified = true;
  }
  if (!verified) throw new ProofError('checkpoint signature does not verify with the configured key');
  const lines = text.split('\n');
  if (lines.length < 4 || !/^[0-9]+$/.test(lines[1])) throw new ProofError('malformed checkpoint body');
  const root = fromBase64(lines[2]);
  if (root.length !== 32) throw new ProofError('checkpoint root is not 32 bytes');
  return { origin: lines[0], size: Number(lines[1]), root, text };
}

// Checks one record {index, entry, leaf_hash, proof, tree_size} against a
// verified checkpoint. `entryBytes` is the canonical form of record.entry.
// Returns the computed leaf hash; throws ProofError.
export async function verifyRecord(record, entryBytes, checkpoint) {
  const leaf = await leafHash(entryBytes);
  if (record.leaf_hash !== undefined && !equalBytes(leaf, fromBase64(record.leaf_hash))) {
    throw new ProofError(`record ${record.index}: leaf hash differs from the entry's`);
  }
  if (Number(record.tree_size) !== checkpoint.size) {
    throw new ProofError(`record ${record.index}: proof is for tree size ${record.tree_size}, ` +
                         `checkpoint for ${checkpoint.size}`);
  }
  if (!Array.isArray(record.proof)) throw new ProofError(`record ${record.index}: no proof`);
  const path = record.proof.map(fromBase64);
  const root = await rootFromInclusionProof(record.index, record.tree_size, leaf, path);
  if (!equalBytes(root, checkpoint.root)) {
    throw new ProofError(`record ${record.index}: proof does not lead to the checkpoint's root`);
  }
  return leaf;
}

// ---- witnesses: C2SP tlog-cosignature (cosignature/v1, Ed25519) ----------

// Parses a cosigner's vkey "name+hex8+base64(0x04||pub32)" and checks its
// key ID, SHA-256(name || "\n" || 0x04 || pub)[:4]. Returns {name, keyId, pub}.
export async function parseCosignerKey(vkey) {
  const text = String(vkey).trim();
  const a = text.indexOf('+');
  const b = a < 0 ? -1 : text.indexOf('+', a + 1);
  if (a <= 0 || b < 0) throw new ProofError('witness key is not name+hash+key');
  const [name, idHex, keyB64] = [text.slice(0, a), text.slice(a + 1, b), text.slice(b + 1)];
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new ProofError('witness key ID is not 8 hex digits');
  const key = fromBase64(keyB64);
  if (key.length !== 33 || key[0] !== 4) throw new ProofError('witness key is not an Ed25519 cosignature/v1 key');
  const keyId = (await sha256(concat(enc.encode(name + '\n'), key))).slice(0, 4);
  if (toHex(keyId) !== idHex) throw new ProofError('witness key ID does not match its key');
  return { name, keyId, pub: key.slice(1) };
}

// Parses a C2SP tlog-policy: {logs: [vkey], witnesses: [{name, key, url}],
// groups: [{name, threshold, members}], quorum}. Throws ProofError naming
// the line for anything it cannot read.
export async function parsePolicy(text) {
  const policy = { logs: [], witnesses: [], groups: [], quorum: null };
  const names = new Set(['none']);
  const lines = String(text).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const w = lines[i].split(/[ \t]+/).filter((x) => x !== '');
    if (!w.length || w[0].startsWith('#')) continue;
    const where = `policy line ${i + 1}: `;
    if (w[0] === 'log' && (w.length === 2 || w.length === 3)) {
      policy.logs.push(w[1]);
    } else if (w[0] === 'witness' && (w.length === 3 || w.length === 4)) {
      if (names.has(w[1])) throw new ProofError(where + `the name ${w[1]} is taken`);
      names.add(w[1]);
      policy.witnesses.push({ name: w[1], key: await parseCosignerKey(w[2]), url: w[3] ?? null });
    } else if (w[0] === 'group' && w.length >= 4) {
      const members = w.slice(3);
      for (const m of members) if (!names.has(m) || m === 'none') throw new ProofError(where + `${m} is not defined above`);
      const k = w[2] === 'all' ? members.length : w[2] === 'any' ? 1 : Number(w[2]);
      if (!Number.isInteger(k) || k < 1 || k > members.length) throw new ProofError(where + 'bad threshold');
      if (names.has(w[1])) throw new ProofError(where + `the name ${w[1]} is taken`);
      names.add(w[1]);
      policy.groups.push({ name: w[1], threshold: k, members });
    } else if (w[0] === 'quorum' && w.length === 2 && policy.quorum === null) {
      if (!names.has(w[1])) throw new ProofError(where + `${w[1]} is not defined above`);
      policy.quorum = w[1];
    } else {
      throw new ProofError(where + 'not a log, witness, group or quorum line');
    }
  }
  if (policy.quorum === null) throw new ProofError('the policy has no quorum line');
  return policy;
}

// The witnesses of `policy` whose cosignature on the signed note `note`
// verifies, and whether they meet its quorum: {cosigned: [{name, time}],
// quorum}. A line that names a known witness's key but does not verify
// throws ProofError.
export async function verifyCosignatures(note, policy) {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new ProofError('checkpoint is not a signed note');
  const text = note.slice(0, split + 1);
  const cosigned = [];
  for (const line of note.slice(split + 2, -1).split('\n')) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) throw new ProofError('malformed signature line in checkpoint');
    const blob = fromBase64(m[2]);
    for (const w of policy.witnesses) {
      if (m[1] !== w.key.name || blob.length !== 76 || !equalBytes(blob.slice(0, 4), w.key.keyId)) continue;
      let time = 0n;
      for (const byte of blob.slice(4, 12)) time = (time << 8n) | BigInt(byte);
      const message = enc.encode(`cosignature/v1\ntime ${time}\n` + text);
      if (!(await ed25519Verify(w.key.pub, blob.slice(12), message))) {
        throw new ProofError(`the cosignature of witness ${w.name} does not verify`);
      }
      if (!cosigned.some((c) => c.name === w.name)) cosigned.push({ name: w.name, time: Number(time) });
    }
  }
  const met = new Set([...cosigned.map((c) => c.name), 'none']);
  for (const g of policy.groups) {
    if (g.members.filter((m) => met.has(m)).length >= g.threshold) met.add(g.name);
  }
  return { cosigned, quorum: met.has(policy.quorum) };
}

// Checks a C2SP tlog-proof@v1 receipt of a quipu entry: the checkpoint's
// signature by `vk`, the inclusion of its extra data (the entry) at its
// index, and the cosignatures against `policy`. Returns {index, size,
// leaf, cosigned, quorum}; throws ProofError naming what failed.
export async function verifyReceipt(receipt, vk, policy) {
  const blank = receipt.indexOf('\n\n');
  if (blank < 0) throw new ProofError('the receipt has no checkpoint');
  const head = receipt.slice(0, blank).split('\n');
  const note = receipt.slice(blank + 2);
  if (head[0] !== 'c2sp.org/tlog-proof@v1') throw new ProofError('not a tlog-proof@v1 receipt');
  let at = 1;
  let extra = null;
  if (head[at]?.startsWith('extra ')) extra = fromBase64(head[at++].slice(6));
  const im = /^index (0|[1-9][0-9]*)$/.exec(head[at++] ?? '');
  if (!im || extra === null) throw new ProofError('the receipt has no index or no entry');
  const proof = head.slice(at).map(fromBase64);
  const checkpoint = await verifyCheckpoint(note, vk);
  const leaf = await leafHash(extra);
  const root = await rootFromInclusionProof(Number(im[1]), checkpoint.size, leaf, proof);
  if (!equalBytes(root, checkpoint.root)) throw new ProofError("the receipt's proof does not lead to its checkpoint's root");
  const { cosigned, quorum } = await verifyCosignatures(note, policy);
  return { index: Number(im[1]), size: checkpoint.size, leaf, cosigned, quorum };
}
