// strict.mjs: reject unknown fields in Kubernetes objects (what kubeconform
// calls -strict). The compiled schemas in kubernetes-models accept any extra
// property, so a typo such as "readinesProbe" would pass them; the same
// packages' type declarations (.d.ts) list every field of every object, and
// this module walks an object alongside them. Used by check.mjs only.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const cache = new Map();

function dtsOf(specifier, fromDir) {
  const js = specifier.startsWith('.')
    ? resolve(fromDir, specifier)
    : fileURLToPath(import.meta.resolve(specifier));
  return js.replace(/\.js$/, '') + '.d.ts';
}

// Split "a; b; c" at top level (outside {} and <>).
function splitTop(text, sep) {
  const out = [];
  let depth = 0, cur = '';
  for (const ch of text) {
    if (ch === '{' || ch === '<' || ch === '(') depth++;
    if (ch === '}' || ch === '>' || ch === ')') depth--;
    if (ch === sep && depth === 0) { out.push(cur); cur = ''; } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out;
}

function parseType(t, imports, dir) {
  t = t.trim();
  const parts = splitTop(t, '|').map((p) => p.trim());
  if (parts.length > 1) {
    const refs = parts.map((p) => parseType(p, imports, dir)).filter(Boolean);
    return refs.length === 1 ? refs[0] : null;
  }
  let m;
  if ((m = /^Array<([\s\S]*)>$/.exec(t))) return { arr: parseType(m[1], imports, dir) };
  if ((m = /^\{\s*\[key: string\]:\s*([\s\S]*?);?\s*\}$/.exec(t))) return { map: parseType(m[1], imports, dir) };
  if (t.startsWith('{')) return { fields: parseFields(t.slice(1, -1), imports, dir) };
  if (imports[t]) return { ref: imports[t] };
  return null; // primitive, literal, or a type alias we do not descend into
}

function parseFields(body, imports, dir) {
  const fields = {};
  for (const decl of splitTop(body, ';')) {
    const m = /^\s*"([^"]+)"\??:\s*([\s\S]*)$/.exec(decl);
    if (m) fields[m[1]] = parseType(m[2], imports, dir);
  }
  return fields;
}

function load(file) {
  if (cache.has(file)) return cache.get(file);
  let text;
  try { text = readFileSync(file, 'utf8'); } catch { cache.set(file, null); return null; }
  text = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const imports = {};
  for (const m of text.matchAll(/import \{([^}]*)\} from "([^"]+)"/g)) {
    for (const name of m[1].split(',').map((s) => s.trim().split(/\s+as\s+/).pop())) {
      if (name) imports[name] = dtsOf(m[2], dirname(file));
    }
  }
  const start = /export interface \w+(?:\s+extends [^{]+)?\s*\{/.exec(text);
  if (!start) { cache.set(file, null); return null; }
  let i = start.index + start[0].length, depth = 1;
  const from = i;
  while (depth && i < text.length) {
    if (text[i] === '{') depth++;
    if (text[i] === '}') depth--;
    i++;
  }
  const node = { fields: null };
  cache.set(file, node); // before parsing: types may be recursive
  node.fields = parseFields(text.slice(from, i - 1), imports, dirname(file));
  return node;
}

function walk(data, type, path, out) {
  if (!type || data == null) return;
  if (type.ref) { const n = load(type.ref); if (n) walk(data, n, path, out); return; }
  if (type.arr) { if (Array.isArray(data)) data.forEach((v, i) => walk(v, type.arr, `${path}/${i}`, out)); return; }
  if (type.map) { if (typeof data === 'object') for (const [k, v] of Object.entries(data)) walk(v, type.map, `${path}/${k}`, out); return; }
  if (type.fields && typeof data === 'object' && !Array.isArray(data)) {
    for (const [k, v] of Object.entries(data)) {
      if (!(k in type.fields)) out.push(`${path}/${k}: unknown field`);
      else walk(v, type.fields[k], `${path}/${k}`, out);
    }
  }
}

// unknownFields(modelSpecifier, object) -> ["/spec/x: unknown field", ...]
export function unknownFields(modelSpecifier, obj) {
  const out = [];
  walk(obj, { ref: dtsOf(modelSpecifier) }, '', out);
  return out;
}
