// The drop page: a countdown that agrees with the server, live stock per variant over the
// WebSocket, the waiting room or reserve button, the hold's own countdown and checkout.
// Everything updates in place; nothing reloads. Sign-in, account creation, the session
// (refreshed before it expires) and the socket's reconnecting come from the shared session
// module.

import { api, session, money, signInForm, live, paymentForm } from '/static/session.js';

const id = location.pathname.split('/').filter(Boolean).pop();
const $ = (sel) => document.querySelector(sel);
let state = null;          // the latest drop state (highest seq)
let offset = 0;            // server clock minus ours, in ms
let hold = null;           // our active hold
let payment = null;        // paymentForm(), once a hold shows the pay form
let ticket = null;         // our waiting-room ticket

function say(text, ok = true) {
  const m = $('#message');
  m.textContent = text;
  m.className = ok ? 'ok' : 'error';
}

const now = () => Date.now() + offset;

function fmt(ms) {
  if (ms <= 0) return '0s';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
  return (d ? `${d}d ` : '') + (d || h ? `${h}h ` : '') + (d || h || m ? `${m}m ` : '') + `${r}s`;
}

/// The status the clock gives, between server pushes (the server's own is authoritative).
function liveStatus() {
  if (!state) return '…';
  const opens = Date.parse(state.opens_at);
  const closes = state.closes_at ? Date.parse(state.closes_at) : null;
  if (['paused', 'cancelled', 'ended', 'draft'].includes(state.status)) return state.status;
  if (closes && now() >= closes) return 'ended';
  if (now() < opens) return 'scheduled';
  const left = state.variants.reduce((a, v) => a + v.remaining, 0);
  return left > 0 ? 'live' : 'sold_out';
}

function inWaitingRoom() {
  return state && state.waiting_room_opens_at && now() >= Date.parse(state.waiting_room_opens_at)
    && now() < Date.parse(state.opens_at);
}

function apply(next) {
  if (state && next.seq < state.seq) return;
  const first = !state;
  // An update carries what changed (always the whole variants and seq): merge it.
  state = state ? { ...state, ...next } : next;
  offset = Date.parse(next.server_time) - Date.now();
  if (first) renderStatic();
  renderVariants();
  tick();
}

function renderStatic() {
  document.title = `${state.title} · livedrop`;
  // The beacon (beacon.js) counts this page view for the storefront once it is named.
  if (state.storefront_id) document.documentElement.dataset.storefront = state.storefront_id;
  $('#title').textContent = state.title;
  $('#price').textContent = money(state.price_cents, state.currency);
  const q = $('#quantity');
  q.textContent = '';
  for (let i = 1; i <= state.per_buyer_limit; i++) q.append(new Option(String(i), String(i)));
}

function renderVariants() {
  const box = $('#variants');
  const chosen = box.querySelector('input:checked')?.value;
  box.querySelectorAll('.variant').forEach((e) => e.remove());
  for (const v of state.variants) {
    const row = document.createElement('div');
    row.className = 'variant';
    const input = document.createElement('input');
    input.type = 'radio'; input.name = 'variant'; input.value = v.id; input.id = `v-${v.id}`;
    input.checked = chosen ? chosen === v.id : v === state.variants.find((x) => x.remaining > 0);
    input.disabled = v.remaining === 0;
    const label = document.createElement('label');
    label.htmlFor = input.id;
    label.innerHTML = '';
    label.append(`${v.name} `);
    const left = document.createElement('span');
    left.className = 'remaining';
    left.dataset.testid = `remaining-${v.name}`;
    left.textContent = v.remaining === 0 ? 'sold out' : `${v.remaining} of ${v.stock} left`;
    label.append(left);
    row.append(input, label);
    box.append(row);
  }
}

function tick() {
  if (!state) return;
  const st = liveStatus();
  const badge = $('#status');
  badge.textContent = st.replace('_', ' ');
  badge.dataset.status = st;
  const cd = $('#countdown');
  if (st === 'scheduled') cd.textContent = `opens in ${fmt(Date.parse(state.opens_at) - now())}`;
  else if (st === 'live' && state.closes_at) cd.textContent = `closes in ${fmt(Date.parse(state.closes_at) - now())}`;
  else cd.textContent = '';
  const btn = $('#reserve');
  if (hold) { btn.disabled = true; btn.textContent = 'Reserved'; }
  else if (ticket && ticket.state === 'waiting') { btn.disabled = true; btn.textContent = 'In the queue…'; }
  else if (st === 'live') { btn.disabled = !session; btn.textContent = 'Reserve'; }
  else if (inWaitingRoom()) { btn.disabled = !session; btn.textContent = 'Join the queue'; }
  else if (st === 'scheduled') { btn.disabled = true; btn.textContent = 'Not open yet'; }
  else if (st === 'sold_out') { btn.disabled = true; btn.textContent = 'Sold out'; }
  else if (st === 'paused') { btn.disabled = true; btn.textContent = 'Paused'; }
  else if (st === 'cancelled') { btn.disabled = true; btn.textContent = 'Cancelled'; }
  else { btn.disabled = true; btn.textContent = st === 'ended' ? 'Ended' : 'Unavailable'; }
  if (hold && st === 'cancelled') { dropHold('The drop was cancelled; your reservation was released and you were not charged.'); return; }
  if (hold) {
    const left = Date.parse(hold.expires_at) - now();
    $('#hold-countdown').textContent = fmt(left);
    if (left <= 0) { hold = null; $('#hold').hidden = true; say('Your reservation lapsed; the units went back.', false); }
  }
}

