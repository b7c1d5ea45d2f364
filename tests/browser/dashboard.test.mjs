// The creator dashboard, live: a new creator signs up, verifies through the mailed link,
// opens a storefront with a product and a drop, and watches it on /dashboard. From another
// browser a visitor opens the storefront page, follows a link to the drop, reserves and
// pays; each step shows on the dashboard within a second (visitors now and page views,
// clicks, holds, then purchases and revenue with the sale in the ticker). A rival's
// dashboard is refused on the socket, the history switches range by keyboard, and the
// CSV downloads.
import assert from 'node:assert/strict';
import { noSeriousViolations } from './axe.mjs';
import { json, mailedLink, VERIFY_LINK } from './helpers.mjs';
import { readFileSync } from 'node:fs';

export const name = 'the dashboard shows a visitor, a click and a purchase live, refuses a rival, and downloads the CSV';

// A desktop browser's user agent for the visitor: a headless one may rightly be counted
// as a bot, and this visitor is meant to be a person.
const VISITOR_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
// Each live figure follows the action that moves it without a reload. How soon is measured
// by `cargo bench --bench analytics_events` (the dashboard's freshness), not asserted here:
// this only ends a hang.
const LIVE_MS = 10000;

/// A verified creator with a published storefront, a physical product and a drop that
/// is already open; and a second, draft storefront, so the dashboard has a choice.
async function creatorWithShop(baseURL) {
  const stamp = Date.now();
  const email = `dash-${stamp}@example.com`;
  const password = 'dashboard creator pw';
  await json(baseURL, 'POST', '/api/auth/register', { email, password, role: 'creator' });
  await json(baseURL, 'POST', '/api/auth/verify', { token: new URL(await mailedLink(email, VERIFY_LINK, 'verification')).searchParams.get('token') });
  const { access_token: token } = await json(baseURL, 'POST', '/api/auth/login', { email, password });
  const slug = `dash-${stamp}`;
  const shop = await json(baseURL, 'POST', '/api/storefronts', {
    slug, title: 'Dashboard Test Shop', bio: 'Watched live.',
  }, token);
  await json(baseURL, 'POST', `/api/storefronts/${shop.id}/publish`, null, token);
  const side = await json(baseURL, 'POST', '/api/storefronts', { slug: `${slug}-side`, title: 'Side Shop' }, token);
  const product = await json(baseURL, 'POST', `/api/storefronts/${shop.id}/products`, {
    kind: 'physical', title: 'Tour hoodie', price_cents: 2500, currency: 'USD', stock: 10,
  }, token);
  await json(baseURL, 'POST', `/api/products/${product.id}/publish`, null, token);
  const drop = await json(baseURL, 'POST', '/api/drops', {
    storefront_id: shop.id, product_id: product.id, title: 'Hoodie drop', price_cents: 2500, currency: 'USD',
    variants: [{ name: 'M', stock: 5 }], opens_at: new Date(Date.now() - 1000).toISOString(), waiting_room_seconds: 0,
  }, token);
  await json(baseURL, 'POST', `/api/drops/${drop.id}/publish`, null, token);
  return { email, password, token, shop, side, drop };
}

/// The raw value of a dashboard figure.
const value = (page, testid) => page.getAttribute(`[data-testid=${testid}]`, 'data-value');

/// Wait until every figure in `want` ({testid: value}) shows its value (giving up LIVE_MS
/// after `since`, a Date.now()); return how long it took.
async function figuresReach(page, want, since) {
  const left = Math.max(1, LIVE_MS - (Date.now() - since));
  await page.waitForFunction((w) => Object.entries(w).every(([id, v]) =>
    document.querySelector(`[data-testid=${id}]`)?.dataset.value === String(v)), want, { timeout: left })
    .catch(async (e) => {
      const seen = {};
      for (const id of Object.keys(want)) seen[id] = await value(page, id);
      throw new Error(`after ${Date.now() - since} ms wanted ${JSON.stringify(want)}, saw ${JSON.stringify(seen)}: ${e.message}`);
    });
  return Date.now() - since;
}

