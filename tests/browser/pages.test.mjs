// Every page, at 1280 and at 390 px: the landing page, sign-up, sign-in, forgot, the demo
// storefront, its drop and its giveaway raffle, a product's checkout, the buyer's account
// and order, the studio and the dashboard of a creator with a storefront, the admin
// console, the mailed-link pages without a token, the API reference and a storefront that
// does not exist. Each page is given the account it is for (the session kept in
// sessionStorage, as the sign-in form keeps it), waited on until it shows its data, and
// then: no horizontal scroll, a full-page screenshot (screenshots/pages/<page>-<width>.png)
// and axe with no serious or critical violation. No console errors on any of them.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { noSeriousViolations } from './axe.mjs';
import { json } from './helpers.mjs';

export const name = 'every page at 1280 and 390 px: its data shown, no horizontal scroll, a screenshot, no serious axe violations, no console errors';

const WIDTHS = [
  { width: 1280, height: 900 },
  { width: 390, height: 844 },
];

const login = (baseURL, email, password) => json(baseURL, 'POST', '/api/auth/login', { email, password });

/// What the pages need: the demo storefront's drop, raffle and products; a buyer with a
/// paid digital order; a creator with a storefront holding a product, a drop and a raffle.
async function fixtures(baseURL) {
  const stamp = Date.now();
  const shop = await json(baseURL, 'GET', '/api/storefronts/demo');
  const demoCreator = await login(baseURL, 'creator@demo.livedrop.local', 'demo-password-1');
  const { drops } = await json(baseURL, 'GET', `/api/storefronts/${shop.id}/drops`, null, demoCreator.access_token);
  const drop = drops.find((d) => d.title === 'Midnight hoodie — Friday drop');
  assert.ok(drop, 'the seeded demo drop');
  const raffles = await json(baseURL, 'GET', `/api/raffles?storefront=${shop.id}`);
  const raffle = raffles.find((r) => r.title === 'Nova Threads launch giveaway');
  assert.ok(raffle, 'the seeded demo raffle');
  const physical = shop.products.find((p) => p.kind === 'physical');
  const digital = shop.products.find((p) => p.kind === 'digital');

  const buyerEmail = `pages-buyer-${stamp}@example.com`;
  await json(baseURL, 'POST', '/api/auth/register', { email: buyerEmail, password: 'pages buyer pw', role: 'buyer' });
  const buyer = await login(baseURL, buyerEmail, 'pages buyer pw');
  const bought = await json(baseURL, 'POST', `/api/products/${digital.id}/checkout`,
    { card: '4242424242424242' }, buyer.access_token);
  assert.equal(bought.status, 'paid');

  const creatorEmail = `pages-creator-${stamp}@example.com`;
  await json(baseURL, 'POST', '/api/auth/register', { email: creatorEmail, password: 'pages creator pw', role: 'creator' });
  const creator = await login(baseURL, creatorEmail, 'pages creator pw');
  const own = await json(baseURL, 'POST', '/api/storefronts',
    { slug: `pages-${stamp}`, title: 'Pages Test Shop' }, creator.access_token);
  const tote = await json(baseURL, 'POST', `/api/storefronts/${own.id}/products`,
    { kind: 'physical', title: 'Canvas tote', price_cents: 1800, currency: 'USD', stock: 30 }, creator.access_token);
  await json(baseURL, 'POST', '/api/drops', {
    storefront_id: own.id, product_id: tote.id, title: 'Tote drop', price_cents: 1800, currency: 'USD',
    variants: [{ name: 'Natural', stock: 5 }], opens_at: new Date(Date.now() + 86400_000).toISOString(),
  }, creator.access_token);
  await json(baseURL, 'POST', '/api/raffles', {
    storefront_id: own.id, title: 'Tote giveaway', prizes: [{ rank_from: 1, rank_to: 1, description: 'A tote' }],
    alternates: 1, entry: 'free', opens_at: new Date(Date.now() + 86400_000).toISOString(),
    closes_at: new Date(Date.now() + 7 * 86400_000).toISOString(),
  }, creator.access_token);

  const admin = await login(baseURL, 'admin@browser.test', 'browser-admin-pw-1');
  return { drop, raffle, physical, buyer, buyerEmail, order: bought.order_id, creator, creatorEmail, own, admin };
}

