// Unit tests for herald-recovery against a fake pusher-js (the parts the
// plugin touches: send_event, unsubscribe, connection state changes and
// the transport's raw messages). The end-to-end test with the real
// pusher-js is tests/integration/test/13-client-plugin.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withRecovery } from '../index.mjs';

class Emitter {
  constructor() {
    this.handlers = new Map();
  }
  bind(event, cb) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(cb);
  }
  unbind(event, cb) {
    this.handlers.get(event)?.delete(cb);
  }
  emit(event, arg) {
    for (const cb of this.handlers.get(event) ?? []) cb(arg);
  }
}

function fakePusher() {
  const connection = new Emitter();
  const pusher = {
    sent: [],
    connection,
    send_event(name, data, channel) {
      this.sent.push({ name, data, channel });
      return true;
    },
    unsubscribe(name) {
      this.sent.push({ name: 'pusher:unsubscribe', data: { channel: name } });
    },
    // A new connection (first connect or reconnect): new transport.
    connect() {
      connection.connection = { transport: new Emitter() };
      connection.emit('state_change', { previous: 'connecting', current: 'connected' });
    },
    frame(obj) {
      connection.connection.transport.emit('message', { data: JSON.stringify(obj) });
    },
  };
  return pusher;
}

const subscribe = (p, channel) => p.send_event('pusher:subscribe', { auth: '', channel });
const succeeded = (channel, data) => ({
  event: 'pusher_internal:subscription_succeeded',
  channel,
  data: JSON.stringify(data),
});

test('the first subscribe carries no since; a resubscribe carries the last id seen', () => {
  const p = fakePusher();
  const r = withRecovery(p);
  p.connect();
  subscribe(p, 'orders');
  assert.deepEqual(p.sent.at(-1).data, { auth: '', channel: 'orders' });
  p.frame({ event: 'created', channel: 'orders', data: '{}', id: 'e1:4' });
  p.frame({ event: 'created', channel: 'orders', data: '{}', id: 'e1:5' });
  p.frame({ event: 'created', channel: 'other', data: '{}', id: 'e2:9' });
  assert.equal(r.lastId('orders'), 'e1:5');
  p.connect(); // reconnect: pusher-js resubscribes
  subscribe(p, 'orders');
  assert.deepEqual(p.sent.at(-1).data, { auth: '', channel: 'orders', since: 'e1:5' });
});

test('recovered:false reports the channel and resumes from the position afterwards', () => {
  const p = fakePusher();
  const incomplete = [];
  const r = withRecovery(p, { onIncomplete: (i) => incomplete.push(i) });
  const recovered = [];
  r.on('recovered', (i) => recovered.push(i));
  p.connect();
  subscribe(p, 'a');
  p.frame({ event: 'x', channel: 'a', data: '{}', id: 'e1:2' });
  p.connect();
  subscribe(p, 'a');
  p.frame(succeeded('a', { recovered: false, position: 'e2:7' }));
  assert.deepEqual(incomplete, [{ channel: 'a', since: 'e1:2', position: 'e2:7' }]);
  assert.equal(r.lastId('a'), 'e2:7');
  p.connect();
  subscribe(p, 'a');
  assert.equal(p.sent.at(-1).data.since, 'e2:7');
  p.frame(succeeded('a', { recovered: true, position: 'e2:9' }));
  assert.deepEqual(recovered, [{ channel: 'a', since: 'e2:7', position: 'e2:9' }]);
  assert.equal(incomplete.length, 1);
});

test('protocol frames do not move the position; unsubscribe forgets it; detach restores pusher', () => {
  const p = fakePusher();
  const original = p.send_event;
  const r = withRecovery(p);
  p.connect();
  subscribe(p, 'a');
  p.frame({ event: 'x', channel: 'a', data: '{}', id: 'e:1' });
  p.frame({ event: 'pusher:cache_miss', channel: 'a' });
  p.frame({ event: 'x', channel: 'a', data: '{}' }); // no id: a server without history
  assert.equal(r.lastId('a'), 'e:1');
  p.unsubscribe('a');
  assert.equal(r.lastId('a'), undefined);
  subscribe(p, 'a');
  assert.equal(p.sent.at(-1).data.since, undefined);
  r.detach();
  assert.equal(p.send_event, original);
});

test('an explicit since or rewind from the app is left alone', () => {
  const p = fakePusher();
  withRecovery(p);
  p.connect();
  p.frame({ event: 'x', channel: 'a', data: '{}', id: 'e:3' });
  p.send_event('pusher:subscribe', { channel: 'a', rewind: 5 });
  assert.deepEqual(p.sent.at(-1).data, { channel: 'a', rewind: 5 });
});
