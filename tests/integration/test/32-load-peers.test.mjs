// 32 the benchmark peers, smoke mode: the Socket.IO cluster and Soketi
// (installed by tests/load/peers/install, which needs the npm registry and
// is not part of CI's install) each start through tests/load/peers/run and
// deliver events to herald-load in the fan-out scenario. Skipped when the
// peers are not installed. Ports: portsFor(32).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { portsFor, REPO_ROOT } from '../lib/cluster.mjs';
import { runScenario, checkResult } from '../lib/load.mjs';

const installed = fs.existsSync(path.join(REPO_ROOT, 'tests', 'load', 'peers', 'node_modules', 'socket.io'));

describe('benchmark peers, smoke mode', { skip: installed ? false : 'peers not installed (tests/load/peers/install)' }, () => {
  const ports = portsFor(32);
  for (const target of ['socketio', 'soketi']) {
    test(`${target}: fan-out delivers to herald-load`, async () => {
      const lines = await runScenario('fanout', ports, ['--target', target]);
      assert.equal(lines.length, 1);
      assert.equal(lines[0].target, target);
      checkResult(lines[0], { publishes: true });
    });
  }

  test('soketi: presence churn, every member event reaches the observers', async () => {
    const lines = await runScenario('presence', ports, ['--target', 'soketi']);
    assert.equal(lines.length, 1);
    const r = lines[0].result;
    assert.equal(r.errors, 0, JSON.stringify(r));
    assert.ok(r.presence.joins > 0 && r.presence.joins_ok === r.presence.joins);
    assert.equal(r.presence.member_added, r.presence.joins);
    assert.equal(r.presence.member_removed, r.presence.leaves);
    assert.equal(r.missing, 0);
  });

  for (const target of ['socketio', 'soketi']) {
    test(`${target}: recovery scenario brings every client back (losses measured, not recovered)`, async () => {
      const lines = await runScenario('recovery', ports, ['--target', target]);
      assert.equal(lines.length, 1);
      const r = lines[0].result;
      assert.equal(r.errors, 0, JSON.stringify(r));
      const rec = r.recovery;
      assert.equal(rec.killed, true);
      assert.equal(rec.resume, false);
      assert.ok(rec.dropped > 0 && rec.still_down === 0 && rec.resubscribed === rec.drops, JSON.stringify(rec));
      assert.equal(typeof rec.reconnected_s, 'number');
      // no resume: what was published while they were away is lost to them
      assert.ok(rec.acked_while_down > 0);
      assert.ok(rec.lost > 0 && rec.lost_conns > 0, JSON.stringify(rec));
      assert.equal(rec.caught_up_s, null);
    });
  }

  test('socketio: presence reported as skipped (no presence channels)', async () => {
    const lines = await runScenario('presence', ports, ['--target', 'socketio']);
    assert.equal(lines.length, 1);
    assert.match(lines[0].skipped, /presence/);
  });
});