/// Each page: its address, the session it is opened with (a login answer, or none), the
/// HTTP status it answers, and what proves it rendered its data (after `load`).
function pages(f) {
  const heading = (page, text) => page.getByRole('heading', { level: 1, name: text }).waitFor();
  return [
    { name: 'home', path: '/', ready: async (p) => { await heading(p, 'livedrop'); await p.getByRole('link', { name: 'The demo storefront' }).waitFor(); } },
    { name: 'signup', path: '/signup', ready: async (p) => { await heading(p, 'Create your account'); await p.getByLabel('sell as a creator').waitFor(); } },
    { name: 'signin', path: '/signin', ready: async (p) => { await heading(p, 'Sign in'); await p.getByRole('link', { name: 'Forgot your password?' }).waitFor(); } },
    { name: 'forgot', path: '/forgot', ready: async (p) => { await heading(p, 'Reset your password'); await p.getByRole('button', { name: 'Send the link' }).waitFor(); } },
    {
      name: 'storefront', path: '/s/demo', ready: async (p) => {
        await heading(p, 'Nova Threads');
        await p.locator('[data-testid=product]').nth(6).waitFor();
        await p.locator('[data-testid=link]').first().waitFor();
      },
    },
    {
      name: 'drop', path: `/d/${f.drop.id}`, ready: async (p) => {
        await heading(p, 'Midnight hoodie — Friday drop');
        await p.waitForSelector('[data-testid=status][data-status]');
        await p.locator('#variants input').nth(3).waitFor();
      },
    },
    {
      name: 'raffle', path: `/r/${f.raffle.id}`, ready: async (p) => {
        await heading(p, 'Nova Threads launch giveaway');
        await p.waitForSelector('[data-testid=status][data-status]');
        await p.waitForFunction(() => /^[0-9a-f]{64}$/.test(document.querySelector('[data-testid=commitment]').textContent)
          && document.querySelector('[data-testid=entrants]').textContent !== '–');
        await p.locator('#prizes li').first().waitFor();
      },
    },
    {
      name: 'checkout', path: `/checkout/${f.physical.id}`, as: f.buyer, ready: async (p) => {
        await heading(p, 'Midnight hoodie');
        await p.waitForSelector('[data-testid=buy-form]:not([hidden])');
        await p.getByLabel('Full name').waitFor();
        await p.waitForFunction(() => document.querySelector('#total').textContent.startsWith('Total:'));
        await p.getByRole('link', { name: '← Nova Threads' }).waitFor();
      },
    },
    {
      name: 'account', path: '/account', as: f.buyer, ready: async (p) => {
        await p.getByText(`Signed in as ${f.buyerEmail}`).waitFor();
        await p.locator(`[data-testid=orders] li a[href="/orders/${f.order}"]`).waitFor();
        await p.locator('[data-testid=memberships] li').first().waitFor();
        await p.locator('#raffle-tickets li').first().waitFor();
        await p.locator('[data-testid=event-tickets] li').first().waitFor();
      },
    },
    {
      name: 'order', path: `/orders/${f.order}`, as: f.buyer, ready: async (p) => {
        await heading(p, 'Order: Lo-fi sample pack vol. 3');
        await p.waitForSelector('[data-testid=order]:not([hidden])');
        await p.getByTestId('download').waitFor();
        assert.equal(await p.getByTestId('order-status').textContent(), 'Paid');
      },
    },
    {
      name: 'studio', path: '/studio', as: f.creator, ready: async (p) => {
        await p.getByTestId('verify-reminder').getByText(f.creatorEmail).waitFor();
        await p.waitForSelector('[data-testid=sf-status][data-status=draft]');
        await p.locator('[data-testid=block]').first().waitFor();
        await p.locator('[data-testid=product-row]', { hasText: 'Canvas tote' }).waitFor();
        await p.locator('[data-testid=drop-row][data-status=draft]', { hasText: 'Tote drop' }).waitFor();
        await p.locator('[data-testid=raffle-row][data-status=draft]', { hasText: 'Tote giveaway' }).waitFor();
        await p.locator('#order-list li').first().waitFor();
        await p.frameLocator('[data-testid=preview]').getByRole('heading', { name: 'Pages Test Shop' }).waitFor();
      },
    },
    {
      name: 'dashboard', path: '/dashboard', as: f.creator, ready: async (p) => {
        await p.waitForSelector(`#board[data-storefront-id="${f.own.id}"]:not([hidden])`);
        await p.waitForSelector('[data-testid=connection][data-status=live]');
        await p.waitForFunction(() => document.querySelector('[data-testid=visitors-now]').dataset.value !== ''
          && document.querySelector('[data-testid=history-span]').textContent.startsWith('From '));
      },
    },
    {
      name: 'admin', path: '/admin', as: f.admin, ready: async (p) => {
        await p.locator('[data-testid=raffle-row]', { hasText: 'Nova Threads launch giveaway' }).waitFor();
        await p.waitForSelector('#raffles:not([hidden])');
        await p.getByRole('heading', { name: 'Accounts' }).waitFor();
      },
    },
    {
      name: 'verify', path: '/verify', ready: async (p) => {
        await heading(p, 'Confirm your email');
        await p.getByRole('status').getByText('This link has no token').waitFor();
      },
    },
    {
      // Without a token the page says so and points to a new link (no form to fill in vain).
      name: 'reset', path: '/reset', ready: async (p) => {
        await heading(p, 'Choose a new password');
        await p.getByRole('status').getByText('This link has no token').waitFor();
        await p.getByRole('link', { name: 'Ask for a new link' }).waitFor();
        if (await p.locator('#reset-form').isVisible()) throw new Error('the form shows without a token');
      },
    },
    {
      name: 'api-docs', path: '/api/docs', ready: async (p) => {
        await heading(p, 'livedrop API');
        await p.waitForFunction(() => !document.querySelector('#docs').textContent.startsWith('Loading'));
        await p.locator('#docs h2').first().waitFor();
      },
    },
    {
      name: 'not-found', path: '/s/no-such-shop', status: 404, ready: async (p) => {
        await heading(p, 'Not found');
        await p.getByRole('link', { name: 'livedrop' }).waitFor();
      },
    },
  ];
}

