// Helpers for the presence tests (20-24): pusher-js clients whose channel
// authorizer calls the pusher SDK's authorizeChannel, as an app's auth
// endpoint would, and small Redis probes of the cluster state.
import {
  pusherClient,
  serverClient,
  connected,
  withTimeout,
  eventually,
  DEFAULT_TIMEOUT,
} from './clients.mjs';

/**
 * A connected pusher-js client on gateway `i` that authorizes every channel
 * as `user` ({user_id, user_info?}) through the `pusher` SDK; `app`
 * ({id, key, secret}) picks another app of the cluster (the caller then
 * disconnects it).
 */
export async function presenceClient(cluster, i, user, opts = {}, app = cluster.app) {
  const sdk = serverClient(cluster, i, { appId: app.id, key: app.key, secret: app.secret });
  const settings = {
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) =>
        callback(null, sdk.authorizeChannel(socketId, channelName, user)),
    },
    ...opts,
  };
  const client = pusherClient(cluster, i, { appKey: app.key, ...settings });
  await connected(client);
  return client;
}

/**
 * Subscribes to a presence channel; resolves with {channel, members}
 * where members is the snapshot pusher-js built from subscription_succeeded
 * ({count, ids, me}). Rejects with the subscription_error payload.
 */
export function joinPresence(client, name, ms = DEFAULT_TIMEOUT) {
  const channel = client.subscribe(name);
  return withTimeout(
    new Promise((resolve, reject) => {
      channel.bind('pusher:subscription_succeeded', (members) => {
        const ids = [];
        members.each((m) => ids.push(m.id));
        resolve({ channel, members: { count: members.count, ids: ids.sort(), me: members.me } });
      });
      channel.bind('pusher:subscription_error', (e) => {
        const err = new Error(`subscription to ${name} failed: ${JSON.stringify(e)}`);
        err.payload = e;
        reject(err);
      });
    }),
    ms,
    `subscription_succeeded on ${name}`,
  );
}

/** Records every member_added / member_removed pusher-js reports on channel. */
export function memberLog(channel) {
  const log = [];
  channel.bind('pusher:member_added', (m) => log.push({ type: 'added', id: m.id, info: m.info }));
  channel.bind('pusher:member_removed', (m) => log.push({ type: 'removed', id: m.id }));
  return log;
}

/** How many connections hold user `id` on a channel, per Redis. */
export async function holders(cluster, channel, id) {
  const out = await cluster.redis('HGET', `herald:{${cluster.app.id}:${channel}}:holders`, id);
  return Number(out.trim() || 0);
}

/** Polls (bounded) until pred() is truthy. */
export function until(pred, what) {
  return eventually(
    async () => {
      if (!(await pred())) throw new Error('not yet');
    },
    { what },
  );
}
