// 49 webhooks of apps from Redis: with --apps-redis (HERALD_APPS_REDIS=1,
// which herald-local passes to every component) the brokers, which send
// the webhooks, follow herald:apps as the gateways do. Two gateways, two
// brokers, one Redis. An app added with scripts/herald-apps while the
// cluster runs gets its channel_occupied webhook (checked with the real
// `pusher` SDK's webhook(req).isValid()); a changed webhooks target and
// changed event types apply to the next events (cache_miss too, which the
// gateways report); disabling or removing the
// app deletes its entry in herald:webhooks:mask (what the Lua scripts read
// before queueing anything) and enabling it again brings the webhooks
// back. Which broker sends an event is not known in advance, so each step
// first waits until both brokers logged the change (no sleeps). Polling
// every 200 ms (HERALD_APPS_REFRESH_MS). Ports: portsFor(49); the receiver
// listens on the gateway block's port 8.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { useCluster, portsFor, REPO_ROOT } from '../lib/cluster.mjs';
import { pusherClient, connected, subscribed, closeAll, eventually, uniqueChannel, serverClient } from '../lib/clients.mjs';
import { Receiver } from '../lib/webhooks.mjs';

after(closeAll);

const run = promisify(execFile);
const ports = portsFor(49);
const APP = { id: `whr-${process.pid}`, key: `whr-key-${process.pid}`, secret: 'whr-secret' };
const receiver = new Receiver(ports.port + 8, APP);
const COMPONENTS = ['broker-1', 'broker-2', 'gateway-1', 'gateway-2'];

