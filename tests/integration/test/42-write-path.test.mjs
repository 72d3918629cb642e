// 42 the gateway's write path (docs/architecture.md, "The write path"):
// a connection's queued frames go out as one run of bytes per loop turn,
// framed by the gateway itself (2, 4 and 10-byte headers) and handed to
// lws as raw bytes, which keeps what the socket does not take. These check
// that what arrives is exactly the events, in order, whatever their sizes,
// after a reader stalled long enough for lws to hold back part of a batch,
// and with lws's own control frames (pongs) in between. Ports: portsFor(42).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { rawSubscriber, sizedPayload, serverClient, closeAll, uniqueChannel, withTimeout } from '../lib/clients.mjs';

after(closeAll);

/** Waits for count events named ev on name and checks them against sizes. */
async function expectInOrder(c, name, ev, sizes, ms) {
  const got = await c.nextEvents(ev, name, sizes.length, ms);
  let last = -1;
  got.forEach((m, i) => {
    assert.equal(m.data.length, sizes[i], `event ${i}: ${m.data.length} bytes, expected ${sizes[i]}`);
    assert.equal(m.data, sizedPayload(i, sizes[i]), `event ${i} intact`);
    const offset = Number(m.id.split(':')[1]);
    assert.ok(offset > last, `event ${i} in order (offset ${offset} after ${last})`);
    last = offset;
  });
}

describe('write path', () => {
  const cluster = useCluster({
    gateways: 1,
    brokers: 1,
    ...portsFor(42, 0),
    env: { HERALD_DEFAULT_APP_MAX_EVENT_PAYLOAD_IN_KB: '100' },
  });

  test('a burst of events of every header size arrives intact and in order', async () => {
    const name = uniqueChannel('sizes');
    const c = await rawSubscriber(cluster, name);
    // 2-byte headers (< 126), 4-byte (126..65535) and 10-byte (>= 65536),
    // mixed, ten per batch trigger so several are queued at once.
    const sizes = [];
    for (let i = 0; i < 30; i++) sizes.push([5, 125, 126, 300, 65535, 70000][i % 6]);
    const sdk = serverClient(cluster, 1);
    for (let b = 0; b < sizes.length; b += 10) {
      const batch = sizes.slice(b, b + 10).map((n, k) => ({ channel: name, name: 'sz', data: sizedPayload(b + k, n) }));
      const res = await sdk.triggerBatch(batch);
      assert.equal(res.status, 200);
    }
    await expectInOrder(c, name, 'sz', sizes);
  });

  test('a reader that stalls, then reads, gets everything that was queued, in order', async () => {
    const name = uniqueChannel('stall');
    const c = await rawSubscriber(cluster, name);
    c.ws._socket.pause(); // the kernel buffers fill, then lws holds back the rest
    // 18 MB: more than both loopback socket buffers take (tcp_wmem and
    // tcp_rmem allow ~10 MB by default), fewer frames than the connection's
    // queue holds (1,024), so it is not cut off as too slow.
    const sizes = Array.from({ length: 300 }, () => 60000);
    const sdk = serverClient(cluster, 1);
    for (let b = 0; b < sizes.length; b += 10) {
      const batch = sizes.slice(b, b + 10).map((n, k) => ({ channel: name, name: 'big', data: sizedPayload(b + k, n) }));
      const res = await sdk.triggerBatch(batch);
      assert.equal(res.status, 200);
    }
    assert.equal(c.closeInfo, null, 'still connected while stalled');
    c.ws._socket.resume();
    await expectInOrder(c, name, 'big', sizes, 60000);
    assert.equal(c.closeInfo, null, 'still connected after catching up');
  });

  test('pongs to client pings interleave with a burst without corrupting it', async () => {
    const name = uniqueChannel('pings');
    const c = await rawSubscriber(cluster, name);
    let pongs = 0;
    c.ws.on('pong', () => pongs++);
    const sizes = Array.from({ length: 100 }, (_, i) => [40, 2000, 20000][i % 3]);
    const sdk = serverClient(cluster, 1);
    const publishing = (async () => {
      for (let b = 0; b < sizes.length; b += 10) {
        const batch = sizes.slice(b, b + 10).map((n, k) => ({ channel: name, name: 'mix', data: sizedPayload(b + k, n) }));
        const res = await sdk.triggerBatch(batch);
        assert.equal(res.status, 200);
        c.ws.ping();
      }
    })();
    await publishing;
    await expectInOrder(c, name, 'mix', sizes);
    await withTimeout(
      new Promise((resolve) => {
        const check = () => (pongs >= sizes.length / 10 ? resolve() : setTimeout(check, 20));
        check();
      }),
      10000,
      'a pong for every ping',
    );
    assert.equal(c.error, undefined, 'no WebSocket protocol error on the client');
  });
});
