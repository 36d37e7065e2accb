// The citizen's approval page: who is logged in, which institution asks,
// every document of the request (name, type, SHA-256), the citizen's own
// authenticator (enrolled here, shown only to them) and the decision with
// its code. At /aprobar (no request) the citizen's own page: every request
// that named them, at every institution (each decided document linked to the
// verification page, which checks its proofs in the browser), and their
// authenticator. Reads /v1/citizen/* with the session cookie and sends the
// session's CSRF token with every POST; the node shows a request only to
// the citizen it names.
//
// Each document is shown as the citizen will approve it: a PDF the client
// sent is rendered page by page (pdf.js, bundled; its worker is served by
// the node), a JSON document formatted, and both are hashed here first so
// the page shows only content whose SHA-256 is the one to be recorded. For
// a document sent by its hash only, the citizen opens their own copy and the
// page compares its hash (nothing leaves the browser).
import * as pdfjs from 'pdfjs-dist';
import { canonicalizeBytes } from './jcs.js';
import { sha256, toHex } from './merkle.js';

pdfjs.GlobalWorkerOptions.workerSrc = '/pdf.worker.mjs';
const MAX_PAGES = 30;           // pages of one PDF rendered at once (a button shows more)
const MAX_JSON_CHARS = 200000;  // characters of one JSON document shown at once (a button shows all)

const TEXT = {
  es: {
    title: 'Aprobar documentos', asks: 'Solicitud de', status: 'Estado', expires: 'Vence',
    documents: 'Documentos', logout: 'Cerrar sesión', langButton: 'English', langAria: 'Switch to English',
    who: 'Sesión de {0} (documento {1})', unnamed: 'Documento sin nombre',
    pending: 'pendiente', approved: 'aprobada', rejected: 'rechazada', locked: 'bloqueada', expired: 'vencida',
    notYours: 'Esta solicitud es para otra persona. Ingrese con la cuenta de la persona a la que se dirige.',
    notFound: 'No existe esta solicitud.', loggedOut: 'Sesión cerrada.', failed: 'No se pudo cargar la solicitud: {0}',
    enrolHeading: 'Su autenticador', secret: 'Clave', codeLabel: 'Código de 6 dígitos', enrolConfirm: 'Activar',
    enrolHelp: 'Escanee este código con su aplicación de autenticación (o escriba la clave) y escriba el código que muestra. Solo usted lo verá.',
    decideHeading: 'Su decisión', approve: 'Aprobar', reject: 'Rechazar', refused: 'No se aceptó: {0}',
    lockedUntil: 'Demasiados códigos equivocados: espere hasta {0}.',
    factorActive: 'Su autenticador está activo. Solo usted puede cambiarlo (con un código actual) o pedir que se restablezca.',
    enrolStart: 'Para aprobar necesita un autenticador (una aplicación en su teléfono). Solo usted lo tendrá.', enrolBegin: 'Activar un autenticador',
    mineHeading: 'Sus solicitudes', mineEmpty: 'Ninguna institución le pidió aprobar documentos todavía.',
    verify: 'Verificar', entry: 'registro {0}', requested: 'pedida el {0}',
    loading: 'Cargando el documento…', contentOk: 'El contenido mostrado es el que se registrará (su SHA-256 coincide).',
    contentBad: 'El contenido recibido no corresponde a su SHA-256: no lo apruebe.',
    contentGone: 'El contenido ya no está disponible.', renderFailed: 'No se pudo mostrar el documento: {0}',
    pageOf: 'Página {0} de {1}', morePages: 'Mostrar más páginas ({0} de {1} mostradas)',
    jsonCut: 'Mostrar todo el documento',
    hashOnly: 'La institución envió solo la huella (SHA-256) de este documento. Abra su copia del archivo para comprobar que es el mismo: no sale de su navegador.',
    chooseFile: 'Comparar un archivo', match: 'Coincide: es el documento que se le pide aprobar.',
    noMatch: 'No coincide: ese archivo no es el documento que se le pide aprobar.',
    notJson: 'Ese archivo no es un JSON válido: {0}',
    sendCodeHelp: 'Para decidir, pida un código: se enviará al contacto que tiene registrado en su cuenta de identidad.',
    sendCode: 'Enviarme un código', codeSent: 'Código enviado a {0}. Escríbalo abajo.',
  },
  en: {
    title: 'Approve documents', asks: 'Request from', status: 'Status', expires: 'Expires',
    documents: 'Documents', logout: 'Log out', langButton: 'Español', langAria: 'Cambiar a español',
    who: 'Logged in as {0} (document {1})', unnamed: 'Unnamed document',
    pending: 'pending', approved: 'approved', rejected: 'rejected', locked: 'locked', expired: 'expired',
    notYours: 'This request is for someone else. Log in as the person it is addressed to.',
    notFound: 'There is no such request.', loggedOut: 'Logged out.', failed: 'The request could not be loaded: {0}',
    enrolHeading: 'Your authenticator', secret: 'Key', codeLabel: '6-digit code', enrolConfirm: 'Activate',
    enrolHelp: 'Scan this code with your authenticator app (or type the key) and enter the code it shows. Only you see it.',
    decideHeading: 'Your decision', approve: 'Approve', reject: 'Reject', refused: 'Not accepted: {0}',
    lockedUntil: 'Too many wrong codes: wait until {0}.',
    factorActive: 'Your authenticator is active. Only you can change it (with a current code) or ask for it to be reset.',
    enrolStart: 'To approve you need an authenticator (an app on your phone). Only you will hold it.', enrolBegin: 'Set up an authenticator',
    mineHeading: 'Your requests', mineEmpty: 'No institution has asked you to approve documents yet.',
    verify: 'Verify', entry: 'entry {0}', requested: 'asked on {0}',
    loading: 'Loading the document…', contentOk: 'The content shown is what will be recorded (its SHA-256 matches).',
    contentBad: 'The content received does not match its SHA-256: do not approve it.',
    contentGone: 'The content is no longer available.', renderFailed: 'The document could not be shown: {0}',
    pageOf: 'Page {0} of {1}', morePages: 'Show more pages ({0} of {1} shown)',
    jsonCut: 'Show the whole document',
    hashOnly: 'The institution sent only this document\'s fingerprint (SHA-256). Open your copy of the file to check it is the same: it does not leave your browser.',
    chooseFile: 'Compare a file', match: 'It matches: this is the document you are asked to approve.',
    noMatch: 'No match: that file is not the document you are asked to approve.',
    notJson: 'That file is not valid JSON: {0}',
    sendCodeHelp: 'To decide, ask for a code: it is sent to the contact registered with your identity account.',
    sendCode: 'Send me a code', codeSent: 'Code sent to {0}. Type it below.',
  },
};

