// The creator's studio: open a storefront, arrange its page (blocks: reorder by button or
// Alt+arrow, hide, remove, add), publish it, add and manage products of every kind,
// schedule drops (in the creator's time zone, stored in UTC) and pause, resume or cancel
// them, run raffles (create, publish, cancel, draw), and follow the orders. Everything goes through the JSON API the outside world uses.

import { api, request, live, money, minor, say, errorText, fieldErrors, session, verifyReminder } from '/static/session.js';

const $ = (sel) => document.querySelector(sel);
const msg = $('#message');
let stores = [];
let current = null;
let blocks = [];
// The drops this account co-sells (accepted invitations): their splits and its earnings.
let collaborations = [];
// This storefront's products, drops and raffles (the blocks that show one choose from them).
let products = [];
let drops = [];
let raffles = [];

// The API's name of a kind's field where the form's differs (it takes major units).
const API_FIELD = { shipping: 'shipping_cents', min: 'min_cents' };
const FIELDS = {
  physical: [['stock', 'Stock', 'number', '10'], ['shipping', 'Flat shipping fee', 'number', '0']],
  digital: [['download_url', 'File address (https://…; buyers never see it)', 'url', '']],
  service: [['duration_minutes', 'Length in minutes', 'number', '30']],
  membership: [['billing_interval', 'Billed every', 'select', 'month']],
  tip: [['min', 'Smallest tip', 'number', '1']],
  event: [['starts_at', 'Starts at (your time)', 'datetime-local', ''], ['capacity', 'Places', 'number', '50'], ['location', 'Place', 'text', '']],
  link: [['url', 'Link (https://…)', 'url', '']],
};

function el(tag, text, attrs = {}) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function button(text, onClick, attrs = {}) {
  const b = el('button', text, { type: 'button', class: 'secondary', ...attrs });
  b.addEventListener('click', onClick);
  return b;
}

async function start() {
  const here = encodeURIComponent(location.pathname + location.search);
  if (!session) { location.assign(`/signin?next=${here}`); return; }
  const me = await api('GET', '/api/me');
  if (!me.ok) { location.assign(`/signin?next=${here}`); return; }
  if (me.data.role !== 'creator' && me.data.role !== 'admin') {
    $('#gate').hidden = false;
    $('#gate').textContent = 'The studio is for creators. This account buys; create a creator account to sell.';
    return;
  }
  verifyReminder($('#verify-reminder'), me.data);
  await acceptInvitation();
  $('#team').hidden = false;
  const [r, co] = await Promise.all([api('GET', '/api/storefronts'), api('GET', '/api/me/collaborations')]);
  collaborations = co.ok ? co.data.collaborations : [];
  stores = r.ok ? r.data : [];
  if (stores.length === 0) {
    // A collaborator without a storefront of their own still sees what they co-sell.
    $('#create').hidden = false;
    fillTeamDrops();
    return;
  }
  $('#which').replaceChildren(...stores.map((s) => el('option', s.title, { value: s.id })));
  await open(stores[0].id);
}

// A collaboration invitation's mailed link: /studio?accept=collaboration&token=…
async function acceptInvitation() {
  const q = new URLSearchParams(location.search);
  if (q.get('accept') !== 'collaboration' || !q.get('token')) return;
  const r = await api('POST', '/api/collaborations/accept', { token: q.get('token') });
  const box = $('#invite');
  box.hidden = false;
  say(box, r.ok
    ? `You now co-sell this drop for ${(r.data.share_bp / 100).toLocaleString()}% of each paid order.`
    : `${errorText(r)} Sign in with the account of the invited address.`, r.ok);
  history.replaceState(null, '', '/studio');
}

async function open(id) {
  current = stores.find((s) => s.id === id);
  $('#work').hidden = false;
  $('#create').hidden = true;
  $('#which').value = id;
  $('#view').href = `/s/${current.slug}`;
  $('#sf-status').textContent = current.status;
  $('#sf-status').dataset.status = current.status;
  $('#publish').textContent = current.status === 'published' ? 'Unpublish' : 'Publish';
  fillLook();
  fillLinks();
  await Promise.all([loadBlocks(), loadProducts(), loadOrders(), loadDrops(), loadRaffles()]);
  drawBlocks(); // the blocks that show one product, drop or raffle choose from the lists
}

// ---- Links and social handles
const NETWORKS = { instagram: 'Instagram', tiktok: 'TikTok', youtube: 'YouTube', x: 'X', twitch: 'Twitch', threads: 'Threads' };
let links = [];

function fillLinks() {
  links = (current.links || []).map((l) => ({ ...l }));
  drawLinks();
  const box = $('#social-fields');
  box.replaceChildren();
  for (const [n, name] of Object.entries(NETWORKS)) {
    const i = el('input', undefined, { id: `s-${n}`, maxlength: '31', pattern: '@?[A-Za-z0-9_.]{1,30}', autocomplete: 'off', 'data-field': `socials.${n}` });
    i.value = current.socials?.[n] || '';
    i.addEventListener('input', schedulePreview);
    box.append(el('label', name, { for: `s-${n}` }), i);
  }
}

