// The raffle page, end to end in two browser contexts: the countdown reaches zero and the
// raffle opens by itself, a buyer signs in and enters (tickets and pseudonym shown), the
// other, unsigned tab sees the entrant count rise within a second of each entry, and a
// second click is refused as already entered.
import assert from 'node:assert/strict';
import { noSeriousViolations } from './axe.mjs';
import { json } from './helpers.mjs';

export const name = 'the raffle page counts down, opens, enters, updates live and refuses a second entry';

async function signIn(page, email, password) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('#signin[hidden]', { state: 'attached' });
}

const text = (page, testid) => page.textContent(`[data-testid=${testid}]`);

/// Wait until `page` shows `count` entrants, and say how long it took from `since`. How
/// soon is measured by `cargo bench --bench raffle_entries` (the watcher's freshness), not
/// asserted here; the timeout only ends a hang.
async function entrantsReach(page, count, since) {
  await page.waitForFunction((n) => document.querySelector('[data-testid=entrants]').textContent === String(n),
    count, { timeout: 10000 });
  console.log(`  ${count} entrant(s) shown after ${Date.now() - since} ms`);
}

export async function run({ browser, baseURL, screenshot }) {
  const creator = await json(baseURL, 'POST', '/api/auth/login', { email: 'creator@demo.livedrop.local', password: 'demo-password-1' });
  const shop = await json(baseURL, 'GET', '/api/storefronts/demo');
  const email2 = `raffle-second-${Date.now()}@example.com`;
  await json(baseURL, 'POST', '/api/auth/register', { email: email2, password: 'second buyer pw', role: 'buyer' });
  const second = await json(baseURL, 'POST', '/api/auth/login', { email: email2, password: 'second buyer pw' });
  const opens = Date.now() + 5000;
  const raffle = await json(baseURL, 'POST', '/api/raffles', {
    storefront_id: shop.id, title: 'Browser test raffle', description: 'One signed poster, drawn fairly.',
    prizes: [{ rank_from: 1, rank_to: 1, description: 'Signed poster' }], alternates: 1, entry: 'free',
    opens_at: new Date(opens).toISOString(), closes_at: new Date(opens + 14000).toISOString(),
  }, creator.access_token);
  assert.match(raffle.commitment, /^[0-9a-f]{64}$/);
  await json(baseURL, 'POST', `/api/raffles/${raffle.id}/publish`, null, creator.access_token);

  const problems = [];
  const refusals = [];
  const ctxA = await browser.newContext();
  const ctxB = await browser.newContext();
  const a = await ctxA.newPage();
  const b = await ctxB.newPage();
  for (const p of [a, b]) {
    p.on('console', (m) => {
      // Chromium itself logs a refused request as an error: the one refusal this test
      // provokes (the second entry, 409) is counted apart; anything else is a problem.
      if (m.type() === 'error') (/status of 409 \(Conflict\)/.test(m.text()) ? refusals : problems).push(m.text());
    });
    p.on('pageerror', (e) => problems.push(String(e)));
  }
  await a.goto(`${baseURL}/r/${raffle.id}`);
  await b.goto(`${baseURL}/r/${raffle.id}`);
  await a.waitForSelector('[data-testid=status][data-status=scheduled]');
  assert.match(await text(a, 'countdown'), /^opens in \d+s$/);
  assert.equal(await text(a, 'commitment'), raffle.commitment);
  assert.ok(await a.getByRole('heading', { level: 1, name: 'Browser test raffle' }).isVisible());
  assert.deepEqual(await a.locator('#prizes li').allTextContents(), ['#1 Signed poster']);
  assert.equal(await a.locator('[data-testid=enter]').isVisible(), false, 'no Enter button before sign-in');
  await a.screenshot({ path: screenshot('raffle-countdown.png'), fullPage: true });
  await noSeriousViolations(a, 'the raffle page, counting down');

  // The countdown reaches zero and the raffle opens without a reload.
  await a.waitForSelector('[data-testid=status][data-status=open]', { timeout: 15000 });
  await b.waitForSelector('[data-testid=status][data-status=open]', { timeout: 5000 });
  assert.match(await text(a, 'countdown'), /^closes in \d+s$/);
  assert.equal(await text(b, 'entrants'), '0');

  // A signs in and enters; B, not signed in, sees the count rise without a reload.
  await signIn(a, 'buyer@demo.livedrop.local', 'demo-password-1');
  const enter = a.getByRole('button', { name: 'Enter' });
  let at = Date.now();
  await enter.click();
  await entrantsReach(b, 1, at);
  await a.waitForFunction(() => document.querySelector('[data-testid=your-tickets]').textContent === '1');
  await a.waitForFunction(() => document.querySelector('[data-testid=your-entrant]').textContent.startsWith('e-'));
  assert.match(await text(a, 'your-entrant'), /^e-[0-9a-f]+$/);
  assert.match(await text(a, 'message'), /You are in/);

  // A second buyer enters through the API; both tabs follow.
  at = Date.now();
  await json(baseURL, 'POST', `/api/raffles/${raffle.id}/entries`, null, second.access_token);
  await entrantsReach(b, 2, at);
  await entrantsReach(a, 2, at);
  assert.equal(await text(b, 'tickets'), '2');

  // Entering again is refused, in words.
  await enter.click();
  await a.waitForFunction(() => /already entered/.test(document.querySelector('[data-testid=message]').textContent));
  assert.equal(await a.getAttribute('[data-testid=message]', 'class'), 'error');
  assert.equal(await text(a, 'your-tickets'), '1');
  await a.screenshot({ path: screenshot('raffle-entered.png'), fullPage: true });

  const me = await json(baseURL, 'GET', `/api/raffles/${raffle.id}/me`, null, second.access_token);
  assert.equal(me.tickets, 1);
  assert.deepEqual(problems, [], 'no console errors');
  assert.equal(refusals.length, 1, 'one refused request: the second entry');
  await ctxA.close();
  await ctxB.close();
}
