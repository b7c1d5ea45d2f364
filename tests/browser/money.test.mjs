// A collaborative drop's money in the browser (#14): two creators sign up and confirm
// their addresses from the mailed links; the owner's drop (a $40.00 download, no waiting
// room) is set up through the API; in the owner's studio, "Collaborators & earnings", the
// owner invites the other creator at 20%; the collaborator opens the mailed invitation
// link, signs in on the way and sees it accepted; the owner publishes the drop, a buyer
// reserves and pays with the test card on the drop page; both studios, opened again, show
// their earnings moved from $0.00 to their share ($30.00 for the owner: 100% − 20% − the 5%
// fee; $8.00 for the collaborator) and the owner's split list names the three parties.
// Screenshots of both studios at 1280 px and of the collaborator's at 390 px.
import assert from 'node:assert/strict';
import { noSeriousViolations } from './axe.mjs';
import { json, mailedLink, VERIFY_LINK } from './helpers.mjs';

export const name = 'the owner invites a collaborator at 20%, who accepts from the mailed link; a buyer pays; both creators see their earnings move';

const INVITE = /https?:\/\/[^\s"<>]+\/studio\?accept=collaboration&(?:amp;)?token=[A-Za-z0-9_.~%-]+/;

/// A creator registered through the API, their address confirmed from the mailed link.
async function creator(browser, baseURL, email, password) {
  const s = await json(baseURL, 'POST', '/api/auth/register', { email, password, role: 'creator' });
  const page = await browser.newPage();
  await page.goto(await mailedLink(email, VERIFY_LINK, 'verification'));
  await page.getByText('Your email is confirmed').waitFor();
  await page.close();
  return s;
}

/// Fill the sign-in form the studio sent us to (`/signin?next=…`) and land back in the studio.
async function signIn(page, email, password) {
  await page.waitForURL(/\/signin\?next=/);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(/^Password/).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/studio$/);
}

const earnings = (page) => page.getByTestId('earnings');