function drawLinks() {
  const list = $('#link-list');
  list.replaceChildren();
  links.forEach((l, i) => {
    const name = l.title || `link ${i + 1}`;
    const li = el('li', undefined, { 'data-testid': 'link-row' });
    const t = el('input', undefined, { 'aria-label': `Title of link ${i + 1}`, maxlength: '80', required: '', 'data-field': `links[${i}].title` });
    t.value = l.title;
    t.addEventListener('input', () => { l.title = t.value; schedulePreview(); });
    const u = el('input', undefined, { type: 'url', 'aria-label': `Address of link ${i + 1}`, maxlength: '2048', required: '', placeholder: 'https://…', 'data-field': `links[${i}].url` });
    u.value = l.url;
    u.addEventListener('input', () => { l.url = u.value; schedulePreview(); });
    const swap = (j) => () => {
      if (j < 0 || j >= links.length) return;
      [links[i], links[j]] = [links[j], links[i]];
      drawLinks();
    };
    li.append(t, u,
      button('↑', swap(i - 1), { 'aria-label': `Move ${name} up` }),
      button('↓', swap(i + 1), { 'aria-label': `Move ${name} down` }),
      button('Remove', () => { links.splice(i, 1); drawLinks(); }, { 'aria-label': `Remove ${name}` }));
    list.append(li);
  });
  schedulePreview();
}

const draftLinks = () => links.filter((l) => l.title.trim() || l.url.trim())
  .map((l) => ({ title: l.title.trim(), url: l.url.trim() }));
const draftSocials = () => Object.fromEntries(Object.keys(NETWORKS)
  .map((n) => [n, ($(`#s-${n}`)?.value || '').trim()]).filter(([, v]) => v));

$('#add-link').addEventListener('click', () => {
  links.push({ title: '', url: '' });
  drawLinks();
  $('#link-list').lastElementChild.querySelector('input').focus();
});
$('#links-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await api('PATCH', `/api/storefronts/${current.id}`, { links: draftLinks(), socials: draftSocials() });
  if (!r.ok) { fieldErrors($('#links-form'), r); return say(msg, errorText(r), false); }
  fieldErrors($('#links-form'));
  Object.assign(current, r.data);
  fillLinks();
  say(msg, 'Links and handles saved: the page shows them now.');
});

// ---- Page blocks
const LABEL = { header: 'Header', socials: 'Social icons', links: 'Links', products: 'Product grid',
  product: 'One product', drop: 'Drops', raffle: 'Raffles', text: 'Text', contact: 'Contact' };

async function loadBlocks() {
  const r = await api('GET', `/api/storefronts/${current.id}/blocks`);
  if (r.ok) { blocks = r.data.blocks; drawBlocks(); }
}

function move(i, by, focus = false) {
  moveTo(i, i + by, focus);
}

/// Move block `i` to place `j` (arrow buttons, Alt+arrow, drag and drop).
function moveTo(i, j, focus = false) {
  if (j < 0 || j >= blocks.length || i === j) return;
  const [b] = blocks.splice(i, 1);
  blocks.splice(j, 0, b);
  drawBlocks();
  if (focus) $('#blocks').children[j].focus();
  say(msg, `${LABEL[b.type]} moved to position ${j + 1} of ${blocks.length}.`);
}

/// A block's choice of one product, drop or raffle (`settings[key]`), from this
/// storefront's own; `all` names the choice of every one, when the block allows it.
function chooser(b, key, label, items, all) {
  const s = el('select', undefined, { 'aria-label': label });
  if (all) s.append(el('option', all, { value: '' }));
  for (const x of items) s.append(el('option', x.title, { value: x.id }));
  if (!all && !b.settings[key] && items[0]) b.settings[key] = items[0].id;
  s.value = b.settings[key] || '';
  s.addEventListener('change', () => {
    if (s.value) b.settings[key] = s.value; else delete b.settings[key];
    schedulePreview();
  });
  return s;
}

let dragged = null;
function drawBlocks() {
  const list = $('#blocks');
  list.replaceChildren();
  blocks.forEach((b, i) => {
    const li = el('li', undefined, { tabindex: '0', 'data-testid': 'block', 'data-type': b.type,
      'aria-label': `${LABEL[b.type] || b.type}, position ${i + 1}${b.hidden ? ', hidden' : ''}` });
    // Drag and drop by the handle (the keyboard and the arrow buttons do the same).
    const handle = el('span', '⠿', { class: 'handle', draggable: 'true', title: 'Drag to move', 'aria-hidden': 'true', 'data-testid': 'drag-handle' });
    handle.addEventListener('dragstart', (e) => {
      dragged = i;
      e.dataTransfer.effectAllowed = 'move';
      e.dataTransfer.setData('text/plain', String(i));
      e.dataTransfer.setDragImage(li, 10, 10);
      li.classList.add('dragging');
    });
    handle.addEventListener('dragend', () => { li.classList.remove('dragging'); dragged = null; });
    li.addEventListener('dragover', (e) => { if (dragged !== null) { e.preventDefault(); li.classList.add('drop-here'); } });
    li.addEventListener('dragleave', () => li.classList.remove('drop-here'));
    li.addEventListener('drop', (e) => {
      e.preventDefault();
      const from = dragged ?? Number(e.dataTransfer.getData('text/plain'));
      dragged = null;
      moveTo(from, i);
    });
    li.append(handle, ' ', el('strong', LABEL[b.type] || b.type));
    if (b.type === 'text') {
      const t = el('textarea', undefined, { 'aria-label': 'Text of this block', rows: '3', maxlength: '5000' });
      t.value = b.settings.body || '';
      t.addEventListener('input', () => { b.settings.body = t.value; schedulePreview(); });
      li.append(t);
    }
    if (b.type === 'contact') {
      const t = el('input', undefined, { type: 'email', 'aria-label': 'Contact email' });
      t.value = b.settings.email || '';
      t.addEventListener('input', () => { b.settings.email = t.value; schedulePreview(); });
      li.append(t);
    }
    if (b.type === 'product') li.append(chooser(b, 'product_id', 'Which product', products.filter((p) => p.status !== 'archived')));
    if (b.type === 'drop') li.append(chooser(b, 'drop_id', 'Which drop', drops, 'Every drop'));
    if (b.type === 'raffle') li.append(chooser(b, 'raffle_id', 'Which raffle', raffles, 'Every raffle'));
    const hide = el('input', undefined, { type: 'checkbox', id: `hide-${i}` });
    hide.checked = b.hidden;
    hide.addEventListener('change', () => { b.hidden = hide.checked; schedulePreview(); });
    const hl = el('label', ' Hidden', { for: `hide-${i}`, class: 'inline' });
    hl.prepend(hide);
    li.append(hl,
      button('↑', () => move(i, -1), { 'aria-label': `Move ${LABEL[b.type]} up` }),
      button('↓', () => move(i, 1), { 'aria-label': `Move ${LABEL[b.type]} down` }),
      button('Remove', () => { blocks.splice(i, 1); drawBlocks(); }, { 'aria-label': `Remove ${LABEL[b.type]}` }));
    li.addEventListener('keydown', (e) => {
      if (e.target !== li || !e.altKey) return;
      if (e.key === 'ArrowUp') { e.preventDefault(); move(i, -1, true); }
      if (e.key === 'ArrowDown') { e.preventDefault(); move(i, 1, true); }
    });
    list.append(li);
  });
  schedulePreview();
}

