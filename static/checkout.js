// Buying one product: the form its kind needs (quantity, tip amount, note, shipping
// address), sign-in or a new account if needed, then the order page.

import { api, session, money, minor, say, errorText, fieldErrors, signInForm, paymentForm } from '/static/session.js';

const id = location.pathname.split('/').filter(Boolean).pop();
const $ = (sel) => document.querySelector(sel);
const msg = $('#message');
const KIND = {
  physical: 'Shipped to you', digital: 'Download after purchase', service: 'A service',
  membership: 'Membership', tip: 'Tip', event: 'Event tickets',
};
let product = null;
let payment = null; // paymentForm(), once the product is known

function total() {
  if (!product) return;
  const q = Number($('#quantity').value) || 1;
  let cents = product.price_cents * q;
  if (product.kind === 'tip') cents = Math.round(Number($('#amount').value || 0) * minor(product.currency));
  if (product.kind === 'physical') cents += product.shipping_cents || 0;
  $('#total').textContent = `Total: ${money(cents, product.currency)}`
    + (product.shipping_cents ? ` (shipping ${money(product.shipping_cents, product.currency)} included)` : '');
}

async function load() {
  const r = await api('GET', `/api/products/${id}`);
  if (!r.ok) { $('#title').textContent = 'Not found'; return say(msg, 'This product is not on sale.', false); }
  product = r.data;
  document.title = `${product.title} · livedrop`;
  $('#title').textContent = product.title;
  $('#kind').textContent = KIND[product.kind] || product.kind;
  $('#price').textContent = product.kind === 'membership'
    ? `${money(product.price_cents, product.currency)} a ${product.billing_interval}`
    : money(product.price_cents, product.currency);
  const sf = await api('GET', `/api/storefronts/${product.storefront_id}`);
  if (sf.ok) { $('#back').href = `/s/${sf.data.slug}`; $('#back').textContent = `← ${sf.data.title}`; }
  if (product.kind === 'link') { location.href = product.url; return; }
  const facts = [];
  if (product.available !== undefined) facts.push(product.available > 0 ? `${product.available} left` : 'Sold out');
  if (product.starts_at) facts.push(new Date(product.starts_at).toLocaleString());
  if (product.location) facts.push(product.location);
  $('#facts').textContent = facts.join(' · ');
  const single = ['membership', 'tip', 'service'].includes(product.kind);
  $('#qty-row').hidden = single;
  $('#amount-row').hidden = product.kind !== 'tip';
  $('#note-row').hidden = product.kind !== 'service';
  $('#shipping').hidden = product.kind !== 'physical';
  if (product.kind === 'tip') {
    $('#amount-currency').textContent = product.currency;
    $('#amount').min = (product.min_cents || 0) / minor(product.currency);
    $('#amount').value = Math.max(product.price_cents, product.min_cents || 0) / minor(product.currency);
  }
  $('#provider-note').textContent = '(test payments: no money moves; 4242 4242 4242 4242 pays)';
  // The test card, or Stripe's Payment Element on a node that takes real payments.
  payment = paymentForm($('#payment-element'), $('#card'), { amount: product.price_cents, currency: product.currency });
  if (product.available === 0) $('#pay').disabled = true;
  total();
  if (session) $('#buy-form').hidden = false;
  else signInForm($('#signin'), () => { $('#buy-form').hidden = false; });
}

$('#quantity').addEventListener('input', total);
$('#amount').addEventListener('input', total);

$('#buy-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  let body;
  try { body = await (await payment).fields(); } catch (err) { return say(msg, err.message, false); }
  if (!$('#qty-row').hidden) body.quantity = Number($('#quantity').value) || 1;
  if (product.kind === 'tip') body.amount_cents = Math.round(Number($('#amount').value) * minor(product.currency));
  if (product.kind === 'service' && $('#note').value.trim()) body.note = $('#note').value;
  if (product.kind === 'physical') {
    body.shipping = {
      name: $('#ship-name').value, line1: $('#ship-line1').value, city: $('#ship-city').value,
      postal_code: $('#ship-postal').value, country: $('#ship-country').value,
    };
    if ($('#ship-line2').value.trim()) body.shipping.line2 = $('#ship-line2').value;
    if ($('#ship-region').value.trim()) body.shipping.region = $('#ship-region').value;
  }
  $('#pay').disabled = true;
  const r = await api('POST', `/api/products/${id}/checkout`, body);
  $('#pay').disabled = false;
  if (!r.ok) {
    if (r.status === 401) { signInForm($('#signin'), () => {}); }
    fieldErrors($('#buy-form'), r);
    return say(msg, errorText(r), false);
  }
  fieldErrors($('#buy-form'));
  if (r.data.status === 'declined') return say(msg, 'The card was declined. Try another card.', false);
  location.href = `/orders/${r.data.order_id}`;
});

load();
