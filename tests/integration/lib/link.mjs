// The gateway <-> broker link, spoken by hand for the hostile-peer tests
// (46-hostile-peers): a 4-byte big-endian length, then a protobuf
// herald.Frame (proto/herald.proto). Encodes just the fields the tests need,
// a FakeBroker (a TCP server a gateway links to) and a FakeGateway (a TCP
// client of a real broker); both can send any bytes at all.
import net from 'node:net';
import { withTimeout, DEFAULT_TIMEOUT } from './clients.mjs';

export const FRAME_MAX = 4 * 1024 * 1024;

/** Protobuf varint of a number or BigInt (uint64). */
export function varint(v) {
  let n = BigInt(v);
  const out = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Buffer.from(out);
}

/** One field: fieldNo with a number/BigInt (varint) or a string/Buffer/array-of-fields (bytes). */
export function field(no, value) {
  if (typeof value === 'number' || typeof value === 'bigint') return Buffer.concat([varint((no << 3) | 0), varint(value)]);
  const body = Array.isArray(value) ? msg(value) : Buffer.from(value);
  return Buffer.concat([varint((no << 3) | 2), varint(body.length), body]);
}

/** A message from [fieldNo, value] pairs (undefined values are left out). */
export function msg(fields) {
  return Buffer.concat(fields.filter(([, v]) => v !== undefined).map(([no, v]) => field(no, v)));
}

/** A length-prefixed frame around an encoded herald.Frame (or any bytes). */
export function framed(payload) {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(payload.length);
  return Buffer.concat([h, payload]);
}

// herald.Frame oneof field numbers.
export const F = {
  hello: 1, subscribe: 2, unsubscribe: 3, publish: 4, publishAck: 5, event: 6, ping: 7, pong: 8,
  replayRequest: 10, replayResponse: 11, resync: 12, clusterCall: 30, clusterReply: 31,
};

/** A framed herald.Frame with one case set: frame('ping', [[1, 42]]). */
export function frame(kind, fields) {
  return framed(field(F[kind], fields));
}

/** Splits a byte stream into frames; each payload is passed to onFrame. */
class Deframer {
  constructor(onFrame) {
    this.buf = Buffer.alloc(0);
    this.onFrame = onFrame;
  }

  push(chunk) {
    this.buf = Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 4) {
      const n = this.buf.readUInt32BE(0);
      if (this.buf.length < 4 + n) break;
      const p = this.buf.subarray(4, 4 + n);
      this.buf = this.buf.subarray(4 + n);
      this.onFrame(p);
    }
  }
}

/** Decodes the top level of a message: [{no, wire, value (BigInt or Buffer)}]. */
export function decode(buf) {
  const out = [];
  let i = 0;
  const readVarint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(readVarint());
    const no = key >> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, value: readVarint() });
    else if (wire === 2) {
      const n = Number(readVarint());
      out.push({ no, wire, value: buf.subarray(i, i + n) });
      i += n;
    } else throw new Error(`wire type ${wire} not handled`);
  }
  return out;
}

/**
 * One TCP link (either side): records decoded frames, answers pings, and
 * lets the test send anything. `closed` resolves when the peer closes it.
 */
export class LinkConn {
  constructor(sock) {
    this.sock = sock;
    this.frames = []; // [{kind (field no), body}]
    this.waiters = [];
    this.answerPings = true;
    this.closed = new Promise((r) => sock.on('close', r));
    sock.on('error', () => {});
    const d = new Deframer((p) => this.onFrame(p));
    sock.on('data', (c) => d.push(c));
  }

  onFrame(p) {
    const [top] = decode(p);
    if (!top) return;
    if (top.no === F.ping && this.answerPings) this.write(framed(field(F.pong, top.value)));
    const f = { kind: top.no, body: top.value };
    this.frames.push(f);
    for (const w of [...this.waiters]) {
      if (w.pred(f)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(f);
      }
    }
  }

  /** Resolves with the first frame (already received or to come) matching pred. */
  next(pred, ms = DEFAULT_TIMEOUT, what = 'a link frame') {
    const have = this.frames.find(pred);
    if (have) return Promise.resolve(have);
    return withTimeout(new Promise((resolve) => this.waiters.push({ pred, resolve })), ms, what);
  }

  write(bytes) {
    if (!this.sock.destroyed) this.sock.write(bytes);
  }

  /** Sends a Ping and resolves when its Pong comes back: the peer still reads this link, in order. */
  async roundTrip(nonce, ms = DEFAULT_TIMEOUT) {
    this.write(frame('ping', [[1, nonce]]));
    await this.next(
      (f) => f.kind === F.pong && decode(f.body).some((x) => x.no === 1 && x.value === BigInt(nonce)),
      ms,
      `the pong for nonce ${nonce}`,
    );
  }

  /** Resolves when the peer closed this link; rejects after ms. */
  waitClosed(ms = DEFAULT_TIMEOUT, what = 'the peer to close the link') {
    return withTimeout(this.closed, ms, what);
  }

  destroy() {
    this.sock.destroy();
  }
}

/** A TCP server a gateway links to as if it were a broker. */
export class FakeBroker {
  constructor(port, nodeId = 'fake-broker') {
    this.port = port;
    this.nodeId = nodeId;
    this.conns = [];
    this.waiters = [];
    this.sayHello = true;
  }

  get addr() {
    return `127.0.0.1:${this.port}`;
  }

  async listen() {
    this.server = net.createServer((sock) => {
      const c = new LinkConn(sock);
      if (this.sayHello) c.write(frame('hello', [[1, this.nodeId], [2, 1]]));
      this.conns.push(c);
      for (const w of this.waiters.splice(0)) w(c);
    });
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', resolve);
    });
    return this;
  }

  /** Resolves with the first connection accepted after `since` (an index into conns). */
  connection(since = this.conns.length, ms = 15000) {
    if (this.conns.length > since) return Promise.resolve(this.conns[since]);
    return withTimeout(
      new Promise((resolve) => this.waiters.push(resolve)),
      ms,
      `a gateway to link to the fake broker on ${this.port}`,
    );
  }

  /**
   * The link once the gateway's Hello arrived on it: the first one accepted
   * after index `since`, or by default the latest (or first to come).
   */
  async linked(since = Math.max(0, this.conns.length - 1), ms) {
    const c = await this.connection(since, ms);
    await c.next((f) => f.kind === F.hello, ms, 'the gateway Hello');
    return c;
  }

  close() {
    for (const c of this.conns) c.destroy();
    return new Promise((r) => (this.server ? this.server.close(r) : r()));
  }
}

/** A TCP client of a real broker, speaking as a gateway (or not). */
export async function fakeGateway(port, { hello = true, nodeId = 'fake-gateway' } = {}) {
  const sock = net.connect(port, '127.0.0.1');
  await withTimeout(
    new Promise((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    }),
    DEFAULT_TIMEOUT,
    `a TCP connection to the broker on ${port}`,
  );
  const c = new LinkConn(sock);
  if (hello) {
    c.write(frame('hello', [[1, nodeId], [2, 1]]));
    await c.next((f) => f.kind === F.hello, DEFAULT_TIMEOUT, 'the broker Hello');
  }
  return c;
}
