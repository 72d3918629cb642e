// 10 history: resume with "since", "rewind", recovered:false when the
// history no longer reaches back, and gap repair inside the cluster
// (PROTOCOL.md section 7, ARCHITECTURE.md "Recovery"). One broker, one
// gateway, a real redis-server; in scripts/test's embedded pass one embedded
// gateway (the tests that tamper with Redis are skipped there). Ports:
// portsFor(10).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { RawClient, serverClient, closeAll, uniqueChannel } from '../lib/clients.mjs';

after(closeAll);

/** Subscribes with extra data (since / rewind); resolves with {message, data}. */
async function subscribeWith(client, channel, extra) {
  client.send({ event: 'pusher:subscribe', data: { channel, ...extra } });
  const m = await client.next(
    (x) => x.channel === channel && /subscription_(succeeded|error)/.test(x.event),
    undefined,
    `subscription reply for ${channel}`,
  );
  assert.equal(m.event, 'pusher_internal:subscription_succeeded', JSON.stringify(m));
  return { message: m, data: JSON.parse(m.data) };
}

const offsetOf = (id) => Number(id.split(':')[1]);
const epochOf = (id) => id.split(':')[0];

/** Publishes events n = from..to-1 on channel (each acknowledged). */
async function publishRange(sdk, channel, from, to) {
  for (let n = from; n < to; n++) assert.equal((await sdk.trigger(channel, 'num', { n })).status, 200);
}

/** The next k "num" events on channel: their n values and ids. */
async function nums(client, channel, k) {
  const got = await client.nextEvents('num', channel, k);
  return { ns: got.map((m) => JSON.parse(m.data).n), ids: got.map((m) => m.id) };
}

