// The pages behind mailed links: /verify?token=… and /reset?token=….
// They only call the JSON API; the token never leaves this origin.

const token = new URLSearchParams(location.search).get('token') || '';
const status = document.getElementById('status');
const page = document.querySelector('main')?.dataset.page;

async function post(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch { /* 204 has no body */ }
  return { ok: res.ok, status: res.status, data };
}

function say(text, ok) {
  status.textContent = text;
  status.className = ok ? 'ok' : 'error';
}

if (page === 'verify') {
  if (!token) {
    say('This link has no token. Open the link from your mail again.', false);
  } else {
    const r = await post('/api/auth/verify', { token });
    say(r.ok ? 'Your email is confirmed. You can close this page.'
             : (r.data?.error?.message || 'This link is not valid or has expired.'), r.ok);
  }
}

if (page === 'reset') {
  const form = document.getElementById('reset-form');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const password = form.password.value;
    if (password.length < 10) {
      say('The password must be at least 10 characters.', false);
      return;
    }
    const r = await post('/api/auth/password/reset', { token, password });
    if (r.ok) {
      form.hidden = true;
      say('Your password is changed. Sign in with it from now on.', true);
    } else {
      say(r.data?.error?.fields?.password || r.data?.error?.message || 'That did not work.', false);
    }
  });
}
