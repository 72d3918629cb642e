// 17 users: pusher:signin verified against the SDK's authenticateUser,
// sendToUser reaching every connection of the user on both gateways (and
// nobody else), # channels closed to other clients, terminateUserConnections
// closing the user's connections on every gateway (4009), and an app that
// requires sign-in closing connections that do not (PROTOCOL.md §4, §5).
// Ports: portsFor(17).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { RawClient, connected, closeAll, withTimeout } from '../lib/clients.mjs';
import { authedClient, sdkFor, signedIn, writeAppsFile, rawSignedIn, answersPing, sdkForApp } from '../lib/auth.mjs';

after(closeAll);

const strict = {
  id: 'strict-id',
  key: 'strict-key',
  secret: 'strict-secret',
  enableUserAuthentication: true,
  userAuthenticationTimeout: 1500,
};
const appsFile = writeAppsFile('17', [strict]);

/** Collects user events `name` on a pusher-js client's user facade. */
function userEvents(client, name) {
  const got = [];
  const waiters = [];
  client.user.bind(name, (data) => {
    got.push(data);
    for (const w of waiters.splice(0)) w();
  });
  return {
    got,
    next: (n) =>
      withTimeout(
        new Promise((resolve) => {
          const check = () => (got.length >= n ? resolve(got.slice(0, n)) : waiters.push(check));
          check();
        }),
        10000,
        `${n} user event(s) ${name}`,
      ),
  };
}

describe('users', () => {
  const cluster = useCluster({ gateways: 2, brokers: 1, ...portsFor(17, 0), env: { HERALD_APPS_FILE: appsFile } });

  test('sendToUser reaches both tabs of the user on two gateways and nobody else', async () => {
    const sdk = sdkFor(cluster, 1);
    const tab1 = authedClient(cluster, 1, sdk, { user: { id: 'alice', name: 'Alice' } });
    const tab2 = authedClient(cluster, 2, sdk, { user: { id: 'alice', name: 'Alice' } });
    const bob = authedClient(cluster, 1, sdk, { user: { id: 'bob' } });
    await Promise.all([connected(tab1), connected(tab2), connected(bob)]);
    const [u1] = await Promise.all([signedIn(tab1), signedIn(tab2), signedIn(bob)]);
    assert.equal(u1.id, 'alice');
    const at1 = userEvents(tab1, 'note');
    const at2 = userEvents(tab2, 'note');
    const atBob = userEvents(bob, 'note');
    const bobMark = userEvents(bob, 'mark');
    const res = await sdkFor(cluster, 2).sendToUser('alice', 'note', { text: 'hi' });
    assert.equal(res.status, 200);
    assert.deepEqual(await at1.next(1), [{ text: 'hi' }]);
    assert.deepEqual(await at2.next(1), [{ text: 'hi' }]);
    await sdk.sendToUser('bob', 'mark', {});
    await bobMark.next(1);
    assert.equal(atBob.got.length, 0, 'bob did not get alice\'s event');
  });

  test('a bad signin signature closes with 4009; # channels are closed to clients', async () => {
    const { client, socketId } = await RawClient.established(cluster.wsUrl(1));
    client.send({ event: 'pusher:subscribe', data: { channel: '#server-to-user-carol' } });
    const refused = await client.nextEvent('pusher:subscription_error', '#server-to-user-carol');
    assert.equal(refused.data.status, 403);
    const { user_data } = sdkFor(cluster, 1).authenticateUser(socketId, { id: 'carol' });
    client.send({ event: 'pusher:signin', data: { user_data, auth: `${cluster.app.key}:${'0'.repeat(64)}` } });
    const err = await client.nextEvent('pusher:error');
    assert.equal(err.data.code, 4009);
    assert.equal((await client.waitClose()).code, 4009);
  });

  test('terminateUserConnections closes the user on every gateway, others stay', async () => {
    const a1 = await rawSignedIn(cluster, 1, { id: 'dave' });
    const a2 = await rawSignedIn(cluster, 2, { id: 'dave' });
    const other = await rawSignedIn(cluster, 2, { id: 'erin' });
    assert.equal(JSON.parse(a1.ok.data.user_data).id, 'dave');
    const res = await sdkFor(cluster, 1).terminateUserConnections('dave');
    assert.equal(res.status, 200);
    assert.equal((await a1.client.waitClose()).code, 4009);
    assert.equal((await a2.client.waitClose()).code, 4009);
    await answersPing(other.client);
    // a new connection of the same user works afterwards
    const again = await rawSignedIn(cluster, 1, { id: 'dave' });
    await answersPing(again.client);
  });

  test('pusher-js signed in, then terminated, leaves the connected state', async () => {
    const sdk = sdkFor(cluster, 2);
    const p = authedClient(cluster, 2, sdk, { user: { id: 'frank' } });
    await connected(p);
    await signedIn(p);
    const left = withTimeout(
      new Promise((resolve) => p.connection.bind('state_change', ({ current }) => current !== 'connected' && resolve(current))),
      10000,
      'pusher-js to leave connected',
    );
    await sdkFor(cluster, 1).terminateUserConnections('frank');
    assert.notEqual(await left, 'connected');
  });

  test('an app that requires sign-in closes connections that do not sign in (4009)', async () => {
    const signed = await rawSignedIn(cluster, 1, { id: 'gina' }, strict);
    const { client: lazy } = await RawClient.established(cluster.wsUrl(2, { key: strict.key }));
    const closed = await lazy.waitClose(15000);
    assert.equal(closed.code, 4009);
    await answersPing(signed.client);
    // user events of that app reach its user
    await sdkForApp(cluster, strict, 2).sendToUser('gina', 'hello', { x: 1 });
    const ev = await signed.client.nextEvent('hello', '#server-to-user-gina');
    assert.deepEqual(JSON.parse(ev.data), { x: 1 });
  });
});
