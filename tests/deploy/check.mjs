// check.mjs: the offline checks of deploy/ and k8s/ that need Node packages.
// scripts/check-deploy runs it (after `npm ci` here); it owns no rendering:
// Kustomize and Helm output arrive as files or on stdin.
//
//   node check.mjs dockerfile FILE       lint one Dockerfile
//   node check.mjs k8s NAME [--complete] [FILE...]
//                                        validate rendered manifests (stdin
//                                        when no FILE); NAME labels the output;
//                                        --complete: a whole Herald install,
//                                        so cross-object checks apply too
//
// Dockerfile: dockerfile-utils' validator (syntax, instruction arguments)
// plus a few hadolint-style rules of our own. Kubernetes: every object is
// validated against the Kubernetes OpenAPI schema compiled into the
// kubernetes-models packages (types, required fields, enums, formats),
// unknown fields are rejected (strict.mjs), then Herald's own
// policy: non-root, read-only root filesystem, all capabilities dropped,
// probes, preStop and a grace period longer than the drain window.
// Prints one line per problem and exits 1 if there is any.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { unknownFields } from './strict.mjs';

const problems = [];
const fail = (where, msg) => problems.push(`${where}: ${msg}`);

// ---------- Dockerfile ----------
async function checkDockerfile(file) {
  const { validate } = await import('dockerfile-utils');
  const text = readFileSync(file, 'utf8');
  for (const d of validate(text)) {
    fail(`${file}:${d.range.start.line + 1}`, `dockerfile-utils: ${d.message}`);
  }
  // Our rules, per stage. Logical lines: join continuations.
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const stages = [];
  let cur = null;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const [instr, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    const up = instr.toUpperCase();
    if (up === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args);
      cur = { name: m[2] || `#${stages.length}`, base: m[1], user: null, health: false, entry: false, line: i + 1 };
      stages.push(cur);
      const named = stages.find((s) => s.name === m[1] && s !== cur);
      if (named) { Object.assign(cur, { user: named.user, health: named.health, entry: named.entry }); return; }
      if (!m[1].startsWith('$') && (!m[1].includes(':') || m[1].endsWith(':latest'))) {
        fail(`${file}:${i + 1}`, `FROM ${m[1]}: pin a tag (DL3006/DL3007)`);
      }
      return;
    }
    if (!cur) return;
    if (up === 'ARG' && /DEBIAN_IMAGE=(\S+)/.test(args) && /:latest$|^[^:]+$/.test(RegExp.$1)) {
      fail(`${file}:${i + 1}`, 'base image ARG without a pinned tag');
    }
    if (up === 'USER') cur.user = args;
    if (up === 'HEALTHCHECK') cur.health = true;
    if (up === 'ENTRYPOINT' || up === 'CMD') cur.entry = true;
    if (up === 'ADD' && /https?:/.test(args)) fail(`${file}:${i + 1}`, 'ADD of a URL (DL3020)');
    if (up === 'RUN' && /apt-get\s+(-\S+\s+)*install/.test(args)) {
      if (!/--no-install-recommends/.test(args)) fail(`${file}:${i + 1}`, 'apt-get install without --no-install-recommends (DL3015)');
      if (!/\s-y\b|--yes|--assume-yes/.test(args)) fail(`${file}:${i + 1}`, 'apt-get install without -y (DL3014)');
      if (!/rm -rf \/var\/lib\/apt\/lists/.test(args)) fail(`${file}:${i + 1}`, 'apt lists not removed in the same RUN (DL3009)');
    }
    if (up === 'RUN' && /\bsudo\b/.test(args)) fail(`${file}:${i + 1}`, 'sudo in RUN (DL3004)');
    if (up === 'WORKDIR' && !args.startsWith('/')) fail(`${file}:${i + 1}`, 'relative WORKDIR (DL3000)');
  });
  // Stages that ship (have an entrypoint): non-root and health-checked.
  const shipped = stages.filter((s) => s.entry);
  if (shipped.length === 0) fail(file, 'no stage with an ENTRYPOINT/CMD');
  for (const s of shipped) {
    if (!s.user || /^(root|0)(:|$)/.test(s.user)) fail(`${file}:${s.line}`, `stage ${s.name} runs as root (DL3002)`);
    if (!s.health) fail(`${file}:${s.line}`, `stage ${s.name} has no HEALTHCHECK`);
  }
  return `${stages.length} stages, shipped: ${shipped.map((s) => s.name).join(', ')}`;
}

// ---------- Kubernetes ----------
async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : [null, apiVersion];
  const candidates = [];
  if (group === 'monitoring.coreos.com') {
    candidates.push(`@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`);
  } else {
    candidates.push(`kubernetes-models/${group ? `${group}/` : ''}${version}/${kind}`);
  }
  for (const c of candidates) {
    try {
      const mod = await import(c);
      if (mod[kind]) return { Model: mod[kind], spec: c };
    } catch { /* next */ }
  }
  return null;
}

function podSpecOf(obj) {
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(obj.kind)) return obj.spec?.template?.spec;
  if (obj.kind === 'Pod') return obj.spec;
  return null;
}

