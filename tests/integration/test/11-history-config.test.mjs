// 11 history config: per-app history rules by channel prefix (size, TTL,
// rewind-on-subscribe for unmodified pusher-js) and cache channels
// (last event on subscribe, or pusher:cache_miss). The default app's rules
// come from HERALD_DEFAULT_APP_HISTORY. Ports: portsFor(11).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import {
  RawClient,
  pusherClient,
  connected,
  subscribed,
  collect,
  serverClient,
  closeAll,
  uniqueChannel,
  withTimeout,
  DEFAULT_TIMEOUT,
} from '../lib/clients.mjs';

after(closeAll);

const RULES = [
  { prefix: 'chat-', size: 5, ttl: 3600, rewindOnSubscribe: 3 },
  { prefix: 'chat-long-', ttl: 7200 },
];

async function publishRange(sdk, channel, from, to) {
  for (let n = from; n < to; n++) assert.equal((await sdk.trigger(channel, 'num', { n })).status, 200);
}

describe('history rules and cache channels', () => {
  const cluster = useCluster({
    gateways: 1,
    brokers: 1,
    ...portsFor(11, 0),
    env: { HERALD_DEFAULT_APP_HISTORY: JSON.stringify(RULES) },
  });
  const logKey = (channel) => `herald:{${cluster.app.id}:${channel}}:log`;
  const ttl = async (channel) => Number(await cluster.redis('TTL', logKey(channel)));
  const embedded = cluster.brokers === 0; // scripts/test's embedded pass: no Redis

  test('rewind-on-subscribe gives plain pusher-js the last N events of a matching channel', async () => {
    const ch = uniqueChannel('chat-');
    const plain = uniqueChannel('plain-');
    const sdk = serverClient(cluster, 1);
    await publishRange(sdk, ch, 0, 6);
    await publishRange(sdk, plain, 0, 2);
    const p = pusherClient(cluster, 1);
    await connected(p);
    const c = p.subscribe(ch);
    const got = collect(c, 'num');
    const plainCh = p.subscribe(plain);
    const plainGot = collect(plainCh, 'num');
    await subscribed(p, ch);
    assert.deepEqual((await got.next(3)).map((e) => e.data.n), [3, 4, 5]);
    await subscribed(p, plain);
    // A live event on each: the rule channel continues, the plain one starts there.
    await publishRange(sdk, ch, 6, 7);
    await publishRange(sdk, plain, 2, 3);
    assert.deepEqual((await got.next(4)).map((e) => e.data.n), [3, 4, 5, 6]);
    assert.deepEqual((await plainGot.next(1)).map((e) => e.data.n), [2], 'no rewind without a rule');
    p.disconnect();
  });

  test('a rule sets the TTL and the size bound of the channel stream; the longest prefix wins', { skip: embedded && 'reads Redis' }, async () => {
    const sdk = serverClient(cluster, 1);
    const ch = uniqueChannel('chat-');
    const long = uniqueChannel('chat-long-');
    const plain = uniqueChannel('plain-');
    await publishRange(sdk, ch, 0, 250);
    await publishRange(sdk, long, 0, 1);
    await publishRange(sdk, plain, 0, 1);
    const t = await ttl(ch);
    assert.ok(t > 0 && t <= 3600, `chat- TTL ${t}`);
    const tl = await ttl(long);
    assert.ok(tl > 3600 && tl <= 7200, `chat-long- TTL ${tl}`);
    const tp = await ttl(plain);
    assert.ok(tp > 7200, `the cluster default TTL for channels no rule matches: ${tp}`);
    // MAXLEN ~ 5 trims whole stream nodes (100 entries each): far fewer than 250 remain.
    const len = Number(await cluster.redis('XLEN', logKey(ch)));
    assert.ok(len >= 5 && len < 150, `chat- stream length ${len}`);
  });

  test('embedded mode: a rule bounds the channel history exactly (no TTL)', { skip: !embedded && 'embedded pass only' }, async () => {
    const sdk = serverClient(cluster, 1);
    const ch = uniqueChannel('chat-');
    const plain = uniqueChannel('plain-');
    await publishRange(sdk, ch, 0, 12);
    await publishRange(sdk, plain, 0, 12);
    const { client } = await RawClient.established(cluster.wsUrl(1));
    for (const [name, want] of [[ch, [7, 8, 9, 10, 11]], [plain, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]]]) {
      client.send({ event: 'pusher:subscribe', data: { channel: name, rewind: 10 } });
      const ok = await client.next(
        (m) => m.channel === name && m.event === 'pusher_internal:subscription_succeeded',
        undefined,
        `subscription of ${name}`,
      );
      assert.equal(JSON.parse(ok.data).recovered, name === plain, `recovered on ${name}`);
      const got = await client.nextEvents('num', name, want.length);
      assert.deepEqual(got.map((m) => JSON.parse(m.data).n), want);
    }
    client.close();
  });

  test('cache channel: pusher:cache_miss when empty, then the last event right after subscription_succeeded', async () => {
    const ch = uniqueChannel('cache-');
    const p = pusherClient(cluster, 1);
    await connected(p);
    const c = p.subscribe(ch);
    const miss = withTimeout(
      new Promise((resolve) => c.bind('pusher:cache_miss', resolve)),
      DEFAULT_TIMEOUT,
      'pusher:cache_miss',
    );
    await subscribed(p, ch);
    await miss;
    const sdk = serverClient(cluster, 1);
    await publishRange(sdk, ch, 0, 3);
    if (!embedded) {
      const t = await ttl(ch);
      assert.ok(t > 0 && t <= 1800, `cache channel TTL ${t}`);
    }
    const { client } = await RawClient.established(cluster.wsUrl(1));
    const ok = await client.subscribe(ch);
    const idx = client.messages.indexOf(ok);
    const last = await client.nextEvent('num', ch);
    assert.equal(JSON.parse(last.data).n, 2);
    assert.equal(client.messages.indexOf(last), idx + 1, 'the cached event follows subscription_succeeded');
    assert.ok(!client.messages.some((m) => m.event === 'pusher:cache_miss'));
    // pusher-js sees it too, as a normal event.
    const p2 = pusherClient(cluster, 1);
    await connected(p2);
    const got = collect(p2.subscribe(ch), 'num');
    assert.deepEqual((await got.next(1)).map((e) => e.data.n), [2]);
    p.disconnect();
    p2.disconnect();
    client.close();
  });
});
