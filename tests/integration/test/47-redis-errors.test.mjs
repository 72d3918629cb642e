// 47 Redis answering with errors (issue 8): out of memory (maxmemory with
// noeviction), commands denied by an ACL, and a paused server. A publish
// gets a prompt 503 that says why (never a hang or a crash), subscribes to
// public channels keep working where Redis allows it, and everything works
// again once Redis is healthy. Ports: portsFor(47).
import { describe, test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { presenceClient, joinPresence } from '../lib/presence.mjs';
import {
  pusherClient,
  connected,
  subscribed,
  closeAll,
  uniqueChannel,
  eventually,
  signQuery,
  withTimeout,
} from '../lib/clients.mjs';

after(closeAll);

describe('Redis returning errors', () => {
  const cluster = useCluster({ gateways: 1, brokers: 1, ...portsFor(47) });

  /** POST /events for one channel; resolves with {status, text} (bounded well above the gateway's 10 s publish deadline). */
  async function publish(name, data) {
    const path = `/apps/${cluster.app.id}/events`;
    const body = JSON.stringify({ name: 'tick', channels: [name], data: JSON.stringify(data) });
    const qs = signQuery({ method: 'POST', path, key: cluster.app.key, secret: cluster.app.secret, body });
    const res = await withTimeout(
      fetch(`http://127.0.0.1:${cluster.httpPort(1)}${path}?${qs}`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      }),
      30000,
      `an answer to a publish on ${name}`,
    );
    return { status: res.status, text: await res.text() };
  }

  async function subscriber(name) {
    const client = pusherClient(cluster, 1);
    await connected(client);
    const ch = client.subscribe(name);
    await subscribed(client, name);
    const got = [];
    ch.bind('tick', (d) => got.push(d.n));
    return { client, got };
  }

  /** Publishes until one is accepted and the subscriber has it: Redis is healthy again. */
  async function recovers(sub, name, n) {
    await eventually(
      async () => {
        const r = await publish(name, { n });
        assert.equal(r.status, 200, r.text);
      },
      { timeout: 30000, interval: 250, what: 'a publish accepted again' },
    );
    await eventually(() => assert.ok(sub.got.includes(n)), { what: `event ${n} delivered` });
  }

  afterEach(async () => {
    // Whatever a test did, leave Redis healthy for the next one.
    await cluster.redis('CONFIG', 'SET', 'maxmemory', '0').catch(() => {});
    await cluster.redis('ACL', 'SETUSER', 'default', 'on', 'nopass', '~*', '&*', '+@all').catch(() => {});
    await cluster.redis('CLIENT', 'UNPAUSE').catch(() => {});
  });

  test('out of memory (maxmemory, noeviction): publishes get 503 with the reason; subscribes work; then recovers', async () => {
    const name = uniqueChannel('oom');
    const sub = await subscriber(name);
    await recovers(sub, name, 1);
    await cluster.redis('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    await cluster.redis('CONFIG', 'SET', 'maxmemory', '1');
    const r = await publish(name, { n: 2 });
    assert.equal(r.status, 503, r.text);
    assert.match(r.text, /OOM|memory/i, 'the answer says what Redis said');
    // Subscribing needs no write: a new client on a new channel is served.
    const other = uniqueChannel('oom-sub');
    const sub2 = await subscriber(other);
    // Joining a presence channel is a write: refused with a reason, and the
    // connection stays up.
    const pres = `presence-${uniqueChannel('oom')}`;
    const member = await presenceClient(cluster, 1, { user_id: 'oom-user' });
    const err = await joinPresence(member, pres).then(
      () => null,
      (e) => e.payload,
    );
    assert.ok(err, 'the presence join was refused');
    assert.equal(err.status, 503);
    assert.match(err.error, /Could not join the presence channel/);
    assert.equal(member.connection.state, 'connected');
    await cluster.redis('CONFIG', 'SET', 'maxmemory', '0');
    await recovers(sub, name, 3);
    await recovers(sub2, other, 4);
    assert.ok(!sub.got.includes(2), 'the refused publish was not delivered');
    const again = await presenceClient(cluster, 1, { user_id: 'oom-user-2' });
    const { members } = await joinPresence(again, `presence-${uniqueChannel('oom-after')}`);
    assert.deepEqual(members.ids, ['oom-user-2']);
    assert.ok(cluster.alive('broker-1') && cluster.alive('gateway-1'));
  });

  test('commands denied by an ACL: publishes get 503 with the reason; then recovers', async () => {
    const name = uniqueChannel('acl');
    const sub = await subscriber(name);
    await recovers(sub, name, 1);
    await cluster.redis('ACL', 'SETUSER', 'default', '-evalsha', '-eval', '-script');
    const r = await publish(name, { n: 2 });
    assert.equal(r.status, 503, r.text);
    assert.match(r.text, /NOPERM|permission/i, 'the answer says what Redis said');
    await cluster.redis('ACL', 'SETUSER', 'default', '+@all');
    await recovers(sub, name, 3);
    assert.ok(cluster.alive('broker-1') && cluster.alive('gateway-1'));
  });

  test('a paused Redis: writes wait out a short pause; a long one fails with a reason, then recovers', async () => {
    const name = uniqueChannel('pause');
    const sub = await subscriber(name);
    await recovers(sub, name, 1);
    // Shorter than the broker's 5 s Redis watchdog: the publish waits and succeeds.
    await cluster.redis('CLIENT', 'PAUSE', '2000', 'WRITE');
    const r = await publish(name, { n: 2 });
    assert.equal(r.status, 200, r.text);
    await eventually(() => assert.ok(sub.got.includes(2)), { what: 'the event published during the pause' });
    // Longer than the watchdog: either the publish gets through after the
    // pause or it fails with a reason; it is answered either way.
    await cluster.redis('CLIENT', 'PAUSE', '7000', 'ALL');
    const r2 = await publish(name, { n: 3 });
    assert.ok(r2.status === 200 || (r2.status === 503 && /\w/.test(r2.text)), `${r2.status} ${r2.text}`);
    await recovers(sub, name, 4);
    assert.ok(cluster.alive('broker-1') && cluster.alive('gateway-1'));
  });
});