// ---- The preview: the public page's own renderer, with what is not saved yet.
let previewTimer = null;
let previewSeq = 0;
function schedulePreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(drawPreview, 250);
}
async function drawPreview() {
  if (!current) return;
  const seq = ++previewSeq;
  const storefront = { bio: $('#l-bio').value, avatar_url: $('#l-avatar').value.trim(), theme: chosenTheme('l'),
    links: draftLinks(), socials: draftSocials() };
  const res = await request('POST', `/api/storefronts/${current.id}/preview`, { blocks, storefront });
  if (seq !== previewSeq) return; // a newer one is on its way
  const state = $('#preview-state');
  if (!res.ok) {
    let text = `The preview cannot show this yet (${res.status}).`;
    try { text = errorText({ status: res.status, data: await res.json() }); } catch { /* not JSON */ }
    say(state, text, false);
    return;
  }
  const html = await res.text();
  if (seq !== previewSeq) return;
  $('#preview').srcdoc = html;
  state.className = 'note';
  state.textContent = 'Your page as visitors will see it, with what you changed and not saved yet.';
}

$('#add').addEventListener('click', () => {
  const type = $('#add-type').value;
  const settings = type === 'text' ? { body: 'Say something to your visitors.' }
    : type === 'contact' ? { email: '' } : {};
  blocks.push({ type, hidden: false, settings });
  drawBlocks();
});

$('#save-blocks').addEventListener('click', async () => {
  const r = await api('PUT', `/api/storefronts/${current.id}/blocks`, { blocks });
  if (!r.ok) return say(msg, errorText(r), false);
  blocks = r.data.blocks;
  drawBlocks();
  say(msg, 'Page saved.');
});

$('#publish').addEventListener('click', async () => {
  const action = current.status === 'published' ? 'unpublish' : 'publish';
  const r = await api('POST', `/api/storefronts/${current.id}/${action}`, {});
  if (!r.ok) return say(msg, errorText(r), false);
  Object.assign(current, r.data);
  say(msg, action === 'publish' ? 'Your storefront is live.' : 'Your storefront is offline.');
  open(current.id);
});

// ---- Products
async function loadProducts() {
  const r = await api('GET', `/api/storefronts/${current.id}/products`);
  products = r.ok ? r.data : [];
  const list = $('#product-list');
  list.replaceChildren();
  for (const p of products) {
    const li = el('li', undefined, { 'data-testid': 'product-row' });
    li.append(`${p.title} · ${p.kind} · ${money(p.price_cents, p.currency)} · ${p.status}`
      + (p.available !== undefined ? ` · ${p.available} left` : ''), ' ');
    const act = (name, path) => button(name, async () => {
      const a = await api('POST', `/api/products/${p.id}/${path}`, {});
      if (!a.ok) return say(msg, errorText(a), false);
      say(msg, `${p.title}: ${a.data.status}.`);
      loadProducts();
    });
    if (p.status === 'draft') li.append(act('Publish', 'publish'));
    if (p.status === 'published') li.append(act('Unpublish', 'unpublish'));
    if (p.status !== 'archived') {
      li.append(button('Edit', () => editProduct(p), { 'aria-label': `Edit ${p.title}` }), act('Archive', 'archive'));
    }
    list.append(li);
  }
  if (list.children.length === 0) list.append(el('li', 'No products yet: add the first below.'));
  fillDropProducts();
}

function drawFields() {
  const box = $('#p-fields');
  box.replaceChildren();
  for (const [name, label, type, value] of FIELDS[$('#p-kind').value]) {
    box.append(el('label', label, { for: `f-${name}` }));
    if (type === 'select') {
      const s = el('select', undefined, { id: `f-${name}`, 'data-field': name });
      s.append(el('option', 'month', { value: 'month' }), el('option', 'year', { value: 'year' }));
      box.append(s);
    } else {
      const i = el('input', undefined, { id: `f-${name}`, type, 'data-field': API_FIELD[name] || name });
      i.value = value;
      box.append(i);
    }
  }
}
$('#p-kind').addEventListener('change', drawFields);

let editing = null; // the product the form edits; null: the form adds one

