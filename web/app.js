// The public verification page. Files are hashed here and never uploaded;
// the node is asked only "what do you hold for this SHA-256" (or, for a QR
// Seguro, to decrypt its fields), and every answer's inclusion proof and
// checkpoint signature are checked here against the verifier key the page
// was served with.

import jsQR from 'jsqr';
import { canonicalizeBytes, serialize } from './jcs.js';
import { ProofError, equalBytes, parsePolicy, parseVerifierKey, sha256, toBase64, toHex, verifyCheckpoint,
         verifyReceipt, verifyRecord } from './merkle.js';
import { checkQr, decodeQr, looksLikeQrText } from './qr.js';

const kText = {
  es: {
    title: 'Verificar un documento',
    intro: 'El documento no sale de su equipo: esta página calcula su huella (SHA-256) aquí, la busca en el registro y comprueba ella misma la prueba criptográfica.',
    fileHeading: '1. Un archivo PDF o JSON',
    dropHere: 'Suelte aquí el archivo o pulse para elegirlo',
    dropHelp: 'PDF, JSON o una imagen con un QR Seguro.',
    chooseFile: 'Elegir un archivo',
    qrHeading: '2. Un QR Seguro',
    scanCamera: 'Escanear con la cámara',
    stopCamera: 'Detener la cámara',
    qrImage: 'Leer un QR de una imagen',
    textHeading: '3. Un texto de QR o una huella SHA-256',
    textLabel: 'Texto del QR (QS1:… o QS2:…) o SHA-256 en hexadecimal',
    check: 'Comprobar',
    keyLabel: 'Clave del registro:',
    keyFromNode: '(obtenida del propio nodo: la página no fue configurada con una clave)',
    langButton: 'English', langAria: 'Switch to English',
    working: 'Comprobando…',
    approved: 'Aprobado', issued: 'QR Seguro emitido y vigente', revoked: 'Revocado',
    rejected: 'Rechazado', notFound: 'No encontrado', proofInvalid: 'Prueba no válida',
    expired: 'QR Seguro vencido', qrInvalid: 'QR Seguro no válido', error: 'No se pudo comprobar',
    qrNotInLedger: 'El código es auténtico, pero el registro no lo contiene: la institución no lo confirmó (o lo anuló antes de confirmarlo).',
    notFoundDetail: 'El registro no tiene ninguna entrada para esta huella. Si el archivo fue modificado, aunque sea un byte, su huella cambia.',
    proofInvalidDetail: 'El servidor respondió, pero su respuesta no se pudo comprobar criptográficamente. No confíe en ella.',
    what: 'Qué', when: 'Cuándo', whenUtc: 'Cuándo (UTC)', institution: 'Institución',
    records: 'Registros', ledgerIndex: 'Índice en el registro', fingerprint: 'Huella SHA-256',
    revision: 'Revisión', revisionText: 'encontrado por su versión anterior ({0} de {1} bytes): el archivo fue modificado después (p. ej. sellado o firmado)',
    approvedEarlier: 'Se aprobó una versión anterior: este archivo es distinto',
    issuedEarlier: 'QR Seguro emitido para una versión anterior: este archivo es distinto',
    earlierDetail: 'Este archivo no es el registrado: tiene {0} bytes agregados después de la versión registrada ({1} bytes). Lo agregado (un sello, una firma u otra cosa) puede cambiar lo que el PDF muestra. Compárelo con la versión registrada.',
    downloadEarlier: 'Descargar la versión registrada',
    mediaType: 'Tipo', proofOk: 'Prueba verificada en este navegador (inclusión RFC 9162 y firma del checkpoint).',
    proofBad: 'Prueba no válida: {0}', technical: 'Prueba técnica', copy: 'Copiar', copied: 'Copiado',
    type: 'Tipo', time: 'Fecha', index: 'Índice',
    t_approval: 'aprobación', t_rejection: 'rechazo', t_qr_issue: 'emisión de QR', t_qr_revoke: 'revocación de QR',
    fields: 'Datos del QR', reasons: 'Motivos', signature: 'Firma del QR',
    sigOk: 'válida (comprobada en este navegador)', sigBad: 'NO válida', expiresAt: 'Vence',
    revokedAt: 'Revocado el', reason: 'Motivo', badInput: 'Escriba un texto de QR Seguro (QS1:… o QS2:…) o una huella SHA-256 de 64 caracteres hexadecimales.',
    noQr: 'No se encontró un código QR en la imagen.', badJson: 'El archivo no es un JSON válido: {0}',
    noCamera: 'No se pudo usar la cámara: {0}',
    witnesses: 'Testigos', witnessedBy: 'atestiguado por {0}; cumple la política «{1}» (firmas comprobadas en este navegador)',
    notWitnessed: 'aún no lo atestiguan testigos suficientes para la política «{0}»{1}',
    noWitnesses: 'el registro no tiene testigos (política «none»)', witnessError: 'no se pudo comprobar: {0}',
  },
  en: {
    title: 'Verify a document',
    intro: 'The document never leaves your device: this page computes its fingerprint (SHA-256) here, looks it up in the ledger and checks the cryptographic proof itself.',
    fileHeading: '1. A PDF or JSON file',
    dropHere: 'Drop the file here or press to choose it',
    dropHelp: 'PDF, JSON or an image with a QR Seguro.',
    chooseFile: 'Choose a file',
    qrHeading: '2. A QR Seguro',
    scanCamera: 'Scan with the camera',
    stopCamera: 'Stop the camera',
    qrImage: 'Read a QR from an image',
    textHeading: '3. A QR text or a SHA-256 fingerprint',
    textLabel: 'QR text (QS1:… or QS2:…) or SHA-256 in hexadecimal',
    check: 'Check',
    keyLabel: 'Ledger key:',
    keyFromNode: '(obtained from the node itself: the page was not configured with a key)',
    langButton: 'Español', langAria: 'Cambiar a español',
    working: 'Checking…',
    approved: 'Approved', issued: 'QR Seguro issued and in force', revoked: 'Revoked',
    rejected: 'Rejected', notFound: 'Not found', proofInvalid: 'Proof invalid',
    expired: 'QR Seguro expired', qrInvalid: 'QR Seguro not valid', error: 'Could not check',
    qrNotInLedger: 'The code is genuine, but the ledger does not hold it: the institution did not confirm it (or annulled it before confirming).',
    notFoundDetail: 'The ledger has no entry for this fingerprint. If the file was modified, even by one byte, its fingerprint changes.',
    proofInvalidDetail: 'The server answered, but its answer could not be checked cryptographically. Do not trust it.',
    what: 'What', when: 'When', whenUtc: 'When (UTC)', institution: 'Institution',
    records: 'Records', ledgerIndex: 'Ledger index', fingerprint: 'SHA-256 fingerprint',
    revision: 'Revision', revisionText: 'found through its earlier revision ({0} of {1} bytes): the file was modified afterwards (e.g. stamped or signed)',
    approvedEarlier: 'An earlier version was approved: this file differs',
    issuedEarlier: 'QR Seguro issued for an earlier version: this file differs',
    earlierDetail: 'This file is not the one recorded: {0} bytes were added after the recorded version ({1} bytes). What was added (a stamp, a signature or anything else) can change what the PDF shows. Compare it with the recorded version.',
    downloadEarlier: 'Download the recorded version',
    mediaType: 'Type', proofOk: 'Proof verified in this browser (RFC 9162 inclusion and checkpoint signature).',
    proofBad: 'Proof invalid: {0}', technical: 'Technical proof', copy: 'Copy', copied: 'Copied',
    type: 'Type', time: 'Time', index: 'Index',
    t_approval: 'approval', t_rejection: 'rejection', t_qr_issue: 'QR issue', t_qr_revoke: 'QR revocation',
    fields: 'QR fields', reasons: 'Reasons', signature: 'QR signature',
    sigOk: 'valid (checked in this browser)', sigBad: 'NOT valid', expiresAt: 'Expires',
    revokedAt: 'Revoked on', reason: 'Reason', badInput: 'Type a QR Seguro text (QS1:… or QS2:…) or a SHA-256 fingerprint of 64 hexadecimal characters.',
    noQr: 'No QR code was found in the image.', badJson: 'The file is not valid JSON: {0}',
    noCamera: 'Could not use the camera: {0}',
    witnesses: 'Witnesses', witnessedBy: 'witnessed by {0}; meets the policy "{1}" (signatures checked in this browser)',
    notWitnessed: 'not yet witnessed by enough witnesses for the policy "{0}"{1}',
    noWitnesses: 'the ledger has no witnesses (policy "none")', witnessError: 'could not check: {0}',
  },
};

