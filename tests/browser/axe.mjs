// The accessibility check the browser tests run on each page they visit: axe-core (from
// npm, pinned in package.json; no CDN) against WCAG 2.0/2.1 A and AA plus axe's best
// practices; any "serious" or "critical" violation fails the test.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// axe's source is evaluated in the page rather than added with page.addScriptTag: the pages
// send `script-src 'self'`, which blocks the inline <script> addScriptTag makes (and logs a
// console error the tests count); page.evaluate goes through the DevTools protocol, which the
// page's CSP does not govern, so the tests' contexts need no bypassCSP.
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
const BLOCKING = new Set(['serious', 'critical']);

/// Runs axe on the page as it is now; throws an Error listing every serious or critical
/// violation (rule id, impact, help text, the first few target selectors).
export async function noSeriousViolations(page, label) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.evaluate(axeSource);
  }
  const results = await page.evaluate((tags) => window.axe.run({ runOnly: tags }), TAGS);
  const bad = results.violations.filter((v) => BLOCKING.has(v.impact));
  if (bad.length === 0) return;
  const lines = bad.map((v) => {
    const targets = v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ');
    const more = v.nodes.length > 3 ? ` (+${v.nodes.length - 3} more)` : '';
    return `  ${v.id} [${v.impact}] ${v.help}: ${targets}${more}`;
  });
  throw new Error(`axe: ${bad.length} serious/critical violation(s) on ${label} (${page.url()})\n${lines.join('\n')}`);
}
