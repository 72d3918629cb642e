// 29 structured logs: with HERALD_LOG_FORMAT=json every line a gateway or
// broker writes is one JSON object with ts, level, component and msg, and
// lines about a connection carry its app and socket (and channel where one
// applies). One gateway, one broker, debug level. Ports: portsFor(29).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { pusherClient, connected, subscribed, closeAll, uniqueChannel, eventually } from '../lib/clients.mjs';

after(closeAll);

/** The component's own log lines (herald-local's "=== ... starting"
 * headers and the stdout "listening" line excluded). */
function ownLines(cluster, name) {
  return cluster
    .log(name)
    .split('\n')
    .filter((l) => l && !l.startsWith('=== ') && !/^herald-(gateway|broker) listening on /.test(l));
}

describe('json logs', () => {
  const cluster = useCluster({
    gateways: 1,
    brokers: 1,
    ...portsFor(29, 0),
    env: { HERALD_LOG_FORMAT: 'json', HERALD_LOG_LEVEL: 'debug' },
  });

  test('every line of gateway and broker is a JSON object with ts, level, component, msg', () => {
    for (const name of ['gateway-1', 'broker-1']) {
      const lines = ownLines(cluster, name);
      assert.ok(lines.length >= 1, `${name} logged something`);
      for (const l of lines) {
        let o;
        assert.doesNotThrow(() => {
          o = JSON.parse(l);
        }, `${name}: not JSON: ${l}`);
        assert.match(o.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.ok(['debug', 'info', 'warn', 'error'].includes(o.level), l);
        assert.equal(o.component, name);
        assert.equal(typeof o.msg, 'string');
      }
    }
  });

  test('connection and subscription lines carry app, socket and channel', async () => {
    const p = pusherClient(cluster, 1);
    await connected(p);
    const name = uniqueChannel('logs');
    await subscribed(p, name);
    const socket = p.connection.socket_id;
    await eventually(() => {
      const objs = ownLines(cluster, 'gateway-1').map((l) => JSON.parse(l));
      assert.ok(
        objs.some((o) => o.socket === socket && o.app === cluster.app.id && o.msg === 'connected'),
        'a "connected" line with app and socket',
      );
      assert.ok(
        objs.some((o) => o.socket === socket && o.channel === name && o.app === cluster.app.id),
        'a line about the subscription with app, socket and channel',
      );
    }, { what: 'context fields in the gateway log' });
    p.disconnect();
  });
});