export async function run({ browser, baseURL, screenshot }) {
  const f = await fixtures(baseURL);
  mkdirSync(dirname(screenshot('pages/x.png')), { recursive: true });
  const problems = [];
  const expected = [];
  // Every page is visited even after one fails, so that one run names every faulty page.
  const failures = [];
  for (const viewport of WIDTHS) {
    for (const pg of pages(f)) {
      const label = `${pg.name} at ${viewport.width} px`;
      const ctx = await browser.newContext({ viewport });
      if (pg.as) {
        // The session as the sign-in form keeps it (session.js), unless the page has since
        // kept a newer one (a refresh) in this tab.
        await ctx.addInitScript((s) => {
          try {
            if (!sessionStorage.getItem('livedrop.session')) sessionStorage.setItem('livedrop.session', s);
          } catch { /* a frame without storage */ }
        }, JSON.stringify(pg.as));
      }
      const page = await ctx.newPage();
      page.on('console', (m) => {
        if (m.type() !== 'error') return;
        // Chromium logs the 404 page's own answer as a failed resource: expected there only.
        const answered404 = pg.status === 404 && /status of 404 \(Not Found\)/.test(m.text());
        (answered404 ? expected : problems).push(`${label}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`${label}: ${e}`));
      try {
        const res = await page.goto(`${baseURL}${pg.path}`);
        assert.equal(res.status(), pg.status ?? 200, `${label}: HTTP status`);
        await pg.ready(page);
        const { scrollWidth, innerWidth } = await page.evaluate(() => ({
          scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
        }));
        await page.screenshot({ path: screenshot(`pages/${pg.name}-${viewport.width}.png`), fullPage: true });
        assert.ok(scrollWidth <= innerWidth, `${label}: scrolls horizontally (${scrollWidth} > ${innerWidth} px)`);
        await noSeriousViolations(page, label);
      } catch (e) {
        const text = String(e && e.message || e);
        failures.push((text.includes(label) ? text : `${label}: ${text}`).split('\n').join('\n    '));
      }
      await ctx.close();
    }
  }
  if (expected.length > WIDTHS.length) failures.push(`more than the 404 page's own answer logged:\n    ${expected.join('\n    ')}`);
  if (problems.length) failures.push(`console errors:\n    ${problems.join('\n    ')}`);
  if (failures.length) throw new Error(`${failures.length} failure(s):\n  ${failures.join('\n  ')}`);
}
