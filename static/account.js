// The pages behind mailed links: /verify?token=… and /reset?token=….
// They only call the JSON API; the token never leaves this origin.

import { api, keepSession, say as sayIn } from '/static/session.js';

const token = new URLSearchParams(location.search).get('token') || '';
const status = document.getElementById('status');
const page = document.querySelector('main')?.dataset.page;

const post = (path, body) => api('POST', path, body);
const say = (text, ok) => sayIn(status, text, ok);

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
  if (!token) {
    // Nothing to reset with: say so rather than take a password only to refuse it.
    form.hidden = true;
    say('This link has no token. Open the link from your mail again, or ask for a new one. ', false);
    const again = document.createElement('a');
    again.href = '/forgot';
    again.textContent = 'Ask for a new link';
    status.append(again);
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const password = form.password.value;
    if (password.length < 10) {
      say('The password must be at least 10 characters.', false);
      return;
    }
    const r = await post('/api/auth/password/reset', { token, password });
    if (r.ok) {
      // The answer is a new session: keep it as the sign-in form does.
      keepSession(r.data);
      form.hidden = true;
      say('Your password is changed and you are signed in. ', true);
      const next = document.createElement('a');
      next.href = r.data?.user?.role === 'creator' ? '/studio' : '/account';
      next.textContent = r.data?.user?.role === 'creator' ? 'Open your studio' : 'Open your account';
      status.append(next);
    } else {
      say(r.data?.error?.fields?.password || r.data?.error?.message || 'That did not work.', false);
    }
  });
}
