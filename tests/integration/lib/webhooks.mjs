// A webhook receiver for the webhook tests (36-38): a node HTTP server on
// 127.0.0.1 that records every request Herald sends and checks it with the
// real `pusher` SDK (pusher.webhook(request): isValid(), getEvents()), as an
// application's webhook endpoint would. answer(req) picks each answer's
// status (default 200), so a test can make the receiver fail on purpose.
import http from 'node:http';
import PusherSdkModule from 'pusher';
import { eventually } from './clients.mjs';

const PusherSdk = PusherSdkModule.default ?? PusherSdkModule;

export class Receiver {
  /** @param {number} port  @param {{id,key,secret}} app */
  constructor(port, app) {
    this.port = port;
    this.sdk = new PusherSdk({ appId: app.id, key: app.key, secret: app.secret });
    this.requests = []; // {path, headers, rawBody, status, valid, events, timeMs}
    this.answer = () => 200;
  }

  start() {
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const wh = this.sdk.webhook({ headers: req.headers, rawBody });
        const valid = wh.isValid();
        const rec = {
          path: req.url,
          headers: req.headers,
          rawBody,
          valid,
          events: valid ? wh.getEvents() : [],
          timeMs: valid ? wh.getTime().getTime() : 0,
        };
        rec.status = this.answer(rec);
        this.requests.push(rec);
        res.writeHead(rec.status, { 'content-type': 'text/plain' });
        res.end(rec.status < 300 ? 'ok' : 'no');
      });
    });
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', resolve);
    });
  }

  stop() {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Events of the requests answered 2xx (what the app accepted), in
   * order; path: only requests to that path. */
  accepted(pred = () => true, path = null) {
    return this.requests
      .filter((r) => r.status < 300 && (path === null || r.path === path))
      .flatMap((r) => r.events)
      .filter(pred);
  }

  /** Events on one channel, accepted, as "name" or "name:user_id". */
  on(channel, path = null) {
    return this.accepted((e) => e.channel === channel, path).map((e) => (e.user_id ? `${e.name}:${e.user_id}` : e.name));
  }

  /** Waits (bounded polling) until pred(this) holds. */
  until(pred, what, timeout) {
    return eventually(
      async () => {
        if (!(await pred(this))) throw new Error('not yet');
      },
      { what, ...(timeout ? { timeout } : {}) },
    );
  }
}
