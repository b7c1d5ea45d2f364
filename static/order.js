// One order, for its buyer (what they bought, the download, the tickets with their QR
// codes, the shipment) and for the storefront's owner (the address and "mark shipped").

import { api, session, money, minor, say, errorText, signInForm } from '/static/session.js';

const id = location.pathname.split('/').filter(Boolean).pop();
const $ = (sel) => document.querySelector(sel);
const msg = $('#message');
const STATUS = {
  pending: 'Payment pending', paid: 'Paid', declined: 'Declined',
  refund_pending: 'Refund in progress', refunded: 'Refunded',
};

function text(tag, content, attrs = {}) {
  const el = document.createElement(tag);
  el.textContent = content;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

async function load() {
  const r = await api('GET', `/api/orders/${id}`);
  if (r.status === 401 || (!session && !r.ok)) return signInForm($('#signin'), load);
  if (!r.ok) return say(msg, r.status === 404 ? 'No such order on this account.' : errorText(r), false);
  const o = r.data;
  const p = await api('GET', `/api/products/${o.product_id}`);
  const title = p.ok ? p.data.title : 'Product';
  $('#title').textContent = `Order: ${title}`;
  $('#status').textContent = (STATUS[o.status] || o.status)
    + (o.status === 'paid' && o.refunded_cents > 0 ? ` · ${money(o.refunded_cents, o.currency)} refunded` : '');
  $('#status').dataset.status = o.status;
  $('#kind').textContent = o.kind;
  $('#line').textContent = `${o.quantity} × ${title}`;
  $('#amount').textContent = money(o.amount_cents, o.currency)
    + (o.shipping_cents ? ` (shipping ${money(o.shipping_cents, o.currency)} included)` : '');
  $('#when').textContent = `Ordered ${new Date(o.created_at).toLocaleString()} · order ${o.id}`
    + (o.provider === 'test' ? ' · test payment, no money moved' : '');

  const d = $('#delivery');
  d.replaceChildren();
  if (o.delivery?.download_url) {
    const a = text('a', 'Download', { href: o.delivery.download_url, class: 'button', 'data-testid': 'download' });
    d.append(a, text('p', `This link works until ${new Date(o.delivery.expires_at).toLocaleTimeString()}; reload the page for a fresh one.`, { class: 'note' }));
  }
  for (const t of o.delivery?.tickets || []) {
    const fig = document.createElement('figure');
    fig.className = 'ticket';
    fig.dataset.testid = 'ticket';
    const qr = document.createElement('div');
    qr.className = 'qr';
    // Our own SVG, made by the server from the ticket code.
    qr.innerHTML = t.qr_svg;
    qr.querySelector('svg')?.setAttribute('role', 'img');
    qr.querySelector('svg')?.setAttribute('aria-label', `QR code of ticket ${t.code}`);
    fig.append(qr, text('figcaption', t.checked_in_at ? `${t.code} · checked in` : t.code));
    d.append(fig);
  }
  if (o.note) d.append(text('p', `Your note: ${o.note}`));

  const s = $('#shipping');
  s.replaceChildren();
  if (o.shipping) {
    const a = o.shipping;
    s.append(text('h2', 'Shipping to'), text('p', [a.name, a.line1, a.line2, `${a.postal_code} ${a.city}`, a.region, a.country].filter(Boolean).join(', ')));
  }
  if (o.buyer_email) s.append(text('p', `Buyer: ${o.buyer_email}`, { class: 'note' }));
  const f = o.fulfilment;
  $('#fulfilment').textContent = f
    ? `${o.kind === 'service' ? 'Confirmed' : 'Shipped'} ${new Date(f.at).toLocaleString()}`
      + (f.carrier ? ` with ${f.carrier}` : '') + (f.tracking ? `, tracking ${f.tracking}` : '')
    : (o.kind === 'physical' && o.status === 'paid' ? 'Not shipped yet.' : '');
  // The seller's view carries the buyer's email.
  $('#fulfil-form').hidden = !(o.buyer_email && o.status === 'paid' && !f && ['physical', 'service'].includes(o.kind));
  // The seller refunds all or part of what is left; a drop order's units may go back.
  $('#refund-form').hidden = !(o.buyer_email && o.status === 'paid');
  order = o;
  $('#refund-left').textContent = money(o.amount_cents - (o.refunded_cents || 0), o.currency);
  $('#restock-line').hidden = !o.drop_id;
  $('#order').hidden = false;
}

let order = null;
$('#refund-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const raw = $('#refund-amount').value.trim();
  const body = {};
  if (raw) body.amount_cents = Math.round(Number(raw) * minor(order.currency));
  if (order.drop_id && $('#refund-restock').checked) body.restock = true;
  const what = raw ? money(body.amount_cents, order.currency) : 'all that is left';
  if (!confirm(`Refund ${what} of this order? The buyer is told by mail.`)) return;
  const r = await api('POST', `/api/orders/${id}/refund`, body);
  if (!r.ok) return say(msg, errorText(r), false);
  say(msg, `Refunded ${what}${body.restock ? ', the units back in stock' : ''}; the buyer was told by mail.`);
  $('#refund-amount').value = '';
  load();
});

$('#fulfil-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = {};
  if ($('#carrier').value.trim()) body.carrier = $('#carrier').value;
  if ($('#tracking').value.trim()) body.tracking = $('#tracking').value;
  const r = await api('POST', `/api/orders/${id}/fulfil`, body);
  if (!r.ok) return say(msg, errorText(r), false);
  say(msg, 'Marked as shipped; the buyer was told by mail.');
  load();
});

load();