export async function run({ browser, baseURL, screenshot }) {
  const creator = await creatorWithShop(baseURL);
  const rival = await json(baseURL, 'GET', '/api/storefronts/demo');
  const buyerEmail = `dash-buyer-${Date.now()}@example.com`;
  await json(baseURL, 'POST', '/api/auth/register', { email: buyerEmail, password: 'dashboard buyer pw', role: 'buyer' });

  const problems = [];
  const refusals = [];
  const watch = (p, refusal = null) => {
    p.on('console', (m) => {
      // Chromium logs a refused request as an error: the one refusal this test provokes
      // (a rival's history: 404, the server does not say whether it exists) is counted
      // apart; anything else is a problem.
      if (m.type() !== 'error') return;
      (refusal && refusal.test(m.text()) ? refusals : problems).push(`${p.url()}: ${m.text()}`);
    });
    p.on('pageerror', (e) => problems.push(`${p.url()}: ${e}`));
  };
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  watch(page);

  // Signed out, the dashboard asks for a sign-in.
  await page.goto(`${baseURL}/dashboard`);
  await page.getByRole('heading', { name: 'Sign in to see your storefronts' }).waitFor();
  await page.getByLabel('Email').fill(creator.email);
  await page.getByLabel('Password').fill(creator.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('#signin[hidden]', { state: 'attached' });

  // Both storefronts are offered; the creator picks the published one.
  const select = page.getByLabel('Storefront', { exact: true });
  const options = await select.locator('option').evaluateAll((os) => os.map((o) => o.value).sort());
  assert.deepEqual(options, [creator.shop.id, creator.side.id].sort());
  await select.selectOption(creator.side.id);
  await page.waitForSelector(`#board[data-storefront-id="${creator.side.id}"]`);
  await select.selectOption(creator.shop.id);
  await page.waitForSelector(`#board[data-storefront-id="${creator.shop.id}"]`);
  assert.equal(new URL(page.url()).searchParams.get('storefront'), creator.shop.id);
  // The snapshot arrives: nothing has happened yet.
  await page.waitForSelector('[data-testid=connection][data-status=live]');
  await page.waitForFunction(() => document.querySelector('[data-testid=visitors-now]').dataset.value !== '');
  for (const id of ['visitors-now', 'pageviews-today', 'clicks-today', 'purchases-today', 'revenue-today']) {
    assert.equal(await value(page, id), '0', id);
  }
  assert.equal(await page.getAttribute('[data-testid=open-page]', 'href'), `/s/${creator.shop.slug}`);

  // A visitor, in another browser, comes from a campaign link and opens the storefront.
  const vctx = await browser.newContext({ userAgent: VISITOR_UA });
  const visitor = await vctx.newPage();
  watch(visitor);
  // A view or a click happens when the page's beacon leaves the browser: the clock starts
  // there (not when Playwright starts its action, whose checks and navigation are not
  // the system's latency). Every beacon must be accepted.
  const beacons = [];
  const accepted = [];
  let beaconWaiter = null;
  visitor.on('request', (r) => {
    if (!r.url().endsWith('/api/events')) return;
    beacons.push(r.method());
    beaconWaiter?.(Date.now());
    beaconWaiter = null;
  });
  // (The answer to a click's beacon may come after its page is gone, unseen.)
  visitor.on('response', (r) => { if (r.url().endsWith('/api/events')) accepted.push(r.status()); });
  const nextBeacon = () => new Promise((resolve) => { beaconWaiter = resolve; });
  let sent = nextBeacon();
  await visitor.goto(`${baseURL}/s/${creator.shop.slug}?utm_source=newsletter&utm_medium=email&utm_campaign=launch`);
  const viewLag = await figuresReach(page, { 'visitors-now': 1, 'pageviews-today': 1, 'visitors-today': 1 }, await sent);
  await page.getByRole('cell', { name: `/s/${creator.shop.slug}` }).first().waitFor({ timeout: LIVE_MS });
  await page.getByRole('cell', { name: 'launch' }).first().waitFor({ timeout: LIVE_MS });

  // The visitor follows the storefront's link to the drop.
  sent = nextBeacon();
  await visitor.getByTestId('drop').click();
  const clickLag = await figuresReach(page, { 'clicks-today': 1 }, await sent);
  await visitor.waitForURL(`**/d/${creator.drop.id}`);
  await visitor.waitForSelector('[data-testid=status][data-status=live]');
  assert.equal(await value(page, 'visitors-now'), '1', 'the same visitor, still one');

  // They sign in and reserve: a hold.
  await visitor.getByLabel('Email').fill(buyerEmail);
  await visitor.getByLabel('Password').fill('dashboard buyer pw');
  await visitor.getByRole('button', { name: 'Sign in' }).click();
  await visitor.waitForSelector('#signin[hidden]', { state: 'attached' });
  await visitor.getByRole('button', { name: 'Reserve' }).click();
  await visitor.waitForSelector('[data-testid=hold]:not([hidden])');
  // A hold or a payment happens when the visitor's page shows it (the server committed it).
  const holdLag = await figuresReach(page, { 'funnel-holds': 1 }, Date.now());

  // They pay with the test card: a purchase, the revenue, and the sale in the ticker.
  await visitor.getByRole('button', { name: 'Pay' }).click();
  await visitor.waitForFunction(() => document.querySelector('[data-testid=message]').textContent.startsWith('Paid'));
  // (The checkout counts once its payment went through, so it may show after the purchase.)
  const payLag = await figuresReach(page, { 'purchases-today': 1, 'revenue-today': 2500, 'funnel-purchases': 1, 'funnel-checkouts': 1 }, Date.now());
  await page.locator('[data-testid=sale]').first().waitFor({ timeout: LIVE_MS });
  assert.match(await page.textContent('[data-testid=sale] .amount'), /25\.00/);
  assert.match(await page.textContent('[data-testid=revenue-today]'), /25\.00/);
  assert.equal(await value(page, 'funnel-checkouts'), '1');
  assert.ok(Number(await value(page, 'funnel-views')) >= 1);
  assert.equal(await page.textContent('[data-testid=rate-purchases]'), '100% of checkouts');
  const tile = await page.textContent('[data-testid=visitors-now]');
  console.log(`  live lags: view ${viewLag} ms, click ${clickLag} ms, hold ${holdLag} ms, purchase ${payLag} ms (visitors now: ${tile})`);
  await page.screenshot({ path: screenshot('dashboard-live.png'), fullPage: true });
  await noSeriousViolations(page, 'the dashboard, live');
  await visitor.screenshot({ path: screenshot('dashboard-visitor-paid.png'), fullPage: true });

  // The socket refuses a rival's dashboard, and still serves our own.
  const answers = await page.evaluate(async ({ rivalId, ownId }) => {
    const { access_token: token } = JSON.parse(sessionStorage.getItem('livedrop.session'));
    const ws = new WebSocket(`ws://${location.host}/ws`);
    const frames = [];
    const done = new Promise((resolve, reject) => {
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        frames.push(m);
        if (m.topic === `dashboard:${ownId}` && m.type === 'snapshot') resolve();
      };
      ws.onerror = () => reject(new Error('socket error'));
    });
    await new Promise((r) => { ws.onopen = r; });
    ws.send(JSON.stringify({ op: 'auth', token }));
    ws.send(JSON.stringify({ op: 'subscribe', topic: `dashboard:${rivalId}` }));
    ws.send(JSON.stringify({ op: 'subscribe', topic: `dashboard:${ownId}` }));
    await done;
    ws.close();
    return frames.filter((m) => m.topic === `dashboard:${rivalId}` || m.type === 'error')
      .map((m) => ({ type: m.type, code: m.code, topic: m.topic, data: Boolean(m.data) }))
      .concat(frames.filter((m) => m.topic === `dashboard:${ownId}` && m.data).slice(0, 1)
        .map((m) => ({ type: m.type, purchases: m.data.today.purchases })));
  }, { rivalId: rival.id, ownId: creator.shop.id });
  assert.deepEqual(answers, [
    { type: 'error', code: 'forbidden', topic: `dashboard:${rival.id}`, data: false },
    { type: 'snapshot', purchases: 1 },
  ]);
  // Opening the rival's dashboard by its address says so too.
  const other = await ctx.newPage();
  watch(other, /status of 404 \(Not Found\)/);
  await other.goto(`${baseURL}/dashboard?storefront=${rival.id}`);
  // A new tab has its own session storage: sign in again.
  await other.getByLabel('Email').fill(creator.email);
  await other.getByLabel('Password').fill(creator.password);
  await other.getByRole('button', { name: 'Sign in' }).click();
  await other.waitForSelector('[data-testid=connection][data-status=refused]');
  assert.match(await other.textContent('[data-testid=message]'), /^You cannot see this dashboard/);
  await other.waitForFunction(() => document.querySelector('[data-testid=history-span]').textContent !== '');
  assert.equal(refusals.length, 1, `one refused request, the rival's history: ${refusals}`);
  await other.screenshot({ path: screenshot('dashboard-refused.png'), fullPage: true });
  await other.close();

  // The history: the page read it when the storefront was chosen, before the visit, and
  // re-reads it by itself shortly after the live figures move (the store is written
  // every second). Then the range moves, by pointer and by keyboard.
  await page.waitForFunction(() => document.querySelector('[data-testid=history-totals]').dataset.range === '24h'
    && document.querySelector('[data-testid=history-purchases]').dataset.value === '1', null, { timeout: 6000 });
  assert.equal(await value(page, 'history-clicks'), '1');
  await page.locator('label[for=range-7d]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=history-totals]').dataset.range === '7d'
    && document.querySelector('[data-testid=history-purchases]').dataset.value === '1');
  assert.equal(await value(page, 'history-revenue'), '2500');
  assert.ok(Number(await value(page, 'history-pageviews')) >= 1);
  await page.getByLabel('7 d').focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.getByLabel('30 d').isChecked(), true);
  await page.waitForFunction(() => document.querySelector('[data-testid=history-totals]').dataset.range === '30d');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await page.waitForFunction(() => document.querySelector('[data-testid=history-totals]').dataset.range === '24h'
    && document.querySelector('[data-testid=history-purchases]').dataset.value === '1');
  assert.ok(await page.locator('#history-chart canvas').count() > 0, 'the history chart is drawn');
  assert.ok(await page.locator('#live-chart canvas').count() > 0, 'the live chart is drawn');
  await page.screenshot({ path: screenshot('dashboard-history.png'), fullPage: true });

  // The CSV, fetched with the token and saved from a blob.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download CSV' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), `${creator.shop.slug}-analytics-24h.csv`);
  const csv = readFileSync(await download.path(), 'utf8');
  const lines = csv.trim().split(/\r?\n/);
  assert.ok(lines.length >= 2, csv);
  const header = lines[0].split(',');
  assert.equal(header[0], 'bucket');
  const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v])));
  const sold = rows.filter((r) => r.purchases !== '0');
  assert.deepEqual(sold.map((r) => [r.purchases, r.revenue_cents]), [['1', '2500']], csv);
  await page.waitForFunction(() => document.querySelector('[data-testid=message]').textContent.startsWith('Downloaded'));

  // A refund of 5.00 (the creator, from the order): the ticker shows it and the revenue
  // is net of it, live; the purchase still counts.
  await page.evaluate(async (id) => {
    const { access_token: token } = JSON.parse(sessionStorage.getItem('livedrop.session'));
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const { orders } = await (await fetch(`/api/storefronts/${id}/orders?status=paid`, { headers })).json();
    const r = await fetch(`/api/orders/${orders[0].id}/refund`, { method: 'POST', headers, body: JSON.stringify({ amount_cents: 500 }) });
    if (!r.ok) throw new Error(`refund ${r.status}`);
  }, creator.shop.id);
  await page.locator('[data-testid=refund] .amount').getByText(/^refund \$5\.00$/).waitFor({ timeout: LIVE_MS });
  await figuresReach(page, { 'revenue-today': 2000, 'purchases-today': 1 }, Date.now());

  assert.ok(beacons.length >= 2, `a view and a click at least: ${beacons.length} beacons`);
  assert.ok(accepted.length >= 1 && accepted.every((s) => s === 202), `beacons answered ${accepted}`);
  assert.deepEqual(problems, [], 'no console errors');
  await vctx.close();
  await ctx.close();
}
