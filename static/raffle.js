// The raffle page: a countdown that agrees with the server, live totals over the
// WebSocket, the commitment, entering and your tickets; after closing the entries digest,
// after the draw the winners, your outcome and the proof. Everything updates in place.
// Sign-in, account creation, the session and the socket's reconnecting come from the
// shared session module.

import { api, session, signOut, signInForm, live } from '/static/session.js';

const id = location.pathname.split('/').filter(Boolean).pop();
const $ = (sel) => document.querySelector(sel);
let state = null;          // the latest raffle state (highest seq)
let offset = 0;            // server clock minus ours, in ms
let mine = null;           // GET /api/raffles/{id}/me, when signed in
let offer = null;          // a unit of the gated drop held for us (raffle_offer)

// The server's refusals, in words.
const REFUSALS = {
  already_entered: 'You have already entered this raffle: one entry per account.',
  not_open: 'This raffle is not open yet.',
  raffle_closed: 'This raffle has closed.',
};

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

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const ranks = (p) => (p.rank_from === p.rank_to ? `#${p.rank_from}` : `#${p.rank_from}–${p.rank_to}`);

/// The status the clock gives between server pushes (the server's own is authoritative
/// for everything but the entry window's edges).
function liveStatus() {
  if (!state) return '…';
  if (!['scheduled', 'open'].includes(state.status)) return state.status;
  if (now() < Date.parse(state.opens_at)) return 'scheduled';
  return now() < Date.parse(state.closes_at) ? 'open' : 'closed';
}

function apply(next, snapshot = false) {
  // A snapshot (sent on every subscribe, so after a reconnect too) is the whole truth;
  // updates keep the highest seq.
  if (state && !snapshot && next.seq < state.seq) return;
  const first = !state;
  const wasDrawn = state?.status === 'drawn';
  state = next;
  offset = Date.parse(next.server_time) - Date.now();
  if (first) renderStatic();
  render();
  // The draw just happened under our eyes: fetch our outcome.
  if (!first && !wasDrawn && state.status === 'drawn') loadMine();
  tick();
}

function renderStatic() {
  document.title = `${state.title} · livedrop`;
  // The beacon (beacon.js) counts this page view for the storefront once it is named.
  if (state.storefront_id) document.documentElement.dataset.storefront = state.storefront_id;
  $('#title').textContent = state.title;
  $('#description').textContent = state.description;
  const list = $('#prizes');
  list.textContent = '';
  for (const p of state.prizes) {
    const li = document.createElement('li');
    const r = document.createElement('strong');
    r.textContent = ranks(p);
    li.append(r, ` ${p.description}`);
    list.append(li);
  }
  const alt = state.alternates_wanted ? ` ${plural(state.alternates_wanted, 'alternate')} drawn after the winners.` : '';
  $('#entry-rule').textContent = (state.entry === 'tickets'
    ? `One free entry per account, plus ${plural(state.tickets_per_dollar, 'ticket')} per whole unit of currency spent while open. More tickets, better odds.`
    : 'One free entry per account; every entrant has the same chance.') + alt;
  $('#commitment').textContent = state.commitment;
  const proof = `/api/raffles/${id}/proof`;
  $('#proof-link').href = proof;
  $('#verify-hint').textContent = `livedrop raffle verify ${location.origin}${proof}`;
}

/// Everything that follows the server's state: totals, digest, results.
function render() {
  $('#entrants').textContent = String(state.entrants);
  $('#tickets').textContent = String(state.tickets);
  $('#digest').hidden = !state.entries_digest;
  $('#entries-digest').textContent = state.entries_digest || '';
  $('#results').hidden = !state.winners;
  if (state.winners) renderResults();
}

