// 30 discovery: `--brokers dns:NAME:PORT` (gateway/gw_discovery.c). The
// gateway finds its brokers by resolving a name, as behind a Kubernetes
// headless Service, and re-resolves it every HERALD_BROKER_REFRESH seconds:
// a broker whose address appears is linked and takes channels, one whose
// address disappears is let go, and a returning address is linked again.
//
// The name lives in /etc/hosts (one line per address; glibc returns every
// matching line), unique per lane and removed afterwards; brokers listen on
// 127.0.0.1 and 127.0.0.2 with the same port, so their node names are
// "127.0.0.1:P" and "127.0.0.2:P". The processes are started here rather
// than by herald-local, which binds every broker to 127.0.0.1.
// Ports: portsFor(30). Skipped (not passed) where /etc/hosts is not writable.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { portsFor, REPO_ROOT, SANITIZER_PATTERNS } from '../lib/cluster.mjs';
import {
  pusherClient,
  connected,
  subscribed,
  collect,
  serverClient,
  closeAll,
  uniqueChannel,
  eventually,
  withTimeout,
} from '../lib/clients.mjs';

const HOSTS = '/etc/hosts';
const lane = Number(process.env.HERALD_TEST_LANE || 0);
const NAME = `herald-brokers-l${lane}.test`;
const { port, brokerPort, redisPort } = portsFor(30);
const buildDir = path.resolve(REPO_ROOT, process.env.HERALD_BUILD_DIR || 'build');
const app = { id: 'app-id', key: 'app-key', secret: 'app-secret' };

