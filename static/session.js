// The signed-in session shared by the buyer's pages (checkout, order, account): kept in
// sessionStorage, refreshed before it expires, and a sign-in / create-account form.

const KEY = 'livedrop.session';
const MARGIN_MS = 60_000;
export let session = JSON.parse(sessionStorage.getItem(KEY) || 'null');

function keep(s) {
  session = s ? { ...s, expires_at: s.expires_at ?? Date.now() + s.expires_in * 1000 } : null;
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else sessionStorage.removeItem(KEY);
}

/// When the access token expires (ms): kept at sign-in, or read from the token itself
/// for a session another page's script kept.
function expiresAt(s) {
  if (s.expires_at) return s.expires_at;
  try {
    const claims = JSON.parse(atob(s.access_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return claims.exp * 1000;
  } catch {
    return 0;
  }
}

let refreshing = null;
async function fresh() {
  // Another script of the page (an older page's own sign-in form) may have signed in.
  session ??= JSON.parse(sessionStorage.getItem(KEY) || 'null');
  if (!session) return null;
  if (expiresAt(session) - Date.now() > MARGIN_MS) return session;
  refreshing ??= (async () => {
    const res = await fetch('/api/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: session.refresh_token }),
    });
    keep(res.ok ? await res.json() : null);
    return session;
  })().finally(() => { refreshing = null; });
  return refreshing;
}

export async function api(method, path, body) {
  const s = await fresh();
  const headers = { 'content-type': 'application/json' };
  if (s) headers.authorization = `Bearer ${s.access_token}`;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await res.json(); } catch { /* empty body */ }
  if (res.status === 401 && s) keep(null);
  return { ok: res.ok, status: res.status, data };
}

/// A call whose answer is not JSON (a page, a CSV file): the fetch `Response`, sent with
/// the session's token (refreshed first when it is about to expire).
export async function request(method, path, body) {
  const s = await fresh();
  const headers = { 'content-type': 'application/json' };
  if (s) headers.authorization = `Bearer ${s.access_token}`;
  return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

export function signOut() { keep(null); }

/// Keep a session from a login or registration answer.
export function keepSession(s) { keep(s); }

export function money(cents, currency) {
  const digits = ['JPY', 'KRW'].includes(currency) ? 0 : 2;
  return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(cents / 10 ** digits);
}

export function say(el, text, ok = true) {
  el.textContent = text;
  el.className = ok ? 'ok' : 'error';
}

export function errorText(r) {
  const e = r.data?.error;
  if (!e) return `Something went wrong (${r.status}).`;
  const fields = e.fields ? Object.entries(e.fields).map(([k, v]) => `${k}: ${v}`).join('; ') : '';
  return fields ? `${e.message} — ${fields}` : e.message;
}

/// Fill `section` with a sign-in form (and a create-account switch); calls `done` once
/// signed in.
export function signInForm(section, done) {
  section.hidden = false;
  section.innerHTML = `
    <h2 id="signin-h">Sign in to continue</h2>
    <form id="signin-form" data-testid="signin-form">
      <label for="si-email">Email</label>
      <input id="si-email" name="email" type="email" autocomplete="username" required>
      <label for="si-password">Password</label>
      <input id="si-password" name="password" type="password" autocomplete="current-password" minlength="10" required>
      <button type="submit" id="si-submit">Sign in</button>
      <button type="button" id="si-switch" class="secondary">Create an account instead</button>
      <p id="si-message" role="status" aria-live="polite"></p>
    </form>`;
  section.setAttribute('aria-labelledby', 'signin-h');
  let creating = false;
  const form = section.querySelector('form');
  const msg = section.querySelector('#si-message');
  section.querySelector('#si-switch').addEventListener('click', () => {
    creating = !creating;
    section.querySelector('#signin-h').textContent = creating ? 'Create an account' : 'Sign in to continue';
    section.querySelector('#si-submit').textContent = creating ? 'Create account' : 'Sign in';
    section.querySelector('#si-switch').textContent = creating ? 'I have an account' : 'Create an account instead';
    form.password.autocomplete = creating ? 'new-password' : 'current-password';
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { email: form.email.value, password: form.password.value };
    if (creating) {
      const r = await api('POST', '/api/auth/register', { ...body, role: 'buyer' });
      if (!r.ok) return say(msg, errorText(r), false);
    }
    const r = await api('POST', '/api/auth/login', body);
    if (!r.ok) return say(msg, errorText(r), false);
    keep(r.data);
    section.hidden = true;
    done();
  });
}
