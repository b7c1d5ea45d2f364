// The demo storefront page renders its links and one product of each kind, with no
// console errors, and is readable by keyboard and screen readers.
import assert from 'node:assert/strict';
import { noSeriousViolations } from './axe.mjs';

export const name = 'the demo storefront page shows its links and products';

export async function run({ browser, baseURL, screenshot }) {
  const page = await browser.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  const res = await page.goto(`${baseURL}/s/demo`);
  assert.equal(res.status(), 200);
  await page.waitForSelector('[data-testid=link]');
  const links = await page.locator('[data-testid=link]').allTextContents();
  assert.ok(links.includes('Friday drop calendar'), links.join(', '));
  assert.equal(await page.locator('[data-testid=product]').count(), 7);
  const kinds = await page.locator('[data-testid=product]').evaluateAll((els) => els.map((e) => e.dataset.kind).sort());
  assert.deepEqual(kinds, ['digital', 'event', 'link', 'membership', 'physical', 'service', 'tip']);
  assert.ok(await page.getByRole('heading', { level: 1, name: 'Nova Threads' }).isVisible());
  assert.ok(await page.getByRole('navigation', { name: 'Links' }).isVisible());
  // The theme stylesheet applied the creator's colour to the links.
  const bg = await page.locator('[data-testid=link]').first().evaluate((e) => getComputedStyle(e).backgroundColor);
  assert.equal(bg, 'rgb(91, 33, 182)');
  await page.screenshot({ path: screenshot('storefront.png'), fullPage: true });
  await noSeriousViolations(page, 'the storefront page');
  assert.deepEqual(problems, [], 'no console errors');
  await page.close();
}
