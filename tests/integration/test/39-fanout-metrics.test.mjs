// 39 fan-out latency: herald_fanout_latency_seconds on each gateway counts
// every live event once per gateway that delivered it (not once per socket),
// measured from the broker's receive time carried in Event.published_us;
// herald_publish_duration_seconds counts the publishes on the gateway that
// took them. Two gateways and one broker, then one embedded gateway.
// Ports: portsFor(39, 0..1); metrics ports from port+5.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { pusherClient, connected, subscribed, collect, serverClient, closeAll, uniqueChannel } from '../lib/clients.mjs';
import { scrape, sample } from '../lib/ops.mjs';

after(closeAll);

const FANOUT = 'herald_fanout_latency_seconds';

/** count, +Inf bucket and sum of the fan-out histogram for app on gateway name. */
async function fanout(cluster, name) {
  const m = await scrape(cluster, name);
  const app = { app_id: cluster.app.id };
  return {
    type: m.types.get(FANOUT),
    count: sample(m, `${FANOUT}_count`, app),
    inf: sample(m, `${FANOUT}_bucket`, { ...app, le: '+Inf' }),
    sum: sample(m, `${FANOUT}_sum`, app),
    publishes: sample(m, 'herald_publish_duration_seconds_count', app),
  };
}

/** Subscribes a pusher-js client on gateway i to channel; resolves its collector. */
async function listener(cluster, i, channel) {
  const p = pusherClient(cluster, i);
  await connected(p);
  return { p, got: collect(await subscribed(p, channel), 'tick') };
}

describe('fan-out latency histogram, two gateways', () => {
  const ports = portsFor(39, 0);
  const cluster = useCluster({ gateways: 2, brokers: 1, ...ports, metricsPort: ports.port + 5 });

  test('each gateway observes every delivered event once, whatever its number of sockets', async () => {
    const ch = uniqueChannel('fanout');
    // three sockets on gateway-1, one on gateway-2
    const ls = [
      await listener(cluster, 1, ch),
      await listener(cluster, 1, ch),
      await listener(cluster, 1, ch),
      await listener(cluster, 2, ch),
    ];
    const before1 = await fanout(cluster, 'gateway-1');
    const before2 = await fanout(cluster, 'gateway-2');
    assert.equal(before1.type, 'histogram');
    const sdk = serverClient(cluster, 2);
    const N = 5;
    for (let n = 0; n < N; n++) assert.equal((await sdk.trigger(ch, 'tick', { n })).status, 200);
    for (const l of ls) assert.deepEqual((await l.got.next(N)).map((e) => e.data.n), [0, 1, 2, 3, 4]);
    const after1 = await fanout(cluster, 'gateway-1');
    const after2 = await fanout(cluster, 'gateway-2');
    assert.equal(after1.count - before1.count, N, 'gateway-1: once per event, not per socket');
    assert.equal(after2.count - before2.count, N, 'gateway-2: once per event');
    assert.equal(after1.inf, after1.count);
    assert.ok(after1.sum >= before1.sum && after2.sum >= before2.sum);
    assert.equal(after2.publishes - before2.publishes, N, 'publish latency observed where published');
    assert.equal(after1.publishes, before1.publishes);
    for (const l of ls) l.p.disconnect();
  });
});

describe('fan-out latency histogram, embedded gateway', () => {
  const ports = portsFor(39, 1);
  const cluster = useCluster({ gateways: 1, brokers: 0, ...ports, metricsPort: ports.port + 5 });

  test('the embedded core stamps events too', async () => {
    const ch = uniqueChannel('fanout-emb');
    const l = await listener(cluster, 1, ch);
    const before = await fanout(cluster, 'gateway-1');
    const sdk = serverClient(cluster, 1);
    for (let n = 0; n < 3; n++) assert.equal((await sdk.trigger(ch, 'tick', { n })).status, 200);
    await l.got.next(3);
    const now = await fanout(cluster, 'gateway-1');
    assert.equal(now.count - before.count, 3);
    l.p.disconnect();
  });
});
