// /signin, /signup and /forgot: one small page each way, then on to where the visitor
// was going (`?next=`), the studio for a creator, or their account.

import { api, say, errorText, keepSession } from '/static/session.js';

const $ = (sel) => document.querySelector(sel);
const page = location.pathname.replace(/^\//, '');
const next = new URLSearchParams(location.search).get('next');
const msg = $('#message');
const LINKS = {
  signin: '<a href="/signup">Create an account</a> · <a href="/forgot">Forgot your password?</a>',
  signup: 'Have an account? <a href="/signin">Sign in</a>',
  forgot: '<a href="/signin">Back to sign in</a>',
};

function setup() {
  const title = { signin: 'Sign in', signup: 'Create your account', forgot: 'Reset your password' }[page];
  document.title = `${title} · livedrop`;
  $('#heading').textContent = title;
  $('#submit').textContent = { signin: 'Sign in', signup: 'Create account', forgot: 'Send the link' }[page];
  $('#password-row').hidden = page === 'forgot';
  $('#role-row').hidden = page !== 'signup';
  if (page === 'signup') {
    $('#password').autocomplete = 'new-password';
    $('#password-hint').textContent = '(10 characters or more)';
  }
  // Static markup of our own (no user input).
  $('#links').innerHTML = LINKS[page];
}

function where(user) {
  // Only a path on this site: never an open redirect.
  if (next && next.startsWith('/') && !next.startsWith('//')) return next;
  return user.role === 'creator' ? '/studio' : '/account';
}

function fieldErrors(r) {
  const f = r.data?.error?.fields || {};
  $('#email-error').textContent = f.email || '';
  $('#password-error').textContent = f.password || '';
}

$('#auth-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  fieldErrors({});
  const email = $('#email').value.trim();
  const password = $('#password').value;
  if (!email) { $('#email-error').textContent = 'Enter your email address.'; $('#email').focus(); return; }
  if (page === 'forgot') {
    const r = await api('POST', '/api/auth/password/forgot', { email });
    if (!r.ok) return say(msg, errorText(r), false);
    return say(msg, 'If an account has this address, a reset link is on its way.');
  }
  if (page === 'signup') {
    const role = document.querySelector('input[name=role]:checked').value;
    const r = await api('POST', '/api/auth/register', { email, password, role });
    if (!r.ok) { fieldErrors(r); return say(msg, errorText(r), false); }
    keepSession(r.data);
    return location.assign(where(r.data.user));
  }
  const r = await api('POST', '/api/auth/login', { email, password });
  if (!r.ok) { fieldErrors(r); return say(msg, errorText(r), false); }
  keepSession(r.data);
  location.assign(where(r.data.user));
});

setup();