let lang = navigator.language && navigator.language.startsWith('en') ? 'en' : 'es';
let state = { me: null, request: null, error: null, factor: null, enrolment: null };
const $ = (id) => document.getElementById(id);
const t = (key, ...args) => TEXT[lang][key].replace(/\{(\d)\}/g, (_, i) => args[Number(i)]);

function render() {
  document.documentElement.lang = lang;
  const argsOf = (el) => (el.dataset.args ? JSON.parse(el.dataset.args) : []);
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n, ...argsOf(el));
  // Labels of images (a PDF's pages): "<document>: Página 1 de 3".
  for (const el of document.querySelectorAll('[data-i18n-label]')) {
    el.setAttribute('aria-label', `${el.dataset.name}: ${t(el.dataset.i18nLabel, ...argsOf(el))}`);
  }
  $('lang').textContent = t('langButton');
  $('lang').setAttribute('aria-label', t('langAria'));
  $('lang').lang = lang === 'es' ? 'en' : 'es';
  $('who').textContent = state.me ? t('who', state.me.name || '—', state.me.document_number) : '';
  const r = state.request;
  $('request').hidden = !r;
  if (r) {
    $('institution').textContent = r.institution;
    $('description').textContent = r.description ?? '';
    $('description').hidden = !r.description;
    $('status').textContent = TEXT[lang][r.status] ?? r.status;
    $('expires').textContent = new Date(r.expires_at).toLocaleString(lang === 'es' ? 'es-BO' : 'en');
    if (!$('documents').childElementCount) buildDocuments(r);
  }
  const pending = r && r.status === 'pending';
  const own = state.own && state.me;  // the citizen's own page
  // A request decided with a code sent to the citizen needs no authenticator.
  const message = pending && r.factor === 'message';
  const totp = (pending && !message) || own;
  $('enrol').hidden = !(totp && state.enrolment);
  $('enrol-start').hidden = !(totp && state.factor && !state.factor.enrolled && !state.enrolment);
  $('send-code').hidden = !message;
  $('code-sent').textContent = state.codeSent ? t('codeSent', state.codeSent.sent_to) : '';
  $('factor-active').hidden = !(own && state.factor && state.factor.enrolled);
  $('mine').hidden = !(own && state.mine);
  if (own && state.mine) {
    $('mine-empty').hidden = state.mine.length > 0;
    const list = $('mine-list');
    list.replaceChildren();
    const when = (s) => new Date(s).toLocaleString(lang === 'es' ? 'es-BO' : 'en');
    for (const a of state.mine) {
      const li = document.createElement('li');
      const head = document.createElement('strong');
      head.textContent = `${a.institution} · ${TEXT[lang][a.status] ?? a.status}`;
      const meta = document.createElement('span');
      meta.className = 'help';
      meta.textContent = ` · ${t('requested', when(a.created_at))}`;
      const docs = document.createElement('ul');
      for (const d of a.documents) {
        const item = document.createElement('li');
        item.textContent = `${d.name || t('unnamed')} · `;
        const hash = document.createElement('code');
        hash.textContent = d.sha256.slice(0, 16) + '…';
        item.append(hash);
        if (d.index !== undefined) {
          // The public verification page checks the entry and its proofs in the browser.
          const link = document.createElement('a');
          link.href = `/?sha256=${d.sha256}`;
          link.textContent = ` ${t('verify')} (${t('entry', d.index)})`;
          item.append(link);
        }
        docs.append(item);
      }
      li.append(head, meta, docs);
      list.append(li);
    }
  }
  if (state.enrolment) {
    $('enrol-secret').textContent = state.enrolment.secret;
    // The node's own SVG of the otpauth URI (its text is the node's, not user input).
    if (state.enrolment.qr_svg && !$('enrol-qr').childElementCount) {
      const img = document.createElement('img');
      img.alt = 'QR';
      img.src = `data:image/svg+xml;base64,${btoa(state.enrolment.qr_svg)}`;
      $('enrol-qr').append(img);
    }
  }
  $('decide').hidden = !(pending && (message ? state.codeSent : state.factor && state.factor.enrolled));
  $('error').hidden = !state.error;
  $('error').textContent = state.error ? t(state.error.key, state.error.arg ?? '') : '';
}

