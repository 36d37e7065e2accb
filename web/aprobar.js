// The citizen's approval page: who is logged in, which institution asks,
// every document of the request (name, type, SHA-256), the citizen's own
// authenticator (enrolled here, shown only to them) and the decision with
// its code. At /aprobar (no request) the citizen's own page: every request
// that named them, at every institution (each decided document linked to the
// verification page, which checks its proofs in the browser), and their
// authenticator. Reads /v1/citizen/* with the session cookie and sends the
// session's CSRF token with every POST; the node shows a request only to
// the citizen it names.

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
  },
};

let lang = navigator.language && navigator.language.startsWith('en') ? 'en' : 'es';
let state = { me: null, request: null, error: null, factor: null, enrolment: null };
const $ = (id) => document.getElementById(id);
const t = (key, ...args) => TEXT[lang][key].replace(/\{(\d)\}/g, (_, i) => args[Number(i)]);

function render() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  $('lang').textContent = t('langButton');
  $('lang').setAttribute('aria-label', t('langAria'));
  $('lang').lang = lang === 'es' ? 'en' : 'es';
  $('who').textContent = state.me ? t('who', state.me.name || '—', state.me.document_number) : '';
  const r = state.request;
  $('request').hidden = !r;
  if (r) {
    $('institution').textContent = r.institution;
    $('status').textContent = TEXT[lang][r.status] ?? r.status;
    $('expires').textContent = new Date(r.expires_at).toLocaleString(lang === 'es' ? 'es-BO' : 'en');
    const list = $('documents');
    list.replaceChildren();
    for (const d of r.documents) {
      const li = document.createElement('li');
      const name = document.createElement('strong');
      name.textContent = d.name || t('unnamed');
      const meta = document.createElement('span');
      meta.className = 'help';
      meta.textContent = ` · ${d.media_type} · SHA-256 `;
      const hash = document.createElement('code');
      hash.textContent = d.sha256;
      li.append(name, meta, hash);
      list.append(li);
    }
  }
  const pending = r && r.status === 'pending';
  const own = state.own && state.me;  // the citizen's own page
  $('enrol').hidden = !((pending || own) && state.enrolment);
  $('enrol-start').hidden = !((pending || own) && state.factor && !state.factor.enrolled && !state.enrolment);
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
  $('decide').hidden = !(pending && state.factor && state.factor.enrolled);
  $('error').hidden = !state.error;
  $('error').textContent = state.error ? t(state.error.key, state.error.arg ?? '') : '';
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
