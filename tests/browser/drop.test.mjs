// The drop page, end to end in two browser tabs: the countdown reaches zero and the drop
// opens by itself, one buyer reserves and the other tab's stock falls without a reload,
// the first pays with a test card, the creator pauses the drop and the second buyer's page
// shows it (and the resume), the second buyer (who created an account on the drop page)
// takes the last unit, and both end on sold out.
import assert from 'node:assert/strict';
import { noSeriousViolations } from './axe.mjs';
import { json } from './helpers.mjs';

export const name = 'the drop page counts down, opens, reserves, updates live, checks out and sells out';

async function signIn(page, email, password) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('#signin[hidden]', { state: 'attached' });
}

export async function run({ browser, baseURL, screenshot }) {
  const creator = await json(baseURL, 'POST', '/api/auth/login', { email: 'creator@demo.livedrop.local', password: 'demo-password-1' });
  const shop = await json(baseURL, 'GET', '/api/storefronts/demo');
  const product = shop.products.find((p) => p.kind === 'physical');
  const opensAt = new Date(Date.now() + 8000).toISOString();
  const drop = await json(baseURL, 'POST', '/api/drops', {
    storefront_id: shop.id, product_id: product.id, title: 'Browser test drop', price_cents: 2500,
    currency: 'USD', variants: [{ name: 'One size', stock: 2 }], opens_at: opensAt, waiting_room_seconds: 0,
  }, creator.access_token);
  await json(baseURL, 'POST', `/api/drops/${drop.id}/publish`, null, creator.access_token);
  const email2 = `second-${Date.now()}@example.com`;

  const problems = [];
  const ctxA = await browser.newContext();
  const ctxB = await browser.newContext();
  const a = await ctxA.newPage();
  const b = await ctxB.newPage();
  for (const p of [a, b]) {
    p.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    p.on('pageerror', (e) => problems.push(String(e)));
  }
  await a.goto(`${baseURL}/d/${drop.id}`);
  await b.goto(`${baseURL}/d/${drop.id}`);
  await a.waitForSelector('[data-testid=status][data-status=scheduled]');
  assert.match(await a.textContent('[data-testid=countdown]'), /opens in \d+s/);
  await a.screenshot({ path: screenshot('drop-countdown.png'), fullPage: true });
  await signIn(a, 'buyer@demo.livedrop.local', 'demo-password-1');
  // B has no account: creates one on the drop page itself.
  await b.getByRole('button', { name: 'Create an account instead' }).click();
  await b.getByLabel('Email').fill(email2);
  await b.getByLabel('Password').fill('second buyer pw');
  await b.getByRole('button', { name: 'Create account' }).click();
  await b.waitForSelector('#signin[hidden]', { state: 'attached' });

  // The countdown reaches zero and the drop opens without a reload.
  await a.waitForSelector('[data-testid=status][data-status=live]', { timeout: 15000 });
  await b.waitForSelector('[data-testid=status][data-status=live]', { timeout: 15000 });
  const remainingB = b.locator('[data-testid="remaining-One size"]');
  assert.equal(await remainingB.textContent(), '2 of 2 left');

  // A reserves; B's tab shows the stock fall without a reload. (How soon is measured by
  // `cargo bench --bench fanout`, not asserted here; the timeout only ends a hang.)
  await a.getByRole('button', { name: 'Reserve' }).click();
  await a.waitForSelector('[data-testid=hold]:not([hidden])');
  const reservedAt = Date.now();
  await b.waitForFunction(() => document.querySelector('[data-testid="remaining-One size"]').textContent === '1 of 2 left', null, { timeout: 10000 });
  console.log(`  other tab updated after ${Date.now() - reservedAt} ms`);
  assert.match(await a.textContent('[data-testid=hold-countdown]'), /\d+m \d+s/);
  await a.screenshot({ path: screenshot('drop-held.png'), fullPage: true });
  await noSeriousViolations(a, 'the drop page, a unit held');

  // A pays with the test card.
  await a.getByRole('button', { name: 'Pay' }).click();
  await a.waitForFunction(() => document.querySelector('[data-testid=message]').textContent.startsWith('Paid'));

  // The creator pauses the drop: B's page says so at once (no Reserve); then resumes.
  await json(baseURL, 'POST', `/api/drops/${drop.id}/pause`, {}, creator.access_token);
  await b.waitForSelector('[data-testid=status][data-status=paused]', { timeout: 10000 });
  assert.equal(await b.textContent('[data-testid=reserve]'), 'Paused');
  await b.screenshot({ path: screenshot('drop-paused.png'), fullPage: true });
  await json(baseURL, 'POST', `/api/drops/${drop.id}/resume`, {}, creator.access_token);
  await b.waitForSelector('[data-testid=status][data-status=live]', { timeout: 10000 });

  // B takes the last unit; both tabs end on sold out.
  await b.getByRole('button', { name: 'Reserve' }).click();
  await b.waitForSelector('[data-testid=hold]:not([hidden])');
  await a.waitForSelector('[data-testid=status][data-status=sold_out]', { timeout: 10000 });
  await b.waitForSelector('[data-testid=status][data-status=sold_out]', { timeout: 10000 });
  assert.equal(await a.textContent('[data-testid=reserve]'), 'Sold out');
  assert.equal(await b.textContent('[data-testid=reserve]'), 'Reserved');
  assert.equal(await a.textContent('[data-testid="remaining-One size"]'), 'sold out');
  await a.screenshot({ path: screenshot('drop-sold-out.png'), fullPage: true });
  await b.screenshot({ path: screenshot('drop-sold-out-other-tab.png'), fullPage: true });

  const final = await json(baseURL, 'GET', `/api/drops/${drop.id}`);
  assert.deepEqual(
    [final.variants[0].remaining, final.variants[0].held, final.variants[0].sold],
    [0, 1, 1],
  );
  assert.deepEqual(problems, [], 'no console errors');
  await ctxA.close();
  await ctxB.close();
}
