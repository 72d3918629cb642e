// 07 Redis and apps: a restarted redis-server is recovered from without
// restarting anything else, and several apps from an apps file share a
// cluster without seeing each other's events. Ports: portsFor(7).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
  eventually,
} from '../lib/clients.mjs';

after(closeAll);

describe('redis restart', () => {
  const cluster = useCluster({ gateways: 2, brokers: 1, ...portsFor(7, 0) });

  test('publishes fail with 503 while redis is down, then delivery resumes on a new epoch', async () => {
    const name = uniqueChannel('redis');
    const raw = await RawClient.connect(cluster.wsUrl(1));
    await raw.subscribe(name);
    const p = pusherClient(cluster, 1);
    await connected(p);
    const got = collect(await subscribed(p, name), 'tick');
    const sdk = serverClient(cluster, 2);

    assert.equal((await sdk.trigger(name, 'tick', { n: 1 })).status, 200);
    const before = await raw.nextEvent('tick', name);
    const [epochBefore] = before.id.split(':');

    await cluster.kill('redis');
    // The broker sees its connections close and refuses publishes at once:
    // the API must say so instead of answering 200 for an event it lost.
    await eventually(
      async () => {
        const err = await sdk.trigger(name, 'tick', { n: -1 }).then(
          () => null,
          (e) => e,
        );
        assert.ok(err, 'trigger is refused while redis is down');
        assert.equal(err.status, 503);
        assert.match(err.body, /"error":"[^"]+"/);
      },
      { timeout: 15000, what: 'a 503 from the HTTP API with redis down' },
    );

    await cluster.restart('redis');
    // The broker reconnects with backoff; retry until a trigger is accepted.
    await eventually(
      async () => assert.equal((await sdk.trigger(name, 'tick', { n: 2 })).status, 200),
      { timeout: 20000, what: 'a trigger accepted after redis came back' },
    );
    const after = await raw.nextEvent('tick', name, 20000);
    assert.equal(JSON.parse(after.data).n, 2, 'the refused events were never delivered');
    const [epochAfter, offsetAfter] = after.id.split(':');
    assert.notEqual(epochAfter, epochBefore, 'a redis without persistence starts a new epoch');
    assert.equal(offsetAfter, '1', 'offsets restart at 1 in the new epoch');

    // pusher-js, connected all along, sees the first event and the one after
    // the restart (its connection never dropped).
    const events = await got.next(2, 20000);
    assert.deepEqual(
      events.map((e) => e.data.n),
      [1, 2],
    );
    assert.equal(p.connection.state, 'connected');
    p.disconnect();
  });
});

describe('apps file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-apps-'));
  const appsFile = path.join(dir, 'apps.json');
  const apps = [
    { id: 'app-a', key: 'key-a', secret: 'secret-a' },
    { id: 'app-b', key: 'key-b', secret: 'secret-b' },
    { id: 'app-off', key: 'key-off', secret: 'secret-off', enabled: false },
  ];
  fs.writeFileSync(appsFile, JSON.stringify({ apps }));
  const cluster = useCluster({
    gateways: 2,
    brokers: 1,
    ...portsFor(7, 1),
    env: { HERALD_APPS_FILE: appsFile },
  });
  const sdkFor = (app, i) =>
    serverClient(cluster, i, { appId: app.id, key: app.key, secret: app.secret });

  test('every app in the file works, and the default app is still there', async () => {
    for (const app of [...apps.slice(0, 2), cluster.app]) {
      const c = await RawClient.connect(cluster.wsUrl(1, { key: app.key }));
      const name = uniqueChannel('apps');
      await c.subscribe(name);
      assert.equal((await sdkFor(app, 2).trigger(name, 'hello', { app: app.id })).status, 200);
      const m = await c.nextEvent('hello', name);
      assert.equal(JSON.parse(m.data).app, app.id);
      c.close();
    }
  });

  test('the same channel name in two apps never crosses', async () => {
    const [a, b] = apps;
    const name = uniqueChannel('shared');
    const ca = await RawClient.connect(cluster.wsUrl(1, { key: a.key }));
    const cb = await RawClient.connect(cluster.wsUrl(2, { key: b.key }));
    await ca.subscribe(name);
    await cb.subscribe(name);
    await sdkFor(a, 2).trigger(name, 'only-a', {});
    await ca.nextEvent('only-a', name);
    // b's marker comes after a's event on the same broker; b must see the
    // marker and nothing of a's before it.
    await sdkFor(b, 1).trigger(name, 'marker-b', {});
    await cb.nextEvent('marker-b', name);
    assert.equal(
      cb.messages.filter((m) => m.event === 'only-a').length,
      0,
      "app b's subscriber received app a's event",
    );
  });

  test("one app's secret does not sign for another, and a disabled app is refused", async () => {
    const [a, b, off] = apps;
    const forged = serverClient(cluster, 1, { appId: b.id, key: b.key, secret: a.secret });
    const err = await forged.trigger('x', 'y', {}).then(
      () => null,
      (e) => e,
    );
    assert.ok(err, 'a request signed with the wrong app secret is refused');
    assert.equal(err.status, 401);

    const offErr = await sdkFor(off, 1)
      .trigger('x', 'y', {})
      .then(
        () => null,
        (e) => e,
      );
    assert.ok(offErr, 'a disabled app cannot publish');
    assert.equal(offErr.status, 403);

    const c = await RawClient.connect(cluster.wsUrl(1, { key: off.key }));
    const m = await c.next((x) => x.event === 'pusher:error');
    assert.equal(m.data.code, 4003);
    const { code } = await c.waitClose();
    assert.equal(code, 4003);
  });
});
