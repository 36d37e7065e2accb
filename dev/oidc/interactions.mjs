// The development provider's own login and consent pages, mounted in front of
// oidc-provider's routes through its documented interaction API
// (interactionDetails / interactionResult). oidc-provider's built-in
// devInteractions accept any login and any password, so an unknown citizen
// would loop back to the login page instead of being refused: these pages check
// the document number against the test citizens and the one development
// password, and answer a refusal that a test (or a person) can see.
//
// Routes (uid is the interaction oidc-provider created; its cookie binds the
// browser to it):
//   GET  /interaction/:uid          the login form, or the consent form
//   POST /interaction/:uid/login    username (document number) + password
//   POST /interaction/:uid/confirm  consent: grant the scopes and claims asked
//   POST /interaction/:uid/abort    cancel: access_denied back to the client
import { createHash, timingSafeEqual } from 'node:crypto';

const kMaxFormBytes = 4096;
const kRoute = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|confirm|abort))?$/;

const escapeHtml = (s) => String(s).replace(/[&<>"']/g,
  (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

// Compares through fixed-length digests so neither length nor content leaks in time.
const sameSecret = (a, b) => timingSafeEqual(
  createHash('sha256').update(String(a)).digest(), createHash('sha256').update(String(b)).digest());

async function readForm(req) {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return null;
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > kMaxFormBytes) return null;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function page(title, body) {
  return `<!doctype html>
<html lang="es"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} — proveedor de identidad de DESARROLLO</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 26rem; margin: 2rem auto; padding: 0 1rem; color: #111; }
  .dev { background: #fde68a; border: 2px solid #92400e; padding: .5rem .75rem; font-weight: 600; }
  label { display: block; margin-top: 1rem; font-weight: 600; }
  input { width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; }
  button { margin-top: 1.25rem; padding: .6rem 1.2rem; font-size: 1rem; }
  h1 { font-size: 1.5rem; }
  .error { color: #991b1b; font-weight: 600; }
  .hint { font-size: .9rem; color: #374151; }
  :focus-visible { outline: 3px solid #1d4ed8; outline-offset: 2px; }
</style></head>
<body>
<p class="dev" role="note">Proveedor de identidad de DESARROLLO — nunca en producción.
<span lang="en">DEVELOPMENT identity provider — never use in production.</span></p>
${body}
</body></html>`;
}

function loginPage({ uid, clientName, error, username, hint }) {
  const err = error ? `<p class="error" role="alert" id="error">${escapeHtml(error)}</p>` : '';
  return page('Iniciar sesión', `<h1>Iniciar sesión <span lang="en">(sign in)</span></h1>
<p>${escapeHtml(clientName)} solicita su identidad.</p>
${err}
<form method="post" action="/interaction/${uid}/login">
  <label for="username">Número de documento de identidad <span lang="en">(document number)</span></label>
  <input id="username" name="username" autocomplete="username" required autofocus
         value="${escapeHtml(username ?? '')}"${error ? ' aria-describedby="error"' : ''}>
  <label for="password">Contraseña <span lang="en">(password)</span></label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Ingresar</button>
</form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Cancelar</button></form>
<p class="hint">${escapeHtml(hint)}</p>`);
}

function consentPage({ uid, clientName, citizenName, scopes, claims }) {
  const items = [...scopes, ...claims].map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('');
  return page('Autorizar', `<h1>Autorizar <span lang="en">(authorize)</span></h1>
<p>${escapeHtml(citizenName)}: ${escapeHtml(clientName)} pide acceso a:</p>
<ul>${items}</ul>
<form method="post" action="/interaction/${uid}/confirm"><button type="submit" autofocus>Autorizar</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Cancelar</button></form>`);
}

function send(ctx, status, html) {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  ctx.body = html;
}

// Returns the Koa middleware. `citizens.byDocument` maps a document number to
// a citizen ({ sub, name, ... }); `password` is the one development password.
export function interactionRoutes(provider, { citizens, password, log }) {
  // Shown on the form: a development provider hides nothing from whoever runs it.
  const hint = `Ciudadanos de prueba: ${[...citizens.byDocument.keys()].join(', ')}; contraseña «${password}».`;
  return async function interactions(ctx, next) {
    const m = kRoute.exec(ctx.path);
    if (!m) return next();
    const [, uid, action] = m;
    if ((action === undefined) !== (ctx.method === 'GET')) {
      ctx.status = 405;
      return undefined;
    }

    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (e) {
      // Expired or unknown interaction, or a cookie from another browser.
      return send(ctx, 400, page('Sesión expirada', `<h1>La sesión de inicio expiró</h1>
<p class="error" role="alert">${escapeHtml(e.error_description ?? e.message)}</p>
<p>Vuelva a la aplicación e inténtelo de nuevo.</p>`));
    }
    if (details.uid !== uid) {
      return send(ctx, 400, page('Error', '<h1>Esta página no corresponde a su sesión</h1>'));
    }
    const client = await provider.Client.find(details.params.client_id);
    const clientName = client?.clientName ?? details.params.client_id;
    const prompt = details.prompt.name;

    const finish = async (result, merge) => {
      const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
      ctx.status = 303;
      ctx.redirect(to);
    };

    if (action === 'abort') {
      return finish({ error: 'access_denied', error_description: 'the citizen cancelled' }, false);
    }

    if (prompt === 'login') {
      if (action === undefined) return send(ctx, 200, loginPage({ uid, clientName, hint }));
      if (action !== 'login') {
        return send(ctx, 400, loginPage({ uid, clientName, hint, error: 'Inicie sesión primero.' }));
      }
      const form = await readForm(ctx.req);
      const username = form?.get('username')?.trim() ?? '';
      const citizen = citizens.byDocument.get(username);
      // The password is compared even for an unknown citizen, and both
      // refusals read the same, so the page does not tell which was wrong.
      const passwordOk = sameSecret(form?.get('password') ?? '', password);
      if (!citizen || !passwordOk) {
        log('login refused (unknown document number or wrong password)');
        return send(ctx, 401, loginPage({
          uid, clientName, hint, username, error: 'Documento o contraseña incorrectos.',
        }));
      }
      log(`login: ${citizen.sub}`);
      return finish({ login: { accountId: citizen.sub, amr: ['pwd'] } }, false);
    }

    if (prompt === 'consent') {
      const { missingOIDCScope = [], missingOIDCClaims = [], missingResourceScopes } = details.prompt.details;
      if (action === undefined) {
        const citizen = citizens.bySub.get(details.session?.accountId);
        return send(ctx, 200, consentPage({
          uid, clientName, citizenName: citizen?.name ?? '', scopes: missingOIDCScope, claims: missingOIDCClaims,
        }));
      }
      if (action !== 'confirm') return send(ctx, 400, page('Error', '<h1>Autorice o cancele</h1>'));
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      if (missingOIDCScope.length) grant.addOIDCScope(missingOIDCScope.join(' '));
      if (missingOIDCClaims.length) grant.addOIDCClaims(missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      return finish({ consent: { grantId: await grant.save() } }, true);
    }

    return send(ctx, 501, page('Error', `<h1>Interacción no soportada: ${escapeHtml(prompt)}</h1>`));
  };
}
