// The creator's dashboard: pick a storefront, then watch it live over the WebSocket
// (`dashboard:<storefront id>`: visitors now, views per minute, today's totals, the funnel,
// sales as they happen, top pages, referrers and campaigns) and look back over 24 h, 7 d
// or 30 d from the analytics endpoint, with a CSV download. Owners and admins only: the
// server refuses anyone else, and the page says so.
//
// Charts are uPlot, vendored in static/vendor/ (a classic script that defines `uPlot`
// before this module runs: both are deferred, in document order). The session (refreshed
// before it expires, so a reconnect after a network blip still authenticates), money and
// the socket's reconnecting come from the shared session module.

import { api, session, keepSession, signOut, accessToken, minor, money as inCurrency, live as liveFeed } from '/static/session.js';

const $ = (sel) => document.querySelector(sel);
const LAST_KEY = 'livedrop.dashboard.storefront';
// The history is re-read this often while the page is open; the live figures need no
// polling, they are pushed.
const HISTORY_EVERY_MS = 60_000;
// The history is read from the store, which the server writes about every second: when
// today's figures move, it is re-read this long after (once per burst of changes).
const HISTORY_AFTER_CHANGE_MS = 2500;
const RANGES = ['24h', '7d', '30d'];
const ENDED = 'Your session has ended: sign in again.';

let storefronts = [];     // the caller's storefronts (plus one named in the URL, for admins)
let current = null;       // the storefront shown
let live = null;          // the latest dashboard data (highest seq)
let currency = 'USD';     // for money figures: the latest sale's, else the default
let range = '24h';
let past = null;          // the latest analytics answer for `range`
let liveChart = null;
let historyChart = null;
let historyTimer = null;
let historySoon = null;

function say(text, ok = true) {
  const m = $('#message');
  m.textContent = text;
  m.className = ok ? 'ok' : 'error';
}

// ---------------------------------------------------------------------------------------
// Session

function signedOut(why, ok = false) {
  signOut();
  if (feed) { feed.close(); feed = null; }
  clearInterval(historyTimer);
  $('#board').hidden = true;
  $('#signin').hidden = false;
  say(why, ok);
}

// ---------------------------------------------------------------------------------------
// Formatting

const nf = new Intl.NumberFormat();
const count = (n) => (Number.isFinite(n) ? nf.format(n) : '–');

/// In the latest sale's currency unless told.
const money = (cents, cur = currency) => inCurrency(cents, cur);

/// `part` as a share of `whole`, or a dash when there is no whole to speak of.
function rate(part, whole) {
  if (!whole) return '–';
  const p = (100 * part) / whole;
  return `${p >= 10 || p === 0 ? p.toFixed(0) : p.toFixed(1)}%`;
}

const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/// Set a figure's text and its raw value (the tests and assistive tech read the text; the
/// value is the unformatted number), marking it briefly when it changed.
function figure(el, value, text = count(value)) {
  const raw = String(value ?? '');
  if (el.dataset.value !== raw && el.dataset.value !== '') {
    el.classList.remove('bump');
    void el.offsetWidth; // restart the animation
    el.classList.add('bump');
  }
  el.dataset.value = raw;
  if (el.textContent !== text) el.textContent = text;
}

// ---------------------------------------------------------------------------------------
// Storefronts

async function load() {
  const r = await api('GET', '/api/storefronts');
  if (r.status === 401 || !session) return signedOut(ENDED);
  if (!r.ok) return say(r.data?.error?.message || 'Could not load your storefronts.', false);
  storefronts = r.data;
  // An admin may open another creator's dashboard by its id in the URL.
  const wanted = new URLSearchParams(location.search).get('storefront');
  if (wanted && !storefronts.some((s) => s.id === wanted || s.slug === wanted)) {
    const one = await api('GET', `/api/storefronts/${encodeURIComponent(wanted)}`);
    if (one.ok) storefronts.push(one.data);
  }
  $('#signin').hidden = true;
  if (!storefronts.length) {
    $('#board').hidden = true;
    return say('You have no storefronts yet: open one, and its figures show here.');
  }
  const select = $('#storefront');
  select.textContent = '';
  for (const s of storefronts) {
    const label = `${s.title} (/s/${s.slug})${s.status === 'published' ? '' : ' — draft'}`;
    select.append(new Option(label, s.id));
  }
  const pick = storefronts.find((s) => s.id === wanted || s.slug === wanted)
    || storefronts.find((s) => s.id === localStorage.getItem(LAST_KEY))
    || storefronts[0];
  $('#board').hidden = false;
  say('');
  show(pick.id);
  clearInterval(historyTimer);
  historyTimer = setInterval(() => { if (!document.hidden) loadHistory(); }, HISTORY_EVERY_MS);
}