let lang = 'es';
let lastResult = null;  // re-rendered when the language changes
let keyInfo = null;     // {vkey, fromNode}

function t(key, ...args) {
  const s = kText[lang][key] ?? key;
  return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)]));
}

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function applyLanguage() {
  document.documentElement.lang = lang;
  for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  document.title = t('title') + ' · quipu';
  const b = $('lang');
  b.textContent = t('langButton');
  b.setAttribute('aria-label', t('langAria'));
  b.lang = lang === 'es' ? 'en' : 'es';
  if (camera) $('camera').textContent = t('stopCamera');
  renderKey();
  if (lastResult) render(lastResult);
}

// ---- the verifier key ------------------------------------------------------

// One load, however many callers ask at once (the page asks at start and
// again for a code or a hash given in its URL): the promise is kept.
let keyLoading = null;
function verifierKey() {
  keyLoading ??= loadVerifierKey().catch((e) => { keyLoading = null; throw e; });
  return keyLoading;
}

async function loadVerifierKey() {
  const meta = document.querySelector('meta[name="quipu-vkey"]');
  const configured = meta ? meta.content.trim() : '';
  let info;
  if (configured && !configured.includes('{{')) {
    info = { vkey: configured, fromNode: false };
  } else {
    // Weaker: the key comes from the same server whose answers it checks.
    const log = await fetchJson('/v1/log');
    info = { vkey: log.vkey, fromNode: true };
  }
  info.vk = await parseVerifierKey(info.vkey);
  keyInfo = info;  // whole, or not at all
  renderKey();
  return keyInfo;
}