// ---- the documents ---------------------------------------------------------

// A text element translated on every render (data-i18n, with arguments).
function label(tag, key, args = [], className = '') {
  const el = document.createElement(tag);
  el.dataset.i18n = key;
  if (args.length) el.dataset.args = JSON.stringify(args);
  if (className) el.className = className;
  el.textContent = t(key, ...args);
  return el;
}

// The SHA-256 quipu records for a document's bytes: a PDF's own bytes, a
// JSON document's RFC 8785 canonical form (throws JcsError for bad JSON).
async function documentHash(bytes, mediaType) {
  return toHex(await sha256(mediaType === 'application/json' ? canonicalizeBytes(bytes) : bytes));
}

function humanSize(n) {
  return n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

async function renderPdf(bytes, into, name) {
  const pdf = await pdfjs.getDocument({ data: bytes, isEvalSupported: false, enableXfa: false,
                                        disableAutoFetch: true, useSystemFonts: true,
                                        wasmUrl: '/pdfjs/wasm/' }).promise;
  await renderPages(pdf, 1, Math.min(pdf.numPages, MAX_PAGES), into, name);
}

// Pages from..to, then a button for the next ones: every page can be seen.
async function renderPages(pdf, from, to, into, name) {
  for (let n = from; n <= to; n++) {
    const page = await pdf.getPage(n);
    const width = Math.max(200, into.clientWidth || 600);
    const viewport = page.getViewport({ scale: width / page.getViewport({ scale: 1 }).width });
    const ratio = window.devicePixelRatio || 1;
    const canvas = document.createElement('canvas');
    canvas.className = 'pdf-page';
    canvas.width = Math.floor(viewport.width * ratio);
    canvas.height = Math.floor(viewport.height * ratio);
    canvas.style.width = `${Math.floor(viewport.width)}px`;
    canvas.setAttribute('role', 'img');
    canvas.dataset.i18nLabel = 'pageOf';
    canvas.dataset.args = JSON.stringify([n, pdf.numPages]);
    canvas.dataset.name = name;
    canvas.setAttribute('aria-label', `${name}: ${t('pageOf', n, pdf.numPages)}`);
    into.append(label('p', 'pageOf', [n, pdf.numPages], 'help'), canvas);
    await page.render({ canvasContext: canvas.getContext('2d'), viewport,
                        transform: ratio === 1 ? null : [ratio, 0, 0, ratio, 0, 0] }).promise;
  }
  into.dataset.rendered = String(to);
  if (to < pdf.numPages) {
    const more = label('button', 'morePages', [to, pdf.numPages]);
    more.type = 'button';
    more.addEventListener('click', () => {
      more.remove();
      renderPages(pdf, to + 1, Math.min(pdf.numPages, to + MAX_PAGES), into, name);
    });
    into.append(more);
  }
}

function renderJson(bytes, into) {
  // What is hashed is the canonical form, so the text shown is its values
  // (numbers as the hash reads them), indented.
  const text = JSON.stringify(JSON.parse(new TextDecoder().decode(canonicalizeBytes(bytes))), null, 2);
  const pre = document.createElement('pre');
  pre.className = 'json';
  pre.textContent = text.length > MAX_JSON_CHARS ? text.slice(0, MAX_JSON_CHARS) + '\n…' : text;
  into.append(pre);
  if (text.length > MAX_JSON_CHARS) {
    const all = label('button', 'jsonCut');
    all.type = 'button';
    all.addEventListener('click', () => {
      pre.textContent = text;
      all.remove();
    });
    into.append(all);
  }
  into.dataset.rendered = '1';
}

// The content the client sent, checked against its SHA-256, then shown.
async function showContent(r, i, d, area) {
  const status = label('p', 'loading', [], 'help');
  status.setAttribute('aria-live', 'polite');
  area.append(status);
  try {
    const res = await fetch(`/v1/citizen/approvals/${encodeURIComponent(r.id)}/documents/${i}`, {
      credentials: 'same-origin', headers: { 'X-Quipu-CSRF': state.me ? state.me.csrf : '' } });
    if (!res.ok) {
      status.replaceWith(label('p', 'contentGone', [], 'help'));
      return;
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const ok = (await documentHash(bytes, d.media_type)) === d.sha256;
    area.dataset.match = String(ok);
    status.replaceWith(label('p', ok ? 'contentOk' : 'contentBad', [], ok ? 'check ok' : 'problem'));
    if (!ok) return;
    if (d.media_type === 'application/pdf') await renderPdf(bytes, area, d.name || t('unnamed'));
    else renderJson(bytes, area);
  } catch (e) {
    area.append(label('p', 'renderFailed', [String(e.message ?? e).slice(0, 200)], 'problem'));
  }
}

// A document sent by its hash only: the citizen's own copy, compared here.
function offerCompare(i, d, area) {
  area.append(label('p', 'hashOnly', [], 'help'));
  const input = document.createElement('input');
  input.type = 'file';
  input.id = `compare-${i}`;
  input.accept = d.media_type === 'application/json' ? 'application/json,.json' : 'application/pdf,.pdf';
  const lbl = label('label', 'chooseFile', [], 'button');
  lbl.htmlFor = input.id;
  const answer = document.createElement('p');
  answer.setAttribute('role', 'status');
  const compare = async (file) => {
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    let key;
    let args = [];
    try {
      key = (await documentHash(bytes, d.media_type)) === d.sha256 ? 'match' : 'noMatch';
    } catch (e) {
      key = 'notJson';
      args = [String(e.message ?? e).slice(0, 200)];
    }
    answer.dataset.i18n = key;
    answer.dataset.args = JSON.stringify(args);
    answer.className = key === 'match' ? 'check ok' : 'problem';
    area.dataset.match = String(key === 'match');
    answer.textContent = t(key, ...args);
  };
  input.addEventListener('change', () => compare(input.files[0]));
  area.addEventListener('dragover', (e) => { e.preventDefault(); area.classList.add('over'); });
  area.addEventListener('dragleave', () => area.classList.remove('over'));
  area.addEventListener('drop', (e) => {
    e.preventDefault();
    area.classList.remove('over');
    compare(e.dataTransfer.files[0]);
  });
  area.append(input, lbl, answer);
}

// The request's documents, built once (their renderings survive a change of language).
function buildDocuments(r) {
  const list = $('documents');
  r.documents.forEach((d, i) => {
    const li = document.createElement('li');
    li.className = 'document';
    const name = document.createElement('strong');
    if (d.name) name.textContent = d.name;
    else name.append(label('span', 'unnamed'));
    const meta = document.createElement('span');
    meta.className = 'help';
    meta.textContent = ` · ${d.media_type}${d.size !== undefined ? ` · ${humanSize(d.size)}` : ''} · SHA-256 `;
    const hash = document.createElement('code');
    hash.textContent = d.sha256;
    const area = document.createElement('div');
    area.className = 'content';
    area.id = `content-${i}`;
    li.append(name, meta, hash, area);
    list.append(li);
    if (r.status !== 'pending') return;
    if (d.content) showContent(r, i, d, area);
    else offerCompare(i, d, area);
  });
}

async function post(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-Quipu-CSRF': state.me ? state.me.csrf : '' },
    body: JSON.stringify(body),
  });
  const answer = res.status === 204 ? {} : await res.json().catch(() => ({}));
  return { ok: res.ok, status: res.status, answer };
}

