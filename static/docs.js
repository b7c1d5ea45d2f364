// Renders /api/openapi.json as a readable reference: one section per tag, one entry per
// operation with its parameters, body schema and responses. No third-party viewer, no CDN.

const root = document.getElementById('docs');
const doc = await (await fetch('/api/openapi.json')).json();
const schemas = doc.components?.schemas || {};

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function schemaText(s, depth = 0) {
  if (!s) return '';
  if (s.$ref) {
    const name = s.$ref.split('/').pop();
    return depth > 1 ? name : `${name} ${schemaText(schemas[name], depth + 1)}`;
  }
  if (s.type === 'object' || s.properties) {
    const req = new Set(s.required || []);
    const fields = Object.entries(s.properties || {}).map(
      ([k, v]) => `${k}${req.has(k) ? '' : '?'}: ${schemaText(v, depth + 1) || v.type || 'any'}`);
    return `{ ${fields.join(', ')} }`;
  }
  if (s.type === 'array') return `[${schemaText(s.items, depth + 1)}]`;
  const t = Array.isArray(s.type) ? s.type.join('|') : s.type;
  return t || (s.oneOf ? 'one of…' : '');
}

const byTag = new Map();
for (const [path, ops] of Object.entries(doc.paths)) {
  for (const [method, op] of Object.entries(ops)) {
    const tag = (op.tags && op.tags[0]) || 'other';
    if (!byTag.has(tag)) byTag.set(tag, []);
    byTag.get(tag).push({ path, method, op });
  }
}

root.textContent = '';
const nav = el('nav', { 'aria-label': 'Sections' });
const list = el('ul');
nav.append(list);
root.append(nav);
for (const [tag, ops] of byTag) {
  list.append(el('li', {}, el('a', { href: `#${tag}` }, tag)));
  const section = el('section', { id: tag, 'aria-labelledby': `h-${tag}` });
  section.append(el('h2', { id: `h-${tag}` }, tag));
  for (const { path, method, op } of ops) {
    const art = el('article', { class: 'op' });
    art.append(el('h3', {}, el('code', { class: `m ${method}` }, method.toUpperCase()), ' ', el('code', {}, path)));
    if (op.description || op.summary) art.append(el('p', {}, op.summary || '', ' ', op.description || ''));
    if (op.security) art.append(el('p', { class: 'note' }, 'Needs a bearer access token.'));
    const body = op.requestBody?.content?.['application/json']?.schema;
    if (body) art.append(el('p', {}, 'Body: ', el('code', {}, schemaText(body))));
    const rl = el('ul');
    for (const [code, r] of Object.entries(op.responses || {})) {
      const s = r.content?.['application/json']?.schema;
      rl.append(el('li', {}, el('strong', {}, code), ' ', r.description || '', s ? ' → ' : '', s ? el('code', {}, schemaText(s)) : ''));
    }
    art.append(rl);
    section.append(art);
  }
  root.append(section);
}
