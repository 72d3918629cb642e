// 33 watchlist: a user signed in with a `watchlist` in its user_data gets
// pusher_internal:watchlist_events, which pusher-js hands to
// pusher.user.watchlist.bind('online' | 'offline'): on sign-in the state of
// every watched user, then "online" when a watched user's first connection
// anywhere in the cluster signs in and "offline" when its last one goes,
// including when its gateway is killed (after the presence liveness
// period). The app's maxWatchlistSize is enforced with a pusher:error.
// Clients on both gateways; liveness is 2 s (HERALD_PRESENCE_LIVENESS).
// Ports: portsFor(33).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { connected, closeAll, withTimeout, DEFAULT_TIMEOUT } from '../lib/clients.mjs';
import { authedClient, sdkFor, signedIn, rawSignedIn } from '../lib/auth.mjs';

after(closeAll);

let seq = 0;
/** A user id unique to this run. */
const uid = (name) => `${name}-${process.pid}-${++seq}`;

/** Records pusher.user.watchlist events; next(pred) awaits one matching. */
function watch(client) {
  const got = [];
  const waiters = [];
  for (const name of ['online', 'offline']) {
    client.user.watchlist.bind(name, (ev) => {
      got.push({ name: ev.name, ids: [...ev.user_ids].sort() });
      for (const w of [...waiters]) w();
    });
  }
  return {
    got,
    next(pred, what) {
      return withTimeout(
        new Promise((resolve) => {
          const check = () => {
            const hit = got.find(pred);
            if (!hit) return;
            waiters.splice(waiters.indexOf(check), 1);
            resolve(hit);
          };
          waiters.push(check);
          check();
        }),
        DEFAULT_TIMEOUT,
        `watchlist ${what} (got ${JSON.stringify(got)})`,
      );
    },
  };
}

/** pusher-js on gateway i signed in as user (an object with id, watchlist?). */
async function user(cluster, i, u, opts = {}) {
  const client = authedClient(cluster, i, sdkFor(cluster, i), { user: u, ...opts });
  const events = watch(client);
  await connected(client);
  await signedIn(client);
  return { client, events };
}

const is = (name, ids) => (e) => e.name === name && JSON.stringify(e.ids) === JSON.stringify([...ids].sort());

describe('watchlist online / offline events', () => {
  const cluster = useCluster({
    gateways: 2,
    brokers: 1,
    ...portsFor(33, 0),
    env: { HERALD_PRESENCE_LIVENESS: '2', HERALD_DEFAULT_APP_MAX_WATCHLIST_SIZE: '3' },
  });

  test('initial state, then online / offline of users on the other gateway, per user not per connection', async () => {
    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
    const c = await user(cluster, 2, { id: carol });
    const a = await user(cluster, 1, { id: alice, watchlist: [bob, carol] });
    await a.events.next(is('online', [carol]), `online [${carol}]`);
    await a.events.next(is('offline', [bob]), `offline [${bob}] at sign-in`);
    assert.equal(a.events.got.length, 2);

    // bob's first connection (gateway 2) makes him online
    const b1 = await user(cluster, 2, { id: bob });
    await a.events.next(is('online', [bob]), `online [${bob}]`);
    // a second tab on gateway 1, then the first one leaves: still online
    const b2 = await user(cluster, 1, { id: bob });
    b1.client.disconnect();
    // carol leaves from gateway 2 after bob's first tab did: her offline
    // comes after anything bob's leaving could have caused
    c.client.disconnect();
    await a.events.next(is('offline', [carol]), `offline [${carol}]`);
    assert.deepEqual(
      a.events.got.filter((e) => e.ids.includes(bob)).map((e) => e.name),
      ['offline', 'online'],
      'bob is still online while one tab is open',
    );
    b2.client.disconnect();
    await a.events.next((e) => e.name === 'offline' && e.ids.includes(bob) && a.events.got.indexOf(e) > 1, `offline [${bob}]`);
    assert.deepEqual(
      a.events.got.map((e) => e.name),
      ['online', 'offline', 'online', 'offline', 'offline'],
    );
    a.client.disconnect();
  });

  test('a watcher that signs in on either gateway sees the same state; watching each other works both ways', async () => {
    const [x, y] = [uid('x'), uid('y')];
    const px = await user(cluster, 1, { id: x, watchlist: [y] });
    await px.events.next(is('offline', [y]), 'y offline at sign-in');
    const py = await user(cluster, 2, { id: y, watchlist: [x] });
    await py.events.next(is('online', [x]), 'x online at sign-in');
    await px.events.next(is('online', [y]), 'y online');
    px.client.disconnect();
    await py.events.next(is('offline', [x]), 'x offline');
    py.client.disconnect();
  });

  test('maxWatchlistSize: a longer watchlist is refused with a pusher:error, the sign-in stands', async () => {
    const me = uid('me');
    const { client, ok } = await rawSignedIn(cluster, 1, { id: me, watchlist: ['a', 'b', 'c', 'd'] });
    assert.equal(JSON.parse(ok.data.user_data).id, me);
    const err = await client.nextEvent('pusher:error');
    assert.match(err.data.message, /4 user ids; the app allows 3 \(maxWatchlistSize\)/);
    client.send({ event: 'pusher:ping', data: {} });
    await client.nextEvent('pusher:pong');
    assert.ok(!client.messages.some((m) => m.event === 'pusher_internal:watchlist_events'));
    client.close();
    // three are fine
    const again = await rawSignedIn(cluster, 2, { id: uid('me'), watchlist: ['a', 'b', 'c'] });
    const ev = await again.client.nextEvent('pusher_internal:watchlist_events');
    assert.deepEqual(JSON.parse(ev.data), { events: [{ name: 'offline', user_ids: ['a', 'b', 'c'] }] });
    again.client.close();
  });

  test('kill -9 the gateway of a watched user: offline once its liveness lapses', async () => {
    const [dan, erin] = [uid('dan'), uid('erin')];
    await user(cluster, 2, { id: dan }, { activityTimeout: 600000 });
    const e = await user(cluster, 1, { id: erin, watchlist: [dan] });
    await e.events.next(is('online', [dan]), 'dan online at sign-in');
    assert.equal(await cluster.kill('gateway-2', 'KILL'), 'gateway-2 died (signal KILL)');
    await e.events.next(is('offline', [dan]), 'dan offline after gateway-2 died');
    assert.deepEqual(e.events.got.map((x) => x.name), ['online', 'offline']);
    e.client.disconnect();
  });
});
