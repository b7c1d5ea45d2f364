// The signed-in session shared by every page (the buyer's, the studio, the dashboard, the
// admin console): kept in sessionStorage, refreshed before it expires; the API calls that
// carry it, sign-out, money in minor units, a sign-in / create-account form, and the live
// feed over the WebSocket.

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
/// A session whose access token is good for a while yet, refreshed once if needed
/// (concurrent callers share the one refresh: the refresh token is single-use).
async function fresh() {
  // Another script of the page (an older page's own sign-in form) may have signed in.
  session ??= JSON.parse(sessionStorage.getItem(KEY) || 'null');
  if (!session) return null;
  if (expiresAt(session) - Date.now() > MARGIN_MS) return session;
  refreshing ??= (async () => {
    const old = session;
    const res = await fetch('/api/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: old.refresh_token }),
    });
    const next = res.ok ? await res.json() : null;
    // Signed out (or in as someone else) meanwhile: that stands.
    if (session === old) keep(next);
    return session;
  })().finally(() => { refreshing = null; });
  return refreshing;
}

/// The access token, refreshed first if it is about to expire; null when signed out.
/// For what `api` cannot do: a socket's `auth`, a download read as a blob.
export async function accessToken() {
  return (await fresh())?.access_token ?? null;
}

/// A JSON API call with the session's bearer token (refreshed first when it is about to
/// expire) and any `extra` headers: `{ ok, status, data }`. A 401 ends the session.
export async function api(method, path, body, extra = {}) {
  const res = await request(method, path, body, extra);
  let data = null;
  try { data = await res.json(); } catch { /* empty body */ }
  if (res.status === 401 && session) keep(null);
  return { ok: res.ok, status: res.status, data };
}

/// A call whose answer need not be JSON (a page, a CSV file): the fetch `Response`, sent
/// with the session's token (refreshed first when it is about to expire).
export async function request(method, path, body, extra = {}) {
  const s = await fresh();
  const headers = { 'content-type': 'application/json', ...extra };
  if (s) headers.authorization = `Bearer ${s.access_token}`;
  return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/// Forget the session. With `server`, the server forgets its refresh token too (best
/// effort; the access token lapses by itself within 15 minutes).
export async function signOut({ server = false } = {}) {
  const s = session;
  keep(null);
  if (!server || !s?.refresh_token) return;
  await fetch('/api/auth/logout', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: s.refresh_token }),
    keepalive: true,
  }).catch(() => {});
}

/// Keep a session from a login or registration answer.
export function keepSession(s) { keep(s); }

// The zero-decimal currencies: this mirrors the exponents of CURRENCIES in
// src/domain/money.rs (every other currency there has two decimals); change both together.
const ZERO_DECIMAL = ['JPY', 'KRW'];

/// Minor units per major unit: 100 for USD, 1 for JPY.
export function minor(currency) {
  return ZERO_DECIMAL.includes(String(currency).toUpperCase()) ? 1 : 100;
}

/// An amount in minor units, formatted in its currency (`2500, 'USD'` → "$25.00").
export function money(cents, currency) {
  const per = minor(currency);
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(cents / per);
  } catch {
    // Not a currency code the browser knows.
    return `${(cents / per).toFixed(per === 1 ? 0 : 2)} ${currency}`;
  }
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

