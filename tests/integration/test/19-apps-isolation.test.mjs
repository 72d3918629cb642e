// 19 apps isolation: two apps from an apps file on two gateways use the
// same channel names and user ids; events, client events, user events,
// terminations and channel signatures never cross from one app to the
// other. Ports: portsFor(19).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { RawClient, closeAll, uniqueChannel } from '../lib/clients.mjs';
import { channelAuth, writeAppsFile, sdkForApp, rawSignedIn, answersPing } from '../lib/auth.mjs';

after(closeAll);

const alpha = { id: 'alpha-id', key: 'alpha-key', secret: 'alpha-secret', enableClientMessages: true };
const beta = { id: 'beta-id', key: 'beta-key', secret: 'beta-secret', enableClientMessages: true };
const appsFile = writeAppsFile('19', [alpha, beta]);

/** A raw client of app on gateway i subscribed to channel (signed when private). */
async function member(cluster, i, app, channel) {
  const r = await RawClient.established(cluster.wsUrl(i, { key: app.key }));
  const data = channel.startsWith('private-') ? { channel, auth: channelAuth(app, r.socketId, channel) } : { channel };
  r.client.send({ event: 'pusher:subscribe', data });
  await r.client.nextEvent('pusher_internal:subscription_succeeded', channel);
  return r;
}

describe('apps never leak into each other', () => {
  const cluster = useCluster({ gateways: 2, brokers: 1, ...portsFor(19, 0), env: { HERALD_APPS_FILE: appsFile } });

  test('server events on the same channel name stay in their app', async () => {
    const ch = uniqueChannel('news');
    const a = await member(cluster, 1, alpha, ch);
    const b = await member(cluster, 2, beta, ch);
    await sdkForApp(cluster, alpha, 2).trigger(ch, 'for-alpha', { n: 1 });
    await sdkForApp(cluster, beta, 1).trigger(ch, 'for-beta', { n: 2 });
    await a.client.nextEvent('for-alpha', ch);
    await b.client.nextEvent('for-beta', ch);
    // each app's marker came after the other's event was published
    await sdkForApp(cluster, alpha, 1).trigger(ch, 'mark', {});
    await sdkForApp(cluster, beta, 2).trigger(ch, 'mark', {});
    await a.client.nextEvent('mark', ch);
    await b.client.nextEvent('mark', ch);
    assert.equal(a.client.messages.filter((m) => m.event === 'for-beta').length, 0);
    assert.equal(b.client.messages.filter((m) => m.event === 'for-alpha').length, 0);
  });

  test('client events stay in their app', async () => {
    const ch = uniqueChannel('private-room');
    const sender = await member(cluster, 1, alpha, ch);
    const peer = await member(cluster, 2, alpha, ch);
    const stranger = await member(cluster, 2, beta, ch);
    sender.client.send({ event: 'client-hi', channel: ch, data: { from: 'alpha' } });
    await peer.client.nextEvent('client-hi', ch);
    await sdkForApp(cluster, beta, 1).trigger(ch, 'mark', {});
    await stranger.client.nextEvent('mark', ch);
    assert.equal(stranger.client.messages.filter((m) => m.event === 'client-hi').length, 0);
  });

  test('a signature of one app does not open the other app\'s private channel', async () => {
    const ch = uniqueChannel('private-vault');
    const { client, socketId } = await RawClient.established(cluster.wsUrl(1, { key: beta.key }));
    client.send({ event: 'pusher:subscribe', data: { channel: ch, auth: channelAuth(alpha, socketId, ch) } });
    assert.equal((await client.nextEvent('pusher:subscription_error', ch)).data.status, 401);
  });

  test('user events and terminations stay in their app', async () => {
    const ua = await rawSignedIn(cluster, 1, { id: 'sam' }, alpha);
    const ub = await rawSignedIn(cluster, 2, { id: 'sam' }, beta);
    await sdkForApp(cluster, alpha, 2).sendToUser('sam', 'note', { app: 'alpha' });
    await ua.client.nextEvent('note', '#server-to-user-sam');
    await sdkForApp(cluster, beta, 1).sendToUser('sam', 'mark', {});
    await ub.client.nextEvent('mark', '#server-to-user-sam');
    assert.equal(ub.client.messages.filter((m) => m.event === 'note').length, 0);
    await sdkForApp(cluster, alpha, 1).terminateUserConnections('sam');
    assert.equal((await ua.client.waitClose()).code, 4009);
    await answersPing(ub.client);
    await sdkForApp(cluster, beta, 1).sendToUser('sam', 'still', {});
    await ub.client.nextEvent('still', '#server-to-user-sam');
  });
});
