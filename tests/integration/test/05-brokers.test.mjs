// 05 brokers: channels spread over brokers by rendezvous hashing, a broker
// killed with SIGKILL and restarted, a gateway killed (ARCHITECTURE.md, the
// contract's gateway <-> broker link). Two brokers, two gateways.
// Ports: portsFor(5).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { ownerBroker } from '../lib/rendezvous.mjs';
import {
  RawClient,
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

after(closeAll);

/** A fresh channel name owned by broker `j` (per the rendezvous hash). */
function channelOwnedBy(cluster, j, prefix) {
  for (;;) {
    const name = uniqueChannel(prefix);
    if (ownerBroker(cluster, name) === j) return name;
  }
}

const liveKey = (cluster, channel) => `herald:{${cluster.app.id}:${channel}}:live`;

/** Number of Redis pub/sub subscribers of a channel's live key. */
async function numsub(cluster, channel) {
  const out = await cluster.redis('PUBSUB', 'NUMSUB', liveKey(cluster, channel));
  return Number(out.split('\n')[1]);
}

/** Redis connections subscribed to at least one channel: [{addr, sub}]. */
async function subscriberConnections(cluster) {
  const out = await cluster.redis('CLIENT', 'LIST');
  return out
    .split('\n')
    .map((row) => Object.fromEntries(row.split(' ').map((kv) => kv.split('='))))
    .filter((c) => Number(c.sub) > 0)
    .map((c) => ({ addr: c.addr, sub: Number(c.sub) }));
}

/**
 * Triggers marker events on `channel` (every 300 ms) until every client has
 * received one; resolves with the marker events seen per client. Used where
 * delivery has to come back after a failure and there is no event saying so.
 */
async function deliveredAgain(sdk, channel, clients, what, ms = 20000) {
  const tag = `marker-${Date.now()}`;
  let seq = 0;
  let done = false;
  const seen = Promise.all(
    clients.map((c) => c.next((m) => m.event === tag && m.channel === channel, ms, `${tag} on ${channel}`)),
  );
  const pump = (async () => {
    while (!done) {
      try {
        await sdk.trigger(channel, tag, { seq: seq++ });
      } catch {
        // 503 while no broker owns the channel yet: try again.
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  try {
    return await withTimeout(seen, ms, what);
  } finally {
    done = true;
    await pump;
  }
}

describe('two brokers', () => {
  const cluster = useCluster({ gateways: 2, brokers: 2, ...portsFor(5, 0) });

  test('20 channels spread over both brokers; every event is delivered', async () => {
    const names = [];
    for (let k = 0; k < 20; k++) names.push(channelOwnedBy(cluster, (k % 2) + 1, 'spread'));
    const { client: c1 } = await RawClient.established(cluster.wsUrl(1));
    const { client: c2 } = await RawClient.established(cluster.wsUrl(2));
    for (const n of names) {
      await c1.subscribe(n);
      await c2.subscribe(n);
    }
    const sdk = serverClient(cluster, 2);
    const res = await sdk.trigger(names, 'fan', { n: 1 });
    assert.equal(res.status, 200);
    for (const c of [c1, c2]) {
      const got = await c.nextEvents('fan', undefined, 20);
      assert.deepEqual(got.map((m) => m.channel).sort(), [...names].sort());
    }
    // Evidence in Redis: every channel's live key has a subscriber, and two
    // connections (one per broker) hold the subscriptions, ten each.
    for (const n of names) assert.ok((await numsub(cluster, n)) >= 1, `a broker subscribed ${liveKey(cluster, n)}`);
    const subs = await subscriberConnections(cluster);
    assert.equal(subs.length, 2, `one subscriber connection per broker: ${JSON.stringify(subs)}`);
    for (const s of subs) assert.ok(s.sub >= 10, `each broker follows its ten channels: ${JSON.stringify(subs)}`);
    assert.ok(cluster.alive('broker-1') && cluster.alive('broker-2'), 'both brokers alive');
    c1.close();
    c2.close();
  });

  test('kill -9 the broker owning a channel: clients stay connected, delivery resumes, ids continue', async () => {
    const x = channelOwnedBy(cluster, 1, 'owned-by-1');
    const y = channelOwnedBy(cluster, 2, 'owned-by-2');
    const { client: c1 } = await RawClient.established(cluster.wsUrl(1));
    const { client: c2 } = await RawClient.established(cluster.wsUrl(2));
    for (const c of [c1, c2]) {
      await c.subscribe(x);
      await c.subscribe(y);
    }
    const p = pusherClient(cluster, 1);
    await connected(p);
    const socketId = p.connection.socket_id;
    const pjs = collect(await subscribed(p, x), 'after-restart');

    const sdk = serverClient(cluster, 2);
    assert.equal((await sdk.trigger(x, 'before', { n: 0 })).status, 200);
    const before = await c1.nextEvent('before', x);
    await c2.nextEvent('before', x);

    const died = await cluster.kill('broker-1', 'KILL');
    assert.equal(died, 'broker-1 died (signal KILL)');

    // y's owner is alive: its events flow as before.
    assert.equal((await sdk.trigger(y, 'still', { n: 1 })).status, 200);
    await c1.nextEvent('still', y);
    await c2.nextEvent('still', y);

    // x moves to broker-2 while broker-1 is down.
    await deliveredAgain(sdk, x, [c1, c2], `delivery on ${x} through broker-2 while broker-1 is down`);

    await cluster.restart('broker-1');
    // x moves back to broker-1 (which must subscribe to it in Redis again).
    await deliveredAgain(sdk, x, [c1, c2], `delivery on ${x} after broker-1 restarted`);
    await eventually(async () => assert.ok((await numsub(cluster, x)) >= 1), {
      what: `a Redis subscriber on ${liveKey(cluster, x)} after the restart`,
    });

    // Ten more events: in order, contiguous ids, continuing the channel's sequence.
    for (let n = 0; n < 10; n++) assert.equal((await sdk.trigger(x, 'after-restart', { n })).status, 200);
    const firstId = before.id.split(':');
    for (const c of [c1, c2]) {
      const got = await c.nextEvents('after-restart', x, 10);
      const ids = got.map((m) => m.id.split(':'));
      assert.deepEqual(
        got.map((m) => JSON.parse(m.data).n),
        [...Array(10).keys()],
      );
      for (let k = 0; k < ids.length; k++) {
        assert.equal(ids[k][0], firstId[0], 'same epoch: Redis kept the channel');
        if (k > 0) assert.equal(Number(ids[k][1]), Number(ids[k - 1][1]) + 1, `contiguous offsets: ${got.map((m) => m.id)}`);
      }
      assert.ok(Number(ids[0][1]) > Number(firstId[1]), 'offsets continue after the restart');
      // No event was delivered twice to a client.
      const all = c.messages.filter((m) => m.channel === x && m.id).map((m) => m.id);
      assert.equal(new Set(all).size, all.length, `duplicate ids delivered: ${all}`);
    }
    assert.deepEqual(
      (await pjs.next(10)).map((e) => e.data.n),
      [...Array(10).keys()],
    );
    assert.equal(c1.closeInfo, null, 'raw client on gateway-1 stayed connected');
    assert.equal(c2.closeInfo, null, 'raw client on gateway-2 stayed connected');
    assert.equal(p.connection.state, 'connected');
    assert.equal(p.connection.socket_id, socketId, 'pusher-js kept its connection');
    p.disconnect();
    c1.close();
    c2.close();
  });

  test('a gateway killed with SIGKILL: the other serves on; restarted, it serves again', async () => {
    const ch = uniqueChannel('gw-kill');
    const { client: c1 } = await RawClient.established(cluster.wsUrl(1));
    const { client: c2 } = await RawClient.established(cluster.wsUrl(2));
    await c1.subscribe(ch);
    await c2.subscribe(ch);
    const died = await cluster.kill('gateway-2', 'KILL');
    assert.equal(died, 'gateway-2 died (signal KILL)');
    await c2.waitClose();
    const sdk1 = serverClient(cluster, 1);
    assert.equal((await sdk1.trigger(ch, 'ev', { n: 1 })).status, 200);
    await c1.nextEvent('ev', ch);
    await cluster.restart('gateway-2');
    const { client: c3 } = await RawClient.established(cluster.wsUrl(2));
    await c3.subscribe(ch);
    assert.equal((await serverClient(cluster, 2).trigger(ch, 'ev2', { n: 2 })).status, 200);
    await c1.nextEvent('ev2', ch);
    await c3.nextEvent('ev2', ch);
    c1.close();
    c3.close();
  });
});
