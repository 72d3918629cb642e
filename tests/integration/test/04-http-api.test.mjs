// 04 HTTP API: signatures, limits and error answers of POST events and
// batch_events (PROTOCOL.md §5, §8). Negative cases are signed by hand with
// node:crypto. One gateway, one broker.
// Ports: portsFor(4).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { RawClient, serverClient, apiRequest, signQuery, closeAll, uniqueChannel, eventually } from '../lib/clients.mjs';

after(closeAll);

/** Asserts status and a JSON body {"error": "<non-empty string>"}; returns the error text. */
function assertError(res, status, pattern) {
  assert.equal(res.status, status, `status ${status} expected, got ${res.status}: ${res.text}`);
  assert.ok(res.body && typeof res.body.error === 'string' && res.body.error.length > 0, `body has an "error" string: ${res.text}`);
  if (pattern) assert.match(res.body.error, pattern, `error says what was wrong: ${res.body.error}`);
  return res.body.error;
}

describe('HTTP API', () => {
  const cluster = useCluster({ gateways: 1, brokers: 1, ...portsFor(4, 0) });
  const eventsPath = () => `/apps/${cluster.app.id}/events`;
  const batchPath = () => `/apps/${cluster.app.id}/batch_events`;
  const event = (extra = {}) => ({ name: 'ev', channel: uniqueChannel('api'), data: '{"a":1}', ...extra });

  test('GET / -> 200', async () => {
    const res = await fetch(`http://127.0.0.1:${cluster.httpPort(1)}/`);
    assert.equal(res.status, 200);
    await res.text();
  });

  test('signed POST events (hand-signed) -> 200 {}', async () => {
    const res = await apiRequest(cluster, 1, { path: eventsPath(), body: event() });
    assert.equal(res.status, 200, res.text);
    assert.equal(typeof res.body, 'object');
  });

  test('the pusher SDK trigger and triggerBatch -> 200', async () => {
    const sdk = serverClient(cluster, 1);
    assert.equal((await sdk.trigger(uniqueChannel('sdk'), 'ev', { x: 1 })).status, 200);
    const res = await sdk.triggerBatch([{ channel: uniqueChannel('sdk'), name: 'ev', data: '{}' }]);
    assert.equal(res.status, 200);
  });

  test('bad signature -> 401', async () => {
    const res = await apiRequest(cluster, 1, { path: eventsPath(), body: event(), secret: 'not-the-secret' });
    assertError(res, 401);
  });

  test('missing auth parameters -> 401', async () => {
    const res = await apiRequest(cluster, 1, { path: eventsPath(), body: event(), sign: false });
    assertError(res, 401);
  });

  test('stale auth_timestamp (1000 s old) -> 401', async () => {
    const res = await apiRequest(cluster, 1, {
      path: eventsPath(),
      body: event(),
      timestamp: Math.floor(Date.now() / 1000) - 1000,
    });
    assertError(res, 401, /time|stale|expired|old/i);
  });

  test('body_md5 that does not match the body -> 401', async () => {
    const body = JSON.stringify(event());
    assert.ok(body.includes('"name":"ev"'));
    // Sign for one body, send another of the same length.
    const qs = signQuery({
      method: 'POST',
      path: eventsPath(),
      key: cluster.app.key,
      secret: cluster.app.secret,
      body,
    });
    const res = await fetch(`http://127.0.0.1:${cluster.httpPort(1)}${eventsPath()}?${qs}`, {
      method: 'POST',
      body: body.replace('"name":"ev"', '"name":"ew"'),
      headers: { 'content-type': 'application/json' },
    });
    const text = await res.text();
    assertError({ status: res.status, text, body: JSON.parse(text || 'null') }, 401);
  });

  test('unknown app id -> 404', async () => {
    const res = await apiRequest(cluster, 1, { path: '/apps/no-such-app/events', body: event() });
    assertError(res, 404);
  });

  test('data over 10 KB -> 413', async () => {
    const res = await apiRequest(cluster, 1, { path: eventsPath(), body: event({ data: 'x'.repeat(10 * 1024 + 1) }) });
    assertError(res, 413);
  });

  test('101 channels -> 400', async () => {
    const channels = Array.from({ length: 101 }, (_, k) => `c${k}`);
    const res = await apiRequest(cluster, 1, { path: eventsPath(), body: { name: 'ev', data: '{}', channels } });
    assertError(res, 400, /channel/i);
  });

  test('100 channels -> 200', async () => {
    const channels = Array.from({ length: 100 }, (_, k) => `${uniqueChannel('hundred')}-${k}`);
    const res = await apiRequest(cluster, 1, { path: eventsPath(), body: { name: 'ev', data: '{}', channels } });
    assert.equal(res.status, 200, res.text);
  });

  test('batch of 11 events -> 400', async () => {
    const batch = Array.from({ length: 11 }, () => event());
    const res = await apiRequest(cluster, 1, { path: batchPath(), body: { batch } });
    assertError(res, 400, /batch|10|many/i);
  });

  test('malformed JSON body -> 400', async () => {
    const res = await apiRequest(cluster, 1, { path: eventsPath(), body: '{"name":"ev","data":' });
    assertError(res, 400, /json|body|parse/i);
  });

  test('missing name or channels -> 400', async () => {
    assertError(await apiRequest(cluster, 1, { path: eventsPath(), body: { data: '{}', channel: 'c' } }), 400);
    assertError(await apiRequest(cluster, 1, { path: eventsPath(), body: { name: 'ev', data: '{}' } }), 400);
  });

  test('invalid channel name in a trigger -> 400', async () => {
    const res = await apiRequest(cluster, 1, { path: eventsPath(), body: event({ channel: 'bad name!' }) });
    assertError(res, 400);
  });

  test('unknown path under the app -> 404', async () => {
    const res = await apiRequest(cluster, 1, { path: `/apps/${cluster.app.id}/no-such-thing`, body: {} });
    assertError(res, 404);
  });

  test('a triggered event reaches a subscriber (hand-signed request)', async () => {
    const channel = uniqueChannel('hand');
    const { client } = await RawClient.established(cluster.wsUrl(1));
    await client.subscribe(channel);
    const res = await apiRequest(cluster, 1, { path: eventsPath(), body: { name: 'hand', channel, data: 'payload' } });
    assert.equal(res.status, 200, res.text);
    const m = await client.nextEvent('hand', channel);
    assert.equal(m.data, 'payload');
    client.close();
  });

  // (no broker to stop in scripts/test's embedded pass)
  test('no broker reachable -> 503 with an error; 200 again once the broker is back', { skip: cluster.brokers === 0 }, async () => {
    const since = cluster.mark();
    cluster.control('stop broker-1');
    await cluster.waitForLine(/^broker-1 stopped$/, { since });
    const res = await apiRequest(cluster, 1, { path: eventsPath(), body: event() });
    assertError(res, 503);
    await cluster.restart('broker-1');
    // The link is up again (restart waits for it) but its hello may still be
    // in flight: retry until a publish is acknowledged.
    await eventually(
      async () => {
        const r = await apiRequest(cluster, 1, { path: eventsPath(), body: event() });
        assert.equal(r.status, 200, r.text);
      },
      { what: 'a 200 from POST events after broker-1 restarted' },
    );
  });
});
