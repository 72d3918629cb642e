// 35 presence-cache: presence-cache- channels are presence channels
// (members across gateways) that also send their last event right after
// subscription_succeeded, or pusher:cache_miss when there is none
// (PROTOCOL.md §2). The member_added / member_removed events the channel's
// stream also holds are never taken for "the last event". Real pusher-js
// and laravel-echo clients on two gateways, the pusher SDK publishing.
// Ports: portsFor(35).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import Echo from 'laravel-echo';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { serverClient, closeAll, uniqueChannel, withTimeout, collect, DEFAULT_TIMEOUT } from '../lib/clients.mjs';
import { presenceClient, joinPresence, memberLog, until } from '../lib/presence.mjs';

after(closeAll);

/** Records every message a pusher-js connection receives, in order. */
function wire(client) {
  const log = [];
  client.connection.bind('message', (m) => log.push(m));
  return log;
}

function cacheMiss(channel) {
  return withTimeout(
    new Promise((resolve) => channel.bind('pusher:cache_miss', resolve)),
    DEFAULT_TIMEOUT,
    `pusher:cache_miss on ${channel.name}`,
  );
}

describe('presence-cache channels', () => {
  const cluster = useCluster({ gateways: 2, brokers: 1, ...portsFor(35, 0) });

  test('cache_miss when empty; later joiners get the last event after subscription_succeeded, with the members', async () => {
    const name = uniqueChannel('presence-cache');
    const alice = await presenceClient(cluster, 1, { user_id: 'alice', user_info: { n: 'A' } });
    const aliceWire = wire(alice);
    const ch = alice.subscribe(name);
    const miss = cacheMiss(ch);
    const joined = await joinPresence(alice, name);
    assert.deepEqual(joined.members.ids, ['alice']);
    await miss;
    const okAt = aliceWire.findIndex((m) => m.event === 'pusher_internal:subscription_succeeded' && m.channel === name);
    const missAt = aliceWire.findIndex((m) => m.event === 'pusher:cache_miss' && m.channel === name);
    assert.ok(okAt >= 0 && missAt > okAt, 'cache_miss follows subscription_succeeded');

    const live = collect(ch, 'num');
    const sdk = serverClient(cluster, 2);
    for (let n = 0; n < 3; n++) assert.equal((await sdk.trigger(name, 'num', { n })).status, 200);
    await live.next(3);

    // bob on the other gateway: members from both gateways, then the cached event
    const bob = await presenceClient(cluster, 2, { user_id: 'bob' });
    const bobWire = wire(bob);
    const bobCh = bob.subscribe(name);
    const got = collect(bobCh, 'num');
    const bobJoined = await joinPresence(bob, name);
    assert.deepEqual(bobJoined.members.ids, ['alice', 'bob']);
    assert.deepEqual((await got.next(1)).map((e) => e.data.n), [2]);
    const bOk = bobWire.findIndex((m) => m.event === 'pusher_internal:subscription_succeeded' && m.channel === name);
    const bEv = bobWire.findIndex((m) => m.event === 'num' && m.channel === name);
    assert.equal(bEv, bOk + 1, 'the cached event comes right after subscription_succeeded');
    assert.ok(!bobWire.some((m) => m.event === 'pusher:cache_miss'), 'no cache_miss when there is an event');

    // live events still flow to both after the replay, once each
    assert.equal((await sdk.trigger(name, 'num', { n: 3 })).status, 200);
    assert.deepEqual((await got.next(2)).map((e) => e.data.n), [2, 3]);
    assert.deepEqual((await live.next(4)).map((e) => e.data.n), [0, 1, 2, 3]);
    alice.disconnect();
    bob.disconnect();
  });

  test('member churn after the last event does not replace it (laravel-echo join)', async () => {
    const room = uniqueChannel('cache-room');
    const name = `presence-${room}`;
    const sdk = serverClient(cluster, 1);
    const first = await presenceClient(cluster, 1, { user_id: 'carol' });
    const log = memberLog(first.subscribe(name));
    await joinPresence(first, name);
    assert.equal((await sdk.trigger(name, 'state', { v: 'kept' })).status, 200);
    // members come and go on both gateways: their member events follow it in the stream
    for (const [i, id] of [[1, 'dan'], [2, 'erin']]) {
      const c = await presenceClient(cluster, i, { user_id: id });
      await joinPresence(c, name);
      c.disconnect();
    }
    await until(() => log.filter((e) => e.type === 'removed').length === 2, 'both members left');

    // laravel-echo over pusher-js on gateway 2
    const client = await presenceClient(cluster, 2, { user_id: 'frank' });
    const echo = new Echo({ broadcaster: 'pusher', client });
    const state = withTimeout(
      new Promise((resolve) => echo.join(room).listen('.state', resolve)),
      DEFAULT_TIMEOUT,
      'the cached state event through laravel-echo',
    );
    const here = withTimeout(
      new Promise((resolve) => echo.join(room).here((users) => resolve(users))),
      DEFAULT_TIMEOUT,
      'laravel-echo here()',
    );
    assert.equal((await here).length, 2);
    assert.deepEqual(await state, { v: 'kept' });
    echo.disconnect();
    first.disconnect();
  });

  test('a presence-cache channel whose stream holds only member events sends cache_miss', async () => {
    const name = uniqueChannel('presence-cache');
    const a = await presenceClient(cluster, 1, { user_id: 'gus' });
    await joinPresence(a, name);
    const b = await presenceClient(cluster, 2, { user_id: 'hal' });
    const ch = b.subscribe(name);
    const miss = cacheMiss(ch);
    const events = collect(ch, 'pusher_internal:member_added');
    await joinPresence(b, name);
    await miss;
    assert.equal(events.events.length, 0);
    a.disconnect();
    b.disconnect();
  });
});