/// Fill the product form with `p` to change it (its kind stays).
function editProduct(p) {
  editing = p;
  const m = minor(p.currency);
  $('#p-kind').value = p.kind;
  $('#p-kind').disabled = true;
  drawFields();
  $('#p-title').value = p.title;
  $('#p-description').value = p.description || '';
  $('#p-price').value = p.price_cents / m;
  $('#p-currency').value = p.currency;
  const set = (n, v) => { const i = $(`#f-${n}`); if (i && v !== undefined && v !== null) i.value = v; };
  set('stock', p.stock);
  set('shipping', p.shipping_cents !== undefined ? p.shipping_cents / m : undefined);
  set('download_url', p.download_url);
  set('duration_minutes', p.duration_minutes);
  set('billing_interval', p.billing_interval);
  set('min', p.min_cents !== undefined ? p.min_cents / m : undefined);
  set('starts_at', p.starts_at ? localInput(new Date(p.starts_at)) : undefined);
  set('capacity', p.capacity);
  set('location', p.location);
  set('url', p.url);
  $('#p-form-h').textContent = `Edit “${p.title}”`;
  $('#p-submit').textContent = 'Save changes';
  $('#p-cancel').hidden = false;
  $('#p-title').focus();
}

function stopEditingProduct() {
  editing = null;
  $('#p-kind').disabled = false;
  $('#p-form-h').textContent = 'New product';
  $('#p-submit').textContent = 'Add product';
  $('#p-cancel').hidden = true;
  $('#p-title').value = '';
  $('#p-description').value = '';
  drawFields();
}
$('#p-cancel').addEventListener('click', stopEditingProduct);

$('#product-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const kind = $('#p-kind').value;
  const currency = $('#p-currency').value.trim().toUpperCase();
  const f = (n) => $(`#f-${n}`)?.value;
  const body = { title: $('#p-title').value, currency, description: $('#p-description').value,
    price_cents: Math.round(Number($('#p-price').value) * minor(currency)) };
  if (kind === 'physical') { body.stock = Number(f('stock')); body.shipping_cents = Math.round(Number(f('shipping')) * minor(currency)); }
  if (kind === 'digital') body.download_url = f('download_url');
  if (kind === 'service') body.duration_minutes = Number(f('duration_minutes'));
  if (kind === 'membership') body.billing_interval = f('billing_interval');
  if (kind === 'tip') body.min_cents = Math.round(Number(f('min')) * minor(currency));
  if (kind === 'event') {
    body.starts_at = f('starts_at') ? new Date(f('starts_at')).toISOString() : '';
    body.capacity = Number(f('capacity'));
    if (f('location')) body.location = f('location');
  }
  if (kind === 'link') body.url = f('url');
  const r = editing
    ? await api('PATCH', `/api/products/${editing.id}`, body)
    : await api('POST', `/api/storefronts/${current.id}/products`, { kind, ...body });
  if (!r.ok) { fieldErrors($('#product-form'), r); return say(msg, errorText(r), false); }
  fieldErrors($('#product-form'));
  say(msg, editing ? `${r.data.title}: saved.` : `${r.data.title} added as a draft: publish it to sell it.`);
  stopEditingProduct();
  loadProducts();
});

// ---- Drops
const localInput = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);

const stockText = (d) => d.variants.map((v) => `${v.name}: ${v.remaining} of ${v.stock} left (${v.held} held, ${v.sold} sold)`).join('; ');

// Each drop's live state beside it: its topic on the socket feed, merged into the row.
let feed = null;
const watched = () => drops.filter((d) => !['draft', 'cancelled', 'closed'].includes(d.status)).map((d) => `drop:${d.id}`);
function onDropMessage(m) {
  const d = drops.find((x) => m.topic === `drop:${x.id}`);
  if (!d || !m.data) return;
  const before = d.status;
  Object.assign(d, m.data);
  if (d.status !== before) { drawDrops(); return; } // its buttons change
  const state = document.querySelector(`[data-drop="${d.id}"] [data-testid=drop-live]`);
  if (state) state.textContent = stockText(d);
}

async function loadDrops() {
  const r = await api('GET', `/api/storefronts/${current.id}/drops`);
  drops = r.ok ? r.data.drops : [];
  drawDrops();
  if (feed) feed.update(); else feed = live(watched, onDropMessage);
  fillTeamDrops();
}

/// The drops the Collaborators & earnings section can show: this storefront's, then those
/// this account co-sells.
function fillTeamDrops() {
  const keep = $('#c-drop').value;
  $('#c-drop').replaceChildren(...drops.map((d) => el('option', d.title, { value: d.id })),
    ...collaborations.map((c) => el('option', `${c.title} (you co-sell: ${pct(c.share_bp)})`, { value: c.drop_id })));
  if (keep && [...$('#c-drop').options].some((o) => o.value === keep)) $('#c-drop').value = keep;
  loadTeam();
}

