// 15 private: private- and private-encrypted- channels (PROTOCOL.md §2).
// pusher-js authorizes through the `pusher` SDK's authorizeChannel; a wrong
// or missing auth gets pusher:subscription_error (AuthError, 401) and no
// subscription; encrypted payloads are relayed untouched and decrypted by
// pusher-js with the shared_secret the SDK hands out. Two gateways, one
// broker. Ports: portsFor(15).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { RawClient, connected, subscribed, collect, closeAll, uniqueChannel } from '../lib/clients.mjs';
import { authedClient, sdkFor, channelAuth, subscriptionError } from '../lib/auth.mjs';

after(closeAll);

describe('private channels', () => {
  const cluster = useCluster({ gateways: 2, brokers: 1, ...portsFor(15, 0) });

  test('pusher-js authorized by the SDK subscribes and gets events triggered at the other gateway', async () => {
    const sdk = sdkFor(cluster, 2);
    const p = authedClient(cluster, 1, sdk);
    await connected(p);
    const name = uniqueChannel('private-orders');
    const got = collect(await subscribed(p, name), 'created');
    await sdk.trigger(name, 'created', { id: 1 });
    const [ev] = await got.next(1);
    assert.deepEqual(ev.data, { id: 1 });
  });

  test('a wrong or missing auth gets subscription_error AuthError 401 and no subscription', async () => {
    const { client, socketId } = await RawClient.established(cluster.wsUrl(1));
    const name = uniqueChannel('private-secret');
    client.send({ event: 'pusher:subscribe', data: { channel: name } });
    const missing = await client.nextEvent('pusher:subscription_error', name);
    assert.equal(missing.data.type, 'AuthError');
    assert.equal(missing.data.status, 401);
    const wrong = channelAuth({ ...cluster.app, secret: 'not-the-secret' }, socketId, name);
    client.send({ event: 'pusher:subscribe', data: { channel: name, auth: wrong } });
    const bad = await client.nextEvent('pusher:subscription_error', name);
    assert.equal(bad.data.status, 401);
    // signed for another socket: refused too
    const other = channelAuth(cluster.app, '999.999', name);
    client.send({ event: 'pusher:subscribe', data: { channel: name, auth: other } });
    assert.equal((await client.nextEvent('pusher:subscription_error', name)).data.type, 'AuthError');
    // no subscription: an event on the channel does not arrive before a
    // later one on a public channel the client did subscribe to
    const marker = uniqueChannel('marker');
    await client.subscribe(marker);
    const sdk = sdkFor(cluster, 2);
    await sdk.trigger(name, 'leak', { n: 1 });
    await sdk.trigger(marker, 'mark', { n: 2 });
    await client.nextEvent('mark', marker);
    assert.equal(client.messages.filter((m) => m.event === 'leak').length, 0);
    // pusher-js surfaces the error on the channel
    const p = authedClient(cluster, 1, { authorizeChannel: (s, c) => ({ auth: channelAuth(cluster.app, '1.1', c) }) });
    await connected(p);
    const err = await subscriptionError(p, uniqueChannel('private-x'));
    assert.equal(err.status, 401);
    // the correct auth works on the same socket
    client.send({ event: 'pusher:subscribe', data: { channel: name, auth: channelAuth(cluster.app, socketId, name) } });
    await client.nextEvent('pusher_internal:subscription_succeeded', name);
  });

  test('private-encrypted-: pusher-js decrypts what the SDK encrypted; the server relays ciphertext', async () => {
    const sdk = sdkFor(cluster, 2);
    const p = authedClient(cluster, 1, sdk);
    await connected(p);
    const name = uniqueChannel('private-encrypted-vault');
    const got = collect(await subscribed(p, name), 'secret');
    // a raw subscriber on the other gateway sees only ciphertext
    const { client, socketId } = await RawClient.established(cluster.wsUrl(2));
    client.send({ event: 'pusher:subscribe', data: { channel: name, auth: channelAuth(cluster.app, socketId, name) } });
    await client.nextEvent('pusher_internal:subscription_succeeded', name);
    await sdk.trigger(name, 'secret', { words: 'open sesame' });
    const [ev] = await got.next(1);
    assert.deepEqual(ev.data, { words: 'open sesame' });
    const raw = await client.nextEvent('secret', name);
    const box = JSON.parse(raw.data);
    assert.equal(typeof box.nonce, 'string');
    assert.equal(typeof box.ciphertext, 'string');
    assert.ok(!raw.data.includes('open sesame'));
  });

  test('private-encrypted- needs auth too', async () => {
    const { client } = await RawClient.established(cluster.wsUrl(1));
    const name = uniqueChannel('private-encrypted-nope');
    client.send({ event: 'pusher:subscribe', data: { channel: name } });
    const e = await client.nextEvent('pusher:subscription_error', name);
    assert.equal(e.data.type, 'AuthError');
    assert.equal(e.data.status, 401);
  });
});