async function loadFactor() {
  const res = await fetch('/v1/citizen/factor', { credentials: 'same-origin' });
  if (!res.ok) return;
  state.factor = await res.json();
  if (state.factor.locked_until) {
    state.error = { key: 'lockedUntil', arg: new Date(state.factor.locked_until).toLocaleString() };
  }
}

// A new authenticator only when the citizen asks for one: opening a page
// (which another site can make a browser do) changes nothing.
async function beginEnrolment() {
  const begun = await post('/v1/citizen/totp', {});
  if (begun.ok) state.enrolment = begun.answer;
  else state.error = { key: 'refused', arg: begun.answer.detail ?? String(begun.status) };
  render();
}

async function load() {
  const id = location.pathname.replace(/\/+$/, '').split('/').pop();
  const me = await fetch('/v1/citizen/me', { credentials: 'same-origin' });
  if (me.ok) state.me = await me.json();
  if (id === 'aprobar') {
    state.own = true;
    if (state.me) {
      const mine = await fetch('/v1/citizen/approvals', { credentials: 'same-origin' });
      if (mine.ok) state.mine = (await mine.json()).approvals;
      await loadFactor();
    }
    render();
    return;
  }
  const res = await fetch(`/v1/citizen/approvals/${encodeURIComponent(id)}`, { credentials: 'same-origin' });
  if (res.ok) {
    state.request = await res.json();
    await loadFactor();
  } else if (res.status === 403) {
    state.error = { key: 'notYours' };
  } else if (res.status === 404) {
    state.error = { key: 'notFound' };
  } else {
    const p = await res.json().catch(() => ({}));
    state.error = { key: 'failed', arg: p.detail ?? String(res.status) };
  }
  render();
}

