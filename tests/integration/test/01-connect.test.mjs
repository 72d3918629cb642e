// 01 connect: the WebSocket handshake, connection errors and keep-alive
// (PROTOCOL.md §1). Ports: portsFor(1).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { RawClient, pusherClient, connected, closeAll } from '../lib/clients.mjs';

after(closeAll);

/** Awaits a fatal error: pusher:error with `code`, then a close with the same code. */
async function expectFatal(client, code) {
  const err = await client.nextEvent('pusher:error');
  assert.equal(typeof err.data, 'object', `pusher:error data must be an object: ${JSON.stringify(err)}`);
  assert.equal(err.data.code, code, `pusher:error code: ${JSON.stringify(err)}`);
  assert.ok(typeof err.data.message === 'string' && err.data.message.length > 0, 'pusher:error has a message');
  const { code: closeCode } = await client.waitClose();
  assert.equal(closeCode, code, 'close code equals the error code');
}

describe('connect', () => {
  const cluster = useCluster({ gateways: 1, brokers: 1, ...portsFor(1, 0) });

  test('connection_established carries socket_id and activity_timeout (raw ws)', async () => {
    const c = await RawClient.connect(cluster.wsUrl(1));
    const msg = await c.nextEvent('pusher:connection_established');
    assert.equal(typeof msg.data, 'string', 'data is a JSON string');
    const data = JSON.parse(msg.data);
    assert.match(data.socket_id, /^\d+\.\d+$/);
    assert.equal(typeof data.activity_timeout, 'number');
    assert.ok(data.activity_timeout > 0, `activity_timeout > 0, got ${data.activity_timeout}`);
    c.close();
  });

  test('socket ids are unique per connection', async () => {
    const ids = new Set();
    for (let k = 0; k < 5; k++) {
      const { client, socketId } = await RawClient.established(cluster.wsUrl(1));
      ids.add(socketId);
      client.close();
    }
    assert.equal(ids.size, 5);
  });

  test('pusher-js connects and gets a socket id', async () => {
    const p = pusherClient(cluster, 1);
    await connected(p);
    assert.match(p.connection.socket_id, /^\d+\.\d+$/);
    p.disconnect();
  });

  test('unknown app key -> pusher:error 4001 and close 4001', async () => {
    const c = await RawClient.connect(cluster.wsUrl(1, { key: 'no-such-key' }));
    await expectFatal(c, 4001);
  });

  test('no protocol version -> 4008', async () => {
    const c = await RawClient.connect(cluster.wsUrl(1, { query: '' }));
    await expectFatal(c, 4008);
  });

  test('unsupported protocol version -> 4007', async () => {
    const c = await RawClient.connect(cluster.wsUrl(1, { query: 'protocol=3&client=js&version=8.4.0' }));
    await expectFatal(c, 4007);
  });

  test('wrong path -> 4005', async () => {
    const c = await RawClient.connect(`${cluster.url(1)}/not-an-app-path?protocol=7`);
    await expectFatal(c, 4005);
  });

  test('pusher:ping -> pusher:pong', async () => {
    const { client } = await RawClient.established(cluster.wsUrl(1));
    client.send({ event: 'pusher:ping', data: {} });
    await client.nextEvent('pusher:pong');
    client.send({ event: 'pusher:ping', data: {} });
    await client.nextEvent('pusher:pong');
    client.close();
  });
});

describe('keep-alive (activity timeout 1 s, pong timeout 1 s)', () => {
  const cluster = useCluster({
    gateways: 1,
    brokers: 1,
    ...portsFor(1, 1),
    env: { HERALD_ACTIVITY_TIMEOUT: '1', HERALD_PONG_TIMEOUT: '1' },
  });

  test('connection_established announces the configured activity_timeout', async () => {
    const { client, activityTimeout } = await RawClient.established(cluster.wsUrl(1));
    assert.equal(activityTimeout, 1);
    client.close();
  });

  test('a silent client gets pusher:ping, and without a pong is closed with 4201', async () => {
    const { client } = await RawClient.established(cluster.wsUrl(1));
    await client.nextEvent('pusher:ping', undefined, 5000);
    const { code } = await client.waitClose(6000);
    assert.equal(code, 4201);
  });

  test('a client that answers pings stays connected', async () => {
    const { client } = await RawClient.established(cluster.wsUrl(1));
    for (let k = 0; k < 3; k++) {
      await client.nextEvent('pusher:ping', undefined, 5000);
      client.send({ event: 'pusher:pong', data: {} });
    }
    assert.equal(client.closeInfo, null, 'still open after three ping/pong rounds');
    client.send({ event: 'pusher:ping', data: {} });
    await client.nextEvent('pusher:pong');
    client.close();
  });
});
