// 08 hostile input: what a misbehaving client sends gets the documented
// answer, and the gateway keeps serving everyone else. Ports: portsFor(8).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { RawClient, serverClient, closeAll, uniqueChannel, withTimeout } from '../lib/clients.mjs';

after(closeAll);

async function established(cluster, i = 1) {
  const c = await RawClient.connect(cluster.wsUrl(i));
  await c.next((m) => m.event === 'pusher:connection_established');
  return c;
}

/** A fresh client can still subscribe and receive a triggered event. */
async function stillServes(cluster) {
  const c = await established(cluster);
  const name = uniqueChannel('alive');
  await c.subscribe(name);
  await serverClient(cluster, 1).trigger(name, 'alive', { ok: true });
  const m = await c.nextEvent('alive', name);
  assert.deepEqual(JSON.parse(m.data), { ok: true });
  c.close();
}

async function answersPing(c) {
  c.send({ event: 'pusher:ping', data: {} });
  await c.next((m) => m.event === 'pusher:pong');
}

describe('hostile clients', () => {
  const cluster = useCluster({ gateways: 1, brokers: 1, ...portsFor(8, 0) });

  test('invalid UTF-8 in a text frame gets pusher:error and the socket stays usable', async () => {
    const c = await established(cluster);
    c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    const m = await c.next((x) => x.event === 'pusher:error');
    assert.match(m.data.message, /not valid JSON/);
    await answersPing(c);
    await stillServes(cluster);
  });

  test('a message fragmented over several WebSocket frames is reassembled', async () => {
    const c = await established(cluster);
    const name = uniqueChannel('frag');
    c.ws.send('{"event":"pusher:sub', { fin: false });
    c.ws.send('scribe","data":{"chan', { fin: false });
    c.ws.send(`nel":"${name}"}}`, { fin: true });
    const m = await c.next((x) => x.event === 'pusher_internal:subscription_succeeded');
    assert.equal(m.channel, name);
  });

  test('3,000 subscribes from one connection: 1,000 succeed, the rest are refused, nothing breaks', async () => {
    const c = await established(cluster);
    const prefix = uniqueChannel('flood');
    for (let i = 0; i < 3000; i++) c.send({ event: 'pusher:subscribe', data: { channel: `${prefix}-${i}` } });
    // The last request is answered after all the others (one socket, in order).
    const ok = [];
    const refused = [];
    while (ok.length + refused.length < 3000) {
      const m = await c.next(
        (x) => x.event === 'pusher_internal:subscription_succeeded' || x.event === 'pusher:error',
        20000,
      );
      (m.event === 'pusher:error' ? refused : ok).push(m);
    }
    assert.equal(ok.length, 1000, 'the per-connection limit (--max-subscriptions 1000) holds');
    assert.equal(refused.length, 2000);
    assert.match(refused[0].data.message, /1000|limit|too many/i);
    await answersPing(c);
    await stillServes(cluster);
  });

  test('non-WebSocket garbage on the port is dropped without harm', async () => {
    const s = net.connect(cluster.httpPort(1), '127.0.0.1');
    s.on('error', () => {});
    s.resume(); // read (and drop) the server's answer so 'close' can follow
    s.write('\x16\x03\x01\x02\x00garbage that is not HTTP\r\n\r\n');
    await withTimeout(new Promise((r) => s.on('close', r)), 15000, 'the server to drop a garbage connection');
    await stillServes(cluster);
  });

  test('slowloris: half-sent HTTP requests are timed out while others are served', async () => {
    const socks = [];
    for (let i = 0; i < 50; i++) {
      const s = net.connect(cluster.httpPort(1), '127.0.0.1');
      s.on('error', () => {});
      s.resume();
      s.write('GET /apps/app-id/channels HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      socks.push(new Promise((r) => s.on('close', r)));
    }
    await stillServes(cluster); // while 50 requests hang half-sent
    await withTimeout(Promise.all(socks), 30000, 'the server to close every half-sent request');
  });

  test('a subscriber that stops reading is cut off with 4100; the others get everything', async () => {
    const name = uniqueChannel('slow');
    const slow = await established(cluster);
    await slow.subscribe(name);
    const fast = await established(cluster);
    await fast.subscribe(name);
    slow.ws._socket.pause(); // stop reading: the kernel buffers fill, then the gateway's queue
    const sdk = serverClient(cluster, 1);
    const data = 'x'.repeat(9000);
    const total = 1600;
    for (let n = 0; n < total; n += 10) {
      const batch = [];
      for (let k = n; k < n + 10; k++) batch.push({ channel: name, name: 'big', data: `${k}:${data}` });
      await sdk.triggerBatch(batch);
    }
    const got = await fast.nextEvents('big', name, total, 60000);
    assert.deepEqual(
      got.map((m) => Number(m.data.split(':')[0])),
      [...Array(total).keys()],
      'a fast subscriber on the same channel misses nothing',
    );
    assert.match(cluster.log('gateway-1'), /too slow: \d+ frames queued; closing it \(4100\)/);
    slow.ws._socket.resume();
    const { code } = await slow.waitClose(30000);
    assert.ok(code === 4100 || code === 1006, `the slow client was closed (code ${code})`);
    await stillServes(cluster);
  });
});
