// 46 hostile peers on the broker link (issue 8): a fake broker that a real
// gateway links to, and a fake gateway linked to a real broker, send
// garbage and absurd-but-decodable frames. The real process drops a link
// that sends what cannot be a frame (with a log line), ignores frames that
// decode but mean nothing, never crashes, and keeps serving its real
// clients through the healthy peer. Ports: portsFor(46, 0) and (46, 1); the
// fake broker listens on the first broker block's 6th port.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import {
  RawClient,
  pusherClient,
  connected,
  subscribed,
  serverClient,
  closeAll,
  uniqueChannel,
  eventually,
} from '../lib/clients.mjs';
import { writeAppsFile } from '../lib/auth.mjs';
import { pick } from '../lib/rendezvous.mjs';
import { FakeBroker, fakeGateway, frame, framed, field, decode, F, FRAME_MAX } from '../lib/link.mjs';

after(closeAll);

/** Length-prefixed payloads that cannot be a herald.Frame, and bytes that cannot be framing at all. */
function garbage() {
  const noise = crypto.randomBytes(64 * 1024);
  noise[0] |= 0x01; // a length of at least 16 MiB: over the 4 MiB limit whatever follows
  const over = Buffer.alloc(4);
  over.writeUInt32BE(FRAME_MAX + 1);
  return [
    ['random bytes', noise],
    ['a length over the 4 MiB maximum (no body follows)', over],
    ['a valid length around a truncated protobuf', framed(Buffer.from([0x0a, 0x05, 0x01]))],
    ['a valid length around an invalid wire type', framed(Buffer.from([0x0f, 0x01, 0x02]))],
    ['a Hello whose string field claims 2 GiB', framed(Buffer.from([0x0a, 0x0a, 0x80, 0x80, 0x80, 0x80, 0x08]))],
  ];
}

/** A pusher-js client on gateway 1 subscribed to `name`; records the data of every `ev` it gets. */
async function liveSubscriber(cluster, name, ev = 'tick') {
  const client = pusherClient(cluster, 1);
  await connected(client);
  const channel = client.subscribe(name);
  await subscribed(client, name);
  const got = [];
  channel.bind(ev, (d) => got.push(d));
  return { client, got };
}

/** Triggers `tick` n on `name` and waits until the subscriber has it. */
async function stillDelivers(cluster, sub, name, n) {
  await serverClient(cluster, 1).trigger(name, 'tick', { n });
  await eventually(
    () => assert.ok(sub.got.some((d) => d.n === n), `tick ${n} not received yet`),
    { what: `tick ${n} through the healthy broker` },
  );
}

