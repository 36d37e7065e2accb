// A headless browser for the OpenID Connect tests: a cookie jar (Path
// scoping and expiry; like a browser, one jar for every port of a host),
// redirects followed, forms found and posted.
import assert from 'node:assert/strict';

// A browser's cookie store, enough for oidc-provider: Path scoping and expiry.
export class CookieJar {
  #cookies = new Map();  // "name;path" -> { name, value, path }

  store(url, response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const cookie = { name: pair.slice(0, eq), value: pair.slice(eq + 1), path: '/' };
      let expired = false;
      for (const a of attrs) {
        const [k, v = ''] = a.split('=');
        if (k.toLowerCase() === 'path') cookie.path = v;
        if (k.toLowerCase() === 'expires' && Date.parse(v) <= Date.now()) expired = true;
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      }
      const key = `${cookie.name};${cookie.path}`;
      if (expired) this.#cookies.delete(key);
      else this.#cookies.set(key, cookie);
    }
  }

  // Forgets every cookie named `name` (a session that ended).
  drop(name) {
    for (const [key, c] of this.#cookies) if (c.name === name) this.#cookies.delete(key);
  }

  header(url) {
    const path = new URL(url).pathname;
    return [...this.#cookies.values()]
      .filter((c) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

// Follows redirects as a browser would, with the jar, until a page that is not
// a redirect. Returns that response, its URL and its body. With `stopAt`, a
// redirect to a URL that begins with it is not followed: its URL is returned
// (body ''), as a relying party's redirect URI would receive it.
export async function browse(jar, url, init = {}, stopAt = null) {
  let current = new URL(url);
  let request = init;
  for (let hops = 0; hops < 20; hops++) {
    const headers = { ...(request.headers ?? {}) };
    const cookie = jar.header(current);
    if (cookie) headers.cookie = cookie;
    const res = await fetch(current, { ...request, headers, redirect: 'manual' });
    jar.store(current, res);
    if (res.status >= 300 && res.status < 400) {
      await res.arrayBuffer();
      current = new URL(res.headers.get('location'), current);
      if (stopAt && current.href.startsWith(stopAt)) return { res, url: current, body: '' };
      request = {};  // a 303 (or 302 after a POST) continues as a GET
      continue;
    }
    return { res, url: current, body: await res.text() };
  }
  throw new Error('too many redirects');
}

export const formAction = (page, suffix) => {
  const actions = [...page.body.matchAll(/<form method="post" action="([^"]+)"/g)].map((m) => m[1]);
  const action = actions.find((a) => a.endsWith(suffix));
  assert.ok(action, `a form posting to …${suffix} in: ${page.body.slice(0, 400)}`);
  return new URL(action, page.url);
};
export const post = (jar, url, fields, stopAt = null) => browse(jar, url, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
}, stopAt);