function renderKey() {
  if (!keyInfo) return;
  $('vkey').textContent = keyInfo.vkey + (keyInfo.fromNode ? ' ' + t('keyFromNode') : '');
}

async function fetchJson(url, init) {
  const r = await fetch(url, init);
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}${body?.detail ? ': ' + body.detail : ''}`);
  if (body === null) throw new Error(`${url}: answer is not JSON`);
  return body;
}

// ---- witnesses -------------------------------------------------------------

// The node's published policy (GET /v1/policy), loaded once; null when the
// node publishes none (then there is nothing to show).
let policyLoading = null;
function nodePolicy() {
  policyLoading ??= (async () => {
    const r = await fetch('/v1/policy');
    if (r.status === 404) return null;
    if (!r.ok) throw new Error(`/v1/policy: HTTP ${r.status}`);
    const text = await r.text();
    return { text, policy: await parsePolicy(text) };
  })().catch((e) => { policyLoading = null; throw e; });
  return policyLoading;
}

// Who vouches for entry `index`: its receipt (GET /v1/entries/{i}/receipt)
// checked here against the node's key and the cosignatures against the
// node's policy; `leaf` is the leaf hash already verified for it.
// {state: 'witnessed'|'pending'|'none'|'error', cosigned, quorum, detail,
// receipt, policy} or null when the node has no policy.
async function witnessesOf(index, leaf) {
  try {
    const p = await nodePolicy();
    if (!p) return null;
    const { vk } = await verifierKey();
    const r = await fetch(`/v1/entries/${index}/receipt`);
    if (!r.ok) throw new Error(`receipt: HTTP ${r.status}`);
    const receipt = await r.text();
    const checked = await verifyReceipt(receipt, vk, p.policy);
    if (checked.index !== Number(index) || (leaf && !equalBytes(checked.leaf, leaf))) {
      throw new ProofError('the receipt is about another entry');
    }
    const state = checked.quorum ? (p.policy.quorum === 'none' ? 'none' : 'witnessed') : 'pending';
    return { state, cosigned: checked.cosigned, quorum: p.policy.quorum, receipt, policy: p.text };
  } catch (e) {
    return { state: 'error', detail: e.message };
  }
}

function witnessText(w) {
  if (!w) return null;
  const names = w.cosigned?.map((c) => c.name).join(', ');
  if (w.state === 'witnessed') return t('witnessedBy', names, w.quorum);
  if (w.state === 'none') return t('noWitnesses');
  if (w.state === 'pending') return t('notWitnessed', w.quorum, names ? ` (${names})` : '');
  return t('witnessError', w.detail);
}

function witnessLines(w) {
  if (!w || w.state === 'error') return [];
  return ['', 'policy (from the node, GET /v1/policy):', w.policy.trimEnd(), '', 'receipt (C2SP tlog-proof@v1):',
          w.receipt.trimEnd()];
}

// ---- documents -------------------------------------------------------------

// PDF whitespace (ISO 32000 §7.2.2), as the node's pdf::ScanRevisions.
const isPdfSpace = (b) => b === 0 || b === 9 || b === 10 || b === 12 || b === 13 || b === 32;

function looksLikePdf(bytes) {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 1024));
  return head.includes('%PDF-');
}

// Lengths of the prefixes of `bytes` that end with a %%EOF marker and its
// end-of-line, in file order (the same rule as the node).
export function pdfRevisions(bytes) {
  const marker = [0x25, 0x25, 0x45, 0x4f, 0x46];  // %%EOF
  const out = [];
  for (let at = 1; at + 5 <= bytes.length; at++) {
    if (bytes[at] !== 0x25 || !marker.every((m, k) => bytes[at + k] === m)) continue;
    let end = at + 5;
    if (!isPdfSpace(bytes[at - 1]) || !(end === bytes.length || isPdfSpace(bytes[end]))) continue;
    if (bytes[end] === 13) end++;
    if (bytes[end] === 10) end++;
    out.push(end);
  }
  if (out.length && bytes.subarray(out[out.length - 1]).every(isPdfSpace)) out[out.length - 1] = bytes.length;
  return out;
}

// Checks every record of a /v1/documents answer. Returns {ok, error,
// checkpoint, leaves}.
async function verifyDocumentAnswer(answer, sha) {
  const { vk } = await verifierKey();
  const result = { ok: true, error: null, checkpoint: null, leaves: [] };
  try {
    if (!answer.records?.length) return result;
    result.checkpoint = await verifyCheckpoint(answer.checkpoint, vk);
    for (const rec of answer.records) {
      const entryBytes = new TextEncoder().encode(serialize(rec.entry));
      result.leaves.push(await verifyRecord(rec, entryBytes, result.checkpoint));
      const doc = rec.entry?.doc;
      if (doc && doc.sha256 !== sha) {
        throw new ProofError(`record ${rec.index} is about another document (${doc.sha256})`);
      }
      if (rec.entry?.type && rec.type && rec.entry.type !== rec.type) {
        throw new ProofError(`record ${rec.index}: type differs from its entry's`);
      }
    }
  } catch (e) {
    result.ok = false;
    result.error = e.message;
  }
  return result;
}

