// Runs tests/load/scenario in smoke mode for the load tests (31, 32) and
// checks its JSON lines: what every measured line must hold whatever the
// target (no timing: benchmarks are docs/benchmarks.md's business).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './cluster.mjs';

const SCENARIO = path.join(REPO_ROOT, 'tests', 'load', 'scenario');
const BUILD_DIR = process.env.HERALD_BUILD_DIR || 'build';

function stateDir(name) {
  const root = process.env.HERALD_TEST_STATE_ROOT || path.join(os.tmpdir(), 'herald-it');
  fs.mkdirSync(root, { recursive: true });
  return fs.mkdtempSync(path.join(root, `load-${name}-`));
}

/** Runs one scenario in smoke mode; resolves with its JSON lines. */
export function runScenario(name, ports, extra = []) {
  const args = [
    name, '--smoke', '--build-dir', BUILD_DIR, '--port', String(ports.port),
    '--broker-port', String(ports.brokerPort), '--redis-port', String(ports.redisPort),
    '--state-dir', stateDir(name), ...extra,
  ];
  return new Promise((resolve, reject) => {
    execFile(SCENARIO, args, { timeout: 120_000, killSignal: 'SIGTERM' }, (err, stdout, stderr) => {
      const lines = stdout.split('\n').filter((l) => l.trim() !== '');
      let parsed;
      try {
        parsed = lines.map((l) => JSON.parse(l));
      } catch (e) {
        reject(new Error(`${name}: output is not JSON lines: ${e.message}\n${stdout}\n${stderr}`));
        return;
      }
      if (err) {
        reject(new Error(`${name} failed (${err.code ?? err.signal}):\n${stdout}\n${stderr}`));
        return;
      }
      resolve(parsed);
    });
  });
}

/** The checks every measured line must pass. */
export function checkResult(line, { publishes }) {
  const r = line.result;
  assert.ok(r && typeof r === 'object', `no herald-load summary in ${JSON.stringify(line)}`);
  assert.equal(r.tool, 'herald-load');
  assert.equal(r.errors, 0, `errors in ${JSON.stringify(r)}`);
  assert.ok(r.conns > 0);
  assert.equal(r.subscribed, r.conns, 'every connection subscribed');
  if (publishes) {
    assert.ok(r.published > 0, 'published');
    assert.ok(r.deliveries > 0, 'deliveries > 0');
    assert.equal(r.missing, 0, 'every expected delivery arrived');
    assert.ok(r.steps.length > 0 && r.steps.every((s) => s.published > 0));
    assert.ok(r.latency_us.count === r.deliveries && r.latency_us.p50 > 0);
  }
}