function policy(where, obj, all) {
  const pod = podSpecOf(obj);
  if (!pod) return;
  const psc = pod.securityContext || {};
  for (const c of [...(pod.initContainers || []), ...(pod.containers || [])]) {
    const w = `${where} container ${c.name}`;
    const sc = c.securityContext || {};
    if (!(sc.runAsNonRoot ?? psc.runAsNonRoot)) fail(w, 'runAsNonRoot is not true');
    const uid = sc.runAsUser ?? psc.runAsUser;
    if (uid === 0) fail(w, 'runAsUser is 0');
    if (sc.readOnlyRootFilesystem !== true) fail(w, 'readOnlyRootFilesystem is not true');
    if (sc.allowPrivilegeEscalation !== false) fail(w, 'allowPrivilegeEscalation is not false');
    if (!(sc.capabilities?.drop || []).includes('ALL')) fail(w, 'capabilities do not drop ALL');
    if (!c.resources?.requests || !c.resources?.limits?.memory) fail(w, 'no resource requests / memory limit');
    if (/:latest$/.test(c.image) || !/[:@]/.test(c.image)) fail(w, `image ${c.image} not pinned`);
  }
  const role = obj.metadata?.labels?.['app.kubernetes.io/component'];
  if (role === 'gateway' || role === 'broker') {
    const c = pod.containers.find((x) => x.name === role);
    if (!c) { fail(where, `no container named ${role}`); return; }
    if (!c.readinessProbe?.httpGet) fail(where, 'no HTTP readinessProbe');
    if (!c.livenessProbe?.httpGet) fail(where, 'no HTTP livenessProbe');
    if (role === 'gateway') {
      if (c.readinessProbe?.httpGet?.path !== '/ready') fail(where, 'readinessProbe path is not /ready');
      if (c.livenessProbe?.httpGet?.path !== '/health') fail(where, 'livenessProbe path is not /health');
      if (!c.lifecycle?.preStop) fail(where, 'no preStop hook');
      const drain = Number((c.env || []).find((e) => e.name === 'HERALD_DRAIN_SECONDS')?.value);
      if (!Number.isFinite(drain)) fail(where, 'HERALD_DRAIN_SECONDS not set to a number');
      const preStopSleep = Number(/sleep\s+(\d+)/.exec(JSON.stringify(c.lifecycle?.preStop || {}))?.[1] || 0);
      const grace = pod.terminationGracePeriodSeconds ?? 30;
      if (!(grace > drain + preStopSleep)) {
        fail(where, `terminationGracePeriodSeconds ${grace} does not exceed preStop ${preStopSleep} s + drain ${drain} s`);
      }
      if (!(pod.topologySpreadConstraints || []).length) fail(where, 'no topologySpreadConstraints');
    }
  }
  if (obj.kind === 'StatefulSet' && role === 'redis') {
    const args = JSON.stringify(obj.spec.template.spec.containers[0]);
    if (!/appendonly.{0,6}yes/.test(args)) fail(where, 'Redis without AOF (--appendonly yes)');
  }
  // Services must select something that exists.
  void all;
}

function crossChecks(name, objs) {
  const byKind = (k) => objs.filter((o) => o.kind === k);
  for (const svc of byKind('Service')) {
    const sel = svc.spec?.selector;
    if (!sel) continue;
    const hit = objs.some((o) => {
      const labels = o.spec?.template?.metadata?.labels;
      return labels && Object.entries(sel).every(([k, v]) => labels[k] === v);
    });
    if (!hit) fail(`${name} Service/${svc.metadata.name}`, 'selector matches no workload');
  }
  for (const hpa of byKind('HorizontalPodAutoscaler')) {
    const t = hpa.spec.scaleTargetRef;
    if (!objs.some((o) => o.kind === t.kind && o.metadata.name === t.name)) fail(`${name} HPA/${hpa.metadata.name}`, `target ${t.kind}/${t.name} missing`);
  }
  const broker = objs.find((o) => o.kind === 'Service' && o.metadata?.labels?.['app.kubernetes.io/component'] === 'broker');
  if (broker && broker.spec.clusterIP !== 'None') fail(`${name} Service/${broker.metadata.name}`, 'broker Service is not headless');
  for (const k of ['Deployment', 'Service', 'NetworkPolicy', 'PodDisruptionBudget', 'HorizontalPodAutoscaler']) {
    if (!byKind(k).length) fail(name, `no ${k} rendered`);
  }
}

async function checkK8s(name, files, complete) {
  const texts = files.length ? files.map((f) => readFileSync(f, 'utf8')) : [readFileSync(0, 'utf8')];
  const objs = [];
  for (const t of texts) {
    for (const doc of parseAllDocuments(t)) {
      if (doc.errors.length) { fail(name, `YAML: ${doc.errors[0].message}`); continue; }
      const o = doc.toJS();
      if (o && typeof o === 'object') objs.push(o);
    }
  }
  if (!objs.length) fail(name, 'no objects');
  const kinds = {};
  for (const o of objs) {
    const where = `${name} ${o.kind}/${o.metadata?.name}`;
    kinds[o.kind] = (kinds[o.kind] || 0) + 1;
    const found = o.apiVersion && o.kind ? await modelFor(o.apiVersion, o.kind) : null;
    if (!found) { fail(where, `no schema for ${o.apiVersion} ${o.kind}`); continue; }
    try {
      new found.Model(o).validate();
    } catch (e) {
      fail(where, `schema: ${e.message}`);
    }
    for (const u of unknownFields(found.spec, o)) fail(where, `schema: ${u}`);
    policy(where, o, objs);
  }
  if (complete) crossChecks(name, objs);
  return `${objs.length} objects (${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(', ')})`;
}

const [cmd, ...rest] = process.argv.slice(2);
let summary;
if (cmd === 'dockerfile') summary = await checkDockerfile(rest[0]);
else if (cmd === 'k8s') {
  const complete = rest.includes('--complete');
  summary = await checkK8s(rest[0], rest.slice(1).filter((a) => a !== '--complete'), complete);
}
else { console.error('usage: check.mjs dockerfile FILE | k8s NAME [--complete] [FILE...]'); process.exit(2); }
for (const p of problems) console.log(`  ${p}`);
console.log(`  ${summary}${problems.length ? `; ${problems.length} problem(s)` : ''}`);
process.exit(problems.length ? 1 : 0);
