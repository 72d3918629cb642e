// Client factories and waiting helpers for the integration tests:
// - pusher-js (the real Node client) pointed at one gateway,
// - the `pusher` server SDK pointed at one gateway's HTTP API,
// - a raw `ws` client that records every JSON message it receives,
// - signed raw HTTP requests for the negative HTTP API cases.
// Every wait has a timeout that fails the test with a message saying what
// was awaited; nothing here sleeps to synchronise.
// Clients made here are remembered; closeAll() (call it in after()) closes them.

import crypto from 'node:crypto';
import PusherJsModule from 'pusher-js';
import PusherSdk from 'pusher';
import WebSocket from 'ws';

// pusher-js's Node bundle is CommonJS; depending on the interop the class is
// the default export or its `default` property.
export const PusherJs = PusherJsModule.default ?? PusherJsModule;

export const DEFAULT_TIMEOUT = Number(process.env.HERALD_TEST_TIMEOUT || 10000);

const open = new Set();

/** Resolves/rejects like `promise`, or rejects after `ms` saying what was awaited. */
export function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

/**
 * Retries `fn` (async; throws while the condition does not hold) until it
 * succeeds or `timeout` ms passed; for states that announce themselves with
 * no event (a link that is re-established, a Redis subscription). Rethrows
 * the last failure, prefixed with `what`.
 */
