// 36 webhooks: two gateways and two brokers send Pusher webhooks to a node
// HTTP receiver, which checks every request with the real `pusher` SDK
// (pusher.webhook(req).isValid() / getEvents()). Occupancy and presence
// transitions happen once per cluster however many gateways see them, so
// channel_occupied / channel_vacated and member_added / member_removed
// must arrive exactly once; client_event, cache_miss, subscription_count,
// per-target filters and extra headers are checked too. Webhooks are
// configured the Soketi way (SOKETI_DEFAULT_APP_WEBHOOKS). Ports:
// portsFor(36); the receiver listens on the gateway block's port 8.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { pusherClient, connected, subscribed, closeAll, uniqueChannel, serverClient } from '../lib/clients.mjs';
import { presenceClient, joinPresence } from '../lib/presence.mjs';
import { authedClient, sdkFor } from '../lib/auth.mjs';
import { Receiver } from '../lib/webhooks.mjs';

after(closeAll);

const ports = portsFor(36);
const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' };
const receiver = new Receiver(ports.port + 8, APP);
const hooks = [
  {
    url: `${receiver.url}/all`,
    event_types: ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event', 'cache_miss'],
  },
  {
    url: `${receiver.url}/filtered`,
    event_types: ['channel_occupied'],
    filter: { channel_name_starts_with: 'audit-', channel_name_ends_with: '-log' },
  },
  { url: `${receiver.url}/count`, event_types: ['subscription_count'], headers: { 'X-Herald-Test': 'counted' } },
];

const count = (list, x) => list.filter((e) => e === x).length;