function drawDrops() {
  const list = $('#drop-list');
  list.replaceChildren();
  for (const d of drops) {
    const li = el('li', undefined, { 'data-testid': 'drop-row', 'data-status': d.status, 'data-drop': d.id });
    li.append(el('a', d.title, { href: `/d/${d.id}` }),
      ` · ${d.status} · opens ${new Date(d.opens_at).toLocaleString()} · ${money(d.price_cents, d.currency)} · `,
      el('span', stockText(d), { 'data-testid': 'drop-live' }), ' ');
    const act = (name, path, confirmText) => button(name, async () => {
      if (confirmText && !window.confirm(confirmText)) return;
      const a = await api('POST', `/api/drops/${d.id}/${path}`, {});
      if (!a.ok) return say(msg, errorText(a), false);
      const done = { publish: 'scheduled', pause: 'paused', resume: 'resumed', cancel: 'cancelled' }[path];
      const paid = a.data?.paid_orders;
      say(msg, `${d.title}: ${done}.`
        + (paid ? ` ${paid} paid order(s) stay paid; refund them from Orders if you wish.` : ''));
      loadDrops();
    }, { 'aria-label': `${name} ${d.title}` });
    if (d.status === 'draft') li.append(act('Publish', 'publish'));
    if (['scheduled', 'live', 'sold_out'].includes(d.status)) {
      li.append(act('Pause', 'pause', `Pause “${d.title}”? New reservations stop until you resume; the ones held can still be paid.`));
    }
    if (d.status === 'paused') li.append(act('Resume', 'resume'));
    if (!['cancelled', 'closed'].includes(d.status)) {
      li.append(button('Edit', () => editDrop(d), { 'aria-label': `Edit ${d.title}` }));
      li.append(act('Cancel', 'cancel', `Cancel “${d.title}” for good? Every reservation is released and its holder told.`));
    }
    list.append(li);
  }
  if (list.children.length === 0) list.append(el('li', 'No drops yet: schedule the first below.'));
}

// ---- Collaborators & earnings
const pct = (bp) => `${(bp / 100).toLocaleString()}%`;

async function loadTeam() {
  const drop = $('#c-drop').value;
  const list = $('#collab-list');
  const splits = $('#split-list');
  list.replaceChildren();
  splits.replaceChildren();
  // Only the drop's owner invites and removes; a collaborator sees the drop's splits.
  const own = drops.some((d) => d.id === drop);
  $('#collab-form').hidden = Boolean(drop) && !own;
  if (drop) {
    const [c, s] = await Promise.all([
      api('GET', `/api/drops/${drop}/collaborators`), api('GET', `/api/drops/${drop}/splits`)]);
    for (const x of (c.ok ? c.data.collaborators : [])) {
      const li = el('li', `${x.email} · ${x.status} · ${pct(x.share_bp)} `, { 'data-testid': 'collab-row' });
      if (own) li.append(button('Remove', async () => {
        if (!window.confirm(`Remove ${x.email} from this drop?`)) return;
        const a = await api('DELETE', `/api/drops/${drop}/collaborators/${x.id}`);
        if (!a.ok) return say(msg, errorText(a), false);
        say(msg, `${x.email} removed.`);
        loadTeam();
      }, { 'aria-label': `Remove ${x.email}` }));
      list.append(li);
    }
    if (list.children.length === 0) list.append(el('li', 'No collaborators: every sale of this drop is yours (less the fee).'));
    const me = session?.user?.id;
    for (const p of (s.ok ? s.data.parties : [])) {
      const who = p.role === 'platform' ? 'Platform fee'
        : p.party === me ? `You (${p.role})` : p.role === 'owner' ? 'Owner' : `Collaborator ${p.party.slice(0, 8)}`;
      splits.append(el('li', `${who} · ${pct(p.share_bp)} · earned ${money(p.earned_cents, s.data.currency)}`
        + ` · refunded ${money(p.reversed_cents, s.data.currency)} · net ${money(p.net_cents, s.data.currency)}`));
    }
  }
  const e = await api('GET', '/api/me/earnings');
  if (e.ok) {
    $('#earnings').textContent = `${money(e.data.pending_cents, e.data.currency)} pending`
      + ` · ${money(e.data.available_cents, e.data.currency)} available`
      + ` · ${money(e.data.paid_out_cents, e.data.currency)} paid out`;
  }
  loadPayouts();
}

// ---- Payouts: the payout account and what was paid to it.
async function loadPayouts() {
  const [a, p] = await Promise.all([api('GET', '/api/me/payouts/account'), api('GET', '/api/me/payouts')]);
  if (a.ok) {
    $('#payout-account').textContent = !a.data.connected ? 'No payout account yet: connect one to be paid.'
      : a.data.status === 'enabled' ? `Payout account connected (${a.data.provider}): payouts are sent to it.`
        : 'Payout account connected, its set-up not finished: continue it to be paid.';
    $('#payout-connect').textContent = !a.data.connected ? 'Connect a payout account'
      : a.data.status === 'enabled' ? 'Review the payout account' : 'Continue the set-up';
  }
  const list = $('#payout-list');
  list.replaceChildren();
  for (const x of (p.ok ? p.data : [])) {
    list.append(el('li', `${new Date(x.created_at).toLocaleDateString()} · ${money(x.amount_cents, x.currency)} · ${x.status}`
      + (x.failure ? ` (${x.failure}; the amount is available again)` : ''), { 'data-testid': 'payout-row' }));
  }
  if (list.children.length === 0) list.append(el('li', 'No payouts yet.'));
}
$('#payout-connect').addEventListener('click', async () => {
  const r = await api('POST', '/api/me/payouts/account', {});
  if (!r.ok) return say(msg, errorText(r), false);
  // The provider's onboarding (the test provider's comes straight back here).
  if (new URL(r.data.onboarding_url, location.href).pathname === '/studio') {
    say(msg, 'Payout account connected.');
    loadPayouts();
  } else {
    location.assign(r.data.onboarding_url);
  }
});

$('#c-drop').addEventListener('change', loadTeam);

