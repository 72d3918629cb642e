// 22 channel queries: GET /apps/{id}/channels, /channels/{name} and
// /channels/{name}/users through the pusher SDK's `get`, and the `info` of
// a trigger and of a batch, answered from the cluster state in Redis: the
// same answer from either gateway, counting subscribers on both; and two
// apps in one cluster whose members and counts never mix.
// Ports: portsFor(22) and portsFor(22, 1).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { serverClient, closeAll, uniqueChannel, subscribed, eventually, collect } from '../lib/clients.mjs';
import { presenceClient, joinPresence, memberLog, until } from '../lib/presence.mjs';

after(closeAll);

/** The SDK's get; its errors (non-2xx) become {status, body} too. */
async function getJson(sdk, path, params = {}) {
  try {
    const res = await sdk.get({ path, params });
    return { status: res.status, body: await res.json() };
  } catch (e) {
    if (!e.status) throw e;
    return { status: e.status, body: JSON.parse(e.body || 'null') };
  }
}

describe('channel queries from cluster state', () => {
  const cluster = useCluster({ gateways: 2, brokers: 2, ...portsFor(22) });

  test('counts, members and listings agree on both gateways', async () => {
    const base = uniqueChannel('q');
    const pres = `presence-${base}`;
    const pub = `${base}-public`;
    const sdks = [serverClient(cluster, 1), serverClient(cluster, 2)];

    // before anyone subscribes
    const empty = await getJson(sdks[0], `/channels/${pub}`, { info: 'subscription_count' });
    assert.deepEqual(empty, { status: 200, body: { occupied: false, subscription_count: 0 } });

    const u1 = await presenceClient(cluster, 1, { user_id: 'u1' });
    const u2a = await presenceClient(cluster, 2, { user_id: 'u2' });
    const u2b = await presenceClient(cluster, 2, { user_id: 'u2' });
    for (const c of [u1, u2a, u2b]) await joinPresence(c, pres);
    for (const c of [u1, u2a]) await subscribed(c, pub);

    for (const sdk of sdks) {
      await eventually(async () => {
        const r = await getJson(sdk, `/channels/${pres}`, { info: 'user_count,subscription_count' });
        assert.deepEqual(r, { status: 200, body: { occupied: true, user_count: 2, subscription_count: 3 } });
      }, { what: 'presence channel counts' });
      await eventually(async () => {
        const r = await getJson(sdk, '/channels', { filter_by_prefix: base, info: 'subscription_count' });
        assert.deepEqual(r.body, { channels: { [pub]: { subscription_count: 2 } } });
      }, { what: 'public channel listing' });
      const p = await getJson(sdk, '/channels', { filter_by_prefix: 'presence-' + base, info: 'user_count' });
      assert.deepEqual(p.body, { channels: { [pres]: { user_count: 2 } } });
      const users = await getJson(sdk, `/channels/${pres}/users`);
      assert.deepEqual(users, { status: 200, body: { users: [{ id: 'u1' }, { id: 'u2' }] } });
    }

    // Pusher's rules: user_count and users are for presence channels only
    assert.equal((await getJson(sdks[0], `/channels/${pub}`, { info: 'user_count' })).status, 400);
    assert.equal((await getJson(sdks[0], `/channels/${pub}/users`)).status, 400);
    assert.equal((await getJson(sdks[1], '/channels', { info: 'user_count' })).status, 400);

    // a trigger's info
    const res = await sdks[1].trigger([pres, pub], 'ev', { n: 1 }, { info: 'user_count,subscription_count' });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      channels: { [pres]: { user_count: 2, subscription_count: 3 }, [pub]: { subscription_count: 2 } },
    });

    // a batch's info: one answer per event, {} for events without info
    const bres = await sdks[0].triggerBatch([
      { channel: pres, name: 'b1', data: '{}', info: 'user_count' },
      { channel: pub, name: 'b2', data: '{}' },
      { channel: pub, name: 'b3', data: '{}', info: 'subscription_count' },
    ]);
    assert.equal(bres.status, 200);
    assert.deepEqual(await bres.json(), { batch: [{ user_count: 2 }, {}, { subscription_count: 2 }] });

    // everyone leaves: nothing is occupied any more
    for (const c of [u1, u2a, u2b]) c.disconnect();
    await eventually(async () => {
      const r = await getJson(sdks[1], '/channels', { filter_by_prefix: base });
      assert.deepEqual(r.body, { channels: {} });
      const q = await getJson(sdks[0], `/channels/${pres}`, { info: 'user_count' });
      assert.deepEqual(q.body, { occupied: false, user_count: 0 });
    }, { what: 'channels vacated' });
  });

  test('queries are signed like the event endpoints', async () => {
    const bad = serverClient(cluster, 1, { secret: 'not-the-secret' });
    const r = await getJson(bad, '/channels');
    assert.equal(r.status, 401);
  });
});

describe('two apps in one cluster', () => {
  // The default app (herald-local's) and a second one from an apps file.
  const other = { id: 'other-id', key: 'other-key', secret: 'other-secret' };
  const appsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'herald-apps-')), 'apps.json');
  fs.writeFileSync(appsFile, JSON.stringify({ apps: [other] }));
  const cluster = useCluster({ gateways: 2, ...portsFor(22, 1), env: { HERALD_APPS_FILE: appsFile } });

  test('members and counts never cross apps', async () => {
    const name = uniqueChannel('presence-shared');
    const sdkA = serverClient(cluster, 1);
    const sdkB = serverClient(cluster, 2, { appId: other.id, key: other.key, secret: other.secret });
    const a = await presenceClient(cluster, 1, { user_id: 'in-a' });
    const ja = await joinPresence(a, name);
    const logA = memberLog(ja.channel);
    const b = await presenceClient(cluster, 2, { user_id: 'in-b' }, {}, other);
    const jb = await joinPresence(b, name);
    assert.deepEqual(jb.members.ids, ['in-b'], 'app B does not see app A\'s member');
    const b2 = await presenceClient(cluster, 1, { user_id: 'in-b2' }, {}, other);
    await joinPresence(b2, name);
    await until(() => jb.channel.members.count === 2, 'app B sees its second member');

    await eventually(async () => {
      const ra = await getJson(sdkA, `/channels/${name}`, { info: 'user_count,subscription_count' });
      assert.deepEqual(ra.body, { occupied: true, user_count: 1, subscription_count: 1 });
      const rb = await getJson(sdkB, `/channels/${name}`, { info: 'user_count,subscription_count' });
      assert.deepEqual(rb.body, { occupied: true, user_count: 2, subscription_count: 2 });
    }, { what: 'per-app counts' });
    assert.deepEqual((await getJson(sdkA, `/channels/${name}/users`)).body, { users: [{ id: 'in-a' }] });
    const listB = await getJson(sdkB, '/channels', { filter_by_prefix: 'presence-shared' });
    assert.deepEqual(Object.keys(listB.body.channels), [name]);

    // app A's member saw nobody from app B come or go
    b2.disconnect();
    await until(async () => (await getJson(sdkB, `/channels/${name}`, { info: 'user_count' })).body.user_count === 1, 'in-b2 gone');
    const marks = collect(ja.channel, 'mark');
    await sdkA.trigger(name, 'mark', {});
    await marks.next(1);
    assert.deepEqual(logA, []);
    for (const c of [a, b]) c.disconnect();
  });
});
