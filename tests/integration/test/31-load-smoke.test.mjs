// 31 load scenarios, smoke mode: every scenario of tests/load/scenario runs
// for a few seconds against a small Herald cluster (its own herald-local on
// portsFor(31)) and must report deliveries (where it publishes), every
// connection subscribed and no error. No timing is asserted: the figures
// are benchmarks' business (docs/benchmarks.md), this keeps them working.
// tests/load/compare's table is checked the same way (Herald only).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { portsFor, REPO_ROOT } from '../lib/cluster.mjs';
import { runScenario, checkResult } from '../lib/load.mjs';

describe('load scenarios, smoke mode, against Herald', () => {
  const ports = portsFor(31);

  for (const name of ['fanout', 'channels']) {
    test(`${name}: deliveries, every subscriber served, no error`, async () => {
      const lines = await runScenario(name, ports);
      assert.equal(lines.length, 1);
      assert.equal(lines[0].scenario, name);
      assert.equal(lines[0].target, 'herald');
      checkResult(lines[0], { publishes: true });
      // the server processes' CPU was measured (redis, broker, gateways)
      assert.ok(lines[0].result.steps.some((s) => s.server_cpu_s > 0));
      // every delivery also has its kernel arrival time, which is never
      // after herald-load read it (quantiles: same histogram buckets)
      for (const s of lines[0].result.steps) {
        assert.equal(s.arrival_us?.count, s.latency_us.count, 'one arrival time per delivery');
        assert.ok(s.arrival_us.count > 0);
        assert.ok(s.arrival_us.p50 <= s.latency_us.p50 * 1.05 + 50, `arrival p50 ${s.arrival_us.p50} us > read p50 ${s.latency_us.p50} us`);
      }
    });
  }

  test('ramp: every connection subscribed, a rate reported', async () => {
    const lines = await runScenario('ramp', ports);
    assert.equal(lines.length, 1);
    checkResult(lines[0], { publishes: false });
    assert.ok(lines[0].result.subscribed_per_s > 0);
  });

  test('idle: gateway RSS read with every connection open', async () => {
    const lines = await runScenario('idle', ports);
    assert.equal(lines.length, 1);
    checkResult(lines[0], { publishes: false });
    assert.equal(lines[0].subscribed, lines[0].conns);
    assert.ok(lines[0].node_rss_kb > 0 && lines[0].node_rss_base_kb > 0);
  });

  test('presence: observers get every member event of joins through both gateways', async () => {
    const lines = await runScenario('presence', ports);
    assert.equal(lines.length, 1);
    assert.equal(lines[0].scenario, 'presence');
    const r = lines[0].result;
    assert.ok(r && r.tool === 'herald-load', JSON.stringify(lines[0]));
    assert.equal(r.errors, 0, `errors in ${JSON.stringify(r)}`);
    assert.equal(r.subscribed, r.conns, 'every observer subscribed, every churner connected');
    const p = r.presence;
    assert.equal(p.observers, lines[0].channels, 'one observer per channel');
    // every join succeeded, and churners left again
    assert.ok(p.joins > 0 && p.joins_ok === p.joins, JSON.stringify(p));
    assert.ok(p.leaves > 0);
    // one observer per channel: one member_added per join, one
    // member_removed per leave, wherever the churner was connected
    assert.equal(p.member_added, p.joins);
    assert.equal(p.member_removed, p.leaves);
    assert.equal(r.missing, 0);
    assert.equal(r.deliveries, r.expected_deliveries);
    assert.equal(r.latency_us.count, r.deliveries);
    assert.equal(p.join_us.count, p.joins_ok);
    for (const s of r.steps) {
      assert.ok(s.joins_ok > 0 && s.join_us.count === s.joins_ok, JSON.stringify(s));
      assert.ok(s.server_cpu_us_per_join > 0);
    }
  });

  test('recovery: kill -9 one gateway, its clients resume on the other and miss nothing', async () => {
    const lines = await runScenario('recovery', ports);
    assert.equal(lines.length, 1);
    assert.equal(lines[0].scenario, 'recovery');
    const r = lines[0].result;
    assert.ok(r && r.tool === 'herald-load', JSON.stringify(lines[0]));
    assert.equal(r.errors, 0, `errors in ${JSON.stringify(r)}`);
    assert.equal(r.subscribed, r.conns);
    const rec = r.recovery;
    assert.equal(rec.killed, true, JSON.stringify(rec));
    assert.equal(rec.resume, true);
    // the clients of the killed gateway (half of them) dropped, and every
    // one came back, resumed with "since" and was told recovered:true
    assert.ok(rec.dropped > 0 && rec.dropped < r.conns, JSON.stringify(rec));
    assert.equal(rec.still_down, 0);
    assert.equal(rec.resubscribed, rec.drops);
    assert.equal(rec.recovered, rec.drops);
    assert.equal(rec.not_recovered, 0);
    assert.equal(rec.back_us.count, rec.drops);
    // events were acknowledged while they were away, and nobody lacks one
    assert.ok(rec.acked_while_down > 0, 'events published during the outage');
    assert.equal(rec.lost, 0, JSON.stringify(rec));
    assert.equal(rec.duplicates, 0);
    assert.equal(rec.foreign, 0);
    assert.equal(rec.caught_up, rec.dropped);
    assert.equal(typeof rec.reconnected_s, 'number');
    assert.equal(typeof rec.caught_up_s, 'number');
    assert.ok(rec.caught_up_s >= rec.reconnected_s);
  });
});

describe('tests/load/compare, smoke mode', () => {
  test('prints the fan-out table for Herald', async () => {
    const ports = portsFor(31, 1);
    const out = await new Promise((resolve, reject) => {
      execFile(
        path.join(REPO_ROOT, 'tests', 'load', 'compare'),
        ['fanout', '--targets', 'herald', '--smoke', '--build-dir', process.env.HERALD_BUILD_DIR || 'build',
          '--port', String(ports.port), '--broker-port', String(ports.brokerPort),
          '--redis-port', String(ports.redisPort)],
        { timeout: 120_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout)),
      );
    });
    const rows = out.split('\n').filter((l) => /^\|\s+\d+ \|/.test(l));
    assert.equal(rows.length, 2, `one row per step:\n${out}`);
    assert.ok(rows.every((r) => r.includes(' herald ')));
    assert.match(out, /max sustained deliv\/s/);
  });

  test('prints the presence table for Herald', async () => {
    const ports = portsFor(31, 1);
    const out = await new Promise((resolve, reject) => {
      execFile(
        path.join(REPO_ROOT, 'tests', 'load', 'compare'),
        ['presence', '--targets', 'herald,socketio', '--smoke', '--build-dir', process.env.HERALD_BUILD_DIR || 'build',
          '--port', String(ports.port), '--broker-port', String(ports.brokerPort),
          '--redis-port', String(ports.redisPort)],
        { timeout: 120_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout)),
      );
    });
    const rows = out.split('\n').filter((l) => /^\|\s+\d+ \|/.test(l));
    assert.equal(rows.length, 2, `one row per step:\n${out}`);
    assert.ok(rows.every((r) => r.includes(' herald ')));
    assert.match(out, /\| socketio \|\s+skipped \|/);
    assert.match(out, /max sustained joins\/s/);
  });
});
