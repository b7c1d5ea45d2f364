// The admin console's storefronts and orders: find a storefront (by address, title or
// owner's email) and take it down for abuse; find a buyer's orders and refund one.
// Both ask before they act.

import { api, say, money, errorText } from '/static/session.js';

const $ = (sel) => document.querySelector(sel);
const msg = $('#message');

function button(text, label, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'secondary';
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

async function findShops() {
  const q = $('#shop-q').value.trim();
  const r = await api('GET', `/api/admin/storefronts?q=${encodeURIComponent(q)}&limit=50`);
  if (!r.ok) return say(msg, r.status === 401 || r.status === 403 ? 'Sign in as an admin first.' : errorText(r), false);
  const list = $('#shop-list');
  list.replaceChildren();
  for (const s of r.data.storefronts) {
    const li = document.createElement('li');
    li.dataset.testid = 'shop';
    li.dataset.status = s.status;
    const a = document.createElement('a');
    a.href = `/s/${s.slug}`;
    a.textContent = s.title;
    li.append(a, ` · /s/${s.slug} · ${s.owner_email} · ${s.status} `);
    if (s.status === 'published') {
      li.append(button('Take down', `Take down ${s.title}`, async () => {
        if (!window.confirm(`Take “${s.title}” off the web? Its page answers 404 until its owner publishes it again.`)) return;
        const t = await api('POST', `/api/storefronts/${s.id}/unpublish`, {});
        if (!t.ok) return say(msg, errorText(t), false);
        say(msg, `${s.title} is offline.`);
        findShops();
      }));
    }
    list.append(li);
  }
  if (r.data.storefronts.length === 0) list.append('No storefront matches.');
}

async function findOrders() {
  const q = $('#order-q').value.trim();
  const r = await api('GET', `/api/admin/orders?q=${encodeURIComponent(q)}&limit=50`);
  if (!r.ok) return say(msg, r.status === 401 || r.status === 403 ? 'Sign in as an admin first.' : errorText(r), false);
  const list = $('#admin-order-list');
  list.replaceChildren();
  for (const o of r.data.orders) {
    const li = document.createElement('li');
    li.dataset.testid = 'admin-order';
    li.dataset.status = o.status;
    const a = document.createElement('a');
    a.href = `/orders/${o.id}`;
    a.textContent = `${new Date(o.created_at).toLocaleString()} · ${o.kind} × ${o.quantity}`;
    li.append(a, ` — ${money(o.amount_cents, o.currency)}, ${o.status} · ${o.buyer_email || ''} `);
    if (o.status === 'paid') {
      li.append(button('Refund', `Refund the order of ${o.buyer_email}`, async () => {
        if (!window.confirm(`Refund ${money(o.amount_cents, o.currency)} to ${o.buyer_email}?`)) return;
        const t = await api('POST', `/api/orders/${o.id}/refund`, {});
        if (!t.ok) return say(msg, errorText(t), false);
        say(msg, `Refund of ${money(o.amount_cents, o.currency)} started.`);
        findOrders();
      }));
    }
    list.append(li);
  }
  if (r.data.orders.length === 0) list.append('No order matches.');
}

$('#shop-search').addEventListener('submit', (e) => { e.preventDefault(); findShops(); });
$('#order-search').addEventListener('submit', (e) => { e.preventDefault(); findOrders(); });
