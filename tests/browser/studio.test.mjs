// The creator's first minutes in the browser: sign up as a creator at /signup, land in
// the studio, open a storefront and go through onboarding (bio, dark theme with a brand
// colour whose contrast is checked, a first link, a first product; publishing waits for
// the email to be confirmed from the mailed link) to the public page; then, back in the
// studio, put a text block first by keyboard and a contact block second by drag and drop
// (the preview beside the editor follows before anything is saved), add a link and a
// handle, add three products of different kinds and edit one, schedule a drop and edit its
// stock, start a raffle; the public page shows exactly that. Screenshots at 1280
// and 390 px.
import assert from 'node:assert/strict';
import { noSeriousViolations } from './axe.mjs';
import { mailedLink, VERIFY_LINK } from './helpers.mjs';

export const name = 'a new creator signs up, is onboarded to a published page, arranges it, adds three products, verifies, publishes, schedules a drop and pauses, resumes and cancels it, starts a raffle';

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
  // Not confirmed yet: the studio says so and can send the link again.
  await page.getByTestId('verify-reminder').getByText(email).waitFor();
  await page.getByRole('button', { name: 'Send the link again' }).click();
  await page.getByTestId('verify-reminder').getByText('Sent: look in your inbox.').waitFor();

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
  await verify.goto(await mailedLink(email, VERIFY_LINK, 'verification'));
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
  assert.equal(await page.getByTestId('verify-reminder').isHidden(), true, 'confirmed: no reminder');
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
  // The preview beside the editor is the public renderer with what is not saved yet.
  const preview = page.frameLocator('[data-testid=preview]');
  await preview.getByText('Handmade in small batches.').waitFor();
  // A contact block, added last, dragged by its handle onto the second place.
  await page.getByLabel('Add a block').selectOption('contact');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.getByLabel('Contact email').fill('hello@maker.example.com');
  await page.locator('[data-testid=block][data-type=contact] [data-testid=drag-handle]')
    .dragTo(page.locator('[data-testid=block]').nth(1));
  const order = await page.locator('[data-testid=block]').evaluateAll((els) => els.map((e) => e.dataset.type));
  assert.deepEqual(order.slice(0, 3), ['text', 'contact', 'header'], 'dragged into second place');
  await preview.getByTestId('contact-block').getByText('hello@maker.example.com').waitFor();
  const previewOrder = await preview.locator('[data-testid=text-block], [data-testid=contact-block], .sf-header')
    .evaluateAll((els) => els.map((e) => e.dataset.testid || 'header'));
  assert.deepEqual(previewOrder, ['text-block', 'contact-block', 'header'], 'the preview follows the order');
  await page.screenshot({ path: screenshot('studio-preview-1280.png'), fullPage: false });
  await page.getByTestId('save-blocks').click();
  await page.getByText('Page saved.').waitFor();

  // Links and handles: a second link and an Instagram handle, previewed, then saved.
  await page.getByRole('button', { name: 'Add a link' }).click();
  await page.getByLabel('Title of link 2').fill('Care guide');
  await page.getByLabel('Address of link 2').fill('https://maker.example.com/care');
  await page.getByLabel('Instagram').fill('@makerstudio');
  await preview.getByRole('link', { name: 'Care guide' }).waitFor();
  await page.getByRole('button', { name: 'Save links and handles' }).click();
  await page.getByText('Links and handles saved').waitFor();

  // A refused field is named next to it (and focused); fixed, the message goes.
  await page.getByLabel('Kind').selectOption('digital');
  await page.locator('#p-title').fill('Broken link');
  await page.locator('#f-download_url').fill('ftp://files.example.com/x.pdf');
  const logged = page.waitForEvent('console', (m) => m.text().includes('status of 422'));
  await page.getByRole('button', { name: 'Add product' }).click();
  const fieldError = page.locator('#product-form .field-error');
  await fieldError.waitFor();
  assert.equal(await page.locator('#f-download_url').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('#f-download_url').getAttribute('aria-describedby'), await fieldError.getAttribute('id'));
  assert.equal(await page.evaluate(() => document.activeElement.id), 'f-download_url', 'the refused field is focused');
  // The browser logs the refusal (a 422) itself: that one is expected, no other.
  await logged;
  const refused = problems.findIndex((p) => p.includes('status of 422'));
  assert.ok(refused >= 0, `the 422 was logged: ${problems}`);
  problems.splice(refused, 1);
  await addProduct(page, 'digital', 'Pattern PDF', async () => {
    await page.locator('#f-download_url').fill('https://files.example.com/pattern.pdf');
  });
  assert.equal(await page.locator('#product-form .field-error').count(), 0, 'fixed: the message went');
  await addProduct(page, 'physical', 'Tote bag', async () => {
    await page.locator('#f-stock').fill('25');
  });
  await addProduct(page, 'event', 'Workshop', async () => {
    await page.locator('#f-starts_at').fill('2031-05-01T18:00');
    await page.locator('#f-capacity').fill('12');
  });
  // A product edited in place: the workshop gets its place and a new title.
  await page.getByRole('button', { name: 'Edit Workshop' }).click();
  assert.equal(await page.locator('#f-capacity').inputValue(), '12');
  await page.locator('#p-title').fill('Evening workshop');
  await page.locator('#f-location').fill('The studio, 4 Mill Lane');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Evening workshop: saved.').waitFor();
  await page.locator('[data-testid=product-row]', { hasText: 'Evening workshop · event' }).waitFor();
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
  // Edited after scheduling: one more black tote.
  await drop.getByRole('button', { name: 'Edit Tote drop' }).click();
  await page.locator('#d-variants').fill('Natural: 5\nBlack: 4');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Tote drop: saved.').waitFor();
  await page.locator('[data-testid=drop-row]', { hasText: 'Black: 4 of 4 left' }).waitFor();
  // The live state beside it: a change made elsewhere (the API, another tab) arrives over
  // the socket, without reloading the list.
  await drop.getByTestId('drop-live').evaluate((span) => { window.shownBefore = span; });
  await page.evaluate(async (id) => {
    const s = JSON.parse(sessionStorage.getItem('livedrop.session'));
    const d = await (await fetch(`/api/drops/${id}`)).json();
    const black = d.variants.find((v) => v.name === 'Black');
    const r = await fetch(`/api/drops/${id}`, { method: 'PATCH',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${s.access_token}` },
      body: JSON.stringify({ stock: [{ variant_id: black.id, stock: 6 }] }) });
    if (!r.ok) throw new Error(`PATCH ${r.status}`);
  }, (await drop.locator('a').getAttribute('href')).split('/').pop());
  await drop.getByTestId('drop-live').getByText('Black: 6 of 6 left').waitFor();
  assert.equal(await page.evaluate(() => window.shownBefore.isConnected), true, 'the same row, updated in place');
  const dropId = (await drop.locator('a').getAttribute('href')).split('/').pop();
  const shown = await page.evaluate(async (id) => (await fetch(`/api/drops/${id}`)).json(), dropId);
  const enteredAt = await page.evaluate(() => new Date('2031-06-01T12:00').toISOString());
  assert.equal(new Date(shown.opens_at).toISOString(), enteredAt, 'the local time entered, in UTC');
  page.once('dialog', (d) => d.accept());
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
  // Payouts: the test provider connects the account at once; no payouts yet.
  await page.getByTestId('payout-account').getByText('No payout account yet').waitFor();
  await page.getByRole('button', { name: 'Connect a payout account' }).click();
  await page.getByTestId('payout-account').getByText('Payout account connected (test)').waitFor();
  await page.getByTestId('payout-list').getByText('No payouts yet.').waitFor();
  await noSeriousViolations(page, 'the studio, collaborators');

  const pub = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await pub.goto(`${baseURL}/s/${slug}`);
  const html = await pub.content();
  assert.ok(html.indexOf('Handmade in small batches.') < html.indexOf('class="sf-header"'), 'the text block comes first');
  const kinds = await pub.locator('[data-testid=product]').evaluateAll((els) => els.map((e) => e.dataset.kind).sort());
  assert.deepEqual(kinds, ['digital', 'digital', 'event', 'physical']);
  assert.equal(await pub.locator('[data-testid=buy]').count(), 4);
  assert.equal(await pub.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(255, 255, 255)', 'the light theme saved in the Look section');
  assert.equal(await pub.getByRole('link', { name: 'Care guide' }).count(), 1, 'the link added in the studio');
  assert.equal(await pub.locator('a[href="https://instagram.com/makerstudio"]').count(), 1, 'the Instagram handle');
  assert.ok(html.indexOf('hello@maker.example.com') < html.indexOf('class="sf-header"'), 'the contact block comes second, before the header');
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
