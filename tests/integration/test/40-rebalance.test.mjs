// 40 rebalancing after a scale-up (--rebalance): 20 pusher-js clients on
// gateway-1 behind a least-connections TCP balancer (as HAProxy's
// leastconn), then gateway-2 is added. With HERALD_REBALANCE=1 gateway-1
// closes its excess connections with 4200, pusher-js reconnects at once
// through the balancer, and the counts converge to within the threshold
// (1.2 x the mean), every client still subscribed and receiving. Beside it,
// the same fleet without rebalancing, whose gateway-2 was added first:
// nothing moves there while the first converges. Ports: portsFor(40, 0..1)
// (+ ephemeral balancer ports); metrics from port+5.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { pusherClient, connected, subscribed, collect, serverClient, closeAll, uniqueChannel, eventually } from '../lib/clients.mjs';
import { scrape, sample } from '../lib/ops.mjs';

after(closeAll);

const N = 20;
const THRESHOLD = 1.2;

/**
 * A TCP balancer: each new connection goes to the backend with the fewest
 * open connections through it (a refused one is skipped); bytes are piped
 * both ways. counts() -> open connections per backend port.
 */
async function leastConnBalancer(backends) {
  const open = new Map(backends.map((b) => [b, 0]));
  const sockets = new Set();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const order = [...backends].sort((a, b) => open.get(a) - open.get(b));
    const attempt = (i) => {
      if (i >= order.length || client.destroyed) return client.destroy();
      const port = order[i];
      const up = net.connect(port, '127.0.0.1');
      let connectedUp = false;
      up.on('connect', () => {
        connectedUp = true;
        open.set(port, open.get(port) + 1);
        sockets.add(up);
        client.pipe(up);
        up.pipe(client);
        client.resume();
      });
      up.on('error', () => {
        if (!connectedUp) attempt(i + 1);
        else client.destroy();
      });
      up.on('close', () => {
        sockets.delete(up);
        if (connectedUp) {
          open.set(port, open.get(port) - 1);
          client.destroy();
        }
      });
      client.on('close', () => up.destroy());
    };
    attempt(0);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    counts: () => backends.map((b) => open.get(b)),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(resolve);
      }),
  };
}

/** N pusher-js clients through the balancer, all subscribed to channel. */
async function fleetOfClients(cluster, lb, channel) {
  const clients = [];
  for (let k = 0; k < N; k++) {
    const p = pusherClient(cluster, 1, { wsPort: lb.port });
    const c = { p, disconnects: 0 };
    p.connection.bind('state_change', ({ previous }) => {
      if (previous === 'connected') c.disconnects += 1;
    });
    await connected(p);
    c.got = collect(await subscribed(p, channel), 'hello');
    clients.push(c);
  }
  return clients;
}

async function stopGateway2(cluster) {
  const since = cluster.mark();
  cluster.control('stop gateway-2');
  await cluster.waitForLine(/^gateway-2 stopped$/, { since });
}

const balanced = ([a, b]) => a + b === N && Math.max(a, b) <= THRESHOLD * (N / 2);

describe('rebalancing after a scale-up', () => {
  const on = portsFor(40, 0);
  const off = portsFor(40, 1);
  const rebalancing = useCluster({
    gateways: 2,
    brokers: 1,
    ...on,
    metricsPort: on.port + 5,
    env: { HERALD_REBALANCE: '1', HERALD_REBALANCE_THRESHOLD: String(THRESHOLD), HERALD_REBALANCE_RATE: '20' },
  });
  const still = useCluster({ gateways: 2, brokers: 1, ...off, metricsPort: off.port + 5 });

  test('with --rebalance the counts converge within the threshold; without it nothing moves', async () => {
    await stopGateway2(rebalancing);
    await stopGateway2(still);
    const lbOn = await leastConnBalancer([rebalancing.httpPort(1), rebalancing.httpPort(2)]);
    const lbOff = await leastConnBalancer([still.httpPort(1), still.httpPort(2)]);
    const chOn = uniqueChannel('rebalance');
    const chOff = uniqueChannel('still');
    const clientsOn = await fleetOfClients(rebalancing, lbOn, chOn);
    const clientsOff = await fleetOfClients(still, lbOff, chOff);
    // (gateway-2 says it leaves when it stops; were that report lost, its
    // last count would keep gateway-1 shedding for up to 5 s: wait for it)
    await eventually(() => {
      assert.deepEqual(lbOn.counts(), [N, 0]);
      assert.ok(clientsOn.every((c) => c.p.connection.state === 'connected'));
    }, { timeout: 20000, what: 'every client on gateway-1' });
    assert.deepEqual(lbOff.counts(), [N, 0]);

    // Scale up: the fleet without rebalancing first, so it has had its
    // second gateway at least as long when the other has converged.
    await still.restart('gateway-2');
    await rebalancing.restart('gateway-2');
    await eventually(
      () => {
        assert.ok(balanced(lbOn.counts()), `counts ${lbOn.counts()}`);
        assert.ok(clientsOn.every((c) => c.p.connection.state === 'connected'), 'every client connected');
      },
      { timeout: 30000, what: 'balanced counts' },
    );
    const [a, b] = lbOn.counts();
    assert.ok(b >= N / 2 - 2, `gateway-2 took its share: ${a}/${b}`);
    assert.ok(clientsOn.some((c) => c.disconnects > 0));
    const m1 = await scrape(rebalancing, 'gateway-1');
    assert.ok(sample(m1, 'herald_rebalance_closes_total') >= N / 2 - 2, 'closes counted');
    assert.match(rebalancing.log('gateway-1'), /rebalance: \d+ connection\(s\) here, fleet mean/);

    // Without --rebalance nothing moved.
    assert.deepEqual(lbOff.counts(), [N, 0]);
    assert.ok(clientsOff.every((c) => c.disconnects === 0));
    assert.equal(sample(await scrape(still, 'gateway-1'), 'herald_rebalance_closes_total'), 0);

    // Every moved client resubscribed and still receives.
    const sdk = serverClient(rebalancing, 2);
    assert.equal((await sdk.trigger(chOn, 'hello', { n: 1 })).status, 200);
    for (const c of clientsOn) {
      const got = await c.got.next(1);
      assert.equal(got[got.length - 1].data.n, 1);
    }
    for (const c of [...clientsOn, ...clientsOff]) c.p.disconnect();
    await lbOn.close();
    await lbOff.close();
  });
});