function show(id) {
  const sf = storefronts.find((s) => s.id === id);
  if (!sf) return;
  current = sf;
  $('#storefront').value = sf.id;
  $('#board').dataset.storefrontId = sf.id;
  localStorage.setItem(LAST_KEY, sf.id);
  const url = new URL(location.href);
  url.searchParams.set('storefront', sf.id);
  window.history.replaceState(null, '', url);
  document.title = `${sf.title} · Dashboard · livedrop`;
  const open = $('#open-page');
  open.href = `/s/${sf.slug}`;
  open.hidden = sf.status !== 'published';
  live = null;
  clearTimeout(historySoon);
  historySoon = null;
  resetLive();
  resetHistory();
  // The socket leaves the storefront shown before and takes this one.
  if (feed) feed.update();
  else connect();
  loadHistory();
}

$('#storefront').addEventListener('change', (e) => show(e.target.value));

// ---------------------------------------------------------------------------------------
// Live figures

function resetLive() {
  for (const el of document.querySelectorAll('#tiles dd[data-value], #funnel [data-value]')) {
    el.dataset.value = '';
    el.textContent = '–';
  }
  for (const el of document.querySelectorAll('#funnel .f-rate')) el.textContent = '';
  for (const el of document.querySelectorAll('#funnel .f-bar > span')) el.style.width = '0';
  $('#conversion').textContent = '–';
  $('#sales').textContent = '';
  delete $('#sales').dataset.primed;
  $('#no-sales').hidden = false;
  for (const id of ['top-pages', 'top-referrers', 'top-campaigns']) $(`#${id}`).textContent = '';
  $('#live-summary').textContent = 'Waiting for the first figures…';
  setConn('connecting');
  if (liveChart) { liveChart.destroy(); liveChart = null; }
}

function resetHistory() {
  past = null;
  $('#history-span').textContent = '';
  for (const dd of document.querySelectorAll('#history-totals dd')) {
    dd.dataset.value = '';
    dd.textContent = '–';
  }
  delete $('#history-totals').dataset.range;
  $('#history-rows').textContent = '';
  for (const id of ['history-top-pages', 'history-top-referrers', 'history-top-campaigns']) $(`#${id}`).textContent = '';
  if (historyChart) { historyChart.destroy(); historyChart = null; }
}

function apply(data, snapshot) {
  if (!current || data.storefront_id !== current.id) return;
  // A snapshot (sent on every subscribe, so after a reconnect too) is the whole truth;
  // updates keep the highest seq.
  if (live && !snapshot && Number(data.seq) <= Number(live.seq)) return;
  const before = live?.today;
  live = data;
  if (data.sales?.length) currency = data.sales[0].currency || currency;
  render();
  if (before && JSON.stringify(before) !== JSON.stringify(data.today)) historyLater();
}

let historyArmedAt = 0;
let historyChangedAt = 0;
/// Re-read the history once the store has the latest change: a change that comes while
/// a re-read is waiting gets one more after it (at most one re-read per interval, and
/// always one after the last change of a burst).
function historyLater() {
  historyChangedAt = Date.now();
  if (historySoon) return;
  historyArmedAt = historyChangedAt;
  historySoon = setTimeout(() => {
    historySoon = null;
    loadHistory();
    if (historyChangedAt > historyArmedAt) historyLater();
  }, HISTORY_AFTER_CHANGE_MS);
}