export async function eventually(fn, { timeout = DEFAULT_TIMEOUT, interval = 100, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() >= deadline) {
        e.message = `not reached within ${timeout} ms: ${what}: ${e.message}`;
        throw e;
      }
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * A pusher-js client connected to gateway `i` of `cluster` (not yet
 * awaited), for the cluster's app or, with opts.appKey, another one.
 */
export function pusherClient(cluster, i = 1, { appKey, ...opts } = {}) {
  const client = new PusherJs(appKey ?? cluster.app.key, {
    wsHost: '127.0.0.1',
    wsPort: cluster.httpPort(i),
    forceTLS: false,
    enabledTransports: ['ws'],
    cluster: 'mt1',
    disableStats: true,
    ...opts,
  });
  open.add({ close: () => client.disconnect() });
  return client;
}

/** A RawClient on gateway i, connection established, subscribed to name. */
export async function rawSubscriber(cluster, name, i = 1) {
  const c = await RawClient.connect(cluster.wsUrl(i));
  await c.next((m) => m.event === 'pusher:connection_established');
  await c.subscribe(name);
  return c;
}

/** A payload of exactly n bytes that says which event it is ("<i>:xxx..."). */
export function sizedPayload(i, n) {
  const head = `${i}:`;
  return head + 'x'.repeat(Math.max(0, n - head.length));
}

/** Resolves when a pusher-js client reaches the 'connected' state. */
export function connected(client, ms = DEFAULT_TIMEOUT) {
  if (client.connection.state === 'connected') return Promise.resolve(client);
  return withTimeout(
    new Promise((resolve, reject) => {
      const onChange = ({ current }) => {
        if (current === 'connected') {
          client.connection.unbind('state_change', onChange);
          resolve(client);
        } else if (current === 'failed' || current === 'unavailable') {
          client.connection.unbind('state_change', onChange);
          reject(new Error(`pusher-js connection went to state ${current}`));
        }
      };
      client.connection.bind('state_change', onChange);
    }),
    ms,
    'pusher-js to connect',
  );
}

/** Subscribes and resolves with the channel once subscription_succeeded arrived. */
export function subscribed(client, name, ms = DEFAULT_TIMEOUT) {
  const channel = client.subscribe(name);
  if (channel.subscribed) return Promise.resolve(channel);
  return withTimeout(
    new Promise((resolve, reject) => {
      channel.bind('pusher:subscription_succeeded', () => resolve(channel));
      channel.bind('pusher:subscription_error', (e) =>
        reject(new Error(`subscription to ${name} failed: ${JSON.stringify(e)}`)),
      );
    }),
    ms,
    `subscription_succeeded on ${name}`,
  );
}

/**
 * Starts collecting `event` on a pusher-js channel now; returns
 * {events, next(n, ms)} where next resolves with the first n events
 * (payload and metadata) collected since the call.
 */
export function collect(channel, event) {
  const events = [];
  const waiters = [];
  channel.bind(event, (data, metadata) => {
    events.push({ data, metadata });
    for (const w of [...waiters]) {
      if (events.length >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(events.slice(0, w.n));
      }
    }
  });
  return {
    events,
    next(n = 1, ms = DEFAULT_TIMEOUT) {
      if (events.length >= n) return Promise.resolve(events.slice(0, n));
      return withTimeout(
        new Promise((resolve) => waiters.push({ n, resolve })),
        ms,
        `${n} "${event}" event(s) on ${channel.name} (got ${events.length})`,
      ).catch((e) => {
        e.message += ` (got ${events.length}: ${JSON.stringify(events.map((x) => x.data)).slice(0, 500)})`;
        throw e;
      });
    },
  };
}

/** The `pusher` server SDK pointed at gateway `i`'s HTTP API. */
export function serverClient(cluster, i = 1, opts = {}) {
  return new PusherSdk({
    appId: cluster.app.id,
    key: cluster.app.key,
    secret: cluster.app.secret,
    host: '127.0.0.1',
    port: String(cluster.httpPort(i)),
    useTLS: false,
    ...opts,
  });
}

/**
 * A raw WebSocket client that records every message. Text frames are parsed
 * as JSON (non-JSON frames are kept as {raw}). next(pred) consumes messages
 * in order: each call starts after the last message it returned.
 */
export class RawClient {
  constructor(url, opts = {}) {
    this.url = url;
    this.messages = [];
    this.cursor = 0;
    this.waiters = [];
    this.ws = new WebSocket(url, { maxPayload: 8 * 1024 * 1024, ...opts });
    this.closeInfo = null;
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
      this.ws.once('close', (code) => reject(new Error(`closed (${code}) before opening`)));
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this.wake();
      });
    });
    this.ws.on('error', (e) => {
      this.error = e;
    });
    this.ws.on('message', (data, isBinary) => {
      let msg;
      const text = isBinary ? null : data.toString();
      try {
        msg = JSON.parse(text);
      } catch {
        msg = { raw: text ?? data };
      }
      this.messages.push(msg);
      this.wake();
    });
    open.add(this);
  }

  /** Connects and resolves once the socket is open. */
  static async connect(url, opts = {}, ms = DEFAULT_TIMEOUT) {
    const c = new RawClient(url, opts);
    await withTimeout(c.opened, ms, `WebSocket open to ${url}`);
    return c;
  }

  /** Connects and resolves with {client, socketId, activityTimeout} after connection_established. */
  static async established(url, ms = DEFAULT_TIMEOUT) {
    const client = await RawClient.connect(url, {}, ms);
    const msg = await client.next((m) => m.event === 'pusher:connection_established', ms);
    const data = JSON.parse(msg.data);
    return { client, socketId: data.socket_id, activityTimeout: data.activity_timeout, message: msg };
  }

  wake() {
    for (const w of [...this.waiters]) w();
  }

  send(obj) {
    this.ws.send(JSON.stringify(obj));
  }

  sendRaw(data) {
    this.ws.send(data);
  }

  /** Resolves with the next message (after the cursor) matching pred; moves the cursor past it. */
  next(pred = () => true, ms = DEFAULT_TIMEOUT, what = 'a matching message') {
    const find = () => {
      for (let i = this.cursor; i < this.messages.length; i++) {
        if (pred(this.messages[i])) {
          this.cursor = i + 1;
          return { found: this.messages[i] };
        }
      }
      return null;
    };
    const hit = find();
    if (hit) return Promise.resolve(hit.found);
    return withTimeout(
      new Promise((resolve, reject) => {
        const w = () => {
          const h = find();
          if (h) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            resolve(h.found);
          } else if (this.closeInfo) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            reject(new Error(`socket closed (${this.closeInfo.code} ${this.closeInfo.reason}) while waiting for ${what}`));
          }
        };
        this.waiters.push(w);
        w();
      }),
      ms,
      `${what} on ${this.url} (received: ${JSON.stringify(this.messages.slice(this.cursor)).slice(0, 600)})`,
    );
  }

  /** Next message with this event name (optionally on this channel). */
  nextEvent(event, channel, ms = DEFAULT_TIMEOUT) {
    return this.next(
      (m) => m.event === event && (channel === undefined || m.channel === channel),
      ms,
      `event "${event}"${channel ? ` on ${channel}` : ''}`,
    );
  }

  /** Resolves with the next n messages with this event name on this channel. */
  async nextEvents(event, channel, n, ms = DEFAULT_TIMEOUT) {
    const deadline = Date.now() + ms;
    const out = [];
    for (let k = 0; k < n; k++) {
      out.push(await this.nextEvent(event, channel, Math.max(1, deadline - Date.now())));
    }
    return out;
  }

  /** Subscribes and resolves with subscription_succeeded (rejects on subscription_error). */
  async subscribe(channel, ms = DEFAULT_TIMEOUT) {
    this.send({ event: 'pusher:subscribe', data: { channel } });
    const m = await this.next(
      (x) =>
        x.channel === channel &&
        (x.event === 'pusher_internal:subscription_succeeded' || x.event === 'pusher:subscription_error'),
      ms,
      `subscription reply for ${channel}`,
    );
    if (m.event !== 'pusher_internal:subscription_succeeded') {
      throw new Error(`subscribe ${channel}: ${JSON.stringify(m)}`);
    }
    return m;
  }

  /** Resolves with {code, reason} when the server closes the socket. */
  waitClose(ms = DEFAULT_TIMEOUT) {
    return withTimeout(this.closed, ms, `close of ${this.url}`);
  }

  close() {
    try {
      this.ws.terminate();
    } catch {}
  }
}