describe('a hostile broker linked to a real gateway', () => {
  const ports = portsFor(46, 0);
  const fake = new FakeBroker(ports.brokerPort + 5);
  const limited = { id: 'limited-id', key: 'limited-key', secret: 'limited-secret', maxConnections: 100 };
  before(() => fake.listen());
  const cluster = useCluster({
    gateways: 1,
    brokers: 1,
    ...ports,
    env: {
      HERALD_LOCAL_EXTRA_BROKERS: fake.addr,
      HERALD_APPS_FILE: writeAppsFile('hostile-peers', [limited]),
    },
  });
  after(() => fake.close());

  // A channel the real broker owns whether or not the fake one is up.
  let name;
  let sub;
  before(async () => {
    do name = uniqueChannel('peer');
    while (pick([cluster.brokerAddr(1), fake.addr], `${cluster.app.id}:${name}`) !== 0);
    sub = await liveSubscriber(cluster, name);
  });

  const lostLine = () => new RegExp(`broker link ${fake.addr.replace(/\./g, '\\.')} lost \\(corrupt frame from the broker\\)`, 'g');

  test('garbage on the link: the gateway drops it with a log line, relinks, and keeps serving', async () => {
    let n = 0;
    for (const [what, bytes] of garbage()) {
      const link = await fake.linked();
      const since = fake.conns.length;
      const before = (cluster.log('gateway-1').match(lostLine()) || []).length;
      link.write(bytes);
      await link.waitClosed(10000, `the gateway to drop the link after ${what}`);
      await eventually(
        () => assert.equal((cluster.log('gateway-1').match(lostLine()) || []).length, before + 1),
        { what: `a log line for ${what}` },
      );
      await fake.linked(since); // it comes back (and is given a fresh start)
      await stillDelivers(cluster, sub, name, ++n);
    }
    assert.equal(sub.client.connection.state, 'connected');
    assert.ok(cluster.alive('gateway-1'));
  });

  test('frames that decode but mean nothing are ignored and the link stays up', async () => {
    const link = await fake.linked();
    const count = fake.conns.length;
    const bigEpoch = 'e'.repeat(100 * 1024);
    const event = (fields) => frame('event', fields);
    const frames = [
      framed(field(99, 7)), // a oneof case from a future version
      framed(Buffer.concat([field(50, [[1, 'x']]), field(1000, 'y')])),
      framed(Buffer.alloc(0)), // a Frame with no case at all
      event([[1, 'no-such-app'], [2, 'nobody'], [3, 'x'], [4, 'y'], [7, 'ep'], [8, 1]]),
      event([[1, cluster.app.id], [2, uniqueChannel('nobody')], [3, 'x'], [4, 'y'], [7, bigEpoch], [8, (1n << 64n) - 1n]]),
      event([[1, cluster.app.id], [2, uniqueChannel('nobody')], [3, Buffer.from([0xff, 0x00, 0xfe])], [4, crypto.randomBytes(1024 * 1024)]]),
      event([]), // no app, no channel
      event([[1, cluster.app.id], [2, '#herald-conns'], [4, 'not a count']]),
      event([[1, cluster.app.id], [2, '#server-to-user-'], [3, 'pusher:terminate']]),
      frame('publishAck', [[1, (1n << 64n) - 1n], [2, 1], [4, 'ep'], [5, 3]]),
      frame('replayResponse', [[1, 123456789], [2, 1], [7, [[1, 'x']]]]),
      frame('clusterReply', [[1, 987654321], [2, 1], [4, '{"not":"asked"}']]),
      frame('resync', [[1, 'no-such-app'], [2, 'nobody']]),
      frame('hello', [[1, 'second-hello'], [2, 99]]),
      frame('pong', [[1, 5]]),
      frame('subscribe', [[1, cluster.app.id], [2, name]]), // gateway-to-broker frames, backwards
      frame('publish', [[1, 1], [2, cluster.app.id], [3, name], [4, 'x']]),
    ];
    for (const f of frames) link.write(f);
    await link.roundTrip(4242); // answered after all of the above: the link was never dropped
    assert.equal(fake.conns.length, count, 'the gateway did not relink');
    await stillDelivers(cluster, sub, name, 100);
    assert.ok(cluster.alive('gateway-1'));
  });

  test('absurd connection counts from a broker do not overflow the quota check', async () => {
    // Two "other gateways" each claiming LONG_MAX connections of an app with a quota.
    const link = await fake.linked();
    for (const gw of ['g1', 'g2']) {
      link.write(frame('event', [[1, limited.id], [2, '#herald-conns'], [3, 'count'], [4, `${gw} 9223372036854775807`]]));
    }
    await link.roundTrip(77);
    const c = await RawClient.connect(cluster.wsUrl(1, { key: limited.key }));
    const m = await c.next((x) => x.event === 'pusher:error');
    assert.equal(m.data.code, 4004, 'refused as over quota, not admitted by a wrapped-around sum');
    await c.waitClose();
    await stillDelivers(cluster, sub, name, 200);
    assert.ok(cluster.alive('gateway-1'));
  });
});

