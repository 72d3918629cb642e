// 26 metrics: the Prometheus endpoint of gateways and brokers (metrics port,
// herald-local --metrics-port) under Soketi's names where Soketi has the
// metric; counts move as clients connect, subscribe, publish and leave.
// One gateway, one broker. Ports: portsFor(26); metrics from port+5.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { pusherClient, connected, subscribed, collect, serverClient, closeAll, uniqueChannel, eventually } from '../lib/clients.mjs';
import { scrape, sample, get, metricsPortOf } from '../lib/ops.mjs';

after(closeAll);

describe('metrics', () => {
  const ports = portsFor(26, 0);
  const cluster = useCluster({ gateways: 1, brokers: 1, ...ports, metricsPort: ports.port + 5 });
  const app = () => ({ app_id: cluster.app.id, port: String(cluster.httpPort(1)) });

  test('herald-local prints every metrics port; /metrics is the text format with Soketi names', async () => {
    assert.ok(cluster.lines.includes(`gateway-1 metrics http://127.0.0.1:${metricsPortOf(cluster, 'gateway-1')}/metrics`));
    assert.ok(cluster.lines.includes(`broker-1 metrics http://127.0.0.1:${metricsPortOf(cluster, 'broker-1')}/metrics`));
    const r = await get(metricsPortOf(cluster, 'gateway-1'), '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/plain; version=0\.0\.4/);
    const m = await scrape(cluster, 'gateway-1');
    for (const [name, type] of [
      ['soketi_connected', 'gauge'],
      ['soketi_new_connections_total', 'counter'],
      ['soketi_new_disconnections_total', 'counter'],
      ['soketi_socket_received_bytes', 'counter'],
      ['soketi_socket_transmitted_bytes', 'counter'],
      ['soketi_ws_messages_received_total', 'counter'],
      ['soketi_ws_messages_sent_total', 'counter'],
      ['soketi_http_calls_received_total', 'counter'],
      ['herald_http_requests_total', 'counter'],
      ['herald_publish_duration_seconds', 'histogram'],
      ['herald_broker_link_up', 'gauge'],
      ['herald_subscriptions', 'gauge'],
      ['herald_channels', 'gauge'],
      ['herald_rate_limit_rejections_total', 'counter'],
    ]) {
      assert.equal(m.types.get(name), type, `${name} is a ${type}`);
    }
    assert.equal(sample(m, 'herald_broker_link_up', { broker: cluster.brokerAddr(1) }), 1, 'broker link up');
  });

  test('connect, subscribe, publish, disconnect: the counters move', async () => {
    const before = await scrape(cluster, 'gateway-1');
    const p = pusherClient(cluster, 1);
    await connected(p);
    const name = uniqueChannel('metrics');
    const got = collect(await subscribed(p, name), 'm');
    let now = await scrape(cluster, 'gateway-1');
    assert.equal(sample(now, 'soketi_connected', app()), sample(before, 'soketi_connected', app()) + 1);
    assert.equal(
      sample(now, 'soketi_new_connections_total', app()),
      sample(before, 'soketi_new_connections_total', app()) + 1,
    );
    assert.equal(sample(now, 'herald_subscriptions', { app_id: cluster.app.id }), 1);
    assert.equal(sample(now, 'herald_channels'), 1);
    assert.ok(sample(now, 'soketi_ws_messages_received_total', app()) >= 1, 'the subscribe was counted');

    const sdk = serverClient(cluster, 1);
    for (let n = 0; n < 3; n++) assert.equal((await sdk.trigger(name, 'm', { n })).status, 200);
    await got.next(3);
    now = await eventually(
      async () => {
        const m = await scrape(cluster, 'gateway-1');
        const sent = sample(m, 'soketi_ws_messages_sent_total', app()) - sample(before, 'soketi_ws_messages_sent_total', app());
        assert.ok(sent >= 5, `messages sent: ${sent}`); // connection_established, subscription_succeeded, 3 events
        return m;
      },
      { what: 'soketi_ws_messages_sent_total to count the 3 events' },
    );
    const d = (metric, labels) => sample(now, metric, labels) - sample(before, metric, labels);
    assert.equal(d('soketi_http_calls_received_total', app()), 3);
    assert.equal(d('herald_http_requests_total', { status: '200' }), 3);
    assert.equal(d('herald_publishes_total', { app_id: cluster.app.id, result: 'ok' }), 3);
    assert.equal(d('herald_publish_duration_seconds_count', { app_id: cluster.app.id }), 3);
    assert.ok(d('soketi_http_received_bytes', app()) > 0);
    assert.ok(d('soketi_socket_transmitted_bytes', app()) > 0);
    assert.ok(d('soketi_socket_received_bytes', app()) > 0);

    p.disconnect();
    await eventually(
      async () => {
        const m = await scrape(cluster, 'gateway-1');
        assert.equal(sample(m, 'soketi_connected', app()), sample(before, 'soketi_connected', app()));
        assert.equal(
          sample(m, 'soketi_new_disconnections_total', app()),
          sample(before, 'soketi_new_disconnections_total', app()) + 1,
        );
        assert.equal(sample(m, 'herald_channels'), 0);
      },
      { what: 'the disconnect to be counted' },
    );
  });

  test('a refused request is counted by status', async () => {
    const before = await scrape(cluster, 'gateway-1');
    const res = await fetch(`http://127.0.0.1:${cluster.httpPort(1)}/apps/${cluster.app.id}/events`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 401);
    const now = await scrape(cluster, 'gateway-1');
    assert.equal(sample(now, 'herald_http_requests_total', { status: '401' }) - sample(before, 'herald_http_requests_total', { status: '401' }), 1);
  });

  test('broker metrics: links, channels, Redis state and publish latency', async () => {
    const p = pusherClient(cluster, 1);
    await connected(p);
    const name = uniqueChannel('brm');
    const got = collect(await subscribed(p, name), 'b');
    const before = await scrape(cluster, 'broker-1');
    assert.equal((await serverClient(cluster, 1).trigger(name, 'b', {})).status, 200);
    await got.next(1);
    const m = await scrape(cluster, 'broker-1');
    assert.equal(sample(m, 'herald_broker_gateway_links'), 1);
    assert.ok(sample(m, 'herald_broker_channels') >= 1);
    assert.equal(sample(m, 'herald_redis_up'), 1);
    assert.equal(sample(m, 'herald_broker_publishes_total', { result: 'ok' }) - sample(before, 'herald_broker_publishes_total', { result: 'ok' }), 1);
    assert.equal(
      sample(m, 'herald_redis_command_duration_seconds_count', { command: 'publish' }) -
        sample(before, 'herald_redis_command_duration_seconds_count', { command: 'publish' }),
      1,
    );
    assert.equal(m.types.get('herald_redis_errors_total'), 'counter');
    p.disconnect();
  });
});