async function lookup(sha) {
  const answer = await fetchJson('/v1/documents/' + sha);
  return { answer, verification: await verifyDocumentAnswer(answer, sha) };
}

async function checkDocument(bytes, mediaType) {
  const sha = toHex(await sha256(bytes));
  let { answer, verification } = await lookup(sha);
  let revision = null;
  if (!answer.found && mediaType === 'application/pdf') {
    // A PDF stamped or signed after approval still holds the approved
    // revision as a prefix: look up each earlier one, latest first.
    const lengths = pdfRevisions(bytes).filter((n) => n < bytes.length).reverse();
    for (const n of lengths) {
      const prefixSha = toHex(await sha256(bytes.subarray(0, n)));
      const r = await lookup(prefixSha);
      if (r.answer.found) {
        ({ answer, verification } = r);
        revision = { length: n, total: bytes.length, sha256: prefixSha, fileSha256: sha,
                     bytes: bytes.subarray(0, n) };
        break;
      }
    }
  }
  const res = { kind: 'document', sha: revision ? revision.sha256 : sha, mediaType, answer, verification, revision };
  const state = documentState(answer, verification, revision);
  if (verification.ok && answer.records?.length && state !== 'notFound') {
    const main = headline(answer.records, state);
    res.witnesses = await witnessesOf(main.index, verification.leaves[answer.records.indexOf(main)]);
  }
  return res;
}