$('#collab-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const drop = $('#c-drop').value;
  if (!drop) return say(msg, 'Create a drop first.', false);
  const r = await api('POST', `/api/drops/${drop}/collaborators`, {
    email: $('#c-email').value, share_bp: Math.round(Number($('#c-share').value) * 100) });
  if (!r.ok) { fieldErrors($('#collab-form'), r); return say(msg, errorText(r), false); }
  fieldErrors($('#collab-form'));
  say(msg, `Invitation mailed to ${r.data.email}.`);
  $('#c-email').value = '';
  $('#c-share').value = '';
  loadTeam();
});

async function fillDropProducts() {
  const r = await api('GET', `/api/storefronts/${current.id}/products`);
  const items = (r.ok ? r.data : []).filter((p) => p.status !== 'archived' && p.kind !== 'link');
  $('#d-product').replaceChildren(...items.map((p) => el('option', `${p.title} (${p.kind})`, { value: p.id })));
}

let editingDrop = null; // the drop the form edits; null: the form creates one
const DROP_FIXED = ['#d-product', '#d-price', '#d-currency', '#d-limit', '#d-hold', '#d-room'];

/// Fill the drop form with `d` to change its title, opening (before it opens) and stock.
function editDrop(d) {
  editingDrop = d;
  $('#d-title').value = d.title;
  $('#d-opens').value = localInput(new Date(d.opens_at));
  $('#d-opens').disabled = !['draft', 'scheduled'].includes(d.status);
  $('#d-variants').value = d.variants.map((v) => `${v.name}: ${v.stock}`).join('\n');
  for (const id of DROP_FIXED) $(id).disabled = true;
  $('#d-form-h').textContent = `Edit “${d.title}”`;
  $('#d-submit').textContent = 'Save changes';
  $('#d-cancel').hidden = false;
  $('#d-title').focus();
}

function stopEditingDrop() {
  editingDrop = null;
  for (const id of [...DROP_FIXED, '#d-opens']) $(id).disabled = false;
  $('#d-form-h').textContent = 'New drop';
  $('#d-submit').textContent = 'Save draft';
  $('#d-cancel').hidden = true;
  $('#d-title').value = '';
}
$('#d-cancel').addEventListener('click', stopEditingDrop);

function variantLines() {
  return $('#d-variants').value.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const at = l.lastIndexOf(':');
    return at < 0 ? { name: l, stock: 0 } : { name: l.slice(0, at).trim(), stock: Number(l.slice(at + 1)) };
  });
}

async function saveDropEdit() {
  const d = editingDrop;
  const body = {};
  if ($('#d-title').value !== d.title) body.title = $('#d-title').value;
  const opens = new Date($('#d-opens').value).toISOString();
  if (!$('#d-opens').disabled && opens !== new Date(d.opens_at).toISOString()) body.opens_at = opens;
  const stock = [];
  for (const line of variantLines()) {
    const v = d.variants.find((x) => x.name === line.name);
    if (!v) return say(msg, `“${line.name}” is not a variant of this drop: variants cannot be added or renamed once saved.`, false);
    if (v.stock !== line.stock) stock.push({ variant_id: v.id, stock: line.stock });
  }
  if (stock.length) body.stock = stock;
  const r = await api('PATCH', `/api/drops/${d.id}`, body);
  if (!r.ok) { fieldErrors($('#drop-form'), r); return say(msg, errorText(r), false); }
  fieldErrors($('#drop-form'));
  say(msg, `${r.data.title}: saved.`);
  stopEditingDrop();
  loadDrops();
}

$('#drop-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (editingDrop) return saveDropEdit();
  const currency = $('#d-currency').value.trim().toUpperCase();
  const variants = variantLines();
  const body = {
    storefront_id: current.id, product_id: $('#d-product').value, title: $('#d-title').value, currency,
    price_cents: Math.round(Number($('#d-price').value) * minor(currency)), variants,
    // The creator's local time, stored in UTC.
    opens_at: new Date($('#d-opens').value).toISOString(),
    per_buyer_limit: Number($('#d-limit').value), hold_seconds: Number($('#d-hold').value) * 60,
    waiting_room_seconds: Number($('#d-room').value),
  };
  const r = await api('POST', '/api/drops', body);
  if (!r.ok) { fieldErrors($('#drop-form'), r); return say(msg, errorText(r), false); }
  fieldErrors($('#drop-form'));
  say(msg, `${r.data.title} saved as a draft: publish it to schedule it.`);
  $('#d-title').value = '';
  loadDrops();
});

// ---- Raffles
async function loadRaffles() {
  const r = await api('GET', `/api/storefronts/${current.id}/raffles`);
  raffles = r.ok ? r.data : [];
  const list = $('#raffle-list');
  list.replaceChildren();
  for (const x of raffles) {
    const li = el('li', undefined, { 'data-testid': 'raffle-row', 'data-status': x.status });
    li.append(el('a', x.title, { href: `/r/${x.id}` }),
      ` · ${x.status} · ${x.entrants} entrant(s) · closes ${new Date(x.closes_at).toLocaleString()} `);
    const act = (name, path, confirmText) => button(name, async () => {
      if (confirmText && !window.confirm(confirmText)) return;
      const a = await api('POST', `/api/raffles/${x.id}/${path}`, {});
      if (!a.ok) return say(msg, errorText(a), false);
      // A draw names whom to send the prizes to (the answer has each winner's email).
      const email = new Map((a.data.contacts || []).map((c) => [c.entrant, c.email]));
      say(msg, path === 'draw'
        ? `${x.title}: drawn, ${a.data.winners.length} winner(s): `
          + `${a.data.winners.map((w) => `#${w.rank} ${email.get(w.entrant) || w.entrant} (${w.prize})`).join('; ') || 'none'}.`
        : `${x.title}: ${a.data.status}.`);
      loadRaffles();
    }, { 'aria-label': `${name} ${x.title}` });
    if (x.status === 'draft') li.append(act('Publish', 'publish'));
    if (x.status === 'open') li.append(act('Close now', 'close', `Close “${x.title}” now? Entries end at once and it can be drawn.`));
    if (x.status === 'closed') li.append(act('Draw', 'draw'));
    if (!['drawn', 'cancelled'].includes(x.status)) {
      li.append(act('Cancel', 'cancel', `Cancel “${x.title}” for good? Its entrants are not drawn.`));
    }
    list.append(li);
  }
  if (list.children.length === 0) list.append(el('li', 'No raffles yet: start one below.'));
}

