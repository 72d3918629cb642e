// 37 webhook delivery survives failures: a receiver answering 500 gets the
// same events again after a backoff and they count once it answers 200;
// webhooks queued in Redis (the herald:webhooks stream, consumer group
// "herald") and held by a broker that is killed with SIGKILL are taken
// over by the surviving broker (XAUTOCLAIM) and delivered. The test
// awaits the receiver's requests and polls Redis; it never sleeps to
// synchronise. Ports: portsFor(37); the receiver listens on the gateway
// block's port 8.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { pusherClient, connected, subscribed, closeAll, uniqueChannel, eventually } from '../lib/clients.mjs';
import { Receiver } from '../lib/webhooks.mjs';
import { scrape, sample } from '../lib/ops.mjs';

after(closeAll);

const ports = portsFor(37);
const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' };
const receiver = new Receiver(ports.port + 8, APP);

/** Entries pending at each consumer of the webhook group, per Redis. */
async function pendingByConsumer(cluster) {
  const out = (await cluster.redis('XPENDING', 'herald:webhooks', 'herald')).trim().split('\n');
  // summary form: count, smallest id, greatest id, then consumer / count pairs
  const res = {};
  for (let i = 3; i + 1 < out.length; i += 2) res[out[i]] = Number(out[i + 1]);
  return res;
}

describe('webhook retries and a broker killed with webhooks queued', () => {
  before(() => receiver.start());
  after(() => receiver.stop());
  const cluster = useCluster({
    gateways: 2,
    brokers: 2,
    metricsPort: ports.port + 4,
    ...ports,
    env: {
      SOKETI_DEFAULT_APP_WEBHOOKS: JSON.stringify([
        { url: `${receiver.url}/hook`, event_types: ['channel_occupied', 'channel_vacated'] },
      ]),
      HERALD_WEBHOOK_CLAIM_MS: '1500',
    },
  });

  test('a 500 is retried with backoff and the event is delivered once the receiver answers 200', async () => {
    const name = uniqueChannel('wh-retry');
    let refused = 0;
    receiver.answer = (r) => (r.events.some((e) => e.channel === name) && refused++ === 0 ? 500 : 200);
    const a = await connected(pusherClient(cluster, 1));
    await subscribed(a, name);
    await receiver.until((r) => r.on(name).includes('channel_occupied'), 'channel_occupied delivered after a retry');
    const tries = receiver.requests.filter((r) => r.events.some((e) => e.channel === name));
    assert.equal(tries.length, 2, 'one refused attempt, then one accepted');
    assert.equal(tries[0].status, 500);
    assert.equal(tries[1].status, 200);
    assert.equal(tries[0].rawBody.includes(name), true);
    assert.deepEqual(receiver.on(name), ['channel_occupied']);
    assert.ok(tries[1].timeMs >= tries[0].timeMs, 'a retry is signed anew with its own time_ms');
    a.disconnect();
    receiver.answer = () => 200;
    await receiver.until((r) => r.on(name).includes('channel_vacated'), 'channel_vacated');
    // the failed attempt is counted by the broker that made it
    const failures = await Promise.all(
      ['broker-1', 'broker-2'].map(async (b) => sample(await scrape(cluster, b), 'herald_webhook_failures_total', { app_id: APP.id }) ?? 0),
    );
    assert.equal(failures.reduce((x, y) => x + y, 0) >= 1, true, `failures: ${failures}`);
  });

  test('webhooks held by a broker killed with SIGKILL are delivered by the other broker', async () => {
    receiver.answer = () => 500; // nothing is accepted: everything stays queued
    const client = await connected(pusherClient(cluster, 1));
    const names = [];
    // open channels until broker-1 holds some undelivered webhooks
    await eventually(
      async () => {
        for (let i = 0; i < 5; i++) {
          const n = uniqueChannel('wh-kill');
          names.push(n);
          await subscribed(client, n);
        }
        const p = await pendingByConsumer(cluster);
        if (!(p['broker-1'] > 0)) throw new Error(`pending: ${JSON.stringify(p)}`);
      },
      { what: 'broker-1 holding webhooks', interval: 50 },
    );
    await receiver.until((r) => r.requests.some((q) => q.status === 500), 'a refused attempt');
    await cluster.kill('broker-1', 'KILL');
    receiver.answer = () => 200;
    await receiver.until(
      (r) => names.every((n) => r.on(n).includes('channel_occupied')),
      'every channel_occupied delivered after broker-1 died',
      30000,
    );
    await eventually(
      async () => {
        const p = await pendingByConsumer(cluster);
        const left = Object.values(p).reduce((x, y) => x + y, 0);
        if (left) throw new Error(`pending: ${JSON.stringify(p)}`);
      },
      { what: 'the webhook queue empty' },
    );
    for (const n of names) assert.equal(receiver.on(n).filter((e) => e === 'channel_occupied').length >= 1, true);
    assert.match(cluster.log('broker-2'), /took over \d+ event\(s\)/);
    client.disconnect();
  });
});

describe('a lone broker killed with SIGKILL and restarted delivers what it had read', () => {
  const ports1 = portsFor(37, 1);
  const receiver1 = new Receiver(ports1.port + 8, APP);
  before(() => receiver1.start());
  after(() => receiver1.stop());
  const cluster = useCluster({
    gateways: 1,
    brokers: 1,
    ...ports1,
    // no takeover by idle time here: only the restarted broker's re-read of
    // its own pending entries can deliver them
    env: {
      SOKETI_DEFAULT_APP_WEBHOOKS: JSON.stringify([{ url: `${receiver1.url}/hook`, event_types: ['channel_occupied'] }]),
      HERALD_WEBHOOK_CLAIM_MS: '600000',
    },
  });

  test('pending entries of the killed broker are re-read and delivered after its restart', async () => {
    receiver1.answer = () => 500;
    const client = await connected(pusherClient(cluster, 1));
    const names = [uniqueChannel('wh-restart'), uniqueChannel('wh-restart')];
    for (const n of names) await subscribed(client, n);
    await receiver1.until((r) => names.every((n) => r.requests.some((q) => q.events.some((e) => e.channel === n))), 'refused attempts for both channels');
    const before = await pendingByConsumer(cluster);
    assert.ok(before['broker-1'] >= 2, `pending: ${JSON.stringify(before)}`);
    await cluster.kill('broker-1', 'KILL');
    receiver1.answer = () => 200;
    await cluster.restart('broker-1');
    await receiver1.until((r) => names.every((n) => r.on(n).includes('channel_occupied')), 'both delivered by the restarted broker', 30000);
    await eventually(
      async () => {
        const p = await pendingByConsumer(cluster);
        if (Object.values(p).reduce((x, y) => x + y, 0)) throw new Error(`pending: ${JSON.stringify(p)}`);
      },
      { what: 'the webhook queue empty' },
    );
    client.disconnect();
  });
});
