// 27 health and readiness: /health, /ready and /accept-traffic on the
// gateway's main port and metrics port, and on the broker's metrics port.
// Transitions: broker down -> gateway not ready -> broker back -> ready;
// Redis down -> broker not ready (the gateway stays ready: its link is up)
// -> Redis back -> ready again once the pub/sub probe comes back.
// One gateway, one broker. Ports: portsFor(27); metrics from port+5.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { eventually } from '../lib/clients.mjs';
import { get, metricsPortOf, scrape, sample } from '../lib/ops.mjs';

describe('health and readiness', () => {
  const ports = portsFor(27, 0);
  const cluster = useCluster({ gateways: 1, brokers: 1, ...ports, metricsPort: ports.port + 5 });
  const gwPorts = () => [cluster.httpPort(1), metricsPortOf(cluster, 'gateway-1')];
  const brPort = () => metricsPortOf(cluster, 'broker-1');

  async function expectStatus(port, path, status, re) {
    await eventually(
      async () => {
        const r = await get(port, path);
        assert.equal(r.status, status, `${path} on ${port}: ${r.status} ${r.text}`);
        if (re) assert.match(r.text, re);
      },
      { timeout: 15000, what: `${path} on port ${port} -> ${status}` },
    );
  }

  test('all three endpoints answer 200 OK on every port once the cluster is up', async () => {
    for (const port of gwPorts()) {
      for (const path of ['/health', '/ready', '/accept-traffic']) {
        const r = await get(port, path);
        assert.equal(r.status, 200, `${path} on ${port}`);
        assert.equal(r.text.trim(), 'OK');
      }
    }
    assert.equal((await get(brPort(), '/health')).status, 200);
    await expectStatus(brPort(), '/ready', 200, /^OK/);
    const m = await scrape(cluster, 'broker-1');
    const age = sample(m, 'herald_redis_pubsub_probe_age_seconds');
    assert.ok(age >= 0 && age < 3.5, `probe heard recently: ${age}`);
  });

  test('broker stopped: gateway not ready (503) but alive; broker back: ready again', async () => {
    const since = cluster.mark();
    cluster.control('stop broker-1');
    await cluster.waitForLine(/^broker-1 stopped$/, { since });
    for (const port of gwPorts()) await expectStatus(port, '/ready', 503, /no broker link/);
    for (const port of gwPorts()) assert.equal((await get(port, '/health')).status, 200);
    const m = await scrape(cluster, 'gateway-1');
    assert.equal(sample(m, 'herald_broker_link_up', { broker: cluster.brokerAddr(1) }), 0);
    assert.equal(sample(m, 'herald_ready'), 0);
    await cluster.restart('broker-1');
    for (const port of gwPorts()) await expectStatus(port, '/ready', 200, /^OK/);
  });

  test('Redis stopped: broker not ready, gateway still ready; Redis back: broker ready', async () => {
    await expectStatus(brPort(), '/ready', 200);
    const since = cluster.mark();
    cluster.control('stop redis');
    await cluster.waitForLine(/^redis stopped$/, { since });
    await expectStatus(brPort(), '/ready', 503, /redis/);
    assert.equal((await get(brPort(), '/health')).status, 200, 'the broker is alive');
    assert.equal((await get(cluster.httpPort(1), '/ready')).status, 200, 'the gateway link is still up');
    await cluster.restart('redis');
    await expectStatus(brPort(), '/ready', 200, /^OK/);
  });
});
