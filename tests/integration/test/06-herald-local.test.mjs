// 06 herald-local and process lifecycle: clean exit 0 of both binaries on
// SIGTERM/SIGINT, stop/restart through the control FIFO, start-up failure
// with a clear message, and nothing left running after a stop.
// Ports: portsFor(6).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Cluster, useCluster, portsFor, REPO_ROOT } from '../lib/cluster.mjs';
import { RawClient, closeAll, withTimeout } from '../lib/clients.mjs';

after(closeAll);

function stateRoot() {
  const root = process.env.HERALD_TEST_STATE_ROOT || path.join(os.tmpdir(), 'herald-it');
  fs.mkdirSync(root, { recursive: true });
  return root;
}

function running(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('component lifecycle', () => {
  const cluster = useCluster({ gateways: 1, brokers: 1, ...portsFor(6, 0) });

  for (const [name, sig] of [
    ['gateway-1', 'TERM'],
    ['broker-1', 'TERM'],
    ['gateway-1', 'INT'],
    ['broker-1', 'INT'],
  ]) {
    test(`${name} exits 0 on SIG${sig} and comes back with restart`, async () => {
      const died = await cluster.kill(name, sig);
      assert.equal(died, `${name} died (exit 0)`, `log tail:\n${cluster.log(name).slice(-2000)}`);
      const ready = await cluster.restart(name);
      assert.match(ready, new RegExp(`^${name} ready (ws://)?127\\.0\\.0\\.1:\\d+ pid \\d+$`));
      const { client } = await RawClient.established(cluster.wsUrl(1));
      client.close();
    });
  }

  test('stop <name> prints "<name> stopped"; restart brings it back', async () => {
    const since = cluster.mark();
    const pid = cluster.pid('gateway-1');
    cluster.control('stop gateway-1');
    await cluster.waitForLine(/^gateway-1 stopped$/, { since });
    assert.ok(!running(pid), 'the stopped gateway is gone');
    await cluster.restart('gateway-1');
    assert.notEqual(cluster.pid('gateway-1'), pid, 'a new process');
    const { client } = await RawClient.established(cluster.wsUrl(1));
    client.close();
  });
});

describe('herald-local itself', () => {
  test('SIGTERM stops every component and exits 0', async () => {
    const c = new Cluster({ gateways: 2, brokers: 2, ...portsFor(6, 1) });
    try {
      await c.start();
      const pids = c.componentNames().map((n) => c.pid(n));
      assert.ok(pids.every((p) => p > 0 && running(p)), 'all components running');
      c.proc.kill('SIGTERM');
      const { code, signal } = await withTimeout(c.exited, 20000, 'herald-local to exit');
      assert.equal(code, 0, `exit code (signal ${signal})`);
      for (const n of c.componentNames()) assert.ok(c.lines.includes(`${n} stopped`), `"${n} stopped" printed`);
      assert.deepEqual(
        pids.filter(running),
        [],
        'no component left running',
      );
    } finally {
      await c.stop();
    }
  });

  test('a port already in use: clear error, non-zero exit, nothing left running', async () => {
    const ports = portsFor(6, 1);
    const blocker = net.createServer();
    await new Promise((r) => blocker.listen(ports.port, '127.0.0.1', r));
    try {
      const proc = spawn(
        `${REPO_ROOT}/scripts/herald-local`,
        [
          '--gateways', '1',
          '--port', String(ports.port),
          '--broker-port', String(ports.brokerPort),
          '--redis-port', String(ports.redisPort),
          '--build-dir', process.env.HERALD_BUILD_DIR || 'build',
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          // Its temporary state directory goes with the other test clusters'.
          env: { ...process.env, TMPDIR: stateRoot() },
        },
      );
      let out = '';
      let err = '';
      proc.stdout.on('data', (d) => (out += d));
      proc.stderr.on('data', (d) => (err += d));
      const code = await withTimeout(new Promise((r) => proc.on('exit', r)), 30000, 'herald-local to give up');
      assert.notEqual(code, 0);
      assert.match(err, new RegExp(`port ${ports.port} is already in use`));
      assert.ok(!/READY/.test(out), 'no READY line');
      const pids = [...out.matchAll(/ pid (\d+)$/gm)].map((m) => Number(m[1]));
      assert.ok(pids.length >= 2, `redis and the broker had started: ${out}`);
      assert.deepEqual(pids.filter(running), [], 'what had started was stopped');
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  test('--help describes the options; a bad option is refused', async () => {
    const run = (args) =>
      new Promise((resolve) => {
        const p = spawn(`${REPO_ROOT}/scripts/herald-local`, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (out += d));
        p.on('exit', (code) => resolve({ code, out }));
      });
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    for (const opt of ['--gateways', '--brokers', '--port', '--broker-port', '--redis-port', '--build-dir', '--state-dir']) {
      assert.ok(help.out.includes(opt), `--help mentions ${opt}`);
    }
    const bad = await run(['--no-such-option']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.out, /unknown argument/);
  });
});