// The record that decides a document's state, shown as the headline.
function headline(records, state) {
  const wanted = { approved: 'approval', approvedEarlier: 'approval', issued: 'qr_issue', issuedEarlier: 'qr_issue',
                   revoked: 'qr_revoke', rejected: 'rejection' }[state];
  return records.find((r) => r.type === wanted) ?? records[0];
}

function documentState(answer, verification, revision) {
  if (!answer.found || !answer.records?.length) return 'notFound';
  if (!verification.ok) return 'proofInvalid';
  const records = answer.records;
  const types = new Set(records.map((r) => r.type));
  // A code is in force unless a revocation among the records targets it.
  const revoked = new Set(records.filter((r) => r.type === 'qr_revoke').map((r) => Number(r.entry?.target)));
  const issued = records.filter((r) => r.type === 'qr_issue');
  const inForce = issued.some((r) => !revoked.has(Number(r.index)));
  if (issued.length && !inForce && !types.has('approval')) return 'revoked';
  // Found only through an earlier revision: the file differs from what was
  // recorded, so never the plain success state.
  if (types.has('approval')) return revision ? 'approvedEarlier' : 'approved';
  if (inForce) return revision ? 'issuedEarlier' : 'issued';
  if (types.has('qr_revoke')) return 'revoked';
  if (types.has('rejection')) return 'rejected';
  return 'notFound';
}

// ---- QR Seguro -------------------------------------------------------------

async function checkQrText(text) {
  const { vk } = await verifierKey();
  const qr = decodeQr(text);
  const local = await checkQr(qr, vk);
  const answer = await fetchJson('/v1/qr/verify', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ qr_text: text }),
  });
  const verification = { ok: true, error: null, checkpoint: null, leaves: [] };
  let witnesses = null;
  try {
    if (!local.signatureOk) throw new ProofError('QR signature does not verify with the configured key');
    if (!answer.entry && !answer.valid) {
      // A genuine code the log does not hold (a two-phase code never
      // confirmed): nothing to prove, and not valid.
      verification.none = true;
      return { kind: 'qr', text, qr, local, answer, verification };
    }
    if (!answer.entry) throw new ProofError('the node returned no ledger entry for this QR');
    if (answer.entry.type !== 'qr_issue' || answer.entry.payload !== local.payload) {
      throw new ProofError('the ledger entry is not the issue of this QR');
    }
    if (qr.version === 2) {
      // No index in the code: its entry names the code's digest instead.
      if (answer.entry.doc?.sha256 !== local.codeDigest) throw new ProofError('the ledger entry names another code');
    } else if (Number(answer.index) !== qr.index) {
      throw new ProofError('ledger index differs from the QR\'s');
    }
    verification.checkpoint = await verifyCheckpoint(answer.checkpoint, vk);
    const record = { index: answer.index, leaf_hash: answer.leaf_hash, proof: answer.proof,
                     tree_size: answer.tree_size };
    verification.leaves.push(await verifyRecord(record,
      new TextEncoder().encode(serialize(answer.entry)), verification.checkpoint));
    witnesses = await witnessesOf(answer.index, verification.leaves[0]);
  } catch (e) {
    verification.ok = false;
    verification.error = e.message;
  }
  return { kind: 'qr', text, qr, local, answer, verification, witnesses };
}

function qrState(result) {
  const { answer, verification } = result;
  if (!verification.ok) return 'proofInvalid';
  if (verification.none) return 'qrInvalid';
  if (answer.revoked) return 'revoked';
  if (answer.expired) return 'expired';
  return answer.valid ? 'issued' : 'qrInvalid';
}

