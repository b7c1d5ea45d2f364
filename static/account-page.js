// The buyer's account: orders (each linking to its page), event tickets, memberships
// (cancel at period end), raffle tickets, a download of their data, sign-out and account deletion.

import { api, money, say, errorText, signInForm, signOut, verifyReminder } from '/static/session.js';

const $ = (sel) => document.querySelector(sel);
const msg = $('#message');
let after = null;

function item(parts) {
  const li = document.createElement('li');
  for (const p of parts) li.append(p);
  return li;
}

function link(textContent, href) {
  const a = document.createElement('a');
  a.textContent = textContent;
  a.href = href;
  return a;
}

async function orders(more = false) {
  const r = await api('GET', `/api/me/orders?limit=20${more && after ? `&after=${after}` : ''}`);
  if (!r.ok) return say(msg, errorText(r), false);
  if (!more) $('#orders').replaceChildren();
  for (const o of r.data.orders) {
    $('#orders').append(item([
      link(`${new Date(o.created_at).toLocaleDateString()} · ${o.kind} × ${o.quantity}`, `/orders/${o.id}`),
      ` — ${money(o.amount_cents, o.currency)}, ${o.status}`,
    ]));
  }
  if (!more && r.data.orders.length === 0) $('#orders').append(item(['No orders yet.']));
  after = r.data.next || null;
  $('#more').hidden = !after;
}

/// Paid event orders: their tickets (codes and QR images) are on each order's page.
async function eventTickets() {
  const r = await api('GET', '/api/me/orders?status=paid&limit=200');
  if (!r.ok) return;
  $('#event-tickets').replaceChildren();
  for (const o of r.data.orders.filter((o) => o.kind === 'event')) {
    $('#event-tickets').append(item([link(`${o.quantity} ticket${o.quantity === 1 ? '' : 's'}, ordered ${new Date(o.created_at).toLocaleDateString()}`, `/orders/${o.id}`)]));
  }
  if ($('#event-tickets').children.length === 0) $('#event-tickets').append(item(['No event tickets.']));
}

async function memberships() {
  const r = await api('GET', '/api/me/memberships');
  if (!r.ok) return;
  $('#memberships').replaceChildren();
  for (const m of r.data.memberships) {
    const until = new Date(m.current_period_end).toLocaleDateString();
    const parts = [`${m.product_title}: ${money(m.amount_cents, m.currency)} a ${m.billing_interval}, `
      + (m.status !== 'active' ? m.status : m.cancel_at_period_end ? `ends ${until}` : `renews ${until}`)];
    if (m.status === 'active' && !m.cancel_at_period_end) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'secondary';
      b.textContent = 'Cancel at period end';
      b.addEventListener('click', async () => {
        const c = await api('DELETE', `/api/me/memberships/${m.id}`);
        if (!c.ok) return say(msg, errorText(c), false);
        say(msg, `Cancelled: active until ${until}.`);
        memberships();
      });
      parts.push(' ', b);
    }
    $('#memberships').append(item(parts));
  }
  if (r.data.memberships.length === 0) $('#memberships').append(item(['No memberships.']));
}

async function raffleTickets() {
  const r = await api('GET', '/api/me/tickets');
  if (!r.ok) return;
  $('#raffle-tickets').replaceChildren();
  const byRaffle = new Map();
  for (const t of r.data) byRaffle.set(t.raffle_id, (byRaffle.get(t.raffle_id) || 0) + t.tickets);
  for (const [raffle, n] of byRaffle) $('#raffle-tickets').append(item([link(`${n} ticket${n === 1 ? '' : 's'}`, `/r/${raffle}`)]));
  if (byRaffle.size === 0) $('#raffle-tickets').append(item(['No raffle tickets.']));
}

async function load() {
  const me = await api('GET', '/api/me');
  if (!me.ok) return signInForm($('#signin'), load);
  $('#who').textContent = `Signed in as ${me.data.email}`;
  $('#studio-link').hidden = !['creator', 'admin'].includes(me.data.role);
  verifyReminder($('#verify-reminder'), me.data, 'Your receipts and tickets are mailed there.');
  $('#account').hidden = false;
  await Promise.all([orders(), eventTickets(), memberships(), raffleTickets()]);
}

$('#more').addEventListener('click', () => orders(true));
$('#signout').addEventListener('click', async () => {
  await signOut({ server: true });
  location.reload();
});
$('#export').addEventListener('click', async () => {
  const r = await api('GET', '/api/me/export');
  if (!r.ok) return say(msg, errorText(r), false);
  const a = link('', URL.createObjectURL(new Blob([JSON.stringify(r.data, null, 2)], { type: 'application/json' })));
  a.download = 'livedrop-data.json';
  a.click();
});
$('#delete-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (!confirm('Delete your account for good?')) return;
  const r = await api('DELETE', '/api/me', { password: $('#delete-password').value });
  if (!r.ok) return say(msg, errorText(r), false);
  signOut();
  $('#account').hidden = true;
  say(msg, 'Your account is deleted.');
});

load();
