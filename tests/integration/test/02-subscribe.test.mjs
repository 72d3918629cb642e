// 02 subscribe: subscription replies, channel-name rules, channel types not
// supported yet, malformed and oversize client frames (PROTOCOL.md §2, §8).
// Ports: portsFor(2).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { RawClient, pusherClient, connected, subscribed, closeAll, uniqueChannel } from '../lib/clients.mjs';

after(closeAll);

/** Subscribes and resolves with the pusher:subscription_error for `channel`. */
async function expectSubscriptionError(client, channel) {
  client.send({ event: 'pusher:subscribe', data: { channel } });
  const m = await client.next(
    (x) =>
      (x.event === 'pusher:subscription_error' || x.event === 'pusher_internal:subscription_succeeded') &&
      x.channel === channel,
    undefined,
    `subscription reply for "${channel.slice(0, 40)}"`,
  );
  assert.equal(m.event, 'pusher:subscription_error', `expected a subscription_error for "${channel}": ${JSON.stringify(m)}`);
  const data = typeof m.data === 'string' ? JSON.parse(m.data) : m.data;
  assert.ok(typeof data.error === 'string' && data.error.length > 0, `error says what was wrong: ${JSON.stringify(m)}`);
  assert.ok(typeof data.type === 'string' && data.type.length > 0, `error has a type: ${JSON.stringify(m)}`);
  assert.equal(typeof data.status, 'number', `error has a status: ${JSON.stringify(m)}`);
  return data;
}

/** The socket still works: ping -> pong. */
async function stillAnswers(client) {
  client.send({ event: 'pusher:ping', data: {} });
  await client.nextEvent('pusher:pong');
}

describe('subscribe', () => {
  const cluster = useCluster({ gateways: 1, brokers: 1, ...portsFor(2, 0) });

  test('public channel -> pusher_internal:subscription_succeeded (raw ws)', async () => {
    const { client } = await RawClient.established(cluster.wsUrl(1));
    const channel = uniqueChannel('pub');
    const m = await client.subscribe(channel);
    assert.equal(m.channel, channel);
    assert.equal(typeof m.data, 'string', 'subscription_succeeded data is a JSON string');
    assert.equal(typeof JSON.parse(m.data), 'object');
    client.close();
  });

  test('pusher-js subscribes to a public channel', async () => {
    const p = pusherClient(cluster, 1);
    await connected(p);
    const ch = await subscribed(p, uniqueChannel('pjs'));
    assert.equal(ch.subscribed, true);
    p.disconnect();
  });

  test('every allowed character and a 200-character name are accepted', async () => {
    const { client } = await RawClient.established(cluster.wsUrl(1));
    await client.subscribe('AZaz09_-=@,.;');
    const long = `long-${'x'.repeat(195)}`;
    assert.equal(long.length, 200);
    await client.subscribe(long);
    client.close();
  });

  test('invalid channel names -> pusher:subscription_error, socket stays open', async () => {
    const { client } = await RawClient.established(cluster.wsUrl(1));
    await expectSubscriptionError(client, 'bad name!');
    await expectSubscriptionError(client, 'bad/name');
    await expectSubscriptionError(client, `long-${'x'.repeat(196)}`); // 201 characters
    await stillAnswers(client);
    client.close();
  });

  test('empty or missing channel -> an error reply, socket stays open', async () => {
    const { client } = await RawClient.established(cluster.wsUrl(1));
    client.send({ event: 'pusher:subscribe', data: {} });
    const m = await client.next(
      (x) => x.event === 'pusher:error' || x.event === 'pusher:subscription_error',
      undefined,
      'an error for a subscribe without channel',
    );
    assert.ok(m, 'got an error');
    await stillAnswers(client);
    client.close();
  });

  for (const channel of ['private-orders', 'presence-room', 'private-encrypted-secret', '#server-to-user-42']) {
    test(`${channel} without auth is refused with subscription_error`, async () => {
      const { client } = await RawClient.established(cluster.wsUrl(1));
      const data = await expectSubscriptionError(client, channel);
      assert.match(data.error, /support|allow|reserved|not|auth/i, `error explains the refusal: ${data.error}`);
      await stillAnswers(client);
      client.close();
    });
  }

  test('malformed JSON -> pusher:error, socket stays open and answers ping', async () => {
    const { client } = await RawClient.established(cluster.wsUrl(1));
    client.sendRaw('{"event":"pusher:subscribe","data":');
    const err = await client.nextEvent('pusher:error');
    assert.ok(err.data && typeof err.data.message === 'string', `error has a message: ${JSON.stringify(err)}`);
    assert.equal(client.closeInfo, null, 'socket still open');
    await stillAnswers(client);
    client.sendRaw('not json at all');
    await client.nextEvent('pusher:error');
    await stillAnswers(client);
    client.close();
  });

  test('oversize frame (> 65536 bytes) -> error, gateway keeps serving', async () => {
    const { client } = await RawClient.established(cluster.wsUrl(1));
    const since = cluster.mark();
    client.send({ event: 'pusher:subscribe', data: { channel: 'x', pad: 'y'.repeat(70000) } });
    // Either an error message or a close; both are acceptable, silence is not.
    const outcome = await Promise.race([
      client.nextEvent('pusher:error', undefined, 10000).then((m) => ({ error: m })),
      client.waitClose(10000).then((c) => ({ close: c })),
    ]);
    assert.ok(outcome.error || outcome.close, 'the oversize frame was answered');
    if (outcome.error) {
      assert.equal(typeof outcome.error.data.message, 'string');
    }
    // Another client is served as usual, and nothing died.
    const { client: other } = await RawClient.established(cluster.wsUrl(1));
    await other.subscribe(uniqueChannel('after-oversize'));
    await stillAnswers(other);
    assert.ok(cluster.alive('gateway-1'), 'gateway-1 still running');
    assert.ok(!cluster.lines.slice(since).some((l) => / died /.test(l)), `no component died: ${cluster.lines.slice(since)}`);
    other.close();
    client.close();
  });

  test('unsubscribe is silent and the socket keeps working', async () => {
    const { client } = await RawClient.established(cluster.wsUrl(1));
    const channel = uniqueChannel('unsub');
    await client.subscribe(channel);
    client.send({ event: 'pusher:unsubscribe', data: { channel } });
    await stillAnswers(client);
    // Subscribing again works.
    await client.subscribe(channel);
    client.close();
  });
});