function render() {
  const d = live;
  const t = d.today || {};
  const vpm = d.views_per_minute || [];
  figure($('#visitors-now'), d.visitors_now);
  figure($('#views-per-minute'), vpm.length ? vpm[vpm.length - 1].views : 0);
  figure($('#revenue-today'), t.revenue_cents, money(t.revenue_cents ?? 0));
  figure($('#visitors-today'), t.visitors);
  figure($('#pageviews-today'), t.pageviews);
  figure($('#clicks-today'), t.clicks);
  figure($('#purchases-today'), t.purchases);
  figure($('#bots-today'), t.bots);
  renderFunnel(d.funnel || {});
  renderSales(d.sales || []);
  renderTop($('#top-pages'), d.top_pages, 'No page views yet today.');
  renderTop($('#top-referrers'), d.top_referrers, 'No referrers yet today.');
  renderTop($('#top-campaigns'), d.top_campaigns, 'No campaign visits yet today.');
  renderLiveChart(vpm);
}

function renderFunnel(f) {
  const steps = ['views', 'holds', 'checkouts', 'purchases'];
  const top = f.views || 0;
  steps.forEach((step, i) => {
    const li = $(`#funnel [data-step=${step}]`);
    const n = f[step] ?? 0;
    figure(li.querySelector('.f-count'), n);
    // The bar is a share of the views; CSSOM styles are allowed by the CSP.
    li.querySelector('.f-bar > span').style.width = `${top ? Math.min(100, (100 * n) / top) : 0}%`;
    if (i > 0) {
      const before = f[steps[i - 1]] ?? 0;
      li.querySelector('.f-rate').textContent = before ? `${rate(n, before)} of ${steps[i - 1]}` : '';
    }
  });
  $('#conversion').textContent = rate(f.purchases ?? 0, f.views ?? 0);
}

/// Sales, newest first: the list is rebuilt from the pushed 20, keeping the items already
/// shown (so a screen reader announces only the new ones).
function renderSales(sales) {
  const list = $('#sales');
  // A refund is a negative sale of the same order: keyed by order, time and amount.
  const key = (s) => `${s.order_id}|${s.at}|${s.amount_cents}`;
  const shown = new Map([...list.children].map((li) => [li.dataset.key, li]));
  const items = sales.map((s) => {
    let li = shown.get(key(s));
    if (!li) {
      li = document.createElement('li');
      li.dataset.key = key(s);
      li.dataset.orderId = s.order_id;
      li.dataset.testid = s.amount_cents < 0 ? 'refund' : 'sale';
      const time = document.createElement('time');
      time.dateTime = s.at;
      time.textContent = clock(s.at);
      const amount = document.createElement('strong');
      amount.className = 'amount';
      amount.textContent = s.amount_cents < 0 ? `refund ${money(-s.amount_cents, s.currency)}` : money(s.amount_cents, s.currency);
      const order = document.createElement('span');
      order.className = 'note mono';
      order.textContent = `order ${String(s.order_id).slice(-8)}`;
      li.append(time, ' ', amount, ' ', order);
      if (shown.size || list.dataset.primed) li.classList.add('new');
    }
    return li;
  });
  list.replaceChildren(...items);
  list.dataset.primed = '1';
  $('#no-sales').hidden = sales.length > 0;
}

function renderTop(body, rows = [], empty) {
  body.textContent = '';
  if (!rows?.length) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = 2;
    td.className = 'note';
    td.textContent = empty;
    tr.append(td);
    body.append(tr);
    return;
  }
  for (const r of rows) {
    const tr = document.createElement('tr');
    const name = document.createElement('td');
    name.textContent = r.value || '(direct)';
    name.className = 'top-value';
    const n = document.createElement('td');
    n.textContent = count(r.count);
    tr.append(name, n);
    body.append(tr);
  }
}

// ---------------------------------------------------------------------------------------
// Charts

const PALETTE = { views: '#4c1d95', visitors: '#0369a1', purchases: '#166534', revenue: '#b45309' };

function chartWidth(el) {
  return Math.max(280, Math.floor(el.clientWidth || el.parentElement.clientWidth || 600));
}

