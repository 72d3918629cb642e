// 23 subscription_count: with the app's subscription counting on
// (HERALD_DEFAULT_APP_ENABLE_SUBSCRIPTION_COUNT), every change of a
// channel's subscriber count across the cluster reaches its subscribers as
// pusher_internal:subscription_count, which pusher-js surfaces as
// pusher:subscription_count. Ports: portsFor(23).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { pusherClient, connected, subscribed, closeAll, uniqueChannel } from '../lib/clients.mjs';
import { until } from '../lib/presence.mjs';

after(closeAll);

/** Records the subscription counts pusher-js reports on a channel. */
function counts(channel) {
  const seen = [];
  channel.bind('pusher:subscription_count', (d) => seen.push(d.subscription_count));
  return seen;
}

describe('subscription_count across two gateways', () => {
  const cluster = useCluster({
    gateways: 2,
    ...portsFor(23),
    env: { HERALD_DEFAULT_APP_ENABLE_SUBSCRIPTION_COUNT: 'true' },
  });

  test('subscribers on both gateways are counted together', async () => {
    const name = uniqueChannel('counted');
    const a = await connected(pusherClient(cluster, 1));
    const chA = await subscribed(a, name);
    const seenA = counts(chA);
    await until(() => chA.subscriptionCount === 1, 'a count of 1 at the first subscriber');

    const b = await connected(pusherClient(cluster, 2));
    const chB = await subscribed(b, name);
    const seenB = counts(chB);
    await until(() => seenA.at(-1) === 2, 'a count of 2 at the first subscriber');
    await until(() => seenB.at(-1) === 2, 'a count of 2 at the second subscriber');
    assert.equal(chA.subscriptionCount, 2);

    b.disconnect();
    await until(() => seenA.at(-1) === 1, 'the count back to 1 after the other gateway\'s client left');
    a.disconnect();
  });
});
