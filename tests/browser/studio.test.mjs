// The creator's first minutes in the browser: sign up as a creator at /signup, land in
// the studio, open a storefront and go through onboarding (bio, dark theme with a brand
// colour whose contrast is checked, a first link, a first product; publishing waits for
// the email to be confirmed from the mailed link) to the public page; then, back in the
// studio, put a text block first by keyboard, add three products of different kinds,
// schedule a drop, start a raffle; the public page shows exactly that. Screenshots at 1280
// and 390 px.
import assert from 'node:assert/strict';
import { noSeriousViolations } from './axe.mjs';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const name = 'a new creator signs up, is onboarded to a published page, arranges it, adds three products, verifies, publishes, schedules a drop and pauses, resumes and cancels it, starts a raffle';

async function mailedVerifyLink(email) {
  const dir = process.env.OUTBOX_DIR;
  const until = Date.now() + 10_000;
  for (;;) {
    let files = [];
    try { files = readdirSync(dir).filter((f) => f.endsWith('.eml')); } catch { /* not yet */ }
    for (const f of files) {
      const text = readFileSync(join(dir, f), 'utf8').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
      if (!text.includes(`To: ${email}`)) continue;
      const m = text.match(/https?:\/\/[^\s"<>]+\/verify\?token=[A-Za-z0-9_.~-]+/);
      if (m) return m[0];
    }
    if (Date.now() > until) throw new Error(`no verification mail for ${email}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function addProduct(page, kind, title, fill) {
  await page.getByLabel('Kind').selectOption(kind);
  await page.locator('#p-title').fill(title);
  await page.locator('#p-price').fill('12');
  await fill();
  await page.getByRole('button', { name: 'Add product' }).click();
  const row = page.locator('[data-testid=product-row]', { hasText: title });
  await row.waitFor();
  await row.getByRole('button', { name: 'Publish' }).click();
  await page.locator('[data-testid=product-row]', { hasText: `${title} · ${kind}` }).filter({ hasText: 'published' }).waitFor();
}

export async function run({ browser, baseURL, screenshot }) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  const stamp = Date.now();
  const email = `maker-${stamp}@example.com`;
  const slug = `maker-${stamp}`;

  await page.goto(`${baseURL}/signup`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(/^Password/).fill('maker password 1');
  await page.getByLabel('sell as a creator').check();
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(/\/studio$/);

  await page.locator('#sf-slug').fill(slug);
  await page.getByText('Looks free.').waitFor();
  await page.getByLabel('Storefront title').fill('Maker Studio');
  await page.getByRole('button', { name: 'Create storefront' }).click();

  // Onboarding, step 1: the look. A brand colour too faint on the dark theme is refused.
  const onboarding = page.getByTestId('onboarding');
  await onboarding.waitFor();
  await onboarding.getByLabel('A line about you').fill('Patterns and totes, made by hand.');
  await onboarding.getByLabel('Dark').check();
  await onboarding.getByLabel(/^Brand colour/).fill('#3b2f63');
  assert.equal(await page.getByTestId('contrast').getAttribute('data-ok'), 'false');
  await onboarding.getByLabel(/^Brand colour/).fill('#c4b5fd');
  assert.equal(await page.getByTestId('contrast').getAttribute('data-ok'), 'true');
  await page.screenshot({ path: screenshot('onboarding-look-1280.png'), fullPage: true });
  await page.getByRole('button', { name: 'Next: a link' }).click();
  // Step 2: a first link; step 3: a first product.
  await page.getByLabel("Your first link's title").fill('Newsletter');
  await page.getByLabel('Its address').fill('https://news.example.com/maker');
  await page.getByRole('button', { name: 'Next: a product' }).click();
  await page.getByLabel(/first product/).fill('Starter pattern');
  await page.getByLabel(/file's address/).fill('https://files.example.com/starter.pdf');
  await page.getByRole('button', { name: 'Add it and publish my page' }).click();
  // Publishing waits for the confirmed email: follow the mailed link (another tab).
  await page.getByText('Almost there: confirm your email').waitFor();
  const verify = await browser.newPage();
  await verify.goto(await mailedVerifyLink(email));
  await verify.getByText('Your email is confirmed').waitFor();
  await verify.close();
  await page.getByRole('button', { name: 'Publish my page' }).click();
  // It ends on the public page: dark, with the link and the product.
  await page.waitForURL(new RegExp(`/s/${slug}$`));
  await page.getByText('Patterns and totes, made by hand.').waitFor();
  assert.ok(await page.getByRole('link', { name: 'Newsletter' }).count() >= 1, 'the first link');
  assert.ok(await page.getByText('Starter pattern').count() >= 1, 'the first product');
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(20, 17, 28)', 'the dark theme');
  await page.screenshot({ path: screenshot('onboarding-done-1280.png'), fullPage: true });

  await page.goto(`${baseURL}/studio`);
  await page.waitForSelector('[data-testid=block]');
  assert.equal(await page.getByTestId('sf-status').textContent(), 'published');

  // The Look section shows the dark theme chosen; back to light with the default violet.
  const look = page.getByTestId('look-form');
  assert.equal(await look.getByLabel('Dark').isChecked(), true, 'the dark theme is shown');
  await look.getByLabel('Light').check();
  await look.getByLabel(/^Brand colour/).fill('#4c1d95');
  assert.equal(await page.getByTestId('look-contrast').getAttribute('data-ok'), 'true');
  await look.getByRole('button', { name: 'Save the look' }).click();
  await page.getByText('Look saved').waitFor();

  // A text block, added last, moved to the top by keyboard (Alt+↑ on the focused block).
  await page.getByLabel('Add a block').selectOption('text');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  const count = await page.locator('[data-testid=block]').count();
  await page.getByLabel('Text of this block').fill('Handmade in small batches.');
  await page.locator('[data-testid=block]').last().focus();
  for (let i = 0; i < count - 1; i += 1) await page.keyboard.press('Alt+ArrowUp');
  assert.equal(await page.locator('[data-testid=block]').first().getAttribute('data-type'), 'text');
  await page.getByTestId('save-blocks').click();
  await page.getByText('Page saved.').waitFor();

  await addProduct(page, 'digital', 'Pattern PDF', async () => {
    await page.locator('#f-download_url').fill('https://files.example.com/pattern.pdf');
  });
  await addProduct(page, 'physical', 'Tote bag', async () => {
    await page.locator('#f-stock').fill('25');
  });
  await addProduct(page, 'event', 'Workshop', async () => {
    await page.locator('#f-starts_at').fill('2031-05-01T18:00');
    await page.locator('#f-capacity').fill('12');
  });
  await page.screenshot({ path: screenshot('studio-1280.png'), fullPage: true });
  await noSeriousViolations(page, 'the studio');

  // A drop of the tote bag, scheduled in the creator's time zone (stored in UTC).
  await page.locator('#d-product').selectOption({ label: 'Tote bag (physical)' });
  await page.locator('#d-title').fill('Tote drop');
  await page.locator('#d-variants').fill('Natural: 5\nBlack: 3');
  await page.locator('#d-opens').fill('2031-06-01T12:00');
  await page.getByRole('button', { name: 'Save draft' }).first().click();
  const drop = page.locator('[data-testid=drop-row]', { hasText: 'Tote drop' });
  await page.locator('[data-testid=drop-row][data-status=draft]', { hasText: 'Tote drop' }).waitFor();
  await drop.getByRole('button', { name: 'Publish Tote drop' }).click();
  await page.locator('[data-testid=drop-row][data-status=scheduled]', { hasText: 'Tote drop' }).waitFor();
  assert.match(await drop.textContent(), /Natural: 5 of 5 left .*Black: 3 of 3 left/);
  const dropId = (await drop.locator('a').getAttribute('href')).split('/').pop();
  const shown = await page.evaluate(async (id) => (await fetch(`/api/drops/${id}`)).json(), dropId);
  const enteredAt = await page.evaluate(() => new Date('2031-06-01T12:00').toISOString());
  assert.equal(new Date(shown.opens_at).toISOString(), enteredAt, 'the local time entered, in UTC');
  await drop.getByRole('button', { name: 'Pause Tote drop' }).click();
  await page.locator('[data-testid=drop-row][data-status=paused]', { hasText: 'Tote drop' }).waitFor();
  await drop.getByRole('button', { name: 'Resume Tote drop' }).click();
  await page.getByText('Tote drop: resumed.').waitFor();
  await page.locator('[data-testid=drop-row][data-status=scheduled]', { hasText: 'Tote drop' }).waitFor();
  await page.screenshot({ path: screenshot('studio-drop-1280.png'), fullPage: true });

  // A raffle: saved as a draft, then published (it opens a minute from now).
  await page.locator('#r-title').fill('Tote giveaway');
  await page.locator('#r-prize').fill('A signed tote');
  await page.getByRole('button', { name: 'Save draft' }).last().click();
  const raffleRow = page.locator('[data-testid=raffle-row]', { hasText: 'Tote giveaway' });
  await page.locator('[data-testid=raffle-row][data-status=draft]', { hasText: 'Tote giveaway' }).waitFor();
  await raffleRow.getByRole('button', { name: 'Publish Tote giveaway' }).click();
  await page.locator('[data-testid=raffle-row][data-status=scheduled]', { hasText: 'Tote giveaway' }).waitFor();
  // A collaborator invited to the scheduled drop, at 20%: until they accept, the owner's
  // split is still all but the 5% fee.
  assert.match(await page.getByTestId('team-note').textContent(), /Co-sell a drop/);
  await page.locator('#c-drop').selectOption({ label: 'Tote drop' });
  await page.getByLabel("Collaborator's email").fill('friend@example.com');
  await page.getByLabel('Their share (%)').fill('20');
  await page.getByRole('button', { name: 'Invite' }).click();
  await page.locator('[data-testid=collab-row]', { hasText: 'friend@example.com · invited · 20%' }).waitFor();
  await page.getByTestId('split-list').getByText(/You \(owner\) · 95%/).waitFor();
  assert.match(await page.getByTestId('earnings').textContent(), /pending/);
  await noSeriousViolations(page, 'the studio, collaborators');

  const pub = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await pub.goto(`${baseURL}/s/${slug}`);
  const html = await pub.content();
  assert.ok(html.indexOf('Handmade in small batches.') < html.indexOf('class="sf-header"'), 'the text block comes first');
  const kinds = await pub.locator('[data-testid=product]').evaluateAll((els) => els.map((e) => e.dataset.kind).sort());
  assert.deepEqual(kinds, ['digital', 'digital', 'event', 'physical']);
  assert.equal(await pub.locator('[data-testid=buy]').count(), 4);
  assert.equal(await pub.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(255, 255, 255)', 'the light theme saved in the Look section');
  const wide = await pub.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  assert.equal(wide, false, 'no horizontal scroll at 390 px');
  await pub.screenshot({ path: screenshot('studio-public-390.png'), fullPage: true });
  assert.ok(await pub.locator(`a[href="/d/${dropId}"]`).count() >= 1, 'the public page shows the scheduled drop');
  // Cancelling asks first; then the drop is called off for good.
  page.once('dialog', (d) => d.accept());
  await drop.getByRole('button', { name: 'Cancel Tote drop' }).click();
  await page.locator('[data-testid=drop-row][data-status=cancelled]', { hasText: 'Tote drop' }).waitFor();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: screenshot('studio-390.png'), fullPage: true });
  assert.deepEqual(problems, [], 'no console errors');
  await pub.close();
  await page.close();
}
