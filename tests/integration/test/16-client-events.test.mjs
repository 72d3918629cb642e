// 16 client events: client-* on private channels between clients on two
// gateways (pusher-js trigger, laravel-echo whisper/listenForWhisper and
// Echo.private().listen), never echoed to the sender, refused on public and
// encrypted channels and when not subscribed, rate limited per connection
// (pusher:error 4301, socket stays open) and off unless the app enables
// them (PROTOCOL.md §3). Ports: portsFor(16).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { RawClient, connected, subscribed, collect, closeAll, uniqueChannel, withTimeout } from '../lib/clients.mjs';
import { authedClient, echoFor, sdkFor, channelAuth, writeAppsFile, answersPing } from '../lib/auth.mjs';
import { presenceClient, joinPresence } from '../lib/presence.mjs';

after(closeAll);

const quiet = { id: 'quiet-id', key: 'quiet-key', secret: 'quiet-secret' };
const appsFile = writeAppsFile('16', [quiet]);

/** A raw client on gateway i subscribed to a private channel of app. */
async function rawPrivate(cluster, i, channel, app = cluster.app) {
  const r = await RawClient.established(cluster.wsUrl(i, { key: app.key }));
  r.client.send({ event: 'pusher:subscribe', data: { channel, auth: channelAuth(app, r.socketId, channel) } });
  await r.client.nextEvent('pusher_internal:subscription_succeeded', channel);
  return r;
}

describe('client events', () => {
  const cluster = useCluster({
    gateways: 2,
    brokers: 1,
    ...portsFor(16, 0),
    env: { HERALD_DEFAULT_APP_ENABLE_CLIENT_MESSAGES: 'true', HERALD_APPS_FILE: appsFile },
  });

  test('a client event on a presence channel carries the sender user_id', async () => {
    const a = await presenceClient(cluster, 1, { user_id: 'alice', user_info: { name: 'A' } });
    const b = await presenceClient(cluster, 2, { user_id: 'bob' });
    const name = uniqueChannel('presence-room');
    const { channel: chA } = await joinPresence(a, name);
    const { channel: chB } = await joinPresence(b, name);
    const atB = collect(chB, 'client-wave');
    assert.ok(chA.trigger('client-wave', { hi: 1 }));
    const [ev] = await atB.next(1);
    assert.deepEqual(ev.data, { hi: 1 });
    assert.equal(ev.metadata?.user_id, 'alice', 'pusher-js sees who sent it');
    a.disconnect();
    b.disconnect();
  });

  test('pusher-js client event reaches the other gateway, never the sender', async () => {
    const sdk = sdkFor(cluster, 1);
    const a = authedClient(cluster, 1, sdk);
    const b = authedClient(cluster, 2, sdk);
    await Promise.all([connected(a), connected(b)]);
    const name = uniqueChannel('private-chat');
    const chA = await subscribed(a, name);
    const chB = await subscribed(b, name);
    const atA = collect(chA, 'client-typing');
    const atB = collect(chB, 'client-typing');
    const markA = collect(chA, 'mark');
    assert.ok(chA.trigger('client-typing', { who: 'a' }));
    const [ev] = await atB.next(1);
    assert.deepEqual(ev.data, { who: 'a' });
    // a server event after it reaches the sender; the client event did not
    await sdk.trigger(name, 'mark', {});
    await markA.next(1);
    assert.equal(atA.events.length, 0, 'the sender does not get its own client event');
  });

  test('laravel-echo: whisper / listenForWhisper and Echo.private().listen across gateways', async () => {
    const sdk = sdkFor(cluster, 2);
    const a = authedClient(cluster, 1, sdk);
    const b = authedClient(cluster, 2, sdk);
    await Promise.all([connected(a), connected(b)]);
    const echoA = echoFor(a);
    const echoB = echoFor(b);
    const room = uniqueChannel('room');
    const whispered = new Promise((resolve) => echoA.private(room).listenForWhisper('typing', resolve));
    const shipped = new Promise((resolve) => echoA.private(room).listen('.order.shipped', resolve));
    await new Promise((resolve) => echoA.private(room).subscribed(resolve));
    await new Promise((resolve) => echoB.private(room).subscribed(resolve));
    echoB.private(room).whisper('typing', { name: 'bee' });
    assert.deepEqual(await withTimeout(whispered, 10000, 'the whisper'), { name: 'bee' });
    await sdk.trigger(`private-${room}`, 'order.shipped', { order: 7 });
    assert.deepEqual(await withTimeout(shipped, 10000, 'order.shipped'), { order: 7 });
  });

  test('refused on public and encrypted channels and when not subscribed; the socket stays open', async () => {
    const { client, socketId } = await RawClient.established(cluster.wsUrl(1));
    const pub = uniqueChannel('public');
    await client.subscribe(pub);
    client.send({ event: 'client-x', channel: pub, data: {} });
    assert.match((await client.nextEvent('pusher:error')).data.message, /private- and presence-/);
    const enc = uniqueChannel('private-encrypted-e');
    client.send({ event: 'pusher:subscribe', data: { channel: enc, auth: channelAuth(cluster.app, socketId, enc) } });
    await client.nextEvent('pusher_internal:subscription_succeeded', enc);
    client.send({ event: 'client-x', channel: enc, data: {} });
    assert.match((await client.nextEvent('pusher:error')).data.message, /encrypted/);
    client.send({ event: 'client-x', channel: uniqueChannel('private-not-mine'), data: {} });
    assert.match((await client.nextEvent('pusher:error')).data.message, /not subscribed/);
    await answersPing(client);
  });

  test('over 10 client events per second: pusher:error 4301, the rest still flows', async () => {
    const name = uniqueChannel('private-burst');
    const { client: sender } = await rawPrivate(cluster, 1, name);
    const { client: receiver } = await rawPrivate(cluster, 2, name);
    for (let n = 0; n < 30; n++) sender.send({ event: 'client-burst', channel: name, data: { n } });
    const err = await sender.next((m) => m.event === 'pusher:error' && m.data.code === 4301, 10000, 'error 4301');
    assert.match(err.data.message, /rate limit/);
    await answersPing(sender);
    const got = await receiver.nextEvents('client-burst', name, 10);
    assert.deepEqual(
      got.map((m) => JSON.parse(m.data).n),
      [...Array(10).keys()],
    );
    const errors = sender.messages.filter((m) => m.event === 'pusher:error' && m.data.code === 4301).length;
    assert.ok(errors >= 1, 'at least one event was refused');
  });

  test('an app without enableClientMessages refuses client events', async () => {
    const name = uniqueChannel('private-quiet');
    const { client } = await rawPrivate(cluster, 1, name, quiet);
    client.send({ event: 'client-x', channel: name, data: {} });
    assert.match((await client.nextEvent('pusher:error')).data.message, /not enabled/);
    await answersPing(client);
  });
});