export async function run({ browser, baseURL, screenshot }) {
  const stamp = Date.now();
  const ownerEmail = `owner-${stamp}@example.com`;
  const collabEmail = `collab-${stamp}@example.com`;
  const buyerEmail = `fan-${stamp}@example.com`;
  const password = 'money password 1';
  const title = `Split drop ${stamp}`;

  // Setup through the API: two confirmed creators; the owner's published storefront with a
  // $40.00 download and a draft drop of it (shares can change until the drop opens). The
  // collaborator has no storefront of their own: the studio shows them what they co-sell.
  const owner = await creator(browser, baseURL, ownerEmail, password);
  const collab = await creator(browser, baseURL, collabEmail, password);
  const shop = await json(baseURL, 'POST', '/api/storefronts', { slug: `owner-${stamp}`, title: 'Owner & Co' }, owner.access_token);
  await json(baseURL, 'POST', `/api/storefronts/${shop.id}/publish`, {}, owner.access_token);
  const product = await json(baseURL, 'POST', `/api/storefronts/${shop.id}/products`, {
    kind: 'digital', title: 'Split pattern', price_cents: 4000, currency: 'USD',
    download_url: 'https://files.example.com/split.pdf',
  }, owner.access_token);
  await json(baseURL, 'POST', `/api/products/${product.id}/publish`, {}, owner.access_token);
  const drop = await json(baseURL, 'POST', '/api/drops', {
    storefront_id: shop.id, product_id: product.id, title, price_cents: 4000, currency: 'USD',
    variants: [{ name: 'PDF', stock: 5 }], opens_at: new Date(Date.now() + 3_600_000).toISOString(),
    waiting_room_seconds: 0,
  }, owner.access_token);

  const problems = [];
  const watch = (p) => {
    p.on('console', (m) => { if (m.type() === 'error') problems.push(`${p.url()}: ${m.text()}`); });
    p.on('pageerror', (e) => problems.push(`${p.url()}: ${e}`));
  };
  const ownerCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const collabCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const buyerCtx = await browser.newContext();
  const o = await ownerCtx.newPage();
  const c = await collabCtx.newPage();
  const b = await buyerCtx.newPage();
  for (const p of [o, c, b]) watch(p);

  // The owner signs in on the way to the studio and invites the collaborator at 20%.
  await o.goto(`${baseURL}/studio`);
  await signIn(o, ownerEmail, password);
  await o.locator(`[data-testid=drop-row][data-status=draft]`, { hasText: title }).waitFor();
  await o.locator('#c-drop').selectOption({ label: title });
  await o.getByTestId('collab-list').getByText('No collaborators').waitFor();
  await earnings(o).getByText('$0.00 pending').waitFor();
  await o.getByLabel("Collaborator's email").fill(collabEmail);
  await o.getByLabel('Their share (%)').fill('20');
  await o.getByRole('button', { name: 'Invite' }).click();
  await o.getByText(`Invitation mailed to ${collabEmail}.`).waitFor();
  await o.locator('[data-testid=collab-row]', { hasText: `${collabEmail} · invited · 20%` }).waitFor();
  // Not accepted yet: the owner's split is still all but the fee.
  await o.getByTestId('split-list').getByText(/You \(owner\) · 95%/).waitFor();

  // The collaborator follows the mailed link, signs in on the way, and it is accepted.
  const invite = (await mailedLink(collabEmail, INVITE, 'invitation')).replace('&amp;', '&');
  await c.goto(invite);
  await signIn(c, collabEmail, password);
  await c.getByTestId('invite').getByText('You now co-sell this drop for 20% of each paid order.').waitFor();
  await earnings(c).getByText('$0.00 pending').waitFor();
  await c.screenshot({ path: screenshot('money-invite-accepted-1280.png'), fullPage: false });

  // The owner sees it accepted: 75% is left for them (100% − 20% − the 5% fee).
  await o.reload();
  await o.locator('[data-testid=collab-row]', { hasText: `${collabEmail} · accepted · 20%` }).waitFor();
  const splits = o.getByTestId('split-list');
  await splits.getByText(/You \(owner\) · 75% · earned \$0\.00/).waitFor();
  await splits.getByText(/Collaborator [0-9a-f]{8} · 20% · earned \$0\.00/).waitFor();
  await splits.getByText(/Platform fee · 5% · earned \$0\.00/).waitFor();
  await earnings(o).getByText('$0.00 pending').waitFor();

  // The drop opens in a few seconds; the owner publishes it from the studio.
  await json(baseURL, 'PATCH', `/api/drops/${drop.id}`, { opens_at: new Date(Date.now() + 4000).toISOString() }, owner.access_token);
  await o.getByRole('button', { name: `Publish ${title}` }).click();
  await o.getByText(`${title}: scheduled.`).waitFor();

  // A buyer creates an account on the drop page, reserves once it opens and pays.
  await b.goto(`${baseURL}/d/${drop.id}`);
  await b.getByRole('button', { name: 'Create an account instead' }).click();
  await b.getByLabel('Email').fill(buyerEmail);
  await b.getByLabel('Password').fill('buyer password 1');
  await b.getByRole('button', { name: 'Create account' }).click();
  await b.waitForSelector('#signin[hidden]', { state: 'attached' });
  await b.waitForSelector('[data-testid=status][data-status=live]', { timeout: 15000 });
  await b.getByRole('button', { name: 'Reserve' }).click();
  await b.waitForSelector('[data-testid=hold]:not([hidden])');
  await b.locator('#card').fill('4242424242424242');
  await b.getByRole('button', { name: 'Pay' }).click();
  await b.waitForFunction(() => document.querySelector('[data-testid=message]').textContent.startsWith('Paid'));

  // Both studios, opened again, show the money moved: $30.00 and $8.00 pending.
  await o.reload();
  await earnings(o).getByText('$30.00 pending · $0.00 available · $0.00 paid out').waitFor();
  await splits.getByText('You (owner) · 75% · earned $30.00 · refunded $0.00 · net $30.00').waitFor();
  await splits.getByText(/^Collaborator [0-9a-f]{8} · 20% · earned \$8\.00 · refunded \$0\.00 · net \$8\.00$/).waitFor();
  await splits.getByText('Platform fee · 5% · earned $2.00 · refunded $0.00 · net $2.00').waitFor();
  assert.equal(await splits.locator('li').count(), 3, 'owner, collaborator, platform');
  // The screenshots show the section, reached by the studio's own navigation.
  await o.getByRole('link', { name: 'Collaborators & earnings' }).click();
  await o.waitForURL(/#team$/);
  await o.screenshot({ path: screenshot('money-owner-1280.png') });
  await noSeriousViolations(o, 'the studio, earnings after a sale');

  await c.reload();
  await earnings(c).getByText('$8.00 pending · $0.00 available · $0.00 paid out').waitFor();
  // The earnings behind the figure: one credit, of this drop, as its collaborator at 20%.
  const mine = await c.evaluate(async () => {
    const s = JSON.parse(sessionStorage.getItem('livedrop.session'));
    return (await fetch('/api/me/earnings', { headers: { authorization: `Bearer ${s.access_token}` } })).json();
  });
  assert.deepEqual(mine.entries.map((e) => [e.drop_id, e.role, e.kind, e.share_bp, e.amount_cents]),
    [[drop.id, 'collaborator', 'sale', 2000, 800]]);
  // The drop they co-sell, its split with their own line.
  await c.locator('#c-drop').selectOption({ label: `${title} (you co-sell: 20%)` });
  await c.getByTestId('split-list').getByText('You (collaborator) · 20% · earned $8.00 · refunded $0.00 · net $8.00').waitFor();
  assert.equal(await c.locator('#collab-form').isHidden(), true, 'only the owner invites');
  await c.locator('#team').scrollIntoViewIfNeeded();
  await c.screenshot({ path: screenshot('money-collaborator-1280.png') });
  await c.setViewportSize({ width: 390, height: 844 });
  assert.equal(await c.evaluate(() => document.documentElement.scrollWidth > window.innerWidth), false, 'no horizontal scroll at 390 px');
  await c.getByTestId('earnings').scrollIntoViewIfNeeded();
  await c.screenshot({ path: screenshot('money-collaborator-390.png') });

  assert.deepEqual(problems, [], 'no console errors');
  await ownerCtx.close();
  await collabCtx.close();
  await buyerCtx.close();
}
