// 28 graceful drain: SIGTERM makes a gateway stop reporting ready, close
// every client with 4200 (spread over --drain-seconds) and exit 0; clients
// behind a balancer that follows /ready (lib/ops.mjs startBalancer, as a
// Kubernetes Service does) reconnect to the other gateway, and pusher-js
// keeps its subscriptions working there.
// Two gateways, one broker, HERALD_DRAIN_SECONDS=3. Ports: portsFor(28);
// balancer on port+8.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { RawClient, pusherClient, connected, subscribed, collect, serverClient, closeAll, uniqueChannel, eventually } from '../lib/clients.mjs';
import { startBalancer, get } from '../lib/ops.mjs';

after(closeAll);

describe('drain on SIGTERM', () => {
  const ports = portsFor(28, 0);
  const cluster = useCluster({ gateways: 2, brokers: 1, ...ports, env: { HERALD_DRAIN_SECONDS: '3' } });
  let lb;
  after(() => lb?.close());

  test('clients get 4200 before the gateway exits 0; pusher-js reconnects to the other gateway', async () => {
    lb = await startBalancer(ports.port + 8, [cluster.httpPort(1), cluster.httpPort(2)]);
    const lbUrl = `ws://127.0.0.1:${lb.port}/app/${cluster.app.key}?protocol=7&client=js&version=8.4.0`;
    const raws = [];
    for (let i = 0; i < 3; i++) raws.push((await RawClient.established(lbUrl)).client);
    const name = uniqueChannel('drain');
    const pjs = [];
    for (let i = 0; i < 3; i++) {
      const p = pusherClient(cluster, 1, { wsPort: lb.port });
      await connected(p);
      const states = [];
      p.connection.bind('state_change', ({ current }) => states.push(current));
      const got = collect(await subscribed(p, name), 'after');
      pjs.push({ p, states, got, firstId: p.connection.socket_id });
    }
    const gw1Prefix = pjs[0].firstId.split('.')[0];
    assert.ok(pjs.every((x) => x.firstId.startsWith(`${gw1Prefix}.`)), 'all went to gateway-1 first');

    const closes = raws.map((r) => r.closed);
    const died = cluster.kill('gateway-1', 'TERM');
    // while draining, gateway-1 says it is not ready (the balancer then avoids it)
    await eventually(async () => assert.equal((await get(cluster.httpPort(1), '/ready')).status, 503), {
      what: 'gateway-1 /ready -> 503 while draining',
    });
    const codes = await Promise.all(closes);
    const diedLine = await died;
    assert.deepEqual(
      codes.map((c) => c.code),
      [4200, 4200, 4200],
      'each raw client was closed with 4200',
    );
    assert.equal(diedLine, 'gateway-1 died (exit 0)');
    assert.match(cluster.log('gateway-1'), /draining: refusing new connections, closing 6 over 3000 ms/);

    // pusher-js reconnected through the balancer, to gateway-2, and its
    // subscription works there
    for (const x of pjs) {
      await connected(x.p);
      assert.ok(!x.p.connection.socket_id.startsWith(`${gw1Prefix}.`), 'reconnected to another gateway');
      assert.ok(x.states.includes('connecting'), `went through connecting: ${x.states}`);
    }
    const sdk = serverClient(cluster, 2);
    await eventually(async () => {
      // the re-subscription may still be on its way: trigger until all three hear one
      assert.equal((await sdk.trigger(name, 'after', { ok: 1 })).status, 200);
      for (const x of pjs) assert.ok(x.got.events.length >= 1);
    }, { what: 'pusher-js subscribers to hear an event through gateway-2' });
    for (const x of pjs) x.p.disconnect();
    await cluster.restart('gateway-1');
  });
});
