// The short client scenario scripts/valgrind-check runs against a gateway
// and a broker under valgrind: pusher-js clients connect, subscribe to a
// public, a private and a presence channel, receive events published with
// the `pusher` SDK, a presence member leaves, channels are queried, and
// everyone disconnects. Exits 0 when every step was observed, 1 otherwise.
//
//   node scenarios/valgrind.mjs GATEWAY_PORT
//
// Timeouts are generous: everything runs under valgrind (20-50x slower).
import crypto from 'node:crypto';
import PusherSdk from 'pusher';
import { PusherJs, withTimeout } from '../lib/clients.mjs';

const port = Number(process.argv[2]);
const app = { id: 'app-id', key: 'app-key', secret: 'app-secret' };
const T = 60000;
const sdk = new PusherSdk({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(port), useTLS: false });

function client(user) {
  return new PusherJs(app.key, {
    wsHost: '127.0.0.1',
    wsPort: port,
    forceTLS: false,
    enabledTransports: ['ws'],
    cluster: 'mt1',
    disableStats: true,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, cb) =>
        cb(null, sdk.authorizeChannel(socketId, channelName, channelName.startsWith('presence-') ? user : undefined)),
    },
  });
}

const once = (bindable, ev, what) => withTimeout(new Promise((r) => bindable.bind(ev, r)), T, what);

async function main() {
  const tag = crypto.randomBytes(4).toString('hex');
  const [a, b, c] = [client({ user_id: 'a' }), client({ user_id: 'b', user_info: { n: 1 } }), client({ user_id: 'c' })];
  await Promise.all([a, b, c].map((x, i) => once(x.connection, 'connected', `client ${i} connected`)));
  const pub = `vg-${tag}`;
  const priv = `private-vg-${tag}`;
  const pres = `presence-vg-${tag}`;
  const subs = [];
  for (const x of [a, b, c]) {
    for (const name of [pub, priv, pres]) {
      const ch = x.subscribe(name);
      subs.push(once(ch, 'pusher:subscription_succeeded', `${name} subscribed`));
    }
  }
  await Promise.all(subs);
  const got = Promise.all([a, b, c].map((x) => once(x.channel(pub), 'ev', 'the public event')));
  const gotPriv = once(c.channel(priv), 'ev', 'the private event');
  await sdk.trigger(pub, 'ev', { n: 1 });
  await sdk.trigger(priv, 'ev', { n: 2 });
  await got;
  await gotPriv;
  const left = once(a.channel(pres), 'pusher:member_removed', 'member_removed');
  b.disconnect();
  await left;
  await sdk.get({ path: `/channels/${pres}/users` });
  await sdk.get({ path: '/channels', params: { info: 'subscription_count' } }).catch(() => {});
  a.disconnect();
  c.disconnect();
  console.log('scenario done');
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`scenario failed: ${e.stack || e}`);
    process.exit(1);
  },
);
