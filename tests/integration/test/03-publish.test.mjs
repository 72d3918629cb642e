// 03 publish: events triggered through the HTTP API of one gateway reach
// subscribers on another, in order, with Herald's "id" (PROTOCOL.md §3, §5, §7).
// Two gateways, one broker. Ports: portsFor(3).
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
} from '../lib/clients.mjs';

after(closeAll);

/** Triggers through the SDK and checks the answer is 200 {}. */
async function trigger(sdk, channels, event, data, params) {
  const res = await sdk.trigger(channels, event, data, params);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(typeof body, 'object');
  return body;
}

function parseId(m) {
  assert.equal(typeof m.id, 'string', `event carries an id: ${JSON.stringify(m)}`);
  const match = m.id.match(/^([^:]+):(\d+)$/);
  assert.ok(match, `id has the form <epoch>:<offset>: ${m.id}`);
  return { epoch: match[1], offset: Number(match[2]) };
}

describe('publish', () => {
  const cluster = useCluster({ gateways: 2, brokers: 1, ...portsFor(3, 0) });

  test('pusher-js on gateway-1 gets 30 events triggered at gateway-2, in order', async () => {
    const p = pusherClient(cluster, 1);
    await connected(p);
    const name = uniqueChannel('order');
    const ch = await subscribed(p, name);
    const got = collect(ch, 'msg');
    const sdk = serverClient(cluster, 2);
    for (let n = 0; n < 30; n++) await trigger(sdk, name, 'msg', { n });
    const events = await got.next(30);
    assert.deepEqual(
      events.map((e) => e.data.n),
      [...Array(30).keys()],
    );
    p.disconnect();
  });

  test('one trigger to several channels reaches each channel', async () => {
    const p = pusherClient(cluster, 1);
    await connected(p);
    const names = [uniqueChannel('multi'), uniqueChannel('multi'), uniqueChannel('multi')];
    const cols = [];
    for (const n of names) cols.push(collect(await subscribed(p, n), 'multi'));
    const sdk = serverClient(cluster, 2);
    for (let n = 0; n < 5; n++) await trigger(sdk, names, 'multi', { n });
    for (const col of cols) {
      const events = await col.next(5);
      assert.deepEqual(
        events.map((e) => e.data.n),
        [0, 1, 2, 3, 4],
      );
    }
    p.disconnect();
  });

  test('triggerBatch delivers every event of the batch, in order per channel', async () => {
    const p = pusherClient(cluster, 1);
    await connected(p);
    const a = uniqueChannel('batch-a');
    const b = uniqueChannel('batch-b');
    const colA = collect(await subscribed(p, a), 'b');
    const colB = collect(await subscribed(p, b), 'b');
    const batch = [];
    for (let n = 0; n < 10; n++) batch.push({ channel: n % 2 ? b : a, name: 'b', data: JSON.stringify({ n }) });
    const res = await serverClient(cluster, 2).triggerBatch(batch);
    assert.equal(res.status, 200);
    assert.deepEqual(
      (await colA.next(5)).map((e) => e.data.n),
      [0, 2, 4, 6, 8],
    );
    assert.deepEqual(
      (await colB.next(5)).map((e) => e.data.n),
      [1, 3, 5, 7, 9],
    );
    p.disconnect();
  });

  test('events carry id <epoch>:<offset>, offsets +1 each, same ids on both gateways', async () => {
    const name = uniqueChannel('ids');
    const { client: c1 } = await RawClient.established(cluster.wsUrl(1));
    const { client: c2 } = await RawClient.established(cluster.wsUrl(2));
    await c1.subscribe(name);
    await c2.subscribe(name);
    const sdk = serverClient(cluster, 2);
    const payloads = [];
    for (let n = 0; n < 10; n++) {
      const data = { n, text: `event ${n}` };
      payloads.push(JSON.stringify(data));
      await trigger(sdk, name, 'idtest', data);
    }
    const got1 = await c1.nextEvents('idtest', name, 10);
    const got2 = await c2.nextEvents('idtest', name, 10);
    const ids1 = got1.map(parseId);
    assert.ok(ids1[0].offset >= 1, `offsets start at 1 or more: ${ids1[0].offset}`);
    for (let k = 1; k < ids1.length; k++) {
      assert.equal(ids1[k].epoch, ids1[0].epoch, 'one epoch per channel');
      assert.equal(ids1[k].offset, ids1[k - 1].offset + 1, `offsets are contiguous: ${got1.map((m) => m.id)}`);
    }
    assert.deepEqual(
      got2.map((m) => m.id),
      got1.map((m) => m.id),
      'both gateways deliver the same ids',
    );
    got1.forEach((m, k) => {
      assert.equal(m.channel, name);
      assert.equal(typeof m.data, 'string', 'channel event data is a string');
      assert.equal(m.data, payloads[k], 'data arrives exactly as published');
    });
    c1.close();
    c2.close();
  });

  test('string data and a 9 KB payload arrive byte for byte', async () => {
    const name = uniqueChannel('payload');
    const { client } = await RawClient.established(cluster.wsUrl(1));
    await client.subscribe(name);
    const sdk = serverClient(cluster, 2);
    const big = 'é€x'.repeat(1000).slice(0, 3000) + 'z'.repeat(3000);
    await trigger(sdk, name, 'text', 'plain "string" with \\ and unicode é');
    await trigger(sdk, name, 'text', big);
    const [m1, m2] = await client.nextEvents('text', name, 2);
    assert.equal(m1.data, 'plain "string" with \\ and unicode é');
    assert.equal(m2.data, big);
    client.close();
  });

  test('socket_id exclusion: the excluded socket gets nothing, the others get the event', async () => {
    const name = uniqueChannel('exclude');
    const { client: excluded, socketId } = await RawClient.established(cluster.wsUrl(1));
    const { client: sameGateway } = await RawClient.established(cluster.wsUrl(1));
    const { client: otherGateway } = await RawClient.established(cluster.wsUrl(2));
    for (const c of [excluded, sameGateway, otherGateway]) await c.subscribe(name);
    const sdk = serverClient(cluster, 2);
    await trigger(sdk, name, 'not-for-you', { n: 1 }, { socket_id: socketId });
    await sameGateway.nextEvent('not-for-you', name);
    await otherGateway.nextEvent('not-for-you', name);
    // A later event to everyone: once the excluded socket has it, it would
    // have had the earlier one too (events on a channel arrive in order).
    await trigger(sdk, name, 'marker', { n: 2 });
    for (const c of [excluded, sameGateway, otherGateway]) await c.nextEvent('marker', name);
    assert.ok(
      !excluded.messages.some((m) => m.event === 'not-for-you'),
      `the excluded socket got the event: ${JSON.stringify(excluded.messages)}`,
    );
    for (const c of [excluded, sameGateway, otherGateway]) c.close();
  });

  test('after unsubscribe a socket gets no more events from that channel', async () => {
    const gone = uniqueChannel('gone');
    const kept = uniqueChannel('kept');
    const { client } = await RawClient.established(cluster.wsUrl(1));
    await client.subscribe(gone);
    await client.subscribe(kept);
    client.send({ event: 'pusher:unsubscribe', data: { channel: gone } });
    // The unsubscribe is processed before the ping that follows it.
    client.send({ event: 'pusher:ping', data: {} });
    await client.nextEvent('pusher:pong');
    const sdk = serverClient(cluster, 2);
    await trigger(sdk, gone, 'ev', { n: 1 });
    await trigger(sdk, kept, 'ev', { n: 2 });
    await client.nextEvent('ev', kept);
    // Both events were published before either was delivered; the gateway got
    // "gone"'s first. Confirm with one more event on "gone" ordered before a marker.
    await trigger(sdk, gone, 'ev', { n: 3 });
    await trigger(sdk, kept, 'ev', { n: 4 });
    await client.nextEvent('ev', kept);
    assert.ok(
      !client.messages.some((m) => m.channel === gone && m.event === 'ev'),
      `got events for an unsubscribed channel: ${JSON.stringify(client.messages)}`,
    );
    client.close();
  });
});
