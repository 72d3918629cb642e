// 24 presence and gateway restarts, with a liveness period (600 s) far
// longer than any wait here, so only the two mechanisms under test can
// remove members in time: a gateway restarted under the same id after
// kill -9 clears what its previous process left at its first heartbeat
// (boot ids differ), and a gateway stopped with SIGTERM hands its state
// to the next sweep before it exits. Ports: portsFor(24).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { closeAll, uniqueChannel } from '../lib/clients.mjs';
import { presenceClient, joinPresence, memberLog, holders, until } from '../lib/presence.mjs';

after(closeAll);

describe('presence across gateway restarts', () => {
  const cluster = useCluster({
    gateways: 2,
    ...portsFor(24),
    env: { HERALD_PRESENCE_LIVENESS: '600' },
  });

  /** An observer on gateway-1 and `user` on gateway-2, both members. */
  async function setup(prefix, user) {
    const name = uniqueChannel(prefix);
    const watcher = await presenceClient(cluster, 1, { user_id: 'watcher' });
    const w = await joinPresence(watcher, name);
    const log = memberLog(w.channel);
    const other = await presenceClient(cluster, 2, { user_id: user });
    await joinPresence(other, name);
    await until(() => log.length === 1, `member_added for ${user}`);
    return { name, watcher, w, log, other };
  }

  test('kill -9 and restart under the same id: the old process\'s members go at once', async () => {
    const { name, watcher, w, log, other } = await setup('presence-restart', 'erin');
    await cluster.kill('gateway-2', 'KILL');
    other.disconnect(); // no reconnect: only the old process's state is left
    await cluster.restart('gateway-2');
    await until(() => log.some((e) => e.type === 'removed' && e.id === 'erin'), 'member_removed for erin');
    assert.equal(await holders(cluster, name, 'erin'), 0);
    const ids = [];
    w.channel.members.each((m) => ids.push(m.id));
    assert.deepEqual(ids, ['watcher']);
    watcher.disconnect();
  });

  test('SIGTERM: a gateway that stops cleanly hands its members over at once', async () => {
    const { name, watcher, log, other } = await setup('presence-stop', 'hank');
    assert.match(await cluster.kill('gateway-2', 'TERM'), /gateway-2 died \(exit 0\)/);
    other.disconnect(); // pusher-js would come back to the restarted gateway
    await until(() => log.length === 2, 'member_removed for hank after gateway-2 stopped');
    assert.deepEqual(log[1], { type: 'removed', id: 'hank' });
    assert.equal(await holders(cluster, name, 'hank'), 0);
    watcher.disconnect();
  });
});
