// 22 channel queries: GET /apps/{id}/channels, /channels/{name} and
// /channels/{name}/users through the pusher SDK's `get`, and the `info` of
// a trigger and of a batch, answered from the cluster state in Redis: the
// same answer from either gateway, counting subscribers on both.
// Ports: portsFor(22).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { serverClient, closeAll, uniqueChannel, subscribed, eventually } from '../lib/clients.mjs';
import { presenceClient, joinPresence } from '../lib/presence.mjs';

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
