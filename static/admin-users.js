// The admin console's accounts: find by email, disable (no sign-in, tokens refused at
// once) or enable again.

import { api, say, errorText } from '/static/session.js';

const $ = (sel) => document.querySelector(sel);
const msg = $('#message');

async function search() {
  const q = $('#user-q').value.trim();
  const r = await api('GET', `/api/admin/users?q=${encodeURIComponent(q)}&limit=50`);
  if (!r.ok) return say(msg, r.status === 401 || r.status === 403 ? 'Sign in as an admin first.' : errorText(r), false);
  const list = $('#user-list');
  list.replaceChildren();
  for (const u of r.data.users) {
    const li = document.createElement('li');
    li.dataset.testid = 'user';
    li.append(`${u.email} · ${u.role}${u.disabled_at ? ' · disabled' : ''} `);
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'secondary';
    b.textContent = u.disabled_at ? 'Enable' : 'Disable';
    b.setAttribute('aria-label', `${b.textContent} ${u.email}`);
    b.addEventListener('click', async () => {
      const a = await api('POST', `/api/admin/users/${u.id}/${u.disabled_at ? 'enable' : 'disable'}`, {});
      if (!a.ok) return say(msg, errorText(a), false);
      say(msg, `${u.email} is ${a.data.disabled_at ? 'disabled: signed out everywhere' : 'enabled'}.`);
      search();
    });
    li.append(b);
    list.append(li);
  }
  if (r.data.users.length === 0) list.append('No account matches.');
}

$('#user-search').addEventListener('submit', (e) => { e.preventDefault(); search(); });
