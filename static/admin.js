// The admin console: every raffle with its entrants live over the WebSocket, and the draw
// of a closed raffle behind a confirmation, then its winners and proof. Admins only: any
// other account sees the server's refusal. The session (shared with the accounts and
// storefronts sections, and every other page of the tab) comes from the session module.

import { api, session, keepSession, signOut, live } from '/static/session.js';

const $ = (sel) => document.querySelector(sel);
const raffles = new Map(); // id → the latest raffle state (highest seq)
let offset = 0;            // server clock minus ours, in ms
let pending = null;        // the raffle the confirmation dialog is about

// Raffles worth watching live (a socket takes at most 32 topics).
const LIVE = ['scheduled', 'open', 'closed'];
const MAX_WATCHED = 30;

function say(text, ok = true) {
  const m = $('#message');
  m.textContent = text;
  m.className = ok ? 'ok' : 'error';
}

const now = () => Date.now() + offset;

/// A raffle's status on the server's clock, between pushes.
function liveStatus(s) {
  if (!['scheduled', 'open'].includes(s.status)) return s.status;
  if (now() < Date.parse(s.opens_at)) return 'scheduled';
  return now() < Date.parse(s.closes_at) ? 'open' : 'closed';
}

function cell(tr, name) {
  return tr.querySelector(`[data-cell=${name}]`);
}

/// The row of a raffle, made on first sight and updated in place after that (so a focused
/// Draw button keeps its focus while the totals move).
function renderRow(s) {
  let tr = document.querySelector(`tr[data-id="${s.id}"]`);
  if (!tr) {
    tr = document.createElement('tr');
    tr.dataset.testid = 'raffle-row';
    tr.dataset.id = s.id;
    for (const name of ['title', 'status', 'entrants', 'tickets', 'closes', 'action']) {
      const td = document.createElement('td');
      td.dataset.cell = name;
      tr.append(td);
    }
    const link = document.createElement('a');
    link.href = `/r/${s.id}`;
    cell(tr, 'title').append(link);
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.dataset.testid = 'row-status';
    cell(tr, 'status').append(badge);
    cell(tr, 'entrants').dataset.testid = 'row-entrants';
    const time = document.createElement('time');
    cell(tr, 'closes').append(time);
    const draw = document.createElement('button');
    draw.type = 'button';
    draw.textContent = 'Draw';
    draw.addEventListener('click', () => confirmDraw(s.id));
    cell(tr, 'action').append(draw);
    $('#rows').append(tr);
  }
  tr.querySelector('a').textContent = s.title;
  cell(tr, 'entrants').textContent = String(s.entrants);
  cell(tr, 'tickets').textContent = String(s.tickets);
  const time = tr.querySelector('time');
  time.dateTime = s.closes_at;
  time.textContent = new Date(s.closes_at).toLocaleString();
  tr.querySelector('button').setAttribute('aria-label', `Draw ${s.title}`);
  renderStatus(tr, s);
}

function renderStatus(tr, s) {
  const st = liveStatus(s);
  const badge = tr.querySelector('.badge');
  if (badge.dataset.status !== st) {
    badge.textContent = st;
    badge.dataset.status = st;
  }
  tr.querySelector('button').hidden = st !== 'closed';
}

function apply(next, snapshot = false) {
  const cur = raffles.get(next.id);
  if (cur && !snapshot && next.seq < cur.seq) return;
  raffles.set(next.id, next);
  offset = Date.parse(next.server_time) - Date.now();
  renderRow(next);
}

function tick() {
  for (const s of raffles.values()) {
    const tr = document.querySelector(`tr[data-id="${s.id}"]`);
    if (tr) renderStatus(tr, s);
  }
}

async function load() {
  const r = await api('GET', '/api/admin/raffles');
  if (r.status === 401) return signedOut('Sign in with an admin account.');
  if (r.status === 403) {
    $('#signin').hidden = false;
    $('#raffles').hidden = true;
    return say(`Forbidden: ${r.data?.error?.message || 'not an admin'}. Sign in with an admin account.`, false);
  }
  if (!r.ok) return say(r.data?.error?.message || 'Could not load the raffles.', false);
  $('#signin').hidden = true;
  $('#raffles').hidden = false;
  for (const s of r.data) apply(s, true);
  if (!r.data.length) say('No raffles yet.');
  connect();
}

function signedOut(why) {
  signOut();
  $('#signin').hidden = false;
  say(why, false);
}

function confirmDraw(raffleId) {
  pending = raffles.get(raffleId);
  $('#confirm-text').textContent = `Draw ${pending.title}? This cannot be undone.`;
  $('#confirm-draw').disabled = false;
  $('#confirm').showModal();
}

$('#confirm-cancel').addEventListener('click', () => $('#confirm').close());
$('#confirm').addEventListener('close', () => { pending = null; });

$('#confirm-draw').addEventListener('click', async () => {
  const s = pending;
  if (!s) return;
  $('#confirm-draw').disabled = true;
  const r = await api('POST', `/api/admin/raffles/${s.id}/draw`);
  $('#confirm').close();
  if (!r.ok) return say(r.data?.error?.message || 'The draw failed.', false);
  // The socket pushes the drawn state too; this shows it without waiting.
  apply({ ...s, status: 'drawn', winners: r.data.winners, alternates: r.data.alternates }, true);
  showResult(s, r.data);
  say(`${s.title} is drawn: ${r.data.winners.length} winner(s), ${r.data.alternates.length} alternate(s).`);
});

function showResult(s, drawn) {
  $('#result-h').textContent = `Drawn: ${s.title}`;
  const body = $('#result-winners');
  body.textContent = '';
  // Whom to send the prizes to: the draw's answer names each entrant's email (never public).
  const email = new Map((drawn.contacts || []).map((c) => [c.entrant, c.email]));
  for (const w of drawn.winners) {
    const tr = document.createElement('tr');
    for (const text of [`#${w.rank}`, w.entrant, email.get(w.entrant) || '—', String(w.tickets), w.prize]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    tr.children[1].className = 'mono';
    body.append(tr);
  }
  $('#result-alternates').textContent = drawn.alternates.length
    ? `Alternates, in order: ${drawn.alternates.map((a) => (email.has(a.entrant) ? `${a.entrant} (${email.get(a.entrant)})` : a.entrant)).join(', ')}`
    : 'Alternates: none.';
  // The page's own origin, which is where this admin reached the server.
  const proof = `/api/raffles/${s.id}/proof`;
  $('#result-proof').href = proof;
  $('#result-verify').textContent = `livedrop raffle verify ${location.origin}${proof}`;
  $('#result').hidden = false;
  $('#result').scrollIntoView({ block: 'nearest' });
}

$('#signin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await api('POST', '/api/auth/login', { email: $('#email').value, password: $('#password').value });
  if (!r.ok) return say(r.data?.error?.message || 'Could not sign in.', false);
  keepSession(r.data);
  say(`Signed in as ${session.user.email}.`);
  await load();
});

let feed = null;
/// The raffles worth watching, live (the list as loaded: a raffle made later shows on the
/// next load).
function connect() {
  if (feed) return feed.restart();
  feed = live(
    () => [...raffles.values()].filter((s) => LIVE.includes(s.status)).slice(0, MAX_WATCHED).map((s) => `raffle:${s.id}`),
    (m) => { if (m.topic?.startsWith('raffle:') && m.data) apply(m.data, m.type === 'snapshot'); },
  );
}

setInterval(tick, 250);
if (session) load();
else $('#signin').hidden = false;
