// A tiny runner for the browser tests: launches Debian's Chromium through playwright-core,
// runs every *.test.mjs here against BASE_URL (a running livedrop), prints a line per test
// and a closing "N passed, N failed" line, and exits non-zero on any failure.
import { chromium } from 'playwright-core';
import { readdirSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const baseURL = process.env.BASE_URL;
if (!baseURL) {
  console.error('BASE_URL is not set');
  process.exit(2);
}
const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
});

const only = process.argv[2];
const files = readdirSync(here).filter((f) => f.endsWith('.test.mjs') && (!only || f.includes(only))).sort();
let passed = 0;
let failed = 0;
for (const file of files) {
  const mod = await import(join(here, file));
  const started = Date.now();
  try {
    await mod.run({ browser, baseURL, screenshot: (name) => join(shots, name) });
    passed += 1;
    console.log(`ok - ${mod.name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed += 1;
    console.log(`not ok - ${mod.name}\n  ${String(e && e.stack || e).split('\n').join('\n  ')}`);
  }
}
await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
