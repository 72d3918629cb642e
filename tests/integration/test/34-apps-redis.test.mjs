// 34 apps from Redis: with --apps-redis (HERALD_APPS_REDIS=1) gateways
// also serve the apps kept in the Redis hash herald:apps and pick up
// additions, changes, `enabled:false` and removals without a restart
// (scripts/herald-apps writes them and bumps herald:apps:version). An app
// added while the cluster runs is usable on both gateways with pusher-js
// and the pusher SDK; disabling it closes its connections with 4003,
// refuses new ones and makes the HTTP API answer 403; removing it gives
// 4001 / 404; a changed secret applies at once; the apps of the
// environment keep working and cannot be overridden from Redis.
// Polling every 200 ms (HERALD_APPS_REFRESH_MS). Ports: portsFor(34).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { useCluster, portsFor, REPO_ROOT } from '../lib/cluster.mjs';
import {
  RawClient,
  PusherJs,
  pusherClient,
  connected,
  subscribed,
  collect,
  serverClient,
  closeAll,
  eventually,
  uniqueChannel,
} from '../lib/clients.mjs';

after(closeAll);

const run = promisify(execFile);

/** The first message a raw connection with `key` on gateway i gets. */
async function firstMessage(cluster, i, key) {
  const client = await RawClient.connect(cluster.wsUrl(i, { key }));
  const msg = await client.next(() => true);
  return { client, msg };
}

/** Resolves when gateway i accepts key (connection_established). */
async function accepted(cluster, i, key) {
  await eventually(
    async () => {
      const { client, msg } = await firstMessage(cluster, i, key);
      client.close();
      if (msg.event !== 'pusher:connection_established') throw new Error(JSON.stringify(msg));
    },
    { what: `gateway ${i} to accept key ${key}` },
  );
}

/** Resolves with the pusher:error code gateway i refuses key with, once it does. */
async function refusedWith(cluster, i, key, code) {
  await eventually(
    async () => {
      const { client, msg } = await firstMessage(cluster, i, key);
      client.close();
      if (msg.event !== 'pusher:error' || msg.data.code !== code) throw new Error(JSON.stringify(msg));
    },
    { what: `gateway ${i} to refuse key ${key} with ${code}` },
  );
}

function pusherFor(cluster, i, app) {
  const client = new PusherJs(app.key, {
    wsHost: '127.0.0.1',
    wsPort: cluster.httpPort(i),
    forceTLS: false,
    enabledTransports: ['ws'],
    cluster: 'mt1',
    disableStats: true,
  });
  return client;
}

