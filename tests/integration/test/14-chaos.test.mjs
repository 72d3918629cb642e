// 14 chaos: gap-free recovery under kill -9, proven by a checker. Two
// gateways behind a TCP load balancer (lib/proxy.mjs), two brokers, a
// redis-server with AOF on. A publisher sends numbered events at a steady
// rate on several history channels through the HTTP API while pusher-js
// clients (with clients/js, herald-recovery) consume every channel. Faults,
// one after the other while publishing goes on: kill -9 a gateway (its
// clients reconnect to the other), kill -9 a broker then restart it,
// restart redis-server. Then late joiners (rewind, rewind-on-subscribe).
// The checker prints sent / acknowledged / refused / delivered /
// duplicated / lost / out-of-order and fails on any loss, duplicate or
// reordering of an acknowledged event. Ports: portsFor(14).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { TcpProxy } from '../lib/proxy.mjs';
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
import { withRecovery } from '../../../clients/js/index.mjs';

after(closeAll);

const CHANNELS = Number(process.env.HERALD_CHAOS_CHANNELS || 6);
const CLIENTS = Number(process.env.HERALD_CHAOS_CLIENTS || 6);
const PERIOD_MS = Number(process.env.HERALD_CHAOS_PERIOD_MS || 40); // per channel
const REWIND = 4;

/** Publishes {n} on channel every PERIOD_MS until stopped; records outcomes. */
class Publisher {
  constructor(sdk, channel) {
    this.sdk = sdk;
    this.channel = channel;
    this.sent = 0;
    this.acked = new Set();
    this.refused = new Set();
    this.running = true;
    this.done = this.loop();
  }
  async loop() {
    while (this.running) {
      const n = this.sent++;
      try {
        const res = await this.sdk.trigger(this.channel, 'num', { n });
        (res.status === 200 ? this.acked : this.refused).add(n);
      } catch {
        this.refused.add(n); // 503 while a component is down: reported, not lost
      }
      await new Promise((r) => setTimeout(r, PERIOD_MS)); // the publishing rate
    }
  }
  stop() {
    this.running = false;
    return this.done;
  }
}

/** One pusher-js consumer with the plugin, subscribed to every channel. */
class Consumer {
  constructor(cluster, port, channels) {
    this.p = pusherClient(cluster, 1, { wsPort: port });
    this.rec = withRecovery(this.p);
    this.incomplete = [];
    this.rec.on('incomplete', (i) => this.incomplete.push(i));
    this.got = new Map(channels.map((c) => [c, []]));
    this.channels = channels;
  }
  async start() {
    await connected(this.p);
    for (const c of this.channels) {
      const ch = this.p.subscribe(c);
      ch.bind('num', (d) => this.got.get(c).push(d.n));
      await subscribed(this.p, c);
    }
  }
}

