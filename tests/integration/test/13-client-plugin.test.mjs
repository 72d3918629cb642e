// 13 client plugin: clients/js (herald-recovery) with the real pusher-js.
// A connection cut while events are published: pusher-js reconnects by
// itself, the plugin resubscribes with since, and the client gets every
// event exactly once, in order; a trimmed history is reported as
// incomplete. Ports: portsFor(13) (+ an ephemeral proxy port).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { TcpProxy } from '../lib/proxy.mjs';
import {
  pusherClient,
  connected,
  subscribed,
  collect,
  serverClient,
  closeAll,
  uniqueChannel,
  withTimeout,
  DEFAULT_TIMEOUT,
} from '../lib/clients.mjs';
import { withRecovery } from '../../../clients/js/index.mjs';

after(closeAll);

/** Resolves when the pusher-js client leaves 'connected' and comes back. */
function reconnected(p) {
  return withTimeout(
    new Promise((resolve) => {
      let left = false;
      const onChange = ({ current }) => {
        if (current !== 'connected') left = true;
        else if (left) {
          p.connection.unbind('state_change', onChange);
          resolve();
        }
      };
      p.connection.bind('state_change', onChange);
    }),
    DEFAULT_TIMEOUT,
    'pusher-js to reconnect',
  );
}

describe('herald-recovery with pusher-js', () => {
  // trim- channels keep 2 events (exactly in embedded mode; the clustered
  // run XTRIMs them, as Redis trims whole stream nodes).
  const cluster = useCluster({
    gateways: 1,
    brokers: 1,
    ...portsFor(13, 0),
    env: { HERALD_DEFAULT_APP_HISTORY: JSON.stringify([{ prefix: 'trim-', size: 2 }]) },
  });

  test('a cut connection resumes with since: every event once, in order', async () => {
    const proxy = new TcpProxy([cluster.httpPort(1)]);
    await proxy.listen();
    const ch = uniqueChannel('plugin');
    const sdk = serverClient(cluster, 1);
    const p = pusherClient(cluster, 1, { wsPort: proxy.port });
    const rec = withRecovery(p);
    const recovered = [];
    rec.on('recovered', (i) => recovered.push(i));
    await connected(p);
    const got = collect(await subscribed(p, ch), 'num');
    for (let n = 0; n < 5; n++) await sdk.trigger(ch, 'num', { n });
    await got.next(5);
    const back = reconnected(p);
    // Drop the link (the gateway does not notice at once), publish while
    // the client is away, let it reconnect.
    proxy.cut();
    for (let n = 5; n < 15; n++) assert.equal((await sdk.trigger(ch, 'num', { n })).status, 200);
    await back;
    for (let n = 15; n < 20; n++) await sdk.trigger(ch, 'num', { n });
    const all = await got.next(20);
    assert.deepEqual(all.map((e) => e.data.n), [...Array(20).keys()]);
    await withTimeout(
      (async () => {
        while (!recovered.length) await new Promise((r) => setImmediate(r));
      })(),
      DEFAULT_TIMEOUT,
      'the recovered report',
    );
    assert.equal(recovered[0].channel, ch);
    assert.match(rec.lastId(ch), /:20$/);
    assert.equal(got.events.length, 20, 'no duplicate');
    p.disconnect();
    await proxy.close();
  });

  test('a history trimmed while away is reported as incomplete', async () => {
    const proxy = new TcpProxy([cluster.httpPort(1)]);
    await proxy.listen();
    const ch = uniqueChannel('trim-plugin');
    const sdk = serverClient(cluster, 1);
    const p = pusherClient(cluster, 1, { wsPort: proxy.port });
    const incomplete = new Promise((resolve) => withRecovery(p, { onIncomplete: resolve }));
    await connected(p);
    const got = collect(await subscribed(p, ch), 'num');
    await sdk.trigger(ch, 'num', { n: 0 });
    await got.next(1);
    const back = reconnected(p);
    proxy.cut();
    for (let n = 1; n < 6; n++) await sdk.trigger(ch, 'num', { n });
    if (cluster.brokers > 0) await cluster.redis('XTRIM', `herald:{${cluster.app.id}:${ch}}:log`, 'MAXLEN', '2');
    await back;
    const info = await withTimeout(incomplete, DEFAULT_TIMEOUT, 'the incomplete report');
    assert.equal(info.channel, ch);
    assert.match(info.since, /:1$/);
    assert.match(info.position, /:6$/);
    p.disconnect();
    await proxy.close();
  });
});