// ---- rendering -------------------------------------------------------------

const kStateClass = { approved: 'ok', issued: 'ok', approvedEarlier: 'warn', issuedEarlier: 'warn',
                      revoked: 'bad', rejected: 'bad', notFound: 'bad',
                      proofInvalid: 'bad', expired: 'warn', qrInvalid: 'bad', error: 'warn' };

function formatTime(iso) {
  // The node writes microseconds; Date parses milliseconds.
  const d = new Date(String(iso).replace(/(\.\d{3})\d+/, '$1'));
  if (Number.isNaN(d.getTime())) return [String(iso), String(iso)];
  const opts = { dateStyle: 'long', timeStyle: 'medium' };
  return [new Intl.DateTimeFormat(lang, opts).format(d),
          new Intl.DateTimeFormat(lang, { ...opts, timeZone: 'UTC' }).format(d) + ' UTC'];
}

function banner(state, detail) {
  return el('div', { class: 'state ' + kStateClass[state], id: 'state', 'data-state': state },
            el('h2', { text: t(state) }), detail ? el('p', { text: detail }) : null);
}

function defList(pairs) {
  const dl = el('dl');
  for (const [k, v, id] of pairs) {
    if (v == null || v === '') continue;
    dl.append(el('dt', { text: t(k) }), el('dd', id ? { id, text: String(v) } : { text: String(v) }));
  }
  return dl;
}

function proofLine(verification) {
  return el('p', { class: 'proof-status', id: 'proof-status', 'data-ok': String(verification.ok),
                   text: verification.ok ? t('proofOk') : t('proofBad', verification.error) });
}

function technical(lines) {
  const pre = el('pre', { id: 'technical-text', text: lines.join('\n') });
  const copy = el('button', { type: 'button', text: t('copy') });
  copy.addEventListener('click', async () => {
    try { await navigator.clipboard.writeText(pre.textContent); copy.textContent = t('copied'); } catch {
      getSelection().selectAllChildren(pre);
    }
  });
  return el('details', { id: 'technical' }, el('summary', { text: t('technical') }), copy, pre);
}

function proofLines(records, verification, checkpointText) {
  const lines = [`verifier key: ${keyInfo?.vkey}`];
  records.forEach((r, i) => {
    lines.push('', `record ${r.index} (${r.type ?? r.entry?.type}), tree size ${r.tree_size}`,
               `  entry (RFC 8785): ${serialize(r.entry)}`,
               `  leaf hash SHA-256(0x00||entry): ${verification.leaves[i] ? toBase64(verification.leaves[i]) : r.leaf_hash}`,
               '  inclusion proof (RFC 9162):', ...(r.proof ?? []).map((p) => '    ' + p));
  });
  if (checkpointText) lines.push('', 'checkpoint:', checkpointText.trimEnd());
  return lines;
}

function recordTable(records) {
  const head = el('tr', {}, el('th', { text: t('index') }), el('th', { text: t('type') }),
                  el('th', { text: t('time') }), el('th', { text: t('institution') }));
  const table = el('table', { id: 'records' }, el('thead', {}, head));
  const body = el('tbody');
  for (const r of records) {
    body.append(el('tr', {}, el('td', { text: String(r.index) }), el('td', { text: t('t_' + r.type) }),
                   el('td', { text: formatTime(r.time)[0] }),
                   el('td', { text: r.client_name || r.client || '' })));
  }
  table.append(body);
  return table;
}

// A link that saves the recorded version (the prefix of the dropped file),
// made in the browser: nothing is uploaded or fetched.
function downloadEarlier(revision, name) {
  const blob = new Blob([revision.bytes], { type: 'application/pdf' });
  const a = el('a', { id: 'download-earlier', class: 'button', href: URL.createObjectURL(blob),
                      download: (name || 'documento').replace(/\.pdf$/i, '') + '-registrado.pdf',
                      text: t('downloadEarlier') });
  return el('p', {}, a);
}

