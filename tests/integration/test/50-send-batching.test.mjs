// 50 batched sends (docs/architecture.md, "The write path"): with io_uring
// (--io-uring auto, the default, when the kernel allows it) the flush pass
// writes every plain-TCP connection's bytes with one submission per loop
// turn; a socket that is full, or takes only part, hands the rest to lws.
// These check the backend is reported (log line and herald_send_batching,
// matching HERALD_IO_URING when the suite runs with it), that a fan-out to
// many sockets arrives complete and in order while one subscriber does not
// read (its sends fail with EAGAIN inside the batch and must neither block
// the others nor lose or reorder its own bytes), and that --io-uring off
// takes the plain send() path with the same results.
// Ports: portsFor(50, 0..1); metrics ports from port+5.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { rawSubscriber, sizedPayload, serverClient, closeAll, uniqueChannel } from '../lib/clients.mjs';
import { scrape, sample } from '../lib/ops.mjs';

after(closeAll);

const FORCED = (process.env.HERALD_IO_URING || '').toLowerCase();

async function expectInOrder(c, name, ev, sizes, ms) {
  const got = await c.nextEvents(ev, name, sizes.length, ms);
  got.forEach((m, i) => assert.equal(m.data, sizedPayload(i, sizes[i]), `event ${i} intact and in order`));
}

/** The backend gateway-1 reports: {gauge, log} must agree; returns it. */
async function backend(cluster) {
  const m = await scrape(cluster, 'gateway-1');
  assert.equal(m.types.get('herald_send_batching'), 'gauge');
  const uring = sample(m, 'herald_send_batching', { backend: 'io_uring' });
  const send = sample(m, 'herald_send_batching', { backend: 'send' });
  assert.equal(uring + send, 1, 'exactly one backend');
  const log = cluster.log('gateway-1');
  if (uring) assert.match(log, /write path: sends batched with io_uring/);
  else assert.match(log, /write path: one send\(\) per connection, not batched \(.+\)/);
  return uring ? 'io_uring' : 'send';
}

/**
 * 30 readers of small events and, on a second channel, 2 readers and one
 * that stalls of big ones, published interleaved: everyone gets every
 * event, in order.
 */
async function fanoutWithStalledReader(cluster) {
  const small = uniqueChannel('small');
  const big = uniqueChannel('big');
  const readers = [];
  for (let i = 0; i < 30; i++) readers.push(await rawSubscriber(cluster, small));
  const bigReaders = [await rawSubscriber(cluster, big), await rawSubscriber(cluster, big)];
  const stalled = await rawSubscriber(cluster, big);
  stalled.ws._socket.pause(); // its socket fills: EAGAIN, then partial writes
  // 12 MB on the big channel: more than the loopback buffers of the
  // stalled reader take; 2- and 4-byte headers on the small one.
  const N = 200;
  const bigSizes = Array.from({ length: N }, () => 60000);
  const smallSizes = Array.from({ length: N }, (_, i) => [20, 130, 3000][i % 3]);
  const sdk = serverClient(cluster, 1);
  // one big frame per publish: each is the first (only) batch of its loop
  // turn, so the stalled reader's socket fills inside a batched send
  // (partial write, then EAGAIN) rather than in a later round
  for (let k = 0; k < N; k++) {
    const batch = [
      { channel: big, name: 'ev', data: sizedPayload(k, bigSizes[k]) },
      { channel: small, name: 'ev', data: sizedPayload(k, smallSizes[k]) },
    ];
    assert.equal((await sdk.triggerBatch(batch)).status, 200);
  }
  for (const r of readers) await expectInOrder(r, small, 'ev', smallSizes, 30000);
  for (const r of bigReaders) await expectInOrder(r, big, 'ev', bigSizes, 30000);
  assert.equal(stalled.closeInfo, null, 'the stalled reader is still connected');
  stalled.ws._socket.resume();
  await expectInOrder(stalled, big, 'ev', bigSizes, 60000);
  const all = [...readers, ...bigReaders, stalled];
  for (const r of all) assert.equal(r.closeInfo, null);
  for (const r of all) r.ws.close();
}

describe('batched sends, default (--io-uring auto)', () => {
  const ports = portsFor(50, 0);
  const cluster = useCluster({
    gateways: 1,
    brokers: 1,
    ...ports,
    metricsPort: ports.port + 5,
    env: { HERALD_DEFAULT_APP_MAX_EVENT_PAYLOAD_IN_KB: '100' },
  });

  test('the backend is reported, and follows HERALD_IO_URING', async () => {
    const b = await backend(cluster);
    if (FORCED === 'off') {
      assert.equal(b, 'send');
      assert.match(cluster.log('gateway-1'), /turned off/);
    } else if (FORCED === 'on') {
      assert.equal(b, 'io_uring');
    } else if (b === 'send') {
      // auto fell back: the reason is the kernel's or the build's, not a flag
      assert.doesNotMatch(cluster.log('gateway-1'), /turned off/);
    }
  });

  test('a fan-out with a stalled reader arrives complete and in order everywhere', async () => {
    await fanoutWithStalledReader(cluster);
  });
});

describe('batched sends turned off (--io-uring off)', () => {
  const ports = portsFor(50, 1);
  const cluster = useCluster({
    gateways: 1,
    brokers: 1,
    ...ports,
    metricsPort: ports.port + 5,
    env: { HERALD_DEFAULT_APP_MAX_EVENT_PAYLOAD_IN_KB: '100', HERALD_IO_URING: 'off' },
  });

  test('one send() per connection, said so', async () => {
    assert.equal(await backend(cluster), 'send');
    assert.match(cluster.log('gateway-1'), /turned off \(--io-uring off\)/);
  });

  test('the same fan-out with a stalled reader', async () => {
    await fanoutWithStalledReader(cluster);
  });
});
