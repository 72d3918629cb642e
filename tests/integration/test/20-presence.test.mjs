// 20 presence: presence- channels across two gateways with real pusher-js
// clients whose authorizer calls the pusher SDK's authorizeChannel.
// Members are the cluster's, not a gateway's; a user with tabs on both
// gateways is one member; member_added / member_removed reach the others
// (never the connection that caused them); auth, channel_data and the
// per-app limits are enforced. Ports: portsFor(20).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { pusherClient, connected, serverClient, closeAll, uniqueChannel, collect } from '../lib/clients.mjs';
import { presenceClient, joinPresence, memberLog, holders, until } from '../lib/presence.mjs';

after(closeAll);

describe('presence channels over two gateways', () => {
  const cluster = useCluster({
    gateways: 2,
    brokers: 2,
    ...portsFor(20),
    env: {
      HERALD_DEFAULT_APP_MAX_PRESENCE_MEMBERS_PER_CHANNEL: '3',
      HERALD_DEFAULT_APP_MAX_PRESENCE_MEMBER_SIZE_IN_KB: '1',
    },
  });

  test('members are cluster-wide; a user on both gateways is one member', async () => {
    const name = uniqueChannel('presence-room');
    const sdk = serverClient(cluster, 1);
    const alice = await presenceClient(cluster, 1, { user_id: 'alice', user_info: { name: 'Alice' } });
    const a = await joinPresence(alice, name);
    assert.deepEqual(a.members.ids, ['alice']);
    assert.equal(a.members.count, 1);
    assert.deepEqual(a.members.me, { id: 'alice', info: { name: 'Alice' } });
    const aliceLog = memberLog(a.channel);
    const aliceMarks = collect(a.channel, 'mark');

    // bob joins on the other gateway: he sees alice (with her info), alice
    // is told about him, and he is not told about himself.
    const bob1 = await presenceClient(cluster, 2, { user_id: 'bob', user_info: { name: 'Bob' } });
    const b1 = await joinPresence(bob1, name);
    assert.deepEqual(b1.members.ids, ['alice', 'bob']);
    assert.deepEqual(b1.channel.members.get('alice').info, { name: 'Alice' });
    const bob1Log = memberLog(b1.channel);
    await until(() => aliceLog.length === 1, 'member_added for bob at alice');
    assert.deepEqual(aliceLog[0], { type: 'added', id: 'bob', info: { name: 'Bob' } });

    // bob's second tab, on alice's gateway: still one member.
    const bob2 = await presenceClient(cluster, 1, { user_id: 'bob', user_info: { name: 'Bob' } });
    const b2 = await joinPresence(bob2, name);
    assert.deepEqual(b2.members.ids, ['alice', 'bob']);
    assert.equal(b2.members.count, 2);
    assert.equal(await holders(cluster, name, 'bob'), 2);

    // the first tab leaves: bob is still held by the second, so nobody is
    // told he left. Member events travel in the channel's stream, so a
    // marker published afterwards arrives after any member_removed would.
    bob1.disconnect();
    await until(async () => (await holders(cluster, name, 'bob')) === 1, 'bob held once');
    await sdk.trigger(name, 'mark', { n: 1 });
    await aliceMarks.next(1);
    assert.deepEqual(aliceLog.map((e) => e.type), ['added'], 'no member_removed while a tab remains');
    assert.equal(a.channel.members.count, 2);

    // the last tab leaves: alice is told, on the other gateway's behalf.
    bob2.disconnect();
    await until(() => aliceLog.length === 2, 'member_removed for bob at alice');
    assert.deepEqual(aliceLog[1], { type: 'removed', id: 'bob' });
    assert.equal(a.channel.members.count, 1);
    assert.deepEqual(bob1Log.filter((e) => e.id === 'bob'), [], 'bob never heard of himself');
    alice.disconnect();
  });

  test('a numeric user_id becomes a string; the HTTP users list agrees', async () => {
    const name = uniqueChannel('presence-num');
    const c = await presenceClient(cluster, 2, { user_id: 42 });
    const { members } = await joinPresence(c, name);
    assert.deepEqual(members.ids, ['42']);
    c.disconnect();
  });

  test('a bad signature is refused with AuthError 401 and no membership', async () => {
    const name = uniqueChannel('presence-auth');
    const sdk = serverClient(cluster, 1);
    const client = pusherClient(cluster, 1, {
      channelAuthorization: {
        customHandler: ({ socketId, channelName }, cb) => {
          const good = sdk.authorizeChannel(socketId, channelName, { user_id: 'mallory' });
          // signed for another user than the channel_data sent
          cb(null, { auth: good.auth, channel_data: JSON.stringify({ user_id: 'root' }) });
        },
      },
    });
    await connected(client);
    const err = await joinPresence(client, name).then(
      () => assert.fail('subscription should fail'),
      (e) => e.payload,
    );
    assert.equal(err.type, 'AuthError');
    assert.equal(err.status, 401);
    assert.equal(await holders(cluster, name, 'root'), 0);
    client.disconnect();
  });

  test('per-app limits: members per channel and member info size', async () => {
    const name = uniqueChannel('presence-full');
    const clients = [];
    for (const id of ['u1', 'u2', 'u3']) {
      const c = await presenceClient(cluster, (clients.length % 2) + 1, { user_id: id });
      clients.push(c);
      await joinPresence(c, name);
    }
    // a fourth user is refused; another tab of a member is not
    const u4 = await presenceClient(cluster, 2, { user_id: 'u4' });
    const err = await joinPresence(u4, name).then(
      () => assert.fail('the fourth member should be refused'),
      (e) => e.payload,
    );
    assert.equal(err.status, 400);
    assert.match(err.error, /full/);
    const u1again = await presenceClient(cluster, 2, { user_id: 'u1' });
    assert.equal((await joinPresence(u1again, name)).members.count, 3);

    const big = await presenceClient(cluster, 1, { user_id: 'big', user_info: { blob: 'x'.repeat(2000) } });
    const err2 = await joinPresence(big, uniqueChannel('presence-big')).then(
      () => assert.fail('a 2 KB user_info should be refused'),
      (e) => e.payload,
    );
    assert.equal(err2.status, 400);
    assert.match(err2.error, /user_info/);
    for (const c of [...clients, u4, u1again, big]) c.disconnect();
  });
});