function renderDocument(res) {
  const out = [];
  const state = documentState(res.answer, res.verification, res.revision);
  if (state === 'notFound') {
    out.push(banner(state, t('notFoundDetail')), defList([['fingerprint', res.sha, 'sha256']]));
    return out;
  }
  const records = res.answer.records;
  const main = headline(records, state);
  const [local, utc] = formatTime(main.time);
  const earlier = res.revision && state !== 'proofInvalid'
    ? t('earlierDetail', res.revision.total - res.revision.length, res.revision.length) : null;
  out.push(banner(state, state === 'proofInvalid' ? t('proofInvalidDetail') : earlier));
  if (earlier && res.revision.bytes) out.push(downloadEarlier(res.revision, res.fileName));
  out.push(defList([
    ['what', main.entry?.doc?.media_type ?? res.mediaType ?? ''],
    ['fingerprint', res.sha, 'sha256'],
    ['revision', res.revision ? t('revisionText', res.revision.length, res.revision.total) : null, 'revision'],
    ['when', local, 'when-local'],
    ['whenUtc', utc, 'when-utc'],
    ['institution', main.client_name || main.client, 'institution'],
    ['records', records.length, 'record-count'],
    ['ledgerIndex', main.index, 'ledger-index'],
    ['witnesses', state === 'proofInvalid' ? null : witnessText(res.witnesses), 'witnesses'],
  ]));
  out.push(proofLine(res.verification), recordTable(records));
  out.push(technical([`document sha256: ${res.sha}`,
                      ...(res.revision ? [`file sha256: ${res.revision.fileSha256} (revision of ${res.revision.length} bytes looked up)`] : []),
                      ...proofLines(records, res.verification, res.answer.checkpoint),
                      ...witnessLines(res.witnesses)]));
  return out;
}

function renderQr(res) {
  const { answer, local } = res;
  const state = qrState(res);
  const detail = state === 'proofInvalid' ? t('proofInvalidDetail') : res.verification.none ? t('qrNotInLedger') : null;
  const out = [banner(state, detail)];
  const [local1, utc1] = answer.issued_at ? formatTime(answer.issued_at) : [null, null];
  const pairs = [
    ['fingerprint', answer.document_sha256, 'sha256'],
    ['when', local1, 'when-local'], ['whenUtc', utc1, 'when-utc'],
    ['institution', answer.client_name || answer.client, 'institution'],
    ['ledgerIndex', answer.index, 'ledger-index'],
    ['signature', local.signatureOk ? t('sigOk') : t('sigBad'), 'qr-signature'],
    ['witnesses', state === 'proofInvalid' ? null : witnessText(res.witnesses), 'witnesses'],
    ['expiresAt', answer.expires_at ? formatTime(answer.expires_at).join(' · ') : null],
  ];
  if (answer.revocation) {
    pairs.push(['revokedAt', formatTime(answer.revocation.time).join(' · '), 'revoked-at'],
               ['reason', answer.revocation.reason, 'revoked-reason']);
  }
  if (answer.reasons?.length) pairs.push(['reasons', answer.reasons.join(', '), 'reasons']);
  out.push(defList(pairs));
  if (answer.fields && Object.keys(answer.fields).length) {
    out.push(el('h3', { text: t('fields') }),
             defList(Object.entries(answer.fields).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])));
    out[out.length - 1].id = 'qr-fields';
  }
  if (!res.verification.none) out.push(proofLine(res.verification));
  const record = { index: answer.index, type: 'qr_issue', entry: answer.entry, proof: answer.proof,
                   tree_size: answer.tree_size, leaf_hash: answer.leaf_hash };
  out.push(technical([`qr text: ${res.text}`, `qr key id: ${toHex(res.qr.keyId)}`,
                      `qr payload SHA-256(nonce||ciphertext): ${local.payload}`,
                      ...(local.codeDigest ? [`qr code digest SHA-256("quipu/qr-seguro/v2/code"||0x00||nonce): ${local.codeDigest}`] : []),
                      ...proofLines(answer.entry ? [record] : [], res.verification, answer.checkpoint),
                      ...witnessLines(res.witnesses)]));
  return out;
}

