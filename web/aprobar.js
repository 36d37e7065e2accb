// The citizen's approval page: who is logged in, which institution asks,
// and every document of the request (name, type, SHA-256). Reads
// /v1/citizen/me and /v1/citizen/approvals/{id} with the session cookie;
// the node shows a request only to the citizen it names.

const TEXT = {
  es: {
    title: 'Aprobar documentos', asks: 'Solicitud de', status: 'Estado', expires: 'Vence',
    documents: 'Documentos', logout: 'Cerrar sesión', langButton: 'English', langAria: 'Switch to English',
    who: 'Sesión de {0} (documento {1})', unnamed: 'Documento sin nombre',
    pending: 'pendiente', approved: 'aprobada', rejected: 'rechazada', locked: 'bloqueada', expired: 'vencida',
    notYours: 'Esta solicitud es para otra persona. Ingrese con la cuenta de la persona a la que se dirige.',
    notFound: 'No existe esta solicitud.', loggedOut: 'Sesión cerrada.', failed: 'No se pudo cargar la solicitud: {0}',
  },
  en: {
    title: 'Approve documents', asks: 'Request from', status: 'Status', expires: 'Expires',
    documents: 'Documents', logout: 'Log out', langButton: 'Español', langAria: 'Cambiar a español',
    who: 'Logged in as {0} (document {1})', unnamed: 'Unnamed document',
    pending: 'pending', approved: 'approved', rejected: 'rejected', locked: 'locked', expired: 'expired',
    notYours: 'This request is for someone else. Log in as the person it is addressed to.',
    notFound: 'There is no such request.', loggedOut: 'Logged out.', failed: 'The request could not be loaded: {0}',
  },
};

let lang = navigator.language && navigator.language.startsWith('en') ? 'en' : 'es';
let state = { me: null, request: null, error: null };
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
  $('error').hidden = !state.error;
  $('error').textContent = state.error ? t(state.error.key, state.error.arg ?? '') : '';
}

async function load() {
  const id = location.pathname.split('/').pop();
  const me = await fetch('/v1/citizen/me', { credentials: 'same-origin' });
  if (me.ok) state.me = await me.json();
  const res = await fetch(`/v1/citizen/approvals/${encodeURIComponent(id)}`, { credentials: 'same-origin' });
  if (res.ok) {
    state.request = await res.json();
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
  render();
  load();
});
