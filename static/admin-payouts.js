// The admin console's payouts: every creator's newest payouts, and a payout run now (the
// janitor runs one a day): each connected creator's available balance, paid once.

import { api, money, say, errorText } from '/static/session.js';

const $ = (sel) => document.querySelector(sel);
const msg = $('#message');

function show(list, payouts, none) {
  list.replaceChildren();
  for (const p of payouts) {
    const li = document.createElement('li');
    li.dataset.testid = 'payout';
    li.textContent = `${new Date(p.created_at).toLocaleString()} · ${p.email || ''} · ${money(p.amount_cents, p.currency)}`
      + ` · ${p.status} (${p.provider})${p.failure ? ` — ${p.failure}` : ''}`;
    list.append(li);
  }
  if (payouts.length === 0) list.append(none);
}

async function load() {
  const status = $('#payout-status').value;
  const r = await api('GET', `/api/admin/payouts?limit=50${status ? `&status=${status}` : ''}`);
  if (!r.ok) return say(msg, r.status === 401 || r.status === 403 ? 'Sign in as an admin first.' : errorText(r), false);
  show($('#payout-list'), r.data.payouts, 'No payouts.');
}

$('#payout-filter').addEventListener('submit', (e) => { e.preventDefault(); load(); });
$('#payout-run').addEventListener('click', async () => {
  if (!window.confirm('Pay every connected creator their available balance now?')) return;
  const r = await api('POST', '/api/admin/payouts/run', {});
  if (!r.ok) return say(msg, errorText(r), false);
  const n = r.data.payouts.length;
  say(msg, n ? `Payout run: ${n} payout(s).` : 'Payout run: nothing to pay.');
  load();
});