function renderResults() {
  const you = mine?.entrant;
  const body = $('#winners');
  body.textContent = '';
  for (const w of state.winners) {
    const tr = document.createElement('tr');
    if (w.entrant === you) tr.className = 'you';
    for (const text of [`#${w.rank}`, w.entrant, w.prize]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    tr.children[1].classList.add('mono');
    body.append(tr);
  }
  const alts = $('#alternates');
  alts.textContent = '';
  for (const a of state.alternates || []) {
    const li = document.createElement('li');
    li.textContent = a.entrant + (a.entrant === you ? ' (you)' : '');
    li.className = 'mono';
    alts.append(li);
  }
  $('#no-alternates').hidden = (state.alternates || []).length > 0;
}

/// Your part: tickets, pseudonym, outcome, and the way to a gated drop's checkout.
function renderMine() {
  $('#mine').hidden = !session;
  if (!mine) return;
  $('#your-tickets').textContent = String(mine.tickets);
  $('#your-entrant').textContent = mine.entrant || 'not entered yet';
  const out = $('#your-outcome');
  out.hidden = !mine.outcome;
  if (mine.outcome === 'won') {
    const prize = state?.winners?.find((w) => w.rank === mine.rank)?.prize;
    out.textContent = `You won! Rank #${mine.rank}${prize ? `: ${prize}` : ''}.`;
  } else if (mine.outcome === 'alternate') {
    out.textContent = `You are alternate #${mine.rank}: if a winner does not claim, the prize passes down the line.`;
  } else if (mine.outcome === 'not_drawn') {
    out.textContent = 'You were not drawn this time.';
  }
  out.className = mine.outcome === 'won' ? 'ok outcome' : 'outcome';
  const dropId = offer?.drop_id || state?.drop_id;
  $('#claim').hidden = !(dropId && (mine.outcome === 'won' || offer));
  if (dropId) $('#claim-link').href = `/d/${dropId}`;
  $('#claim-until').textContent = offer ? `(held for you until ${new Date(offer.expires_at).toLocaleString()})` : '';
  if (state?.winners) renderResults();
}

async function loadMine() {
  if (!session) return;
  const r = await api('GET', `/api/raffles/${id}/me`);
  if (r.status === 401) return signedOut('Your session has expired: sign in again.');
  if (r.ok) mine = r.data;
  renderMine();
}

function signedOut(why) {
  signOut();
  mine = null;
  signInForm($('#signin'), signedIn);
  renderMine();
  say(why, false);
  connect();
}

function tick() {
  if (!state) return;
  const st = liveStatus();
  const badge = $('#status');
  badge.textContent = st;
  badge.dataset.status = st;
  const cd = $('#countdown');
  if (st === 'scheduled') cd.textContent = `opens in ${fmt(Date.parse(state.opens_at) - now())}`;
  else if (st === 'open') cd.textContent = `closes in ${fmt(Date.parse(state.closes_at) - now())}`;
  else if (st === 'closed') cd.textContent = 'entries closed; the draw is next';
  else if (st === 'cancelled') cd.textContent = 'cancelled: nobody wins';
  else cd.textContent = '';
  $('#enter').hidden = !(session && st === 'open');
  $('#signin').hidden = Boolean(session) || st === 'cancelled';
  const heading = $('#signin-h');
  if (heading && heading.textContent.startsWith('Sign in')) {
    heading.textContent = ['scheduled', 'open'].includes(st) ? 'Sign in to enter' : 'Sign in to see your entry';
  }
}

$('#enter').addEventListener('click', async () => {
  const btn = $('#enter');
  btn.disabled = true;
  const r = await api('POST', `/api/raffles/${id}/entries`);
  btn.disabled = false;
  if (r.status === 401) return signedOut('Your session has expired: sign in again.');
  if (!r.ok) {
    const code = r.data?.error?.code;
    return say(REFUSALS[code] || r.data?.error?.message || 'Could not enter.', false);
  }
  say(`You are in, with ${plural(r.data.tickets, 'ticket')}. Good luck!`);
  await loadMine();
});

/// Signed in (or an account made) in place: the socket reconnects as this account.
async function signedIn() {
  say(`Signed in as ${session.user.email}.`);
  connect();
  await loadMine();
  tick();
}

let feed = null;
/// The raffle's state, and this account's own results and offers when signed in; a
/// sign-in or sign-out starts the socket again as who is here now.
function connect() {
  if (feed) return feed.restart();
  feed = live(() => (session ? [`user:${session.user.id}`] : []).concat(`raffle:${id}`), onMessage);
}

function onMessage(m) {
  if (m.topic === `raffle:${id}` && m.data) apply(m.data, m.type === 'snapshot');
  // Our own results and offers, pushed the moment the draw is done.
  const d = m.data;
  if (session && m.topic === `user:${session.user.id}` && d?.raffle_id === id) {
    if (d.kind === 'raffle_offer') offer = d;
    if (d.kind === 'raffle_offer_lapsed') offer = null;
    if (d.kind === 'raffle_result' && mine) { mine.outcome = d.outcome; mine.rank = d.rank; }
    renderMine();
  }
}

const first = await api('GET', `/api/raffles/${id}`);
if (!first.ok) {
  $('#title').textContent = 'This raffle does not exist';
  $('#status').hidden = true;
} else {
  apply(first.data);
  if (!session) signInForm($('#signin'), signedIn);
  renderMine();
  connect();
  loadMine();
  setInterval(tick, 250);
}
