// 21 presence liveness: a gateway killed with SIGKILL says nothing; its
// liveness key (refreshed by its heartbeats through a broker) lapses, a
// broker's sweep removes its connections from every presence channel and
// the member_removed events it owed reach the other gateways, once each.
// A user who also has a connection on a surviving gateway stays a member,
// and the dead gateway's subscriptions leave the channel counts.
// Liveness is 2 s here (HERALD_PRESENCE_LIVENESS). Ports: portsFor(21).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { serverClient, closeAll, uniqueChannel, collect } from '../lib/clients.mjs';
import { presenceClient, joinPresence, memberLog, holders, until } from '../lib/presence.mjs';

after(closeAll);

describe('presence when a gateway dies', () => {
  const cluster = useCluster({
    gateways: 2,
    brokers: 2,
    ...portsFor(21),
    env: { HERALD_PRESENCE_LIVENESS: '2' },
  });

  test('kill -9 a gateway: its users are removed, a user also on the other gateway stays', async () => {
    const name = uniqueChannel('presence-crash');
    const dave = await presenceClient(cluster, 1, { user_id: 'dave' });
    const d = await joinPresence(dave, name);
    const log = memberLog(d.channel);
    const marks = collect(d.channel, 'mark');

    const joins = [
      [1, 'alice'],
      [2, 'bob'],
      [1, 'carol'],
      [2, 'carol'],
    ];
    const others = [];
    for (const [gw, id] of joins) {
      const c = await presenceClient(cluster, gw, { user_id: id }, { activityTimeout: 600000 });
      others.push(c);
      await joinPresence(c, name);
    }
    await until(() => log.length === 3, 'member_added for alice, bob and carol');
    assert.deepEqual(log.map((e) => e.id).sort(), ['alice', 'bob', 'carol']);
    assert.equal(await holders(cluster, name, 'carol'), 2);
    const sdk = serverClient(cluster, 1);
    const subscriptionCount = async () => {
      const res = await sdk.get({ path: `/channels/${name}`, params: { info: 'subscription_count' } });
      return (await res.json()).subscription_count;
    };
    await until(async () => (await subscriptionCount()) === 5, 'five subscriptions counted');

    assert.equal(await cluster.kill('gateway-2', 'KILL'), 'gateway-2 died (signal KILL)');

    await until(() => log.some((e) => e.type === 'removed'), 'member_removed for bob after the crash');
    // The sweep removes all of gateway-2's connections in one atomic step,
    // so anything else it owed is in the stream before this marker.
    await sdk.trigger(name, 'mark', {});
    await marks.next(1);
    assert.deepEqual(
      log.filter((e) => e.type === 'removed').map((e) => e.id),
      ['bob'],
      'only bob left: carol still has her tab on gateway-1',
    );
    assert.equal(await holders(cluster, name, 'carol'), 1);
    assert.equal(await holders(cluster, name, 'bob'), 0);
    const ids = [];
    d.channel.members.each((m) => ids.push(m.id));
    assert.deepEqual(ids.sort(), ['alice', 'carol', 'dave']);

    // its subscriptions are no longer counted, and its index is gone
    await until(async () => (await subscriptionCount()) === 3, 'the dead gateway\'s two subscriptions dropped');
    assert.equal((await cluster.redis('EXISTS', 'herald:gw:gateway-2:presence')).trim(), '0');
    for (const c of others) c.disconnect();
    dave.disconnect();
  });
});