describe('history and recovery', () => {
  // trim- channels keep 5 events: exactly in embedded mode; Redis trims
  // whole stream nodes, so the clustered run also XTRIMs them by hand.
  const cluster = useCluster({
    gateways: 1,
    brokers: 1,
    ...portsFor(10, 0),
    env: { HERALD_DEFAULT_APP_HISTORY: JSON.stringify([{ prefix: 'trim-', size: 5 }]) },
  });
  const needsRedis = cluster.brokers === 0 && 'tampers with Redis (not in embedded mode)';
  const logKey = (channel) => `herald:{${cluster.app.id}:${channel}}:log`;
  const metaKey = (channel) => `herald:{${cluster.app.id}:${channel}}:meta`;

  test('rewind N delivers the last N events in order after subscription_succeeded', async () => {
    const ch = uniqueChannel('rewind');
    const sdk = serverClient(cluster, 1);
    await publishRange(sdk, ch, 0, 5);
    const { client } = await RawClient.established(cluster.wsUrl(1));
    const { data, message } = await subscribeWith(client, ch, { rewind: 3 });
    assert.equal(data.recovered, true);
    assert.match(data.position, /^[0-9a-f]+:5$/);
    const idx = client.messages.indexOf(message);
    const { ns, ids } = await nums(client, ch, 3);
    assert.deepEqual(ns, [2, 3, 4]);
    assert.deepEqual(ids.map(offsetOf), [3, 4, 5]);
    assert.ok(client.messages.findIndex((m) => m.event === 'num') > idx, 'events come after subscription_succeeded');
    // Live events follow.
    await publishRange(sdk, ch, 5, 6);
    assert.deepEqual((await nums(client, ch, 1)).ns, [5]);
    client.close();
  });

  test('since resumes exactly after the last id, with no gap or duplicate while publishing goes on', async () => {
    const ch = uniqueChannel('since');
    const sdk = serverClient(cluster, 1);
    const { client: a } = await RawClient.established(cluster.wsUrl(1));
    await a.subscribe(ch);
    await publishRange(sdk, ch, 0, 10);
    const first = await nums(a, ch, 10);
    assert.deepEqual(first.ns, [...Array(10).keys()]);
    a.close();
    await publishRange(sdk, ch, 10, 30); // missed while away
    const { client: b } = await RawClient.established(cluster.wsUrl(1));
    // Publishing goes on while b resumes.
    const pumping = publishRange(sdk, ch, 30, 60);
    const { data } = await subscribeWith(b, ch, { since: first.ids[9] });
    assert.equal(data.recovered, true);
    assert.equal(epochOf(data.position), epochOf(first.ids[9]));
    await pumping;
    const rest = await nums(b, ch, 50);
    assert.deepEqual(rest.ns, Array.from({ length: 50 }, (_, k) => 10 + k));
    for (let k = 1; k < rest.ids.length; k++) assert.equal(offsetOf(rest.ids[k]), offsetOf(rest.ids[k - 1]) + 1);
    await publishRange(sdk, ch, 60, 61);
    assert.deepEqual((await nums(b, ch, 1)).ns, [60]);
    const all = b.messages.filter((m) => m.event === 'num').map((m) => m.id);
    assert.equal(new Set(all).size, all.length, 'no duplicate');
    b.close();
  });

  test('since from another epoch, or from a trimmed offset, says recovered:false and replays nothing', async () => {
    const ch = uniqueChannel('trim-');
    const sdk = serverClient(cluster, 1);
    await publishRange(sdk, ch, 0, 20);
    const { client } = await RawClient.established(cluster.wsUrl(1));
    const { data: first } = await subscribeWith(client, ch, { rewind: 1 });
    const epoch = epochOf(first.position);
    await nums(client, ch, 1);
    client.close();

    const { client: other } = await RawClient.established(cluster.wsUrl(1));
    const { data: wrong } = await subscribeWith(other, ch, { since: 'ffffffff00000000:3' });
    assert.equal(wrong.recovered, false);
    assert.equal(wrong.position, `${epoch}:20`);
    other.close();

    if (cluster.brokers > 0) await cluster.redis('XTRIM', logKey(ch), 'MAXLEN', '5'); // exact trim: 16..20 remain
    const { client: c } = await RawClient.established(cluster.wsUrl(1));
    const { data: trimmed } = await subscribeWith(c, ch, { since: `${epoch}:3` });
    assert.equal(trimmed.recovered, false);
    assert.equal(trimmed.position, `${epoch}:20`);
    const { client: d } = await RawClient.established(cluster.wsUrl(1));
    const { data: ok } = await subscribeWith(d, ch, { since: `${epoch}:15` });
    assert.equal(ok.recovered, true);
    assert.deepEqual((await nums(d, ch, 5)).ns, [15, 16, 17, 18, 19]);
    await publishRange(sdk, ch, 20, 21);
    assert.deepEqual((await nums(c, ch, 1)).ns, [20], 'the unrecovered subscriber gets live events');
    assert.equal(c.messages.filter((m) => m.event === 'num').length, 1, 'nothing replayed to it');
    c.close();
    d.close();
  });

  test('a live event lost inside the cluster is fetched from history before the next one', { skip: needsRedis }, async () => {
    const ch = uniqueChannel('gap');
    const sdk = serverClient(cluster, 1);
    const { client } = await RawClient.established(cluster.wsUrl(1));
    await client.subscribe(ch);
    await publishRange(sdk, ch, 0, 3);
    const got = await nums(client, ch, 3);
    // Append offset 4 the way publish.lua does, but without the pub/sub
    // notification: as if the broker's Redis subscription had missed it.
    const lost = await cluster.redis('HINCRBY', metaKey(ch), 'next', '1');
    assert.equal(Number(lost), 4);
    const stored = await cluster.redis('XRANGE', logKey(ch), '0-3', '0-3');
    assert.ok(stored.length > 0);
    // Copy entry 3's bytes as entry 4 (same event: n=2), through redis-cli.
    await cluster.redis('EVAL',
      "local r = redis.call('XRANGE', KEYS[1], '0-3', '0-3'); return redis.call('XADD', KEYS[1], '0-4', 'e', r[1][2][2])",
      '1', logKey(ch));
    await publishRange(sdk, ch, 3, 4); // offset 5, notified
    const next = await nums(client, ch, 2);
    assert.deepEqual(next.ids.map(offsetOf), [4, 5], `gap repaired in order: ${next.ids}`);
    assert.deepEqual(next.ns, [2, 3]);
    assert.equal(epochOf(next.ids[0]), epochOf(got.ids[0]));
    client.close();
  });

  test('a broker that re-subscribes Redis makes the gateway catch up, with no later event needed', { skip: needsRedis }, async () => {
    const ch = uniqueChannel('resync');
    const sdk = serverClient(cluster, 1);
    const { client } = await RawClient.established(cluster.wsUrl(1));
    await client.subscribe(ch);
    await publishRange(sdk, ch, 0, 3);
    await nums(client, ch, 3);
    // Offset 4 appended without its pub/sub notification (a missed event)...
    assert.equal(Number(await cluster.redis('HINCRBY', metaKey(ch), 'next', '1')), 4);
    await cluster.redis('EVAL',
      "local r = redis.call('XRANGE', KEYS[1], '0-3', '0-3'); return redis.call('XADD', KEYS[1], '0-4', 'e', r[1][2][2])",
      '1', logKey(ch));
    // ...then the broker's subscriber connection drops and comes back.
    await cluster.redis('CLIENT', 'KILL', 'TYPE', 'pubsub');
    const next = await nums(client, ch, 1);
    assert.deepEqual(next.ids.map(offsetOf), [4]);
    client.close();
  });
});