/// Show a refused form's field errors next to their fields: each control marked
/// `data-field="<the API's field name>"` (or, for `links[2].url`, the one marked `links`)
/// gets a message under it, `aria-invalid` and `aria-describedby`; the first is focused.
/// Called with no answer, it clears them. True when a field error was shown.
export function fieldErrors(form, r) {
  for (const old of form.querySelectorAll('.field-error')) old.remove();
  for (const el of form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    el.removeAttribute('aria-describedby');
  }
  const fields = r?.data?.error?.fields || {};
  let first = null;
  for (const [name, message] of Object.entries(fields)) {
    const base = name.split(/[.[]/)[0];
    const el = form.querySelector(`[data-field="${CSS.escape(name)}"]`) || form.querySelector(`[data-field="${CSS.escape(base)}"]`);
    if (!el) continue;
    const p = document.createElement('p');
    p.className = 'field-error error';
    p.id = `${el.id || base}-error-${Math.random().toString(36).slice(2, 8)}`;
    p.textContent = message;
    el.after(p);
    el.setAttribute('aria-invalid', 'true');
    el.setAttribute('aria-describedby', p.id);
    first ??= el;
  }
  first?.focus();
  return first !== null;
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

// ---------------------------------------------------------------------------------------
// The live feed over the WebSocket (/ws), one helper for every page that watches topics:
// it signs the socket in with the session's access token (refreshed first), subscribes,
// hands each message to the page, and after a drop reconnects with a growing pause
// (0.5 s doubling to 10 s) and subscribes again (each subscription answers with a
// snapshot, so the page catches up). When the token expires the server says
// `token_expired` and drops the private topics (`user:`, `dashboard:`): the feed signs in
// again with a fresh token and subscribes them again.
//
// The protocol is in src/ws/protocol.rs: `{op: auth|subscribe|unsubscribe, …}` out,
// `{topic, type: snapshot|update, seq, server_time, data}` and `{type: ack|error|pong, …}` in.

const FIRST_PAUSE_MS = 500;
const LAST_PAUSE_MS = 10_000;

/// Watch `topics()` (a function: it is asked again at each (re)subscription, so it follows
/// the page's state) and call `onMessage(message)` for every message but the acks.
/// Options: `signedOut()`, for a page that is nothing without a session: called instead of
/// connecting when there is none (the feed then stops); `onClose()`, when the socket drops
/// (a reconnect follows).
/// Returns `{ update(), restart(), close() }`: `update` subscribes to what `topics()` says
/// now and unsubscribes from the rest; `restart` reconnects at once (after a sign-in: the
/// socket is then this account's); `close` stops for good.
export function live(topics, onMessage, { signedOut = null, onClose = null } = {}) {
  let socket = null;
  let subscribed = new Set();
  let pause = FIRST_PAUSE_MS;
  let timer = null;
  let stopped = false;
  let ready = false;        // signed in and subscribed: `update` may send
  let turns = 0;            // the latest connect() (an older one still waiting gives way)

  const send = (ws, msg) => ws.send(JSON.stringify(msg));

  /// Sign the socket in with a fresh token; false when there is no session.
  async function auth(ws) {
    const token = await accessToken();
    if (socket !== ws || ws.readyState !== WebSocket.OPEN) return false;
    if (token) send(ws, { op: 'auth', token });
    return Boolean(token);
  }

  function subscribeAll(ws, again = false) {
    const want = new Set(topics());
    for (const t of subscribed) {
      if (!want.has(t)) send(ws, { op: 'unsubscribe', topic: t });
    }
    // `again`: subscribe the ones we have too (the server answers an ack for a topic it
    // still has, a snapshot for one it dropped).
    for (const t of want) {
      if (again || !subscribed.has(t)) send(ws, { op: 'subscribe', topic: t });
    }
    subscribed = want;
  }

  async function connect() {
    const turn = ++turns;
    clearTimeout(timer);
    if (socket) { const old = socket; socket = null; old.close(); }
    ready = false;
    subscribed = new Set();
    if (stopped) return;
    if (signedOut && !(await accessToken())) {
      if (turn !== turns) return;
      stopped = true;
      return signedOut();
    }
    if (turn !== turns || stopped) return;
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    socket = ws;
    ws.addEventListener('open', async () => {
      pause = FIRST_PAUSE_MS;
      const signedIn = await auth(ws);
      if (socket !== ws) return;
      if (!signedIn && signedOut) {
        stopped = true;
        socket = null;
        ws.close();
        return signedOut();
      }
      subscribeAll(ws, true);
      ready = true;
    });
    ws.addEventListener('message', async (e) => {
      if (socket !== ws) return;
      const m = JSON.parse(e.data);
      if (m.type === 'ack' || m.type === 'pong') return;
      if (m.type === 'error' && m.code === 'token_expired') {
        // Sign in again and take the private topics back; without a session the page hears
        // of it (its private topics are gone).
        if (await auth(ws)) return subscribeAll(ws, true);
        if (socket !== ws) return;
      }
      onMessage(m);
    });
    ws.addEventListener('close', () => {
      if (socket !== ws) return;
      socket = null;
      ready = false;
      subscribed = new Set();
      onClose?.();
      timer = setTimeout(connect, pause);
      pause = Math.min(pause * 2, LAST_PAUSE_MS);
    });
  }

  connect();
  return {
    update() {
      // Not ready yet: the socket subscribes to what `topics()` says once it is.
      if (ready && socket.readyState === WebSocket.OPEN) subscribeAll(socket);
    },
    restart() {
      stopped = false;
      pause = FIRST_PAUSE_MS;
      connect();
    },
    close() {
      stopped = true;
      ready = false;
      clearTimeout(timer);
      if (socket) { const old = socket; socket = null; old.close(); }
    },
  };
}

/// Remind an account whose email is not confirmed yet, in `box` (a hidden element): what
/// waits on it, and a button that sends the link again. Hidden again once confirmed.
export function verifyReminder(box, me, waits = 'Publishing and payouts wait for it.') {
  box.hidden = me.email_verified;
  if (me.email_verified) return;
  box.replaceChildren();
  const text = document.createElement('span');
  text.textContent = `Confirm your email address: we sent a link to ${me.email}. ${waits} `;
  const again = document.createElement('button');
  again.type = 'button';
  again.className = 'secondary';
  again.textContent = 'Send the link again';
  const out = document.createElement('span');
  out.setAttribute('role', 'status');
  again.addEventListener('click', async () => {
    const r = await api('POST', '/api/auth/verify/resend', {});
    say(out, r.ok ? ' Sent: look in your inbox.' : ` ${errorText(r)}`, r.ok);
  });
  box.append(text, again, out);
}

/// How a page takes a payment: the test provider's card field, or — when the node takes
/// real payments through Stripe — Stripe's Payment Element in `box` (Stripe.js loads from
/// js.stripe.com, as Stripe requires; the CSP allows it only on such a node). `card` is the
/// page's test-card field (hidden with Stripe). Returns `{ fields() }`, which resolves to
/// the checkout body's payment part (`{card}` or `{payment_method}`) or throws an Error
/// whose message can be shown.
export async function paymentForm(box, card, { amount, currency }) {
  const c = await api('GET', '/api/payments/config');
  if (!c.ok || c.data.provider !== 'stripe') {
    return { fields: async () => ({ card: card.value.replace(/\s+/g, '') }) };
  }
  card.hidden = true;
  const label = document.querySelector(`label[for=${card.id}]`);
  if (label) label.hidden = true;
  const fail = (text) => {
    box.textContent = text;
    return { fields: async () => { throw new Error(text); } };
  };
  if (!c.data.publishable_key) return fail('Card payments are not set up on this service yet.');
  try {
    if (!window.Stripe) {
      await new Promise((resolve, reject) => {
        const s = document.createElement('script');
        s.src = 'https://js.stripe.com/v3/';
        s.onload = resolve;
        s.onerror = () => reject(new Error('Stripe.js did not load'));
        document.head.append(s);
      });
    }
  } catch {
    return fail('The payment form could not load. Check your connection and reload the page.');
  }
  const stripe = window.Stripe(c.data.publishable_key);
  const elements = stripe.elements({ mode: 'payment', amount, currency: currency.toLowerCase(), paymentMethodCreation: 'manual' });
  elements.create('payment').mount(box);
  return {
    fields: async () => {
      const checked = await elements.submit();
      if (checked.error) throw new Error(checked.error.message);
      const made = await stripe.createPaymentMethod({ elements });
      if (made.error) throw new Error(made.error.message);
      return { payment_method: made.paymentMethod.id };
    },
  };
}