/** Closes every client made through this module. */
export function closeAll() {
  for (const c of open) {
    try {
      c.close();
    } catch {}
  }
  open.clear();
}

/**
 * Signs an HTTP API request the way the Pusher SDKs do and returns the
 * query string. query: extra params; body: string or undefined.
 * timestamp: unix seconds (default now).
 */
export function signQuery({ method, path, key, secret, body, timestamp, query = {} }) {
  const params = {
    auth_key: key,
    auth_timestamp: String(timestamp ?? Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    ...query,
  };
  if (body !== undefined && body !== '') {
    params.body_md5 = crypto.createHash('md5').update(body).digest('hex');
  }
  const sorted = Object.keys(params)
    .map((k) => [k.toLowerCase(), params[k]])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const signature = crypto.createHmac('sha256', secret).update(`${method}\n${path}\n${sorted}`).digest('hex');
  return `${sorted}&auth_signature=${signature}`;
}

/**
 * Sends a signed (or, with sign:false, unsigned) request to gateway i.
 * Resolves with {status, body (parsed JSON or null), text}.
 */
export async function apiRequest(cluster, i, { method = 'POST', path, body, sign = true, ...signOpts }) {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const qs = sign
    ? signQuery({ method, path, key: cluster.app.key, secret: cluster.app.secret, body: text, ...signOpts })
    : '';
  const url = `http://127.0.0.1:${cluster.httpPort(i)}${path}${qs ? `?${qs}` : ''}`;
  const res = await withTimeout(
    fetch(url, { method, body: text, headers: text === undefined ? {} : { 'content-type': 'application/json' } }),
    DEFAULT_TIMEOUT,
    `${method} ${path}`,
  );
  const resText = await res.text();
  let parsed = null;
  try {
    parsed = JSON.parse(resText);
  } catch {}
  return { status: res.status, body: parsed, text: resText };
}

/** A channel name unique to this process and call. */
let counter = 0;
export function uniqueChannel(prefix = 'test') {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}