describe('apps from Redis', () => {
  const cluster = useCluster({
    gateways: 2,
    brokers: 1,
    ...portsFor(34, 0),
    env: { HERALD_APPS_REDIS: '1', HERALD_APPS_REFRESH_MS: '200' },
  });
  const apps = (...args) =>
    run(path.join(REPO_ROOT, 'scripts', 'herald-apps'), ['-p', String(cluster.redisPort), ...args]);
  const sdkOf = (app, i) => serverClient(cluster, i, { appId: app.id, key: app.key, secret: app.secret });

  test('an app added while the cluster runs serves both gateways; the environment app cannot be overridden', async () => {
    const app = { id: `dyn-${process.pid}`, key: `dyn-key-${process.pid}`, secret: 'dyn-secret' };
    const before = await firstMessage(cluster, 1, app.key);
    assert.equal(before.msg.event, 'pusher:error');
    assert.equal(before.msg.data.code, 4001);
    assert.equal((await before.client.waitClose()).code, 4001);
    // an entry for the environment's app is ignored (it stays enabled)
    await apps('set', JSON.stringify({ id: cluster.app.id, key: 'other', secret: 'other', enabled: false }));
    const { stdout } = await apps('set', JSON.stringify({ ...app, enableClientMessages: true }));
    assert.match(stdout, new RegExp(`^set ${app.id} \\(version \\d+\\)`));
    await accepted(cluster, 1, app.key);
    await accepted(cluster, 2, app.key);

    const ch = uniqueChannel('dyn');
    const p1 = pusherFor(cluster, 1, app);
    const p2 = pusherFor(cluster, 2, app);
    await Promise.all([connected(p1), connected(p2)]);
    const got1 = collect(await subscribed(p1, ch), 'hello');
    const got2 = collect(await subscribed(p2, ch), 'hello');
    const res = await sdkOf(app, 2).trigger(ch, 'hello', { n: 1 });
    assert.equal(res.status, 200);
    assert.deepEqual((await got1.next(1)).map((e) => e.data), [{ n: 1 }]);
    assert.deepEqual((await got2.next(1)).map((e) => e.data), [{ n: 1 }]);
    p1.disconnect();
    p2.disconnect();

    // the environment's app still works, on both gateways
    const d = pusherClient(cluster, 2);
    await connected(d);
    const dch = uniqueChannel('env');
    const dgot = collect(await subscribed(d, dch), 'e');
    assert.equal((await serverClient(cluster, 1).trigger(dch, 'e', { ok: true })).status, 200);
    await dgot.next(1);
    d.disconnect();
  });

  test('disable: connections closed with 4003 on both gateways, new ones refused, trigger 403; enable again', async () => {
    const app = { id: `off-${process.pid}`, key: `off-key-${process.pid}`, secret: 'off-secret' };
    await apps('set', JSON.stringify(app));
    await accepted(cluster, 1, app.key);
    await accepted(cluster, 2, app.key);
    const { client: c1 } = await RawClient.established(cluster.wsUrl(1, { key: app.key }));
    const { client: c2 } = await RawClient.established(cluster.wsUrl(2, { key: app.key }));
    const sdk = sdkOf(app, 1);
    assert.equal((await sdk.trigger('x', 'e', {})).status, 200);

    const { stdout } = await apps('disable', app.id);
    assert.match(stdout, /^disabled /);
    for (const c of [c1, c2]) {
      const err = await c.nextEvent('pusher:error');
      assert.equal(err.data.code, 4003);
      assert.equal((await c.waitClose()).code, 4003);
    }
    await refusedWith(cluster, 1, app.key, 4003);
    await refusedWith(cluster, 2, app.key, 4003);
    for (const i of [1, 2]) {
      await assert.rejects(sdkOf(app, i).trigger('x', 'e', {}), (e) => e.status === 403);
    }

    await apps('enable', app.id);
    await accepted(cluster, 1, app.key);
    await accepted(cluster, 2, app.key);
    assert.equal((await sdkOf(app, 2).trigger('x', 'e', {})).status, 200);
  });

  test('a changed secret applies without a restart; removal closes with 4001 and the API answers 404', async () => {
    const app = { id: `chg-${process.pid}`, key: `chg-key-${process.pid}`, secret: 'first' };
    await apps('set', JSON.stringify(app));
    await accepted(cluster, 2, app.key);
    assert.equal((await sdkOf(app, 2).trigger('x', 'e', {})).status, 200);
    await apps('set', JSON.stringify({ ...app, secret: 'second' }));
    const newer = { ...app, secret: 'second' };
    for (const i of [1, 2]) {
      await eventually(async () => assert.equal((await sdkOf(newer, i).trigger('x', 'e', {})).status, 200), {
        what: `the new secret on gateway ${i}`,
      });
      await assert.rejects(sdkOf(app, i).trigger('x', 'e', {}), (e) => e.status === 401);
    }

    const { client } = await RawClient.established(cluster.wsUrl(1, { key: app.key }));
    await apps('rm', app.id);
    const err = await client.nextEvent('pusher:error');
    assert.equal(err.data.code, 4001);
    assert.equal((await client.waitClose()).code, 4001);
    await refusedWith(cluster, 2, app.key, 4001);
    for (const i of [1, 2]) {
      await eventually(
        async () => assert.equal((await sdkOf(newer, i).trigger('x', 'e', {}).catch((e) => e)).status, 404),
        { what: `404 on gateway ${i}` },
      );
    }
    // a malformed command changes nothing and says why
    await assert.rejects(apps('set', '{"key":"k"}'), /needs an "id"/);
  });
});