describe('chaos: kill -9 gateways, brokers and redis while publishing', () => {
  const cluster = useCluster({
    gateways: 2,
    brokers: 2,
    ...portsFor(14, 0),
    env: {
      HERALD_LOCAL_REDIS_AOF: '1',
      HERALD_DEFAULT_APP_HISTORY: JSON.stringify([{ prefix: 'chaos-', size: 100000, ttl: 3600, rewindOnSubscribe: REWIND }]),
    },
  });

  test('every acknowledged event reaches every client exactly once, in order', { timeout: 240000 }, async () => {
    const lbA = new TcpProxy([cluster.httpPort(1), cluster.httpPort(2)]);
    const lbB = new TcpProxy([cluster.httpPort(2), cluster.httpPort(1)]);
    const api = new TcpProxy([cluster.httpPort(2), cluster.httpPort(1)]);
    await Promise.all([lbA.listen(), lbB.listen(), api.listen()]);
    const channels = Array.from({ length: CHANNELS }, () => uniqueChannel('chaos-'));
    const consumers = Array.from(
      { length: CLIENTS },
      (_, i) => new Consumer(cluster, (i % 2 ? lbB : lbA).port, channels),
    );
    for (const c of consumers) await c.start();
    const sdk = serverClient(cluster, 1, { port: String(api.port) });
    const pubs = channels.map((c) => new Publisher(sdk, c));

    /** Resolves once every client got `k` more events on every channel. */
    const progress = async (what, k = 10) => {
      const base = consumers.map((c) => channels.map((ch) => c.got.get(ch).length));
      await eventually(
        () => {
          consumers.forEach((c, i) =>
            channels.forEach((ch, j) => assert.ok(c.got.get(ch).length >= base[i][j] + k, what)),
          );
        },
        { timeout: 60000, interval: 50, what },
      );
    };

    const log = [];
    const phase = async (name, fault) => {
      const t0 = Date.now();
      await fault();
      await progress(`delivery after: ${name}`);
      log.push(`${name}: delivery resumed`);
      console.log(`# chaos: ${name} (${Date.now() - t0} ms to resume)`);
    };

    await progress('warm-up');
    await phase('kill -9 gateway-1 (its clients reconnect to gateway-2)', async () => {
      await cluster.kill('gateway-1', 'KILL');
      await eventually(() => consumers.forEach((c) => assert.equal(c.p.connection.state, 'connected')), {
        timeout: 30000,
        what: 'every client connected again',
      });
    });
    await phase('restart gateway-1', () => cluster.restart('gateway-1'));
    await phase('kill -9 broker-1', () => cluster.kill('broker-1', 'KILL'));
    await phase('restart broker-1', () => cluster.restart('broker-1'));
    await phase('restart redis-server (AOF on)', async () => {
      await cluster.kill('redis', 'KILL');
      await cluster.restart('redis');
    });
    await Promise.all(pubs.map((p) => p.stop()));

    // Every acknowledged event must arrive; wait for the tail.
    await eventually(
      () => {
        for (const c of consumers) {
          for (const [j, ch] of channels.entries()) {
            const have = new Set(c.got.get(ch));
            for (const n of pubs[j].acked) assert.ok(have.has(n), `${ch}: event ${n}`);
          }
        }
      },
      { timeout: 60000, interval: 100, what: 'every acknowledged event at every client' },
    ).catch(() => {}); // the counts below say what is missing

    const stats = { sent: 0, acknowledged: 0, refused: 0, delivered: 0, duplicated: 0, lost: 0, outOfOrder: 0, unacknowledgedDelivered: 0 };
    for (const [j, p] of pubs.entries()) {
      stats.sent += p.sent;
      stats.acknowledged += p.acked.size;
      stats.refused += p.refused.size;
      for (const c of consumers) {
        const seq = c.got.get(channels[j]);
        const seen = new Set();
        let prev = -1;
        for (const n of seq) {
          stats.delivered++;
          if (seen.has(n)) stats.duplicated++;
          else if (n < prev) stats.outOfOrder++;
          seen.add(n);
          prev = Math.max(prev, n);
          if (!p.acked.has(n)) stats.unacknowledgedDelivered++;
        }
        for (const n of p.acked) if (!seen.has(n)) stats.lost++;
      }
    }
    const incomplete = consumers.reduce((s, c) => s + c.incomplete.length, 0);
    console.log(
      `# chaos checker: ${CHANNELS} channels x ${CLIENTS} clients: ` +
        Object.entries(stats).map(([k, v]) => `${k}=${v}`).join(' ') +
        ` incompleteRecoveries=${incomplete}`,
    );
    assert.ok(stats.acknowledged > 0);
    assert.equal(stats.lost, 0, 'acknowledged events lost');
    assert.equal(stats.duplicated, 0, 'events delivered twice');
    assert.equal(stats.outOfOrder, 0, 'events out of order');
    assert.equal(incomplete, 0, 'every resume was complete');

    // Late joiners: "rewind" from the protocol, rewind-on-subscribe from the app rule.
    const ch = channels[0];
    const tail = consumers[0].got.get(ch).slice(-REWIND);
    const { client } = await RawClient.established(cluster.wsUrl(1));
    client.send({ event: 'pusher:subscribe', data: { channel: ch, rewind: 3 } });
    const ok = await client.nextEvent('pusher_internal:subscription_succeeded', ch);
    assert.equal(JSON.parse(ok.data).recovered, true);
    const late = await client.nextEvents('num', ch, 3);
    assert.deepEqual(late.map((m) => JSON.parse(m.data).n), tail.slice(-3), 'rewind 3: exactly the last three');
    const plain = pusherClient(cluster, 2);
    await connected(plain);
    const got = collect(plain.subscribe(ch), 'num');
    assert.deepEqual((await got.next(REWIND)).map((e) => e.data.n), tail, `rewind-on-subscribe: the last ${REWIND}`);
    await new Promise((r) => setImmediate(r));
    assert.equal(got.events.length, REWIND, 'and no more');

    for (const c of consumers) c.p.disconnect();
    plain.disconnect();
    client.close();
    await Promise.all([lbA.close(), lbB.close(), api.close()]);
  });
});
