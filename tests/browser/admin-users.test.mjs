// An admin disables an account from the console; that account then cannot sign in
// (/signin says why), and is enabled again.
import assert from 'node:assert/strict';
import { noSeriousViolations } from './axe.mjs';
import { json } from './helpers.mjs';

export const name = 'an admin disables an account, which then cannot sign in';

export async function run({ browser, baseURL, screenshot }) {
  const email = `spammer-${Date.now()}@example.com`;
  const password = 'spammer password 1';
  await json(baseURL, 'POST', '/api/auth/register', { email, password, role: 'buyer' });

  const admin = await browser.newPage();
  const problems = [];
  admin.on('pageerror', (e) => problems.push(String(e)));
  await admin.goto(`${baseURL}/admin`);
  await admin.getByLabel('Email').fill('admin@browser.test');
  await admin.getByLabel('Password').fill('browser-admin-pw-1');
  await admin.getByRole('button', { name: 'Sign in' }).click();
  await admin.getByText('Signed in as admin@browser.test.').waitFor();
  await admin.getByLabel('Find accounts by address').fill('spammer-');
  await admin.getByRole('button', { name: 'Find', exact: true }).click();
  await admin.getByRole('button', { name: `Disable ${email}` }).click();
  await admin.getByText(`${email} is disabled`).waitFor();
  await admin.screenshot({ path: screenshot('admin-users.png'), fullPage: true });

  const user = await browser.newPage();
  await user.goto(`${baseURL}/signin`);
  await user.getByLabel('Email').fill(email);
  await user.getByLabel(/^Password/).fill(password);
  await user.getByRole('button', { name: 'Sign in' }).click();
  await user.getByText('this account is disabled').waitFor();
  await noSeriousViolations(user, 'the sign-in page');
  assert.match(user.url(), /\/signin$/, 'still on the sign-in page');

  // Storefronts and orders: found here (taking one down and refunding are API-tested).
  await admin.getByLabel(/Find storefronts by address/).fill('demo');
  await admin.getByRole('button', { name: 'Find storefronts' }).click();
  await admin.locator('[data-testid=shop]', { hasText: '/s/demo' }).waitFor();
  assert.equal(await admin.getByRole('button', { name: /^Take down / }).count() >= 1, true);
  await admin.getByLabel(/Find orders by the buyer/).fill('@');
  await admin.getByRole('button', { name: 'Find orders' }).click();
  await admin.locator('#admin-order-list').filter({ hasText: /·|No order matches/ }).waitFor();
  await admin.screenshot({ path: screenshot('admin-shops.png'), fullPage: true });
  // Payouts: a run now (asks first), then the list (the demo's creators have none
  // connected, so it may be empty: either way the list answers).
  admin.once('dialog', (d) => d.accept());
  await admin.getByRole('button', { name: 'Run payouts now' }).click();
  await admin.getByText(/^Payout run: /).waitFor();
  await admin.getByTestId('admin-payout-list').filter({ hasText: /·|No payouts\./ }).waitFor();

  await admin.getByRole('button', { name: `Enable ${email}` }).click();
  await admin.getByText(`${email} is enabled`).waitFor();
  await user.getByRole('button', { name: 'Sign in' }).click();
  await user.waitForURL(/\/account$/);
  assert.deepEqual(problems, []);
  await user.close();
  await admin.close();
}
