// Clients that authorize like a real application does: pusher-js with
// channel authorization and user authentication handlers that call the
// `pusher` server SDK in-process (authorizeChannel / authenticateUser), as
// an app's auth endpoint would; laravel-echo on top of such a client; and
// small helpers to sign subscriptions for raw WebSocket clients.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Echo from 'laravel-echo';
import { RawClient, pusherClient, serverClient, withTimeout, DEFAULT_TIMEOUT } from './clients.mjs';

/** A 32-byte master key, base64, for encrypted channels. */
export const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

/** The server SDK for gateway i, with the encryption master key set. */
export function sdkFor(cluster, i = 1, opts = {}) {
  return serverClient(cluster, i, { encryptionMasterKeyBase64: MASTER_KEY, ...opts });
}

/**
 * pusher-js on gateway i whose channel authorization and user
 * authentication are answered by `sdk` (user: the user_data object to sign
 * in with, when signin() is called).
 */
export function authedClient(cluster, i, sdk, { user, ...opts } = {}) {
  return pusherClient(cluster, i, {
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, cb) => {
        try {
          cb(null, sdk.authorizeChannel(socketId, channelName));
        } catch (e) {
          cb(e, null);
        }
      },
    },
    userAuthentication: {
      customHandler: ({ socketId }, cb) => {
        try {
          cb(null, sdk.authenticateUser(socketId, user ?? { id: 'nobody' }));
        } catch (e) {
          cb(e, null);
        }
      },
    },
    ...opts,
  });
}

/** laravel-echo (pusher connector) over an authedClient. */
export function echoFor(client) {
  return new Echo({ broadcaster: 'pusher', client });
}

/** "<key>:<hex hmac>" over socketId:channel, as an auth endpoint answers. */
export function channelAuth(app, socketId, channel) {
  const sig = crypto.createHmac('sha256', app.secret).update(`${socketId}:${channel}`).digest('hex');
  return `${app.key}:${sig}`;
}

/** Signs pusher-js in; resolves with the user_data of pusher:signin_success. */
export function signedIn(client, ms = DEFAULT_TIMEOUT) {
  const got = new Promise((resolve) => {
    const onMessage = (m) => {
      if (m.event !== 'pusher:signin_success') return;
      client.connection.unbind('message', onMessage);
      resolve(JSON.parse(m.data.user_data));
    };
    client.connection.bind('message', onMessage);
  });
  client.signin();
  return withTimeout(got, ms, 'pusher:signin_success');
}

/** Resolves with the pusher:subscription_error a pusher-js channel gets. */
export function subscriptionError(client, name, ms = DEFAULT_TIMEOUT) {
  const channel = client.subscribe(name);
  return withTimeout(
    new Promise((resolve, reject) => {
      channel.bind('pusher:subscription_error', (e) => resolve(e));
      channel.bind('pusher:subscription_succeeded', () => reject(new Error(`${name}: subscribed, expected an error`)));
    }),
    ms,
    `subscription_error on ${name}`,
  );
}

/**
 * Writes an apps file ({"apps":[...]}) for a cluster and returns its path
 * (under the system's temporary directory, one per process and name).
 */
export function writeAppsFile(name, apps) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `herald-apps-${name}-`));
  const file = path.join(dir, 'apps.json');
  fs.writeFileSync(file, JSON.stringify({ apps }));
  return file;
}

/** The `pusher` SDK for another app of the cluster, on gateway i. */
export function sdkForApp(cluster, app, i = 1) {
  return serverClient(cluster, i, { appId: app.id, key: app.key, secret: app.secret });
}

/**
 * A raw client on gateway i signed in as user (an object with an id) of
 * app (default: the cluster's); resolves with {client, socketId} after
 * signin_success.
 */
export async function rawSignedIn(cluster, i, user, app = cluster.app) {
  const { client, socketId } = await RawClient.established(cluster.wsUrl(i, { key: app.key }));
  const sdk = sdkForApp(cluster, app, i);
  const { auth, user_data } = sdk.authenticateUser(socketId, user);
  client.send({ event: 'pusher:signin', data: { auth, user_data } });
  const ok = await client.nextEvent('pusher:signin_success');
  return { client, socketId, ok };
}

/** Resolves once a raw client answers a ping (it is open and served). */
export async function answersPing(client) {
  client.send({ event: 'pusher:ping', data: {} });
  await client.nextEvent('pusher:pong');
}
