// The storefront beacon: a `pageview` when a storefront page (or one of its drop and
// raffle pages) loads, and a `click` when a link on it is followed, posted to
// /api/events with navigator.sendBeacon so a click survives the navigation it starts.
// What a page records within a second goes out as one request (an array of up to 20
// events); a click (it may start a navigation) and the page's leaving (`pagehide`, or its
// tab hidden) send what is waiting at once.
//
// It sends only what the page already shows: the storefront's slug, the path, the
// referrer and the UTM tags of the address. No identifier, no cookie, no storage: the
// server tells visitors apart by itself.
//
// The slug comes from `<meta name="livedrop-storefront" content="…">`, or a
// `data-storefront` attribute on any element, or the `/s/{slug}` address itself. A page
// that learns its storefront only after loading (a drop page, say) sets
// `document.documentElement.dataset.storefront` then, and the pageview goes out at that
// moment.

const ENDPOINT = '/api/events';
// How long to wait for a page script to name the storefront before giving up.
const WAIT_FOR_SLUG_MS = 30_000;
// The server refuses (not cuts) longer fields, in UTF-8 bytes: UTM values past 128 (its
// limit was 128 and is 256 now; the smaller keeps either), paths past 1024, referrers
// past 2048. Cut here, so an odd link still counts.
const MAX_UTM_BYTES = 128;
const MAX_PATH_BYTES = 1024;
const MAX_REFERRER_BYTES = 2048;
// Events wait this long for company before they are sent; at most this many per request.
const BATCH_MS = 1000;
const MAX_BATCH = 20;

const utf8 = new TextEncoder();
/// `s` cut to at most `bytes` of UTF-8, on a character boundary.
function cut(s, bytes) {
  if (utf8.encode(s).length <= bytes) return s;
  let out = '';
  let used = 0;
  for (const ch of s) {
    used += utf8.encode(ch).length;
    if (used > bytes) break;
    out += ch;
  }
  return out;
}

function slugNow() {
  const meta = document.querySelector('meta[name="livedrop-storefront"]')?.content;
  if (meta) return meta;
  const attr = document.querySelector('[data-storefront]')?.dataset.storefront;
  if (attr) return attr;
  const m = location.pathname.match(/^\/s\/([a-z0-9-]+)\/?$/i);
  return m ? m[1].toLowerCase() : null;
}

function utm() {
  const q = new URLSearchParams(location.search);
  const out = {};
  for (const key of ['utm_source', 'utm_medium', 'utm_campaign']) {
    const v = q.get(key)?.trim();
    if (v) out[key] = cut(v, MAX_UTM_BYTES);
  }
  return out;
}

function send(body) {
  const json = JSON.stringify(body);
  // A Blob carries the content type; the request is same-origin, so a non-simple type
  // needs no preflight.
  const blob = new Blob([json], { type: 'application/json' });
  if (navigator.sendBeacon && navigator.sendBeacon(ENDPOINT, blob)) return;
  // No beacon (or its queue is full): a keepalive fetch also outlives the page.
  fetch(ENDPOINT, {
    method: 'POST', keepalive: true, credentials: 'omit',
    headers: { 'content-type': 'application/json' }, body: json,
  }).catch(() => {});
}

let waiting = [];
let timer = null;

/// Send what waits: one event as itself, more as arrays of at most MAX_BATCH.
function flush() {
  clearTimeout(timer);
  timer = null;
  while (waiting.length) {
    const batch = waiting.splice(0, MAX_BATCH);
    send(batch.length === 1 ? batch[0] : batch);
  }
}

function event(storefront, type, path) {
  const body = { storefront, type, path: cut(path, MAX_PATH_BYTES), ...utm() };
  if (document.referrer) body.referrer = cut(document.referrer, MAX_REFERRER_BYTES);
  waiting.push(body);
  if (waiting.length >= MAX_BATCH) flush();
  else if (!timer) timer = setTimeout(flush, BATCH_MS);
}

// The page goes (a link followed, the tab closed) or is hidden (it may never come back).
addEventListener('pagehide', flush);
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') flush();
});

function start(storefront) {
  event(storefront, 'pageview', location.pathname);
  const onClick = (e) => {
    if (e.type === 'auxclick' && e.button !== 1) return; // the middle button opens a tab
    const a = e.target instanceof Element ? e.target.closest('a[href]') : null;
    if (!a || /^(javascript|mailto|tel):/i.test(a.getAttribute('href'))) return;
    // The path is the page the click happened on (where the link leads may be another
    // site, and the server counts paths of this one).
    event(storefront, 'click', location.pathname);
    // A followed link may end the page before `pagehide` could send: send it now (with
    // whatever else waits).
    flush();
  };
  // Capture, so a page handler that stops the event cannot hide the click.
  document.addEventListener('click', onClick, true);
  document.addEventListener('auxclick', onClick, true);
}

const first = slugNow();
if (first) {
  start(first);
} else {
  const watch = new MutationObserver(() => {
    const slug = slugNow();
    if (!slug) return;
    watch.disconnect();
    start(slug);
  });
  watch.observe(document.documentElement, {
    subtree: true, childList: true, attributes: true, attributeFilter: ['data-storefront', 'content'],
  });
  setTimeout(() => watch.disconnect(), WAIT_FOR_SLUG_MS);
}