describe('webhooks of apps added through Redis', () => {
  before(() => receiver.start());
  after(() => receiver.stop());
  const cluster = useCluster({
    gateways: 2,
    brokers: 2,
    ...ports,
    env: { HERALD_APPS_REDIS: '1', HERALD_APPS_REFRESH_MS: '200' },
  });
  const apps = (...args) =>
    run(path.join(REPO_ROOT, 'scripts', 'herald-apps'), ['-p', String(cluster.redisPort), ...args]);
  const mask = () => cluster.redis('HGET', 'herald:webhooks:mask', APP.id);
  /** Waits until the app's mask entry satisfies pred (a broker writes it
   * right after it logged the change); returns it. */
  const maskUntil = (pred, what) =>
    eventually(
      async () => {
        const m = await mask();
        if (!pred(m)) throw new Error(`mask entry "${m}"`);
        return m;
      },
      { what },
    );

  /** Resolves once every broker and gateway logged `n` lines saying the
   * app was `what` ("added", "changed", "removed") from Redis. */
  const applied = (what, n) =>
    Promise.all(
      COMPONENTS.map((name) =>
        eventually(
          () => {
            const k = cluster.log(name).split('\n').filter((l) => l.includes(`app ${APP.id} ${what} from Redis`)).length;
            if (k < n) throw new Error(`${k} of ${n}`);
          },
          { what: `${name} to log "app ${APP.id} ${what} from Redis" ${n} time(s)` },
        ),
      ),
    );

  function clientOn(i) {
    return pusherClient(cluster, i, { appKey: APP.key });
  }

  /** Subscribes a client on gateway i to a new channel; returns both. */
  async function occupy(i, prefix) {
    const channel = uniqueChannel(prefix);
    const client = clientOn(i);
    await connected(client);
    await subscribed(client, channel);
    return { channel, client };
  }

  /** Waits until the cluster counts channel as occupied (HTTP API), so a
   * disconnect then is a channel_vacated (gateways report counts a little
   * later, and a subscription that ends first makes no transition). */
  const occupiedInCluster = (channel) =>
    eventually(
      async () => {
        const sdk = serverClient(cluster, 1, { appId: APP.id, key: APP.key, secret: APP.secret });
        const body = await (await sdk.get({ path: `/channels/${channel}` })).json();
        if (!body.occupied) throw new Error(JSON.stringify(body));
      },
      { what: `${channel} to be occupied in the cluster` },
    );

  const allValid = () => {
    assert.ok(receiver.requests.length > 0);
    for (const r of receiver.requests) {
      assert.equal(r.valid, true, `request to ${r.path} has a valid pusher signature: ${r.rawBody}`);
      assert.equal(r.headers['x-pusher-key'], APP.key);
    }
  };

  test('an app added with herald-apps while the cluster runs gets its webhooks', async () => {
    assert.equal(await mask(), '', 'no mask entry before the app exists');
    const hooks = [{ url: `${receiver.url}/a`, event_types: ['channel_occupied'] }];
    const { stdout } = await apps('set', JSON.stringify({ ...APP, webhooks: hooks }));
    assert.match(stdout, new RegExp(`^set ${APP.id} \\(version \\d+\\)`));
    await applied('added', 1);
    await maskUntil((m) => m !== '', 'the brokers to write the app mask entry');

    const { channel, client } = await occupy(1, 'whr-add');
    await receiver.until((r) => r.on(channel, '/a').includes('channel_occupied'), 'channel_occupied at /a');
    client.disconnect();
    assert.deepEqual(receiver.on(channel, '/a'), ['channel_occupied']);
    allValid();
  });

  test('a changed target and changed event types apply to the next events', async () => {
    const before = await mask();
    const hooks = [{ url: `${receiver.url}/b`, event_types: ['channel_occupied', 'channel_vacated', 'cache_miss'] }];
    await apps('set', JSON.stringify({ ...APP, webhooks: hooks }));
    await applied('changed', 1);
    const both = await maskUntil((m) => m !== before && m !== '', 'the mask entry to follow the event types');

    const { channel, client } = await occupy(2, 'whr-b');
    await receiver.until((r) => r.on(channel, '/b').includes('channel_occupied'), 'channel_occupied at /b');
    client.disconnect();
    await receiver.until((r) => r.on(channel, '/b').includes('channel_vacated'), 'channel_vacated at /b');
    assert.deepEqual(receiver.on(channel, '/b'), ['channel_occupied', 'channel_vacated']);
    assert.deepEqual(receiver.on(channel, '/a'), [], 'the old target gets nothing more');

    // cache_miss is reported by the gateways, which follow the app's webhooks too
    const cache = uniqueChannel('cache-whr');
    const cc = clientOn(1);
    await connected(cc);
    const cch = cc.subscribe(cache);
    await new Promise((resolve) => cch.bind('pusher:cache_miss', resolve));
    await receiver.until((r) => r.on(cache, '/b').includes('cache_miss'), 'cache_miss at /b');
    cc.disconnect();

    // only channel_vacated now: channel_occupied is not even queued
    await apps('set', JSON.stringify({ ...APP, webhooks: [{ url: `${receiver.url}/b`, event_types: ['channel_vacated'] }] }));
    await applied('changed', 2);
    await maskUntil((m) => m !== both && m !== '' && m !== before, 'the mask entry of channel_vacated only');
    const v = await occupy(1, 'whr-v');
    await occupiedInCluster(v.channel);
    v.client.disconnect();
    await receiver.until((r) => r.on(v.channel, '/b').includes('channel_vacated'), 'channel_vacated of the last channel');
    assert.deepEqual(receiver.on(v.channel), ['channel_vacated']);
    allValid();
  });

  test('disabled or removed: the mask entry goes (nothing is queued); enabled again: webhooks again', async () => {
    assert.notEqual(await mask(), '');
    await apps('disable', APP.id);
    await applied('changed', 3);
    await maskUntil((m) => m === '', 'a disabled app to lose its mask entry');

    await apps('enable', APP.id);
    await applied('changed', 4);
    await maskUntil((m) => m !== '', 'enabled again: the mask entry to be back');
    const { channel, client } = await occupy(2, 'whr-on');
    await occupiedInCluster(channel);
    client.disconnect();
    await receiver.until((r) => r.on(channel, '/b').includes('channel_vacated'), 'channel_vacated after enabling');

    await apps('rm', APP.id);
    await applied('removed', 1);
    await maskUntil((m) => m === '', 'a removed app to lose its mask entry');
    allValid();
  });
});