describe('a hostile gateway linked to a real broker', () => {
  const queueMax = 4 * 1024 * 1024; // above what the absurd frames below get back (a 1 MiB event, replies)
  const cluster = useCluster({
    gateways: 1,
    brokers: 1,
    ...portsFor(46, 1),
    env: { HERALD_BROKER_LINK_QUEUE_MAX: String(queueMax) },
  });
  let name;
  let sub;
  before(async () => {
    name = uniqueChannel('gwpeer');
    sub = await liveSubscriber(cluster, name);
  });
  const brokerPort = () => Number(cluster.brokerAddr(1).split(':')[1]);
  const invalidLine = /invalid frame from the gateway/g;

  test('garbage on the link: the broker drops it with a log line and keeps serving', async () => {
    let n = 0;
    for (const [what, bytes] of garbage()) {
      const link = await fakeGateway(brokerPort());
      const before = (cluster.log('broker-1').match(invalidLine) || []).length;
      link.write(bytes);
      await link.waitClosed(10000, `the broker to drop the link after ${what}`);
      await eventually(
        () => assert.equal((cluster.log('broker-1').match(invalidLine) || []).length, before + 1),
        { what: `a log line for ${what}` },
      );
      await stillDelivers(cluster, sub, name, ++n);
    }
    // Not even a Hello first.
    const rude = await fakeGateway(brokerPort(), { hello: false });
    rude.write(garbage()[0][1]);
    await rude.waitClosed(10000, 'the broker to drop a link that never said Hello');
    assert.ok(cluster.alive('broker-1'));
  });

  test('absurd but decodable frames are answered or ignored; the link and the broker stay up', async () => {
    const link = await fakeGateway(brokerPort());
    const max64 = (1n << 64n) - 1n;
    const max32 = 0xffffffff;
    const ch = uniqueChannel('absurd');
    const longName = 'x'.repeat(64 * 1024);
    const publishes = [
      [1, [[1, 1], [2, ''], [3, ''], [4, 'e']]], // no app, no channel
      [2, [[1, 2], [2, cluster.app.id], [3, ch], [4, 'e'], [5, 'd'], [10, max32], [11, max32]]],
      [3, [[1, 3], [2, cluster.app.id], [3, longName], [4, longName], [5, crypto.randomBytes(1024 * 1024)]]],
      [max64, [[1, max64], [2, 'no-such-app'], [3, ch], [4, Buffer.from([0xff, 0xfe])], [6, 'x'.repeat(10000)]]],
    ];
    for (const [, f] of publishes) link.write(frame('publish', f));
    const calls = [
      [10, [[1, 10], [2, 'no-such-op'], [3, cluster.app.id]]],
      [11, [[1, 11], [2, 'join'], [3, cluster.app.id], [4, `presence-${ch}`], [5, 'g'], [6, 'b'], [7, '1.1'], [8, 'u'],
        [9, crypto.randomBytes(256 * 1024)], [10, max64], [11, max64]]],
      [12, [[1, 12], [2, 'count'], [3, cluster.app.id], [4, ch], [5, 'g'], [6, 'b'], [12, (1n << 63n)], [11, max64]]],
      [13, [[1, 13], [2, 'channels'], [3, cluster.app.id], [4, ''], [13, max32]]],
      [14, [[1, 14], [2, 'users'], [3, cluster.app.id], [4, longName]]],
      [15, [[1, 15], [2, 'beat'], [5, longName], [6, ''], [11, 0]]],
      [16, [[1, 16], [2, 'leave'], [3, cluster.app.id], [4, `presence-${ch}`], [5, 'g'], [7, 'nobody']]],
      [0, []], // not even a request id
    ];
    for (const [, f] of calls) link.write(frame('clusterCall', f));
    const replays = [
      [20, [[1, 20], [2, cluster.app.id], [3, ch], [6, max32], [7, max32]]],
      [21, [[1, 21], [2, cluster.app.id], [3, ch], [4, 'no-such-epoch'], [5, max64], [7, max32], [8, 1]]],
      [22, [[1, 22], [2, ''], [3, ''], [4, 'e'.repeat(100000)]]],
    ];
    for (const [, f] of replays) link.write(frame('replayRequest', f));
    for (const f of [
      framed(field(99, 1)),
      framed(Buffer.alloc(0)),
      frame('subscribe', [[1, cluster.app.id], [2, longName]]),
      frame('subscribe', []),
      frame('unsubscribe', [[1, 'never'], [2, 'subscribed']]),
      frame('event', [[1, cluster.app.id], [2, ch], [8, max64]]),
      frame('publishAck', [[1, 5]]),
      frame('hello', [[1, ''], [2, max32]]),
    ]) {
      link.write(f);
    }
    const idOf = (f) => decode(f.body).find((x) => x.no === 1)?.value ?? 0n;
    for (const [id] of publishes) {
      await link.next((f) => f.kind === F.publishAck && idOf(f) === BigInt(id), 15000, `the ack of publish ${id}`);
    }
    for (const [id] of calls) {
      await link.next((f) => f.kind === F.clusterReply && idOf(f) === BigInt(id), 15000, `the reply to call ${id}`);
    }
    for (const [id] of replays) {
      await link.next((f) => f.kind === F.replayResponse && idOf(f) === BigInt(id), 15000, `the answer to replay ${id}`);
    }
    await link.roundTrip(31337);
    await stillDelivers(cluster, sub, name, 100);
    assert.ok(cluster.alive('broker-1'));
    link.destroy();
  });

  test('a link that floods pings and never reads its pongs is cut off at --link-queue-max', async () => {
    const link = await fakeGateway(brokerPort());
    link.sock.pause(); // never read what the broker sends back
    const burst = Buffer.concat(Array.from({ length: 8192 }, (_, i) => frame('ping', [[1, i + 1]])));
    let written = 0;
    let closed = false;
    link.closed.then(() => (closed = true));
    // The kernel's socket buffers take a few MB of pongs first; then the
    // broker's queue for this link grows to its limit and the link is cut.
    while (!closed && written < 512 * 1024 * 1024) {
      if (!link.sock.write(burst)) {
        await Promise.race([new Promise((r) => link.sock.once('drain', r)), link.closed]);
      }
      written += burst.length;
    }
    assert.ok(closed, `the link was cut off (after ${written} bytes of pings)`);
    await eventually(() => assert.match(cluster.log('broker-1'), new RegExp(`output queue over ${queueMax} bytes`)), {
      what: 'the cut-off log line',
    });
    await stillDelivers(cluster, sub, name, 300);
    assert.ok(cluster.alive('broker-1'));
  });
});