describe('webhooks across two gateways and two brokers', () => {
  before(() => receiver.start());
  after(() => receiver.stop());
  const cluster = useCluster({
    gateways: 2,
    brokers: 2,
    ...ports,
    env: {
      SOKETI_DEFAULT_APP_WEBHOOKS: JSON.stringify(hooks),
      SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES: 'true',
    },
  });
  const onPath = (p, channel) =>
    receiver.requests
      .filter((r) => r.path === p && r.status < 300)
      .flatMap((r) => r.events)
      .filter((e) => e.channel === channel);

  test('channel_occupied and channel_vacated once, with subscribers on both gateways', async () => {
    const name = uniqueChannel('wh-occ');
    const a = await connected(pusherClient(cluster, 1));
    await subscribed(a, name);
    const b = await connected(pusherClient(cluster, 2));
    await subscribed(b, name);
    const c = await connected(pusherClient(cluster, 2));
    await subscribed(c, name);
    await receiver.until((r) => r.on(name, '/all').includes('channel_occupied'), 'channel_occupied');
    b.disconnect();
    a.disconnect();
    c.disconnect();
    await receiver.until((r) => r.on(name, '/all').includes('channel_vacated'), 'channel_vacated');
    // a later transition on another channel, so anything late about this one is in
    const marker = uniqueChannel('wh-marker');
    const d = await connected(pusherClient(cluster, 1));
    await subscribed(d, marker);
    await receiver.until((r) => r.on(marker, '/all').includes('channel_occupied'), 'the marker channel_occupied');
    d.disconnect();
    const seen = receiver.on(name, '/all');
    assert.equal(count(seen, 'channel_occupied'), 1, `events: ${seen}`);
    assert.equal(count(seen, 'channel_vacated'), 1, `events: ${seen}`);
    assert.deepEqual(seen, ['channel_occupied', 'channel_vacated']);
    for (const r of receiver.requests) {
      assert.equal(r.valid, true, `request to ${r.path} has a valid pusher signature: ${r.rawBody}`);
      assert.equal(r.headers['x-pusher-key'], APP.key);
      assert.ok(Math.abs(r.timeMs - Date.now()) < 600000, 'time_ms is a current time');
    }
  });

  test('member_added and member_removed once for a user connected to both gateways', async () => {
    const name = uniqueChannel('presence-wh');
    const alice1 = await presenceClient(cluster, 1, { user_id: 'alice' });
    await joinPresence(alice1, name);
    const alice2 = await presenceClient(cluster, 2, { user_id: 'alice' });
    await joinPresence(alice2, name);
    const bob = await presenceClient(cluster, 2, { user_id: 'bob' });
    await joinPresence(bob, name);
    await receiver.until((r) => r.on(name, '/all').includes('member_added:bob'), 'member_added for bob');
    alice1.disconnect();
    bob.disconnect();
    await receiver.until((r) => r.on(name, '/all').includes('member_removed:bob'), 'member_removed for bob');
    alice2.disconnect();
    await receiver.until((r) => r.on(name, '/all').includes('member_removed:alice'), 'member_removed for alice');
    await receiver.until((r) => r.on(name, '/all').includes('channel_vacated'), 'channel_vacated');
    const seen = receiver.on(name, '/all');
    assert.equal(count(seen, 'member_added:alice'), 1, `events: ${seen}`);
    assert.equal(count(seen, 'member_removed:alice'), 1, `events: ${seen}`);
    assert.equal(count(seen, 'member_added:bob'), 1, `events: ${seen}`);
    assert.equal(count(seen, 'channel_occupied'), 1, `events: ${seen}`);
    assert.ok(seen.indexOf('member_removed:bob') < seen.indexOf('member_removed:alice'));
  });

  test('client_event carries the event, its data, the socket and (presence) the user', async () => {
    const priv = uniqueChannel('private-wh');
    const sdk = sdkFor(cluster, 1);
    const sender = authedClient(cluster, 1, sdk);
    await connected(sender);
    const ch = await subscribed(sender, priv);
    ch.trigger('client-typing', { who: 'me' });
    await receiver.until((r) => r.accepted((e) => e.channel === priv && e.name === 'client_event').length, 'client_event');
    const [ev] = receiver.accepted((e) => e.channel === priv && e.name === 'client_event');
    assert.equal(ev.event, 'client-typing');
    assert.deepEqual(JSON.parse(ev.data), { who: 'me' });
    assert.equal(ev.socket_id, sender.connection.socket_id);
    assert.equal(ev.user_id, undefined);

    const pres = uniqueChannel('presence-wh-client');
    const carol = await presenceClient(cluster, 2, { user_id: 'carol' });
    const { channel } = await joinPresence(carol, pres);
    channel.trigger('client-wave', 'hi');
    await receiver.until((r) => r.accepted((e) => e.channel === pres && e.name === 'client_event').length, 'presence client_event');
    const [pev] = receiver.accepted((e) => e.channel === pres && e.name === 'client_event');
    assert.equal(pev.user_id, 'carol');
    assert.equal(pev.event, 'client-wave');
  });

  test('cache_miss when a cache channel has no event yet', async () => {
    const name = uniqueChannel('cache-wh');
    const a = await connected(pusherClient(cluster, 2));
    const ch = a.subscribe(name);
    await new Promise((resolve) => ch.bind('pusher:cache_miss', resolve));
    await receiver.until((r) => r.on(name, '/all').includes('cache_miss'), 'cache_miss');
    // a cache channel with an event is no miss
    const full = uniqueChannel('cache-wh-full');
    await serverClient(cluster, 1).trigger(full, 'snap', { v: 1 });
    const b = await connected(pusherClient(cluster, 1));
    await subscribed(b, full);
    await receiver.until((r) => r.on(full, '/all').includes('channel_occupied'), 'channel_occupied of the full cache channel');
    assert.equal(count(receiver.on(full, '/all'), 'cache_miss'), 0);
    a.disconnect();
    b.disconnect();
  });

  test('a target\'s filter and event types are honoured; extra headers are sent', async () => {
    const tag = uniqueChannel('x').slice(2);
    const match = `audit-${tag}-log`;
    const names = [match, `audit-${tag}`, `${tag}-log`];
    const a = await connected(pusherClient(cluster, 1));
    for (const n of names) await subscribed(a, n);
    await receiver.until((r) => names.every((n) => r.on(n, '/all').includes('channel_occupied')), 'channel_occupied of all three');
    await receiver.until(() => onPath('/filtered', match).length === 1, 'the filtered target gets its channel');
    await receiver.until(() => names.every((n) => onPath('/count', n).length >= 1), 'subscription_count of all three');
    assert.deepEqual(onPath('/filtered', `audit-${tag}`), []);
    assert.deepEqual(onPath('/filtered', `${tag}-log`), []);
    assert.deepEqual(onPath('/count', match).map((e) => [e.name, e.subscription_count]), [['subscription_count', 1]]);
    const countReq = receiver.requests.find((r) => r.path === '/count');
    assert.equal(countReq.headers['x-herald-test'], 'counted');
    assert.equal(receiver.requests.filter((r) => r.path === '/filtered').flatMap((r) => r.events).every((e) => e.name === 'channel_occupied'), true);
    assert.equal(receiver.requests.filter((r) => r.path === '/all').flatMap((r) => r.events).some((e) => e.name === 'subscription_count'), false);
    a.disconnect();
  });
});