function renderLiveChart(vpm) {
  const xs = vpm.map((p) => Date.parse(p.minute) / 1000);
  const ys = vpm.map((p) => p.views);
  const total = ys.reduce((a, b) => a + b, 0);
  const peak = ys.length ? Math.max(...ys) : 0;
  const at = peak ? clock(vpm[ys.indexOf(peak)].minute) : '';
  $('#live-summary').textContent = ys.length
    ? `${count(total)} page view${total === 1 ? '' : 's'} in the last ${ys.length} minutes` + (peak ? `; the busiest minute had ${count(peak)} at ${at}.` : '.')
    : 'No page views in the last 30 minutes.';
  if (typeof uPlot === 'undefined') return;
  if (!xs.length) {
    if (liveChart) { liveChart.destroy(); liveChart = null; }
    return;
  }
  const el = $('#live-chart');
  if (!liveChart) {
    liveChart = new uPlot({
      width: chartWidth(el),
      height: 180,
      legend: { show: false },
      cursor: { y: false },
      // Half a minute of room either side, so the first and last bars are whole.
      scales: { x: { time: true, range: (u, min, max) => [min - 30, max + 30] }, y: { range: (u, min, max) => [0, Math.max(4, max)] } },
      axes: [{}, { size: 40, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000] }],
      series: [{}, {
        label: 'Views', stroke: PALETTE.views, fill: 'rgba(76, 29, 149, 0.35)',
        paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false },
      }],
    }, [xs, ys], el);
  } else {
    liveChart.setData([xs, ys]);
  }
}

function renderHistoryChart(series) {
  if (typeof uPlot === 'undefined') return;
  // Revenue is drawn in major units (dollars, yen) on its own scale.
  const per = minor(currency);
  const xs = series.map((b) => Date.parse(b.bucket) / 1000);
  const data = [
    xs,
    series.map((b) => b.visitors),
    series.map((b) => b.pageviews),
    series.map((b) => b.purchases),
    series.map((b) => b.revenue_cents / per),
  ];
  const el = $('#history-chart');
  if (historyChart) historyChart.destroy();
  historyChart = new uPlot({
    width: chartWidth(el),
    height: 240,
    cursor: { y: false },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(4, max)] }, money: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: [
      {},
      { size: 44, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000, 50000] },
      { scale: 'money', side: 1, size: 60, grid: { show: false }, values: (u, vals) => vals.map((v) => money(Math.round(v * per))) },
    ],
    series: [
      { value: (u, v) => (v == null ? '' : new Date(v * 1000).toLocaleString()) },
      { label: 'Visitors', stroke: PALETTE.visitors, width: 2 },
      { label: 'Page views', stroke: PALETTE.views, width: 2 },
      { label: 'Purchases', stroke: PALETTE.purchases, width: 2 },
      { label: 'Revenue', stroke: PALETTE.revenue, width: 2, dash: [6, 4], scale: 'money',
        value: (u, v) => (v == null ? '' : money(Math.round(v * per))) },
    ],
  }, data, el);
}

// Charts follow the page's width.
new ResizeObserver(() => {
  if (liveChart) liveChart.setSize({ width: chartWidth($('#live-chart')), height: 180 });
  if (historyChart) historyChart.setSize({ width: chartWidth($('#history-chart')), height: 240 });
}).observe($('#board'));

// ---------------------------------------------------------------------------------------
// History

let historyAsked = 0;
async function loadHistory() {
  if (!current) return;
  const ask = ++historyAsked;
  const sf = current;
  const r = await api('GET', `/api/storefronts/${sf.id}/analytics?range=${range}`);
  if (ask !== historyAsked || sf !== current) return; // a newer question is on its way
  if (r.status === 401) return signedOut(ENDED);
  if (!r.ok) {
    resetHistory();
    // 404 too for a storefront that is not yours: the server does not say it exists.
    $('#history-span').textContent = r.status === 404
      ? 'No history to show: only the storefront\'s owner and admins can read it.'
      : (r.data?.error?.message || 'Could not load the history.');
    return;
  }
  past = r.data;
  renderHistory();
}

