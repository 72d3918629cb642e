// 44 connection limits: the per-address rate of new connections
// (--max-conn-rate-per-ip / --max-conn-burst-per-ip: beyond it a WebSocket
// upgrade or an HTTP request gets 429 with a message, before any upgrade)
// and the number of HTTP API requests in progress at once
// (--max-http-concurrency: beyond it 503 with a message; /health is not
// counted). Real clients: ws (raw upgrades, to read the 429) and
// the pusher SDK. Ports: portsFor(44, 0) and portsFor(44, 1), both
// embedded gateways.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import {
  closeAll,
  serverClient,
  uniqueChannel,
  eventually,
  withTimeout,
  DEFAULT_TIMEOUT,
} from '../lib/clients.mjs';
import { scrape, sample } from '../lib/ops.mjs';

after(closeAll);

const opened = new Set();
after(() => {
  for (const ws of opened) ws.terminate();
});

/** One WebSocket upgrade: {ok: true} once open, or {ok: false, status, body}. */
function wsAttempt(url) {
  return withTimeout(
    new Promise((resolve) => {
      const ws = new WebSocket(url);
      ws.on('open', () => {
        opened.add(ws);
        resolve({ ok: true, ws });
      });
      ws.on('unexpected-response', (req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => {
          req.destroy();
          resolve({ ok: false, status: res.statusCode, body, retryAfter: res.headers['retry-after'] });
        });
      });
      ws.on('error', (e) => resolve({ ok: false, error: e.message }));
    }),
    DEFAULT_TIMEOUT,
    `a WebSocket upgrade at ${url}`,
  );
}

/** GET on a new connection (no keep-alive pool): {status, body}. */
function freshGet(port, path) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', reject);
    }),
    DEFAULT_TIMEOUT,
    `GET :${port}${path}`,
  );
}

describe('per-address connection rate', () => {
  const ports = portsFor(44, 0);
  const cluster = useCluster({
    gateways: 1,
    brokers: 0,
    ...ports,
    metricsPort: ports.port + 5,
    env: { HERALD_MAX_CONN_RATE_PER_IP: '1', HERALD_MAX_CONN_BURST_PER_IP: '5' },
  });

  test('a burst beyond the limit gets 429 with a message, on upgrades and HTTP requests alike; later connections are let in again', async () => {
    const url = cluster.wsUrl(1);
    const [wsResults, httpResults] = await Promise.all([
      Promise.all(Array.from({ length: 15 }, () => wsAttempt(url))),
      Promise.all(Array.from({ length: 10 }, () => freshGet(cluster.httpPort(1), '/health'))),
    ]);
    const okCount = wsResults.filter((r) => r.ok).length + httpResults.filter((r) => r.status === 200).length;
    const refusedWs = wsResults.filter((r) => !r.ok);
    const refusedHttp = httpResults.filter((r) => r.status !== 200);
    // (herald-local's readiness probe took a token from the burst of 5 too)
    assert.ok(okCount >= 1, `connections within the burst were let in (${okCount} were)`);
    assert.ok(refusedWs.length + refusedHttp.length >= 1, 'some of the 25 connections were refused');
    const message = /Too many new connections from your address: the limit is 1 per second \(burst 5\)/;
    for (const r of refusedWs) {
      assert.equal(r.status, 429, `a refused upgrade is answered 429 (${JSON.stringify(r)})`);
      assert.match(JSON.parse(r.body).error, message);
      assert.equal(r.retryAfter, '1');
    }
    for (const r of refusedHttp) {
      assert.equal(r.status, 429);
      assert.match(JSON.parse(r.body).error, message);
    }
    // a rate, not a ban: a connection gets in again once the bucket refills
    // (a refused attempt takes nothing from it)
    await eventually(async () => assert.ok((await wsAttempt(url)).ok), {
      timeout: 30000,
      interval: 250,
      what: 'a WebSocket let in again after the burst',
    });
    const m = await scrape(cluster, 'gateway-1');
    assert.ok(
      sample(m, 'herald_rate_limit_rejections_total', { app_id: '', kind: 'connection_per_ip' }) >=
        refusedWs.length + refusedHttp.length,
      'refusals are counted',
    );
  });
});

describe('HTTP API requests in progress', () => {
  const ports = portsFor(44, 1);
  const cluster = useCluster({
    gateways: 1,
    brokers: 0,
    ...ports,
    env: { HERALD_MAX_HTTP_CONCURRENCY: '2' },
  });
  const hanging = [];
  after(() => hanging.forEach((s) => s.destroy()));

  /** A POST whose body never comes: in progress until its socket closes
   * (or refused at once: then `answer` resolves with what came back). */
  function hangingPost() {
    const s = net.connect(cluster.httpPort(1), '127.0.0.1');
    let got = '';
    s.answer = new Promise((resolve) => {
      s.on('data', (d) => {
        got += d;
      });
      s.on('close', () => resolve(got));
    });
    s.on('error', () => {});
    s.write(
      `POST /apps/${cluster.app.id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`,
    );
    hanging.push(s);
    return s;
  }

  test('beyond the limit the API answers 503 with a message; /health still answers; freed slots are reused', async () => {
    const sdk = serverClient(cluster, 1);
    const channel = uniqueChannel('conc');
    assert.equal((await sdk.trigger(channel, 'e', { n: 0 })).status, 200);
    // four requests whose bodies never come: two are held in progress, the
    // two that came last are refused at once and closed
    const posts = [hangingPost(), hangingPost(), hangingPost(), hangingPost()];
    const answers = [];
    await withTimeout(
      new Promise((resolve) => {
        for (const p of posts) {
          p.answer.then((a) => {
            answers.push(a);
            if (answers.length === 2) resolve();
          });
        }
      }),
      DEFAULT_TIMEOUT,
      'two of four held requests to be refused',
    );
    for (const a of answers) {
      assert.match(a, /^HTTP\/1\.1 503 /);
      assert.match(a, /Too many HTTP API requests in progress on this gateway \(the limit is 2\): retry later/);
    }
    const held = posts.filter((p) => !p.destroyed && p.readyState === 'open');
    assert.equal(held.length, 2, 'two requests held in progress');
    // the SDK is refused while they are
    const err = await sdk.trigger(channel, 'e', { n: 1 }).then(
      () => null,
      (x) => x,
    );
    assert.ok(err, 'the trigger was refused');
    assert.equal(err.status, 503);
    assert.match(
      JSON.parse(err.body).error,
      /Too many HTTP API requests in progress on this gateway \(the limit is 2\): retry later/,
    );
    assert.equal((await freshGet(cluster.httpPort(1), '/health')).status, 200, '/health is not counted');
    held[0].destroy();
    await eventually(async () => assert.equal((await sdk.trigger(channel, 'e', { n: 2 })).status, 200), {
      what: 'a trigger accepted once a slot is free',
    });
  });
});
