// A citizen's login, headless, for the C++ tests (tests/common/citizen.h):
// opens an approval link on the node, logs in at the development provider
// (its real login and consent forms), comes back to the node and prints what
// the citizen's routes take: {"cookie": "...", "csrf": "...", "page": STATUS}.
// On a failure prints {"error": "..."} and exits 1.
//
// Usage: node tests/oidc/login.mjs LINK DOCUMENT_NUMBER [PASSWORD]
import { CookieJar, browse, formAction, post } from './browser.mjs';

const [link, document, password = 'clave-dev'] = process.argv.slice(2);
try {
  if (!link || !document) throw new Error('usage: login.mjs LINK DOCUMENT_NUMBER [PASSWORD]');
  const jar = new CookieJar();
  const login = await browse(jar, link);
  const consent = await post(jar, formAction(login, '/login'), { username: document, password });
  const page = await post(jar, formAction(consent, '/confirm'), {});
  const base = new URL(link).origin;
  const me = await fetch(`${base}/v1/citizen/me`, { headers: { cookie: jar.header(`${base}/v1/citizen/me`) } });
  const body = await me.json();
  if (me.status !== 200) throw new Error(`/v1/citizen/me answered ${me.status}: ${JSON.stringify(body)}`);
  console.log(JSON.stringify({ cookie: jar.header(`${base}/v1/citizen/me`), csrf: body.csrf, page: page.res.status,
                               landed: page.url.href }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e.message ?? e) }));
  process.exit(1);
}
