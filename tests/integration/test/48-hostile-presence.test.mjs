// 48 oversized and hostile presence data (issue 8): user_info over the
// app's member size limit, a huge user_id, deeply nested JSON in
// channel_data and in the message itself. Each gets the documented
// pusher:subscription_error (or pusher:error), the connection stays usable,
// the channel keeps serving its real members, and no process dies.
// Ports: portsFor(48).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { RawClient, closeAll, uniqueChannel } from '../lib/clients.mjs';
import { subscriptionError, answersPing } from '../lib/auth.mjs';
import { presenceClient, joinPresence } from '../lib/presence.mjs';

after(closeAll);

describe('hostile presence data', () => {
  const cluster = useCluster({ gateways: 1, brokers: 1, ...portsFor(48) });

  /** A raw client's presence subscribe with any channel_data text, correctly signed. */
  async function rawJoin(name, channelData) {
    const { client, socketId } = await RawClient.established(cluster.wsUrl(1));
    const sig = crypto
      .createHmac('sha256', cluster.app.secret)
      .update(`${socketId}:${name}:${channelData}`)
      .digest('hex');
    client.send({
      event: 'pusher:subscribe',
      data: { channel: name, auth: `${cluster.app.key}:${sig}`, channel_data: channelData },
    });
    const m = await client.next(
      (x) =>
        (x.event === 'pusher:subscription_error' || x.event === 'pusher_internal:subscription_succeeded') &&
        x.channel === name,
    );
    return { client, m };
  }

  /** The channel still works for real members: a new pusher-js member sees the old one. */
  async function channelServes(name, existing) {
    const other = await presenceClient(cluster, 1, { user_id: `other-${crypto.randomUUID()}` });
    const { members } = await joinPresence(other, name);
    assert.ok(members.ids.includes(existing), `members ${members.ids} include ${existing}`);
    other.disconnect();
  }

  test('user_info over the member size limit: LimitReached, and the same connection can still join', async () => {
    const name = `presence-${uniqueChannel('big-info')}`;
    const client = await presenceClient(cluster, 1, { user_id: 'u-big', user_info: { blob: 'x'.repeat(3000) } });
    const e = await subscriptionError(client, name);
    assert.equal(e.status, 400);
    assert.equal(e.type, 'LimitReached');
    assert.match(e.error, /user_info.*\d+ bytes.*limit is 2048/);
    assert.equal(client.connection.state, 'connected');
    // The same pusher-js client, with a small user_info, joins another presence channel.
    const ok = await presenceClient(cluster, 1, { user_id: 'u-small', user_info: { name: 'ok' } });
    await joinPresence(ok, name);
    await channelServes(name, 'u-small');
    assert.ok(cluster.alive('gateway-1') && cluster.alive('broker-1'));
  });

  test('a huge user_id is refused with a reason that names it; the connection survives', async () => {
    const name = `presence-${uniqueChannel('big-id')}`;
    const member = await presenceClient(cluster, 1, { user_id: 'real-member' });
    await joinPresence(member, name);
    for (const uid of ['u'.repeat(201), 'u'.repeat(40 * 1024)]) {
      const { client, m } = await rawJoin(name, JSON.stringify({ user_id: uid }));
      assert.equal(m.event, 'pusher:subscription_error', `user_id of ${uid.length} bytes`);
      assert.equal(m.data.type, 'InvalidChannelData');
      assert.match(m.data.error, /user_id.*\d+ bytes.*limit is 200/);
      await answersPing(client);
      client.close();
    }
    // A 200-byte user_id is fine.
    const { client, m } = await rawJoin(name, JSON.stringify({ user_id: 'v'.repeat(200) }));
    assert.equal(m.event, 'pusher_internal:subscription_succeeded');
    client.close();
    await channelServes(name, 'real-member');
  });

  test('deeply nested JSON in channel_data, user_info and the message: refused or served, never fatal', async () => {
    const name = `presence-${uniqueChannel('nested')}`;
    const member = await presenceClient(cluster, 1, { user_id: 'nest-member' });
    await joinPresence(member, name);
    // channel_data nested far beyond any parser's depth limit
    const deep = `${'['.repeat(20000)}${']'.repeat(20000)}`;
    {
      const { client, m } = await rawJoin(name, `{"user_id":"d1","user_info":${deep}}`);
      assert.equal(m.event, 'pusher:subscription_error');
      assert.equal(m.data.type, 'InvalidChannelData');
      await answersPing(client);
      client.close();
    }
    // user_info nested 500 deep fits the 2 KiB limit: accepted, and the
    // other members get it intact.
    const nested = JSON.parse(`${'['.repeat(500)}1${']'.repeat(500)}`);
    {
      const { client, m } = await rawJoin(name, JSON.stringify({ user_id: 'd2', user_info: nested }));
      assert.equal(m.event, 'pusher_internal:subscription_succeeded', JSON.stringify(m.data).slice(0, 300));
      const hash = JSON.parse(m.data).presence.hash;
      assert.deepEqual(hash.d2, nested);
      await answersPing(client);
      client.close();
    }
    // the whole message nested 30,000 deep (under the 64 KiB message limit)
    {
      const { client } = await RawClient.established(cluster.wsUrl(1));
      client.sendRaw(`{"event":"pusher:subscribe","data":${'['.repeat(30000)}${']'.repeat(30000)}}`);
      const m = await client.next((x) => x.event === 'pusher:error');
      assert.match(m.data.message, /JSON/);
      await answersPing(client);
      client.close();
    }
    await channelServes(name, 'nest-member');
    assert.ok(cluster.alive('gateway-1') && cluster.alive('broker-1'));
  });
});
