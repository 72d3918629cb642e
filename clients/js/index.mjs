// herald-recovery: gap-free resume for a pusher-js client on Herald.
//
// Owns, per channel, the id ("<epoch>:<offset>") of the last event the
// client received, and adds it as "since" to every pusher:subscribe that
// pusher-js sends for that channel (on subscribe, and on every reconnect,
// when pusher-js resubscribes by itself), so Herald replays what was missed
// before going live again. It reports when the server could not recover
// (history trimmed, expired or another epoch): the app should reload its
// state then. It does not change pusher-js's API or its event callbacks;
// it reads the raw frames (pusher-js drops the "id" field when it parses
// them) through the connection's transport, and wraps pusher.send_event and
// pusher.unsubscribe. See docs/recovery.md.

/**
 * Wraps a pusher-js instance (before or after it connected).
 * @param {object} pusher  a pusher-js Pusher instance
 * @param {object} [opts]
 * @param {(info: {channel: string, since: string|null, position: string|null}) => void} [opts.onIncomplete]
 *        called when a resume could not be completed
 * @returns {{lastId(channel: string): string|undefined, on(event: string, cb: Function): void,
 *            off(event: string, cb: Function): void, detach(): void}}
 */
export function withRecovery(pusher, opts = {}) {
  const last = new Map(); // channel -> last id received
  const asked = new Map(); // channel -> since sent with the pending subscribe
  const listeners = { incomplete: new Set(), recovered: new Set() };
  if (opts.onIncomplete) listeners.incomplete.add(opts.onIncomplete);
  const emit = (event, info) => {
    for (const cb of listeners[event]) cb(info);
  };

  const onRaw = (messageEvent) => {
    let msg;
    try {
      msg = JSON.parse(typeof messageEvent === 'string' ? messageEvent : messageEvent.data);
    } catch {
      return;
    }
    if (!msg || typeof msg.channel !== 'string') return;
    if (msg.event === 'pusher_internal:subscription_succeeded') {
      onSucceeded(msg);
    } else if (typeof msg.id === 'string' && !msg.event.startsWith('pusher')) {
      last.set(msg.channel, msg.id);
    }
  };

  const onSucceeded = (msg) => {
    if (!asked.has(msg.channel)) return;
    const since = asked.get(msg.channel);
    asked.delete(msg.channel);
    let data = msg.data;
    try {
      if (typeof data === 'string') data = JSON.parse(data);
    } catch {
      data = {};
    }
    const info = { channel: msg.channel, since, position: data?.position ?? null };
    if (data?.recovered === false) {
      // Nothing was replayed: resume from the present from now on.
      if (info.position) last.set(msg.channel, info.position);
      else last.delete(msg.channel);
      emit('incomplete', info);
    } else if (data?.recovered === true) {
      emit('recovered', info);
    } else {
      emit('incomplete', info); // a server that does not know "since"
    }
  };

  // Listen on every transport pusher-js connects with.
  let hooked = null;
  const hook = () => {
    const transport = pusher.connection?.connection?.transport;
    if (!transport || transport === hooked) return;
    hooked = transport;
    transport.bind('message', onRaw);
  };
  const onState = ({ current }) => {
    if (current === 'connected') hook();
  };
  pusher.connection.bind('state_change', onState);
  hook();

  const sendEvent = pusher.send_event;
  pusher.send_event = function (name, data, channel) {
    if (name === 'pusher:subscribe' && data && typeof data.channel === 'string') {
      hook(); // subscribeAll runs on "connected" before our state listener
      const since = last.get(data.channel);
      if (since && data.since === undefined && data.rewind === undefined) {
        data = { ...data, since };
        asked.set(data.channel, since);
      }
    }
    return sendEvent.call(this, name, data, channel);
  };

  const unsubscribe = pusher.unsubscribe;
  pusher.unsubscribe = function (name) {
    last.delete(name);
    asked.delete(name);
    return unsubscribe.call(this, name);
  };

  return {
    lastId: (channel) => last.get(channel),
    on(event, cb) {
      listeners[event]?.add(cb);
    },
    off(event, cb) {
      listeners[event]?.delete(cb);
    },
    detach() {
      pusher.send_event = sendEvent;
      pusher.unsubscribe = unsubscribe;
      pusher.connection.unbind('state_change', onState);
      hooked?.unbind?.('message', onRaw);
      hooked = null;
    },
  };
}