function renderHistory() {
  const h = past;
  const step = h.range === '24h' ? 'hour' : 'day';
  $('#history-step').textContent = step;
  const opts = h.range === '24h'
    ? { dateStyle: 'medium', timeStyle: 'short' }
    : { dateStyle: 'medium' };
  const f = new Intl.DateTimeFormat(undefined, opts);
  $('#history-span').textContent = `From ${f.format(new Date(h.from))} to ${f.format(new Date(h.to))}.`;
  $('#history-totals').dataset.range = h.range;
  for (const dd of document.querySelectorAll('#history-totals dd')) {
    const key = dd.dataset.key;
    figure(dd, h[key], key === 'revenue_cents' ? money(h[key] ?? 0) : count(h[key]));
  }
  const rows = $('#history-rows');
  rows.textContent = '';
  for (const b of h.series || []) {
    const tr = document.createElement('tr');
    const cells = [f.format(new Date(b.bucket)), count(b.visitors), count(b.pageviews), count(b.clicks),
      count(b.holds), count(b.checkouts), count(b.purchases), money(b.revenue_cents ?? 0)];
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = c;
      tr.append(td);
    }
    rows.append(tr);
  }
  renderTop($('#history-top-pages'), h.top_pages, 'No page views in this range.');
  renderTop($('#history-top-referrers'), h.top_referrers, 'No referrers in this range.');
  renderTop($('#history-top-campaigns'), h.top_campaigns, 'No campaign visits in this range.');
  renderHistoryChart(h.series || []);
}

for (const input of document.querySelectorAll('#range input')) {
  input.addEventListener('change', () => {
    if (!input.checked || !RANGES.includes(input.value)) return;
    range = input.value;
    loadHistory();
  });
}

$('#csv').addEventListener('click', async () => {
  if (!current) return;
  const btn = $('#csv');
  btn.disabled = true;
  try {
    const token = await accessToken();
    if (!token) return signedOut(ENDED);
    // The CSV needs the bearer token, so it cannot be a plain link: fetch it, then hand
    // the browser a blob to save.
    const res = await fetch(`/api/storefronts/${current.id}/analytics.csv?range=${range}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!res.ok) {
      let msg = 'Could not download the CSV.';
      try { msg = (await res.json()).error?.message || msg; } catch { /* not JSON */ }
      return say(msg, false);
    }
    const blob = await res.blob();
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${current.slug}-analytics-${range}.csv`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    say(`Downloaded ${a.download}.`);
  } finally {
    btn.disabled = false;
  }
});

// ---------------------------------------------------------------------------------------
// The socket

function setConn(status) {
  const c = $('#conn');
  c.dataset.status = status;
  c.textContent = { live: 'live', connecting: 'connecting', offline: 'reconnecting', refused: 'refused' }[status] || status;
}

let feed = null;

/// The socket, signed in as this account, watching the storefront shown.
function connect() {
  feed = liveFeed(() => (current ? [`dashboard:${current.id}`] : []), onMessage, {
    signedOut: () => { feed = null; signedOut(ENDED); },
    onClose: () => setConn('offline'),
  });
}

function onMessage(m) {
  const topic = current ? `dashboard:${current.id}` : null;
  if (m.type === 'error') {
    if (m.topic && m.topic !== topic) return;
    // (An expired token the feed could not renew: the session is gone.)
    if (m.code === 'unauthorized' || m.code === 'token_expired') return signedOut(ENDED);
    setConn('refused');
    return say(m.code === 'forbidden'
      ? `You cannot see this dashboard: ${m.message}.`
      : (m.message || 'The live feed refused this storefront.'), false);
  }
  if (m.topic === topic && m.data) {
    setConn('live');
    apply(m.data, m.type === 'snapshot');
  }
}

// ---------------------------------------------------------------------------------------
// Sign in and out

$('#signin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await api('POST', '/api/auth/login', { email: $('#email').value, password: $('#password').value });
  if (!r.ok) return say(r.data?.error?.message || 'Could not sign in.', false);
  keepSession(r.data);
  $('#password').value = '';
  say(`Signed in as ${session.user.email}.`);
  await load();
});

$('#signout').addEventListener('click', () => {
  // Best effort: the server forgets the refresh token; the page forgets everything.
  signOut({ server: true });
  current = null;
  signedOut('Signed out.', true);
});

if (session) load();
else $('#signin').hidden = false;