function dropHold(message) {
  hold = null;
  $('#hold').hidden = true;
  say(message, false);
  tick();
}

function showHold(h) {
  hold = h;
  const v = state.variants.find((x) => x.id === h.variant_id);
  $('#hold-text').textContent = `${h.quantity} × ${v ? v.name : ''}`;
  $('#hold').hidden = false;
  // The test card, or Stripe's Payment Element on a node that takes real payments.
  payment ??= paymentForm($('#payment-element'), $('#card'), { amount: state.price_cents * h.quantity, currency: state.currency });
  tick();
}

$('#reserve').addEventListener('click', async () => {
  const variant_id = $('#variants input:checked')?.value;
  if (!variant_id) return say('Choose a variant first.', false);
  const body = { variant_id, quantity: Number($('#quantity').value) };
  if (inWaitingRoom()) {
    const r = await api('POST', `/api/drops/${id}/queue`, body);
    if (!r.ok) return say(r.data?.error?.message || 'Could not join the queue.', false);
    ticket = r.data;
    say('You are in the queue. At the opening second everyone in it is served in a fair random order.');
  } else {
    const r = await api('POST', `/api/drops/${id}/holds`, body, { 'idempotency-key': crypto.randomUUID() });
    if (!r.ok) return say(r.data?.error?.message || 'Could not reserve.', false);
    showHold(r.data);
    say('Reserved! Pay before the timer runs out.');
  }
  tick();
});

$('#pay-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (!hold) return;
  let fields;
  try { fields = await (await payment).fields(); } catch (err) { return say(err.message, false); }
  const r = await api('POST', `/api/holds/${hold.id}/checkout`, fields);
  if (!r.ok) return say(r.data?.error?.fields?.card || r.data?.error?.message || 'Payment failed.', false);
  if (r.data.status === 'paid') {
    hold = null; $('#hold').hidden = true;
    say(`Paid — order ${r.data.order_id} is confirmed (test provider: no money moved).`);
  } else if (r.data.status === 'pending') {
    say('Payment in progress…');
    pollOrder(r.data.order_id);
  } else {
    say('The card was declined. Try another while your reservation lasts.', false);
  }
  tick();
});

async function pollOrder(orderId) {
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const r = await api('GET', `/api/orders/${orderId}`);
    if (r.ok && r.data.status !== 'pending') {
      if (r.data.status === 'paid') { hold = null; $('#hold').hidden = true; say(`Paid — order ${orderId} is confirmed.`); }
      else say(`Payment ${r.data.status}.`, false);
      tick();
      return;
    }
  }
}

$('#release').addEventListener('click', async () => {
  if (!hold) return;
  await api('DELETE', `/api/holds/${hold.id}`);
  hold = null; $('#hold').hidden = true;
  say('Released.');
  tick();
});

/// Signed in (or an account made) in place: the socket reconnects as this buyer.
function signedIn() {
  say(`Signed in as ${session.user.email}.`);
  $('#forgot').hidden = true;
  connect();
  tick();
}

let feed = null;
/// The drop's state, and this buyer's own news (a queue's result, a released hold) when
/// signed in; a sign-in starts the socket again as this buyer.
function connect() {
  if (feed) return feed.restart();
  feed = live(() => (session ? [`user:${session.user.id}`] : []).concat(`drop:${id}`), onMessage);
}

function onMessage(m) {
  if (m.topic === `drop:${id}` && m.data) {
    apply(m.data);
    // A cancelled drop takes its reservations with it: no countdown, no Pay button.
    if (m.data.status === 'cancelled' && hold) dropHold('The drop was cancelled; your reservation was released and you were not charged.');
  }
  if (session && m.topic === `user:${session.user.id}` && m.data?.kind === 'hold_released' && hold && m.data.hold_id === hold.id) {
    dropHold('The drop was cancelled; your reservation was released and you were not charged.');
  }
  if (session && m.topic === `user:${session.user.id}` && m.data?.kind === 'queue_result') {
    const t = m.data.ticket;
    if (t.drop_id !== id) return;
    ticket = t;
    if (t.state === 'held') {
      api('GET', `/api/queue/${t.id}`).then((r) => { if (r.ok && r.data.hold) showHold(r.data.hold); });
      say('Your turn came: reserved! Pay before the timer runs out.');
    } else {
      say(t.state === 'sold_out' ? 'Sold out before your turn.' : 'You already have the most one buyer may take.', false);
    }
    tick();
  }
}

const first = await api('GET', `/api/drops/${id}`);
if (!first.ok) {
  $('#title').textContent = 'This drop does not exist';
} else {
  apply(first.data);
  if (!session) {
    signInForm($('#signin'), signedIn);
    $('#forgot').hidden = false;
  }
  connect();
  setInterval(tick, 250);
}
