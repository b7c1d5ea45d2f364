// What the browser tests share besides axe.mjs: calling the JSON API directly for set-up,
// and finding a link in a mail the server wrote to the outbox (run.sh's OUTBOX_DIR).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/// A JSON API call for a test's set-up (with a bearer `token` if given): the answer's
/// body; throws on any status that is not a success.
export async function json(baseURL, method, path, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${baseURL}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

/// A mail's confirmation link (`/verify?token=…`).
export const VERIFY_LINK = /https?:\/\/[^\s"<>]+\/verify\?token=[A-Za-z0-9_.~-]+/;

/// The first link matching `pattern` in a mail to `email` in the outbox. The server writes
/// mail from its queue on its own schedule, so the outbox is read again until the mail is
/// there; the 10 s deadline only bounds a failing test.
export async function mailedLink(email, pattern, what) {
  const dir = process.env.OUTBOX_DIR;
  assert.ok(dir, 'OUTBOX_DIR is not set (run.sh sets it)');
  const until = Date.now() + 10_000;
  for (;;) {
    let files = [];
    try { files = readdirSync(dir).filter((f) => f.endsWith('.eml')); } catch { /* not yet */ }
    for (const f of files) {
      const text = readFileSync(join(dir, f), 'utf8').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
      if (!text.includes(`To: ${email}`)) continue;
      const m = text.match(pattern);
      if (m) return m[0];
    }
    if (Date.now() > until) throw new Error(`no ${what} mail for ${email} in ${dir}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
