// 12 history API: GET /apps/{id}/channels/{name}/history, signed like the
// rest of the HTTP API, newest-first and oldest-first, paged with since.
// Ports: portsFor(12).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, portsFor } from '../lib/cluster.mjs';
import { apiRequest, serverClient, closeAll, uniqueChannel } from '../lib/clients.mjs';

after(closeAll);

describe('HTTP history API', () => {
  const cluster = useCluster({ gateways: 1, brokers: 1, ...portsFor(12, 0) });
  const history = (channel, query = {}, opts = {}) =>
    apiRequest(cluster, 1, {
      method: 'GET',
      path: `/apps/${cluster.app.id}/channels/${channel}/history`,
      query,
      ...opts,
    });

  test('newest first by default, oldest first with direction=forward, paged with since/next', async () => {
    const ch = uniqueChannel('hist');
    const sdk = serverClient(cluster, 1);
    for (let n = 0; n < 7; n++) assert.equal((await sdk.trigger(ch, 'num', { n })).status, 200);
    const back = await history(ch, { limit: '3' });
    assert.equal(back.status, 200, back.text);
    assert.deepEqual(back.body.items.map((i) => JSON.parse(i.data).n), [6, 5, 4]);
    assert.equal(back.body.items[0].event, 'num');
    assert.match(back.body.position, /^[0-9a-f]+:7$/);
    const epoch = back.body.position.split(':')[0];
    assert.equal(back.body.items[0].id, `${epoch}:7`);

    const page1 = await history(ch, { direction: 'forward', limit: '4' });
    assert.equal(page1.status, 200, page1.text);
    assert.deepEqual(page1.body.items.map((i) => JSON.parse(i.data).n), [0, 1, 2, 3]);
    assert.equal(page1.body.next, `${epoch}:4`);
    const page2 = await history(ch, { direction: 'forward', limit: '4', since: page1.body.next });
    assert.deepEqual(page2.body.items.map((i) => JSON.parse(i.data).n), [4, 5, 6]);
    assert.equal(page2.body.next, undefined, 'the last page has no next');

    const after5 = await history(ch, { since: `${epoch}:5` });
    assert.deepEqual(after5.body.items.map((i) => i.id), [`${epoch}:7`, `${epoch}:6`]);
  });

  test('an empty channel, a bad parameter, a wrong signature and a wrong method', async () => {
    const ch = uniqueChannel('empty');
    const empty = await history(ch);
    assert.equal(empty.status, 200, empty.text);
    assert.deepEqual(empty.body.items, []);
    assert.equal((await history(ch, { limit: '0' })).status, 400);
    assert.equal((await history(ch, { direction: 'sideways' })).status, 400);
    assert.equal((await history(ch, { since: 'nonsense' })).status, 400);
    const unsigned = await history(ch, {}, { sign: false });
    assert.equal(unsigned.status, 401, unsigned.text);
    const wrong = await apiRequest(cluster, 1, {
      method: 'GET',
      path: `/apps/${cluster.app.id}/channels/${ch}/history`,
      secret: 'not-the-secret',
    });
    assert.equal(wrong.status, 401);
    const post = await apiRequest(cluster, 1, { method: 'POST', path: `/apps/${cluster.app.id}/channels/${ch}/history`, body: {} });
    assert.equal(post.status, 405);
  });
});
