// 25 embedded mode: herald-gateway with no broker configured runs the broker
// core in process over the in-memory store (herald-local --brokers 0, i.e.
// herald-gateway --embedded). The real pusher-js and pusher SDK end to end:
// subscribe, trigger, contiguous ids, client-visible ordering, and no broker
// or Redis process anywhere. Ports: portsFor(25).
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
  apiRequest,
} from '../lib/clients.mjs';

after(closeAll);

function parseId(m) {
  const match = String(m.id).match(/^([^:]+):(\d+)$/);
  assert.ok(match, `id has the form <epoch>:<offset>: ${m.id}`);
  return { epoch: match[1], offset: Number(match[2]) };
}

describe('embedded mode', () => {
  const cluster = useCluster({ gateways: 1, brokers: 0, ...portsFor(25, 0) });

  test('herald-local starts only the gateway, in embedded mode', () => {
    assert.ok(cluster.lines.some((l) => /^gateway-1 ready /.test(l)));
    assert.ok(!cluster.lines.some((l) => /^(redis|broker-\d+) ready /.test(l)), cluster.lines.join('\n'));
    assert.match(cluster.log('gateway-1'), /embedded broker/);
  });

  test('pusher-js receives 20 events triggered with the pusher SDK, in order, ids contiguous', async () => {
    const p = pusherClient(cluster, 1);
    await connected(p);
    const name = uniqueChannel('emb');
    const got = collect(await subscribed(p, name), 'msg');
    const sdk = serverClient(cluster, 1);
    for (let n = 0; n < 20; n++) assert.equal((await sdk.trigger(name, 'msg', { n })).status, 200);
    const events = await got.next(20);
    assert.deepEqual(
      events.map((e) => e.data.n),
      [...Array(20).keys()],
    );
    p.disconnect();
  });

  test('raw clients see ids <epoch>:<offset> starting at 1, +1 each', async () => {
    const name = uniqueChannel('emb-ids');
    const { client } = await RawClient.established(cluster.wsUrl(1));
    await client.subscribe(name);
    const sdk = serverClient(cluster, 1);
    for (let n = 0; n < 5; n++) assert.equal((await sdk.trigger(name, 'idtest', { n })).status, 200);
    const ids = (await client.nextEvents('idtest', name, 5)).map(parseId);
    assert.equal(ids[0].offset, 1, 'a new channel starts at offset 1');
    ids.forEach((x, i) => {
      assert.equal(x.epoch, ids[0].epoch, 'one epoch');
      assert.equal(x.offset, i + 1, 'offsets +1 each');
    });
    client.close();
  });

  test('batch trigger and multi-channel trigger reach every channel', async () => {
    const p = pusherClient(cluster, 1);
    await connected(p);
    const a = uniqueChannel('emb-a');
    const b = uniqueChannel('emb-b');
    const ga = collect(await subscribed(p, a), 'x');
    const gb = collect(await subscribed(p, b), 'x');
    const sdk = serverClient(cluster, 1);
    assert.equal((await sdk.trigger([a, b], 'x', { k: 1 })).status, 200);
    assert.equal((await sdk.triggerBatch([{ channel: a, name: 'x', data: '{"k":2}' }])).status, 200);
    assert.deepEqual((await ga.next(2)).map((e) => e.data.k), [1, 2]);
    assert.deepEqual((await gb.next(1)).map((e) => e.data.k), [1]);
    p.disconnect();
  });

  test('socket_id exclusion works and other subscribers still get the event', async () => {
    const p1 = pusherClient(cluster, 1);
    const p2 = pusherClient(cluster, 1);
    await Promise.all([connected(p1), connected(p2)]);
    const name = uniqueChannel('emb-ex');
    const g1 = collect(await subscribed(p1, name), 'e');
    const g2 = collect(await subscribed(p2, name), 'e');
    const sdk = serverClient(cluster, 1);
    await sdk.trigger(name, 'e', { n: 1 }, { socket_id: p1.connection.socket_id });
    await sdk.trigger(name, 'e', { n: 2 });
    assert.deepEqual((await g2.next(2)).map((e) => e.data.n), [1, 2]);
    assert.deepEqual((await g1.next(1)).map((e) => e.data.n), [2]);
    p1.disconnect();
    p2.disconnect();
  });

  test('embedded gateway is ready: /ready 200 on the main port', async () => {
    const res = await fetch(`http://127.0.0.1:${cluster.httpPort(1)}/ready`);
    assert.equal(res.status, 200);
    assert.equal((await res.text()).trim(), 'OK');
  });

  test('a channel nobody listens to still takes publishes (200)', async () => {
    const res = await apiRequest(cluster, 1, {
      path: `/apps/${cluster.app.id}/events`,
      body: JSON.stringify({ name: 'n', channel: uniqueChannel('nobody'), data: '{}' }),
    });
    assert.equal(res.status, 200);
  });
});
