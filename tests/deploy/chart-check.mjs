// chart-check.mjs: what can be checked of the Helm chart without helm.
// scripts/check-deploy runs it as "helm-static"; rendering the templates
// needs helm (its own check, skipped where helm is missing).
//   node chart-check.mjs CHART_DIR
// - Chart.yaml has apiVersion v2, name, version;
// - values.yaml validates against values.schema.json (draft-07, as helm does);
// - every template's {{ }} actions are closed and its block actions
//   (if/with/range/define) balance their {{ end }}s;
// - the documented knobs exist in values.yaml (replicas, resources, Redis
//   address, apps secret, HPA, PDB, ServiceMonitor).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';

const dir = process.argv[2];
const problems = [];
const chart = parse(readFileSync(join(dir, 'Chart.yaml'), 'utf8'));
if (chart.apiVersion !== 'v2' || !chart.name || !chart.version) problems.push('Chart.yaml: needs apiVersion v2, name, version');

const values = parse(readFileSync(join(dir, 'values.yaml'), 'utf8'));
const schema = JSON.parse(readFileSync(join(dir, 'values.schema.json'), 'utf8'));
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);
if (!validate(values)) for (const e of validate.errors) problems.push(`values.yaml${e.instancePath}: ${e.message}`);
// The schema must also refuse a bad value (it is not vacuous).
const broken = structuredClone(values);
broken.gateway.replicas = 'three';
if (validate(broken)) problems.push('values.schema.json accepts gateway.replicas="three"');

const knobs = ['gateway.replicas', 'broker.replicas', 'gateway.resources', 'broker.resources', 'redis.host',
  'redis.port', 'apps.existingSecret', 'gateway.hpa.enabled', 'gateway.pdb.enabled', 'broker.pdb.enabled',
  'serviceMonitor.enabled', 'gateway.drainSeconds'];
for (const k of knobs) {
  if (k.split('.').reduce((o, p) => (o == null ? undefined : o[p]), values) === undefined) problems.push(`values.yaml: no ${k}`);
}

let templates = 0;
for (const f of readdirSync(join(dir, 'templates'))) {
  const text = readFileSync(join(dir, 'templates', f), 'utf8');
  templates++;
  const opens = (text.match(/\{\{/g) || []).length;
  const closes = (text.match(/\}\}/g) || []).length;
  if (opens !== closes) problems.push(`templates/${f}: ${opens} "{{" but ${closes} "}}"`);
  let depth = 0;
  for (const m of text.matchAll(/\{\{-?\s*(if|with|range|define|end|else)\b/g)) {
    if (m[1] === 'end') depth--;
    else if (m[1] !== 'else') depth++;
    if (depth < 0) { problems.push(`templates/${f}: {{ end }} without a block`); break; }
  }
  if (depth > 0) problems.push(`templates/${f}: ${depth} block(s) without {{ end }}`);
}
for (const p of problems) console.log(`  ${p}`);
console.log(`  chart ${chart.name} ${chart.version}: values valid against the schema, ${templates} templates balanced${problems.length ? `; ${problems.length} problem(s)` : ''}`);
process.exit(problems.length ? 1 : 0);