$('#raffle-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const winners = Number($('#r-winners').value);
  const body = {
    storefront_id: current.id, title: $('#r-title').value, description: $('#r-description').value,
    prizes: [{ rank_from: 1, rank_to: winners, description: $('#r-prize').value }],
    alternates: Number($('#r-alternates').value), entry: 'free',
    opens_at: new Date($('#r-opens').value).toISOString(), closes_at: new Date($('#r-closes').value).toISOString(),
  };
  const r = await api('POST', '/api/raffles', body);
  if (!r.ok) { fieldErrors($('#raffle-form'), r); return say(msg, errorText(r), false); }
  fieldErrors($('#raffle-form'));
  say(msg, `${r.data.title} saved as a draft: publish it to open entries.`);
  $('#r-title').value = '';
  loadRaffles();
});

// ---- Orders
async function loadOrders() {
  const query = new URLSearchParams({ limit: '50' });
  if ($('#o-status').value) query.set('status', $('#o-status').value);
  if ($('#o-q').value.trim()) query.set('q', $('#o-q').value.trim());
  const r = await api('GET', `/api/storefronts/${current.id}/orders?${query}`);
  const list = $('#order-list');
  list.replaceChildren();
  for (const o of (r.ok ? r.data.orders : [])) {
    const li = el('li');
    const a = el('a', `${new Date(o.created_at).toLocaleString()} · ${o.kind} × ${o.quantity}`, { href: `/orders/${o.id}` });
    li.append(a, ` — ${money(o.amount_cents, o.currency)}, ${o.status}${o.fulfilment ? ', fulfilled' : ''} · ${o.buyer_email || ''}`);
    list.append(li);
  }
  if (list.children.length === 0) list.append(el('li', 'No orders yet.'));
}
$('#o-status').addEventListener('change', loadOrders);
$('#order-search').addEventListener('submit', (e) => { e.preventDefault(); loadOrders(); });
$('#csv').addEventListener('click', async () => {
  const query = new URLSearchParams();
  if ($('#o-status').value) query.set('status', $('#o-status').value);
  if ($('#o-q').value.trim()) query.set('q', $('#o-q').value.trim());
  const res = await request('GET', `/api/storefronts/${current.id}/orders.csv?${query}`);
  if (!res.ok) return say(msg, 'The export failed.', false);
  const a = el('a', '', { href: URL.createObjectURL(await res.blob()), download: `${current.slug}-orders.csv` });
  a.click();
});

// ---- A new storefront
$('#sf-slug').addEventListener('input', async () => {
  const slug = $('#sf-slug').value.trim().toLowerCase();
  $('#slug-preview').textContent = slug || '…';
  if (slug.length < 3) { $('#slug-state').textContent = ''; return; }
  const r = await api('GET', `/api/slugs/${encodeURIComponent(slug)}`);
  if (!r.ok || $('#sf-slug').value.trim().toLowerCase() !== slug) return;
  $('#slug-state').textContent = r.data.available ? 'Looks free.'
    : r.data.reason === 'taken' ? 'Taken: try another.' : `This address ${r.data.reason}.`;
});
// ---- Onboarding: a new storefront's look (bio, avatar, theme with its contrast checked),
// its first link and first product, then published; it ends on the public page.
const THEMES = {
  light: { background: '#ffffff', text: '#1f1633' },
  dark: { background: '#14111c', text: '#f4f1fa' },
};

