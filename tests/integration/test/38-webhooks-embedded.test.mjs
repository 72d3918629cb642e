// 38 webhooks in embedded mode: one herald-gateway with no broker and no
// Redis detects occupancy and counts itself and sends webhooks from an
// in-memory queue, signed like the clustered ones (checked with the real
// `pusher` SDK), with the same retry on a non-2xx answer. Ports:
// portsFor(38); the receiver listens on the gateway block's port 8.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { pusherClient, connected, subscribed, closeAll, uniqueChannel } from '../lib/clients.mjs';
import { authedClient, sdkFor } from '../lib/auth.mjs';
import { Receiver } from '../lib/webhooks.mjs';
import { scrape, sample } from '../lib/ops.mjs';

after(closeAll);

const ports = portsFor(38);
const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' };
const receiver = new Receiver(ports.port + 8, APP);

describe('webhooks in embedded mode', () => {
  before(() => receiver.start());
  after(() => receiver.stop());
  const cluster = useCluster({
    gateways: 1,
    brokers: 0,
    metricsPort: ports.port + 4,
    ...ports,
    env: {
      SOKETI_DEFAULT_APP_WEBHOOKS: JSON.stringify([
        {
          url: `${receiver.url}/hook`,
          event_types: ['channel_occupied', 'channel_vacated', 'client_event', 'cache_miss', 'subscription_count'],
          filter: { channel_name_starts_with: 'emb-' },
        },
        { url: `${receiver.url}/cache`, event_types: ['cache_miss'] },
      ]),
      SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES: 'true',
    },
  });

  test('occupied, counts and vacated from the gateway itself, once each', async () => {
    const name = uniqueChannel('emb-occ');
    let refused = 0;
    receiver.answer = (r) => (r.events.some((e) => e.channel === name) && refused++ === 0 ? 500 : 200);
    const a = await connected(pusherClient(cluster, 1));
    await subscribed(a, name);
    const b = await connected(pusherClient(cluster, 1));
    await subscribed(b, name);
    // the first batch is refused: it arrives again after the backoff
    await receiver.until((r) => r.on(name).includes('channel_occupied'), 'channel_occupied after a retry');
    a.disconnect();
    b.disconnect();
    await receiver.until((r) => r.on(name).includes('channel_vacated'), 'channel_vacated');
    const seen = receiver.on(name);
    assert.equal(seen.filter((e) => e === 'channel_occupied').length, 1, `events: ${seen}`);
    assert.equal(seen.filter((e) => e === 'channel_vacated').length, 1, `events: ${seen}`);
    const counts = receiver.accepted((e) => e.channel === name && e.name === 'subscription_count');
    // counts are read 20 ms after a change (coalesced): 2 is seen, nothing else but 1
    assert.ok(counts.some((e) => e.subscription_count === 2), JSON.stringify(counts));
    assert.ok(counts.every((e) => [1, 2].includes(e.subscription_count)), JSON.stringify(counts));
    assert.ok(receiver.requests.every((r) => r.valid), 'every request is signed with the app secret');
    assert.equal(receiver.requests.filter((r) => r.status === 500).length, 1, 'the refused batch came again');
    const m = await scrape(cluster, 'gateway-1');
    assert.ok(sample(m, 'herald_webhook_failures_total', { app_id: APP.id }) >= 1);
    assert.ok(sample(m, 'herald_webhook_sent_total', { app_id: APP.id }) >= 2);
    receiver.answer = () => 200;
  });

  test('client_event and cache_miss; the filter keeps other channels out', async () => {
    const priv = uniqueChannel('private-emb');
    const sdk = sdkFor(cluster, 1);
    const sender = authedClient(cluster, 1, sdk);
    await connected(sender);
    const ch = await subscribed(sender, priv);
    ch.trigger('client-typing', { n: 1 });
    const cache = uniqueChannel('cache-emb');
    const c = sender.subscribe(cache);
    await new Promise((resolve) => c.bind('pusher:cache_miss', resolve));
    await receiver.until((r) => r.on(cache, '/cache').includes('cache_miss'), 'cache_miss');
    const inside = uniqueChannel('emb-inside');
    await subscribed(sender, inside);
    await receiver.until((r) => r.on(inside, '/hook').includes('channel_occupied'), 'channel_occupied inside the filter');
    // the private channel and the cache channel do not start with "emb-"
    assert.deepEqual(receiver.on(priv, '/hook'), []);
    assert.deepEqual(receiver.on(cache, '/hook'), []);
    sender.disconnect();
  });
});