function render(res) {
  lastResult = res;
  const box = $('result');
  box.replaceChildren();
  if (res.kind === 'error') box.append(banner('error', res.message));
  else if (res.kind === 'document') box.append(...renderDocument(res));
  else box.append(...renderQr(res));
  box.focus();
}

async function run(task) {
  const box = $('result');
  box.replaceChildren(el('p', { id: 'working', text: t('working') }));
  try {
    render(await task());
  } catch (e) {
    render({ kind: 'error', message: e.message });
  }
}

// ---- inputs ----------------------------------------------------------------

async function qrFromImage(file) {
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const code = jsQR(img.data, img.width, img.height, { inversionAttempts: 'attemptBoth' });
  if (!code) throw new Error(t('noQr'));
  return code.data;
}

function handleFile(file) {
  run(async () => {
    if (file.type.startsWith('image/')) return checkQrText((await qrFromImage(file)).trim());
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (looksLikePdf(bytes)) return { ...(await checkDocument(bytes, 'application/pdf')), fileName: file.name };
    let canonical;
    try {
      canonical = canonicalizeBytes(bytes);
    } catch (e) {
      throw new Error(t('badJson', e.message));
    }
    return checkDocument(canonical, 'application/json');
  });
}

function handleText(text) {
  text = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) {
    const sha = text.toLowerCase();
    run(async () => ({ kind: 'document', sha, ...(await lookup(sha)), revision: null }));
  } else if (looksLikeQrText(text)) {
    run(() => checkQrText(text));
  } else {
    render({ kind: 'error', message: t('badInput') });
  }
}

let camera = null;  // {stream, stop}

async function toggleCamera() {
  if (camera) { camera.stop(); return; }
  const video = $('video');
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
  } catch (e) {
    render({ kind: 'error', message: t('noCamera', e.message) });
    return;
  }
  let running = true;
  camera = {
    stop() {
      running = false;
      stream.getTracks().forEach((tr) => tr.stop());
      video.hidden = true;
      camera = null;
      $('camera').textContent = t('scanCamera');
    },
  };
  $('camera').textContent = t('stopCamera');
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const tick = () => {
    if (!running) return;
    if (video.readyState >= 2 && video.videoWidth) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      ctx.drawImage(video, 0, 0);
      const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const code = jsQR(img.data, img.width, img.height, { inversionAttempts: 'dontInvert' });
      if (code?.data) {
        camera.stop();
        handleText(code.data);
        return;
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

function init() {
  const drop = $('drop');
  const file = $('file');
  drop.addEventListener('click', () => file.click());
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); file.click(); }
  });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files[0]) handleFile(e.dataTransfer.files[0]);
  });
  file.addEventListener('change', () => { if (file.files[0]) handleFile(file.files[0]); file.value = ''; });
  const qrImage = $('qr-image');
  qrImage.addEventListener('change', () => { if (qrImage.files[0]) handleFile(qrImage.files[0]); qrImage.value = ''; });
  $('camera').addEventListener('click', toggleCamera);
  if (!navigator.mediaDevices?.getUserMedia) $('camera').hidden = true;
  $('text-form').addEventListener('submit', (e) => { e.preventDefault(); handleText($('text').value); });
  $('lang').addEventListener('click', () => { lang = lang === 'es' ? 'en' : 'es'; applyLanguage(); });
  if (/^en\b/.test(new URLSearchParams(location.search).get('lang') ?? '')) lang = 'en';
  applyLanguage();
  verifierKey().catch((e) => { $('vkey').textContent = e.message; });
  // A link such as the citizen's own page gives: /?sha256=<hex> checks that
  // document's records and proofs here, in the browser.
  const asked = new URLSearchParams(location.search).get('sha256') ?? '';
  if (/^[0-9a-fA-F]{64}$/.test(asked)) handleText(asked);
  // A code's link (the AGETIC API's mostrarEnlace): /?qr=<QR Seguro text>.
  const code = new URLSearchParams(location.search).get('qr') ?? '';
  if (looksLikeQrText(code)) {
    $('text').value = code;
    handleText(code);
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