/// WCAG relative luminance and contrast ratio of two `#rrggbb` colours.
function luminance(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/// A look form's controls, by their ids' prefix (`o` in onboarding, `l` in the studio's
/// Look section): theme radios named `<p>-theme`, `#<p>-brand`, `#<p>-contrast`.
function chosenTheme(p) {
  const base = THEMES[document.querySelector(`input[name=${p}-theme]:checked`).value];
  return { ...base, primary: $(`#${p}-brand`).value };
}

/// The brand colour is used for links on the page's background and as the buttons'
/// background: both must reach 4.5:1 (WCAG AA for text). Says how it stands; true when
/// it passes.
function checkContrast(p) {
  const t = chosenTheme(p);
  const ratio = contrast(t.primary, t.background);
  // Buttons carry black or white text on the brand colour, whichever reads better (as the
  // storefront's theme.css does): that must read too.
  const onIt = Math.max(contrast(t.primary, '#ffffff'), contrast(t.primary, '#000000'));
  const ok = ratio >= 4.5 && onIt >= 4.5;
  const out = $(`#${p}-contrast`);
  out.textContent = `Contrast of your brand colour on this background: ${ratio.toFixed(1)}:1; `
    + `of button labels on it: ${onIt.toFixed(1)}:1 — `
    + (ok ? 'readable (WCAG AA).' : 'too faint to read; pick a darker or lighter colour, or the other theme.');
  out.className = ok ? 'ok' : 'error';
  out.dataset.ok = String(ok);
  return ok;
}
for (const p of ['o', 'l']) {
  $(`#${p}-brand`).addEventListener('input', () => checkContrast(p));
  document.querySelectorAll(`input[name=${p}-theme]`).forEach((r) => r.addEventListener('change', () => checkContrast(p)));
}

/// Save a look form (bio, avatar, theme) to the current storefront; false if refused.
async function saveLook(p) {
  if (!checkContrast(p)) { say(msg, 'Pick a brand colour that reads on the background first.', false); return false; }
  const body = { bio: $(`#${p}-bio`).value, avatar_url: $(`#${p}-avatar`).value.trim(), theme: chosenTheme(p) };
  const r = await api('PATCH', `/api/storefronts/${current.id}`, body);
  const form = $(p === 'l' ? '#look-edit' : '#look-form');
  if (!r.ok) { fieldErrors(form, r); say(msg, errorText(r), false); return false; }
  fieldErrors(form);
  Object.assign(current, r.data);
  return true;
}

/// The studio's Look section shows the storefront's current look.
function fillLook() {
  $('#l-bio').value = current.bio || '';
  $('#l-avatar').value = current.avatar_url || '';
  const bg = current.theme?.background;
  const dark = bg && luminance(bg.length === 4 ? `#${[...bg.slice(1)].map((c) => c + c).join('')}` : bg) < 0.2;
  document.querySelector(`input[name=l-theme][value=${dark ? 'dark' : 'light'}]`).checked = true;
  if (current.theme?.primary?.length === 7) $('#l-brand').value = current.theme.primary;
  checkContrast('l');
}
$('#look-edit').addEventListener('input', schedulePreview);
$('#look-edit').addEventListener('change', schedulePreview);
$('#look-edit').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (await saveLook('l')) say(msg, 'Look saved: the page shows it now.');
});

function onboardStep(form, text) {
  for (const id of ['#look-form', '#link-form', '#first-product-form', '#o-publish']) $(id).hidden = id !== form;
  $('#onboard-step').textContent = text;
  $(form).querySelector('input, textarea, button')?.focus();
}

function startOnboarding() {
  $('#create').hidden = true;
  $('#onboard').hidden = false;
  checkContrast('o');
  onboardStep('#look-form', 'Step 1 of 3: how your page looks.');
}

$('#look-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (!(await saveLook('o'))) return;
  onboardStep('#link-form', 'Step 2 of 3: a first link for your visitors.');
});

$('#link-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const link = { title: $('#o-link-title').value, url: $('#o-link-url').value.trim() };
  const r = await api('PATCH', `/api/storefronts/${current.id}`, { links: [...(current.links || []), link] });
  if (!r.ok) return say(msg, errorText(r), false);
  Object.assign(current, r.data);
  onboardStep('#first-product-form', 'Step 3 of 3: a first thing to sell.');
});
$('#o-skip-link').addEventListener('click', () => onboardStep('#first-product-form', 'Step 3 of 3: a first thing to sell.'));

/// Publish the first product and the storefront once the email is confirmed (asked
/// first, so that nothing is sent only to be refused); else say what is missing.
async function publishFromOnboarding() {
  const me = await api('GET', '/api/me');
  if (!me.ok || !me.data.email_verified) {
    onboardStep('#o-publish', 'Almost there: confirm your email with the link we sent you, then publish.');
    return;
  }
  if (current.firstProduct) {
    const p = await api('POST', `/api/products/${current.firstProduct}/publish`, {});
    if (!p.ok) return say(msg, errorText(p), false);
    current.firstProduct = null;
  }
  const r = await api('POST', `/api/storefronts/${current.id}/publish`, {});
  if (r.ok) { location.assign(`/s/${current.slug}`); return; }
  onboardStep('#o-publish', errorText(r));
}

$('#first-product-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = { kind: 'digital', title: $('#o-p-title').value, currency: 'USD',
    price_cents: Math.round(Number($('#o-p-price').value) * 100), download_url: $('#o-p-url').value.trim() };
  const r = await api('POST', `/api/storefronts/${current.id}/products`, body);
  if (!r.ok) return say(msg, errorText(r), false);
  current.firstProduct = r.data.id;
  await publishFromOnboarding();
});
$('#o-skip-product').addEventListener('click', publishFromOnboarding);
$('#o-publish-now').addEventListener('click', publishFromOnboarding);
$('#o-resend').addEventListener('click', async () => {
  const r = await api('POST', '/api/auth/verify/resend', {});
  say(msg, r.ok ? 'Sent: look in your inbox.' : errorText(r), r.ok);
});

$('#create-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await api('POST', '/api/storefronts', { slug: $('#sf-slug').value.trim().toLowerCase(), title: $('#sf-title').value });
  if (!r.ok) { fieldErrors($('#create-form'), r); return say(msg, errorText(r), false); }
  fieldErrors($('#create-form'));
  stores.push(r.data);
  $('#which').replaceChildren(...stores.map((s) => el('option', s.title, { value: s.id })));
  current = r.data;
  say(msg, 'Storefront created.');
  startOnboarding();
});
$('#which').addEventListener('change', () => open($('#which').value));

drawFields();
$('#d-zone').textContent = Intl.DateTimeFormat().resolvedOptions().timeZone;
$('#d-opens').value = localInput(new Date(Date.now() + 3600 * 1000));
$('#r-opens').value = localInput(new Date(Date.now() + 60 * 1000));
$('#r-closes').value = localInput(new Date(Date.now() + 7 * 86400 * 1000));
start();
