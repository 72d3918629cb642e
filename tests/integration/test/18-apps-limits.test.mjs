// 18 apps and limits: the default app configured only through Soketi's
// SOKETI_DEFAULT_APP_* variables (a Soketi deployment's environment carries
// over) and a disabled app from an apps file; every limit enforced with
// its error: max connections (4004), backend events/s and read requests/s
// (429), client events/s (4301), payload (413), event name, channel name,
// channels per event and batch size (400), disabled app (4003 / 403).
// Connections are counted across the cluster, rates per gateway
// (docs/apps.md). Ports: portsFor(18).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { RawClient, apiRequest, closeAll, uniqueChannel, eventually, serverClient } from '../lib/clients.mjs';
import { channelAuth, writeAppsFile, answersPing } from '../lib/auth.mjs';

after(closeAll);

const off = { id: 'off-id', key: 'off-key', secret: 'off-secret', enabled: false };
const appsFile = writeAppsFile('18', [off]);

describe('apps and limits', () => {
  const cluster = useCluster({
    gateways: 2,
    brokers: 1,
    ...portsFor(18, 0),
    env: {
      HERALD_APPS_FILE: appsFile,
      SOKETI_DEFAULT_APP_ENABLED: 'true',
      SOKETI_DEFAULT_APP_MAX_CONNECTIONS: '3',
      SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES: 'true',
      SOKETI_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SEC: '2',
      SOKETI_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SEC: '5',
      SOKETI_DEFAULT_APP_MAX_READ_REQ_PER_SEC: '2',
      SOKETI_DEFAULT_APP_MAX_PRESENCE_MEMBERS_PER_CHANNEL: '5',
      SOKETI_DEFAULT_APP_MAX_PRESENCE_MEMBER_SIZE_IN_KB: '1',
      SOKETI_DEFAULT_APP_MAX_CHANNEL_NAME_LENGTH: '60',
      SOKETI_DEFAULT_APP_MAX_EVENT_CHANNELS_AT_ONCE: '2',
      SOKETI_DEFAULT_APP_MAX_EVENT_NAME_LENGTH: '20',
      SOKETI_DEFAULT_APP_MAX_EVENT_PAYLOAD_IN_KB: '1',
      SOKETI_DEFAULT_APP_MAX_EVENT_BATCH_SIZE: '2',
      SOKETI_DEFAULT_APP_USER_AUTHENTICATION: 'false',
      SOKETI_DEFAULT_APP_WEBHOOKS: '[{"url":"http://127.0.0.1:9/hook","event_types":["channel_occupied"]}]',
    },
  });
  const events = () => `/apps/${cluster.app.id}/events`;

  test('event limits from SOKETI_DEFAULT_APP_*: payload 413, name / channels / batch 400', async () => {
    const ch = uniqueChannel('lim');
    const ok = await apiRequest(cluster, 1, { path: events(), body: { name: 'ev', channel: ch, data: 'x'.repeat(1024) } });
    assert.equal(ok.status, 200);
    const big = await apiRequest(cluster, 1, { path: events(), body: { name: 'ev', channel: ch, data: 'x'.repeat(1025) } });
    assert.equal(big.status, 413);
    const name = await apiRequest(cluster, 1, { path: events(), body: { name: 'n'.repeat(21), channel: ch, data: '' } });
    assert.equal(name.status, 400);
    const chans = await apiRequest(cluster, 1, { path: events(), body: { name: 'ev', channels: ['a', 'b', 'c'], data: '' } });
    assert.equal(chans.status, 400);
    const long = await apiRequest(cluster, 1, { path: events(), body: { name: 'ev', channel: 'c'.repeat(61), data: '' } });
    assert.equal(long.status, 400);
    const batch = [1, 2, 3].map((n) => ({ name: 'ev', channel: ch, data: String(n) }));
    const b = await apiRequest(cluster, 1, { path: `/apps/${cluster.app.id}/batch_events`, body: { batch } });
    assert.equal(b.status, 400);
    const { client } = await RawClient.established(cluster.wsUrl(1));
    client.send({ event: 'pusher:subscribe', data: { channel: 'c'.repeat(61) } });
    assert.equal((await client.nextEvent('pusher:subscription_error')).data.status, 400);
    client.close();
  });

  test('client events over 2/s get 4301', async () => {
    const name = uniqueChannel('private-cl');
    const { client, socketId } = await RawClient.established(cluster.wsUrl(1));
    client.send({ event: 'pusher:subscribe', data: { channel: name, auth: channelAuth(cluster.app, socketId, name) } });
    await client.nextEvent('pusher_internal:subscription_succeeded', name);
    for (let n = 0; n < 6; n++) client.send({ event: 'client-x', channel: name, data: { n } });
    const err = await client.next((m) => m.event === 'pusher:error' && m.data.code === 4301, 10000, 'error 4301');
    assert.match(err.data.message, /2 client events per second/);
    await answersPing(client);
    client.close();
  });

  test('backend events over 5/s and read requests over 2/s get 429', async () => {
    const sdk = serverClient(cluster, 2);
    const ch = uniqueChannel('burst');
    const results = await Promise.allSettled([...Array(12)].map((_, n) => sdk.trigger(ch, 'ev', { n })));
    const statuses = results.map((r) => (r.status === 'fulfilled' ? r.value.status : r.reason.status));
    assert.ok(statuses.includes(200), `some went through: ${statuses}`);
    assert.ok(statuses.includes(429), `some were limited: ${statuses}`);
    assert.ok(statuses.filter((s) => s === 200).length <= 10, `at most 5 per second: ${statuses}`);
    const reads = [];
    for (let n = 0; n < 3; n++) reads.push((await apiRequest(cluster, 2, { method: 'GET', path: `/apps/${cluster.app.id}/channels` })).status);
    assert.ok(reads.includes(429), `a read was limited: ${reads}`);
    assert.notEqual(reads[0], 429);
  });

  test('max 3 connections per app across the cluster: 4004 and close beyond it, on either gateway', async () => {
    // earlier tests' connections may still be counted for a moment: retry
    const open = (i) =>
      eventually(async () => (await RawClient.established(cluster.wsUrl(i), 2000)).client, {
        what: `a connection on gateway-${i}`,
      });
    const held = [await open(1), await open(1)];
    held.push(await open(2));
    // each gateway refuses a 4th once the other's report has arrived
    for (const i of [1, 2]) {
      const err = await eventually(
        async () => {
          const c = await RawClient.connect(cluster.wsUrl(i));
          const m = await c.next((x) => x.event === 'pusher:connection_established' || x.event === 'pusher:error');
          if (m.event !== 'pusher:error') {
            c.close();
            throw new Error(`gateway-${i} accepted a 4th connection`);
          }
          assert.equal((await c.waitClose()).code, 4004);
          return m;
        },
        { what: `gateway-${i} to refuse a 4th connection` },
      );
      assert.equal(err.data.code, 4004);
    }
    for (const c of held) await answersPing(c);
    // one leaves gateway-1: a connection fits again, on gateway-2
    held.shift().close();
    held.push(await open(2));
    for (const c of held) c.close();
  });

  test('a disabled app: 4003 on connect, 403 on the HTTP API', async () => {
    const c = await RawClient.connect(cluster.wsUrl(1, { key: off.key }));
    assert.equal((await c.nextEvent('pusher:error')).data.code, 4003);
    assert.equal((await c.waitClose()).code, 4003);
    const sdk = serverClient(cluster, 1, { appId: off.id, key: off.key, secret: off.secret });
    const res = await sdk.trigger('x', 'ev', {}).catch((e) => e);
    assert.equal(res.status, 403);
  });

  test('the connections of a gateway killed with -9 stop counting once its report is stale', async () => {
    const held = [];
    for (let n = 0; n < 3; n++) {
      held.push(
        await eventually(async () => (await RawClient.established(cluster.wsUrl(2), 2000)).client, {
          what: 'a connection on gateway-2',
        }),
      );
    }
    // gateway-1 knows gateway-2 is full
    await eventually(
      async () => {
        const c = await RawClient.connect(cluster.wsUrl(1));
        const m = await c.next((x) => x.event === 'pusher:connection_established' || x.event === 'pusher:error');
        c.close();
        if (m.event !== 'pusher:error') throw new Error('gateway-1 accepted a 4th connection');
      },
      { what: 'gateway-1 to refuse' },
    );
    await cluster.kill('gateway-2', 'KILL');
    // within the staleness period (15 s) plus a sweep, gateway-1 accepts again
    const back = await eventually(async () => (await RawClient.established(cluster.wsUrl(1), 2000)).client, {
      timeout: 30000,
      interval: 500,
      what: 'gateway-1 to accept once gateway-2 is gone',
    });
    await answersPing(back);
    for (const c of held) c.close();
  });
});