document.addEventListener('DOMContentLoaded', () => {
  $('lang').addEventListener('click', () => {
    lang = lang === 'es' ? 'en' : 'es';
    render();
  });
  $('logout').addEventListener('click', async () => {
    await fetch('/v1/citizen/logout', { method: 'POST', credentials: 'same-origin' });
    state = { me: null, request: null, error: { key: 'loggedOut' } };
    render();
  });
  $('enrol-begin').addEventListener('click', beginEnrolment);
  $('send-code-button').addEventListener('click', async () => {
    const sent = await post(`/v1/citizen/approvals/${encodeURIComponent(state.request.id)}/code`, {});
    if (sent.ok) {
      state.codeSent = sent.answer;
      state.error = null;
    } else {
      state.error = { key: 'refused', arg: sent.answer.detail ?? String(sent.status) };
    }
    render();
    if (sent.ok) $('decide-code').focus();
  });
  $('enrol-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const done = await post('/v1/citizen/totp/confirm', { code: $('enrol-code').value.trim() });
    state.error = done.ok ? null : { key: 'refused', arg: done.answer.detail ?? String(done.status) };
    if (done.ok) {
      state.enrolment = null;
      await loadFactor();
    }
    render();
  });
  const decide = async (approve) => {
    const id = state.request.id;
    const done = await post(`/v1/citizen/approvals/${encodeURIComponent(id)}/${approve ? 'confirm' : 'reject'}`,
      { code: $('decide-code').value.trim() });
    if (done.ok && done.answer.redirect_url) {
      location.assign(done.answer.redirect_url);  // back to the institution, with the outcome
      return;
    }
    state.error = { key: 'refused', arg: done.answer.detail ?? String(done.status) };
    render();
  };
  $('decide-form').addEventListener('submit', (e) => {
    e.preventDefault();
    decide(true);
  });
  $('reject').addEventListener('click', () => {
    if ($('decide-form').reportValidity()) decide(false);
  });
  render();
  load();
});