function hostsWritable() {
  try {
    fs.accessSync(HOSTS, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Rewrites /etc/hosts in place (it may be a bind mount) with NAME -> ips. */
function setHosts(ips) {
  const keep = fs
    .readFileSync(HOSTS, 'utf8')
    .split('\n')
    .filter((l) => l && !l.split(/\s+/).includes(NAME));
  fs.writeFileSync(HOSTS, [...keep, ...ips.map((ip) => `${ip} ${NAME}`)].join('\n') + '\n');
}

const procs = new Map(); // name -> {child, log, exited}
let stateDir;

function start(name, bin, args, env = {}) {
  const logPath = path.join(stateDir, `${name}.log`);
  const fd = fs.openSync(logPath, 'a');
  // Metrics ports default to 9601: several processes on one host must not all take it.
  const child = spawn(bin, args, {
    env: { ...process.env, HERALD_METRICS_PORT: '0', ...env },
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  fs.writeFileSync(path.join(stateDir, `${name}.pid`), `${child.pid}\n`);
  const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  procs.set(name, { child, logPath, exited });
  return procs.get(name);
}

const log = (name) => {
  try {
    return fs.readFileSync(procs.get(name).logPath, 'utf8');
  } catch {
    return '';
  }
};

/** Waits until `name`'s log, past offset `since`, matches re (bounded polling). */
async function logLine(name, re, { since = 0, timeout = 20000 } = {}) {
  return eventually(
    () => {
      const m = log(name).slice(since).match(re);
      if (!m) throw new Error(`no ${re} in ${name}.log:\n${log(name).slice(-2000)}`);
      return m;
    },
    { timeout, interval: 50, what: `${re} in ${name}.log` },
  );
}

async function stop(name, sig = 'SIGTERM') {
  const p = procs.get(name);
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(sig);
  let timer;
  const t = new Promise((r) => {
    timer = setTimeout(r, 5000);
  });
  await Promise.race([p.exited, t]);
  clearTimeout(timer);
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await p.exited;
}

function startBroker(name, ip) {
  start(name, path.join(buildDir, 'broker', 'herald-broker'), [
    '--host', ip, '--port', String(brokerPort), '--broker-id', `${ip}:${brokerPort}`,
    '--redis-host', '127.0.0.1', '--redis-port', String(redisPort),
  ]);
  return logLine(name, /herald-broker listening on/);
}

const cluster = { app, httpPort: () => port };

describe('brokers discovered from a DNS name', { skip: !hostsWritable() && `${HOSTS} is not writable` }, () => {
  before(async () => {
    const root = process.env.HERALD_TEST_STATE_ROOT || path.join(os.tmpdir(), 'herald-it');
    fs.mkdirSync(root, { recursive: true });
    stateDir = fs.mkdtempSync(path.join(root, `herald-it-${port}-`));
    setHosts(['127.0.0.1']);
    start('redis', 'redis-server', [
      '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', stateDir,
    ]);
    await eventually(() => execFileSync('redis-cli', ['-p', String(redisPort), 'ping']).toString().includes('PONG'), {
      timeout: 15000,
      what: 'redis to answer',
    });
    await startBroker('broker-a', '127.0.0.1');
    await startBroker('broker-b', '127.0.0.2');
    start('gateway', path.join(buildDir, 'gateway', 'herald-gateway'), [
      '--host', '127.0.0.1', '--port', String(port), '--brokers', `dns:${NAME}:${brokerPort}`,
    ], { HERALD_BROKER_REFRESH: '1', HERALD_DEFAULT_APP_ID: app.id, HERALD_DEFAULT_APP_KEY: app.key,
      HERALD_DEFAULT_APP_SECRET: app.secret });
    await logLine('gateway', /herald-gateway listening on/);
  }, { timeout: 60000 });

  after(async () => {
    closeAll();
    if (hostsWritable()) setHosts([]);
    for (const name of ['gateway', 'broker-a', 'broker-b', 'redis']) await stop(name);
    const reports = [];
    for (const name of procs.keys()) {
      for (const line of log(name).split('\n')) if (SANITIZER_PATTERNS.some((re) => re.test(line))) reports.push(`${name}: ${line}`);
    }
    assert.deepEqual(reports, [], 'no sanitizer reports');
  }, { timeout: 30000 });

  test('links only to the addresses the name resolves to, and follows the name as it changes', async () => {
    const a = `127.0.0.1:${brokerPort}`;
    const b = `127.0.0.2:${brokerPort}`;
    await logLine('gateway', new RegExp(`broker link ${a.replace(/\./g, '\\.')} up`));
    assert.doesNotMatch(log('gateway'), /127\.0\.0\.2/, 'broker-b is not listed yet: no link to it');

    // The only listed broker carries the channel.
    const client = pusherClient(cluster);
    await connected(client);
    const channel = uniqueChannel('disc');
    const events = collect(await subscribed(client, channel), 'e');
    const sdk = serverClient(cluster);
    assert.equal((await sdk.trigger(channel, 'e', { n: 1 })).status, 200);
    await events.next(1);

    // A second address appears: the gateway links to it at the next lookup.
    let since = log('gateway').length;
    setHosts(['127.0.0.1', '127.0.0.2']);
    await logLine('gateway', /resolves to 2 address/, { since });
    await logLine('gateway', new RegExp(`broker link ${b.replace(/\./g, '\\.')} up`), { since });

    // broker-a dies (still listed): every channel goes to broker-b, which
    // the gateway only knows from DNS, and delivery goes on.
    await stop('broker-a', 'SIGKILL');
    let n = 1;
    await withTimeout(
      (async () => {
        for (;;) {
          n += 1;
          try {
            await sdk.trigger(channel, 'e', { n });
          } catch {
            // 503 while the channel is between owners: try again.
          }
          if (events.events.length >= 2) return;
          await new Promise((r) => setTimeout(r, 200));
        }
      })(),
      20000,
      'an event delivered through broker-b after broker-a died',
    );

    // broker-a's address leaves the name: the gateway lets the link go.
    since = log('gateway').length;
    setHosts(['127.0.0.2']);
    await logLine('gateway', new RegExp(`broker ${a.replace(/\./g, '\\.')} is no longer listed`), { since });

    // It comes back (a new pod with the same IP): linked again.
    await startBroker('broker-a', '127.0.0.1');
    since = log('gateway').length;
    setHosts(['127.0.0.1', '127.0.0.2']);
    await logLine('gateway', new RegExp(`broker link ${a.replace(/\./g, '\\.')} up`), { since });
    assert.equal(procs.get('gateway').child.exitCode, null, 'the gateway is still running');
  }, { timeout: 90000 });
});
