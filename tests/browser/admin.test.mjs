// The admin console: a buyer is turned away; three buyers enter and the admin sees the
// entrants live; the raffle closes on the server's clock and the admin draws it behind a
// confirmation, seeing three winners and the proof. A buyer's open raffle page turns to
// the same winners and their outcome without a reload, and the proof has the seed and
// the three frozen entries.
import assert from 'node:assert/strict';
import { noSeriousViolations } from './axe.mjs';
import { json } from './helpers.mjs';

export const name = 'the admin console shows live entrants, draws a closed raffle, and the raffle page shows the proof';

async function buyer(baseURL, n) {
  const email = `raffle-admin-${n}-${Date.now()}@example.com`;
  await json(baseURL, 'POST', '/api/auth/register', { email, password: 'fresh buyer pw', role: 'buyer' });
  return json(baseURL, 'POST', '/api/auth/login', { email, password: 'fresh buyer pw' });
}

/// The text of every cell of every row `rows` matches.
const cells = (rows) => rows.evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));

export async function run({ browser, baseURL, screenshot }) {
  const problems = [];
  const refusals = [];
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.on('console', (m) => {
    // Chromium itself logs a refused request as an error: the one refusal this test
    // provokes (a buyer at the console, 403) is counted apart; anything else is a problem.
    if (m.type() === 'error') (/status of 403 \(Forbidden\)/.test(m.text()) ? refusals : problems).push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  const signIn = async (email, password) => {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  // A buyer is turned away with the server's reason.
  await page.goto(`${baseURL}/admin`);
  await signIn('buyer@demo.livedrop.local', 'demo-password-1');
  await page.waitForFunction(() => document.querySelector('[data-testid=message]').textContent.startsWith('Forbidden'));
  assert.equal(await page.textContent('[data-testid=message]'), 'Forbidden: only admins may do this. Sign in with an admin account.');
  assert.equal(await page.locator('[data-testid=raffle-row]').count(), 0);
  assert.equal(refusals.length, 1, 'one refused request: the buyer');

  // A raffle open now and closing in seconds; two of the three buyers enter at once.
  const creator = await json(baseURL, 'POST', '/api/auth/login', { email: 'creator@demo.livedrop.local', password: 'demo-password-1' });
  const shop = await json(baseURL, 'GET', '/api/storefronts/demo');
  const buyers = [
    await json(baseURL, 'POST', '/api/auth/login', { email: 'buyer@demo.livedrop.local', password: 'demo-password-1' }),
    await buyer(baseURL, 1),
    await buyer(baseURL, 2),
  ];
  const title = `Admin draw test ${Date.now()}`;
  const raffle = await json(baseURL, 'POST', '/api/raffles', {
    storefront_id: shop.id, title, entry: 'free', alternates: 0,
    prizes: [{ rank_from: 1, rank_to: 1, description: 'Poster' }, { rank_from: 2, rank_to: 3, description: 'Sticker' }],
    opens_at: new Date(Date.now() - 1000).toISOString(), closes_at: new Date(Date.now() + 7000).toISOString(),
  }, creator.access_token);
  await json(baseURL, 'POST', `/api/raffles/${raffle.id}/publish`, null, creator.access_token);
  for (const b of buyers.slice(0, 2)) await json(baseURL, 'POST', `/api/raffles/${raffle.id}/entries`, null, b.access_token);

  // The admin sees the raffle with two entrants, then the third arrive live.
  await signIn('admin@browser.test', 'browser-admin-pw-1');
  const row = page.locator(`[data-testid=raffle-row][data-id="${raffle.id}"]`);
  await row.waitFor();
  assert.equal(await row.getByRole('link').textContent(), title);
  const entrants = (n) => page.waitForFunction(([id, n]) =>
    document.querySelector(`tr[data-id="${id}"] [data-testid=row-entrants]`).textContent === String(n), [raffle.id, n], { timeout: 1500 });
  await entrants(2);
  const [status, drawHidden] = await row.evaluate((tr) => [tr.querySelector('.badge').dataset.status, tr.querySelector('button').hidden]);
  assert.deepEqual([status, drawHidden], ['open', true], 'open, and no Draw button yet');
  await json(baseURL, 'POST', `/api/raffles/${raffle.id}/entries`, null, buyers[2].access_token);
  await entrants(3);
  const draw = row.getByRole('button', { name: `Draw ${title}` });

  // Meanwhile the demo buyer watches the raffle page, signed in.
  const ctxPub = await browser.newContext();
  const pub = await ctxPub.newPage();
  pub.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  pub.on('pageerror', (e) => problems.push(String(e)));
  await pub.goto(`${baseURL}/r/${raffle.id}`);
  await pub.getByLabel('Email').fill('buyer@demo.livedrop.local');
  await pub.getByLabel('Password').fill('demo-password-1');
  await pub.getByRole('button', { name: 'Sign in' }).click();
  await pub.waitForFunction(() => document.querySelector('[data-testid=your-entrant]').textContent.startsWith('e-'));
  const mine = await pub.textContent('[data-testid=your-entrant]');
  await pub.evaluate(() => { window.notReloaded = true; });

  // The server closes the raffle on its own clock; the row follows and offers the draw.
  await row.locator('[data-testid=row-status][data-status=closed]').waitFor({ timeout: 15000 });
  await pub.waitForSelector('[data-testid=status][data-status=closed]');
  // The digest arrives with the closed raffle's next state, not with the status change.
  await pub.waitForFunction(() => /^[0-9a-f]{64}$/.test(document.querySelector('[data-testid=entries-digest]')?.textContent ?? ''), null, { timeout: 15000 });
  assert.match(await pub.textContent('[data-testid=entries-digest]'), /^[0-9a-f]{64}$/);
  await draw.click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.equal(await page.textContent('#confirm-text'), `Draw ${title}? This cannot be undone.`);
  await dialog.getByRole('button', { name: 'Draw now' }).click();
  const result = page.locator('[data-testid=draw-result]');
  await result.waitFor();
  assert.equal(await dialog.isVisible(), false);
  const winners = await cells(result.locator('tbody tr'));
  assert.equal(winners.length, 3, JSON.stringify(winners));
  assert.deepEqual(winners.map(([rank, , , tickets, prize]) => [rank, tickets, prize]),
    [['#1', '1', 'Poster'], ['#2', '1', 'Sticker'], ['#3', '1', 'Sticker']]);
  for (const [, entrant] of winners) assert.match(entrant, /^e-[0-9a-f]+$/);
  // The admin sees whom to send each prize to (the public page never does).
  for (const [, , email] of winners) assert.match(email, /^[^@\s]+@[^@\s]+$/);
  assert.equal(await page.textContent('[data-testid=result-alternates]'), 'Alternates: none.');
  await row.locator('[data-testid=row-status][data-status=drawn]').waitFor();
  assert.equal(await draw.isVisible(), false, 'no second draw');
  const adminProof = await result.locator('[data-testid=proof-link]').getAttribute('href');
  assert.equal(adminProof, `/api/raffles/${raffle.id}/proof`);
  await page.screenshot({ path: screenshot('admin-draw.png'), fullPage: true });
  await noSeriousViolations(page, 'the admin console, after a draw');

  // The buyer's raffle page turned to the results by itself, with their outcome.
  await pub.waitForSelector('[data-testid=status][data-status=drawn]', { timeout: 2000 });
  assert.equal(await pub.evaluate(() => window.notReloaded), true, 'updated in place');
  const rows = await cells(pub.locator('[data-testid=winners] tbody tr'));
  assert.deepEqual(rows, winners.map(([rank, entrant, , , prize]) => [rank, entrant, prize]));
  // The public winners list names pseudonyms only (the page may greet its own reader by
  // their address: the winners' part is what must not carry one).
  const shownWinners = await pub.locator('[data-testid=winners]').textContent();
  for (const [, , email] of winners) assert.equal(shownWinners.includes(email), false, `no email among the public winners: ${email}`);
  const rank = winners.find(([, entrant]) => entrant === mine)[0];
  await pub.waitForFunction((r) => document.querySelector('[data-testid=your-outcome]').textContent.startsWith(`You won! Rank ${r}`), rank);
  assert.equal(await pub.locator('[data-testid=winners] tr.you td').nth(1).textContent(), mine);
  await pub.screenshot({ path: screenshot('raffle-drawn-signed-in.png'), fullPage: true });
  await noSeriousViolations(pub, 'the raffle page, drawn');

  // A fresh visit shows the same winners and the proof link.
  await pub.evaluate(() => sessionStorage.clear());
  await pub.reload();
  await pub.waitForSelector('[data-testid=status][data-status=drawn]');
  assert.deepEqual(await cells(pub.locator('[data-testid=winners] tbody tr')), rows);
  assert.equal(await pub.locator('[data-testid=your-outcome]').isVisible(), false);
  const href = await pub.getAttribute('[data-testid=proof-link]', 'href');
  assert.equal(href, `/api/raffles/${raffle.id}/proof`);
  assert.match(await pub.textContent('[data-testid=verify-hint]'), new RegExp(`^livedrop raffle verify http://.+/api/raffles/${raffle.id}/proof$`));
  assert.match(await pub.textContent('[data-testid=entries-digest]'), /^[0-9a-f]{64}$/);
  const proof = await json(baseURL, 'GET', href);
  assert.match(proof.seed, /^[0-9a-f]{64}$/);
  assert.equal(proof.entries.length, 3);
  assert.equal(proof.commitment, raffle.commitment);
  assert.equal(proof.entries_digest, await pub.textContent('[data-testid=entries-digest]'));
  assert.deepEqual(proof.winners.map((w) => w.entrant), rows.map(([, entrant]) => entrant));
  await pub.screenshot({ path: screenshot('raffle-drawn.png'), fullPage: true });

  assert.deepEqual(problems, [], 'no console errors');
  assert.equal(refusals.length, 1, 'no refused request but the buyer');
  await ctx.close();
  await ctxPub.close();
}
