// The Socket.IO peer for the benchmarks: one node of a Socket.IO 4.8
// cluster (run two, as tests/load/peers/run does), joined through Redis by
// @socket.io/redis-streams-adapter over node-redis, with connection state
// recovery on. A client joins a room by emitting "join" (answered with
// "joined"); POST /broadcast {"room","event","data"} does
// io.to(room).emit(event, data) and answers {} once handed to the adapter.
// It owns nothing else: no auth, no persistence. Started by peers/run;
// measured by herald-load (--proto socketio --broadcast).
//
// Usage: node socketio-server.mjs --port P --redis-port R
import http from 'node:http';
import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '3001' },
    'redis-port': { type: 'string', default: '6379' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

const redis = createClient({ url: `redis://127.0.0.1:${values['redis-port']}` });
redis.on('error', (err) => console.error('redis:', err.message));
await redis.connect();

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/broadcast') {
    if (!req.url.startsWith('/socket.io/')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    }
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let msg;
    try {
      msg = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad json"}');
      return;
    }
    if (typeof msg.room !== 'string' || typeof msg.event !== 'string') {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"room and event"}');
      return;
    }
    io.to(msg.room).emit(msg.event, msg.data);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});

const io = new Server(server, {
  adapter: createAdapter(redis),
  connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000 },
  cors: { origin: '*' },
});

io.on('connection', (socket) => {
  socket.on('join', (room) => {
    if (typeof room !== 'string') return;
    socket.join(room);
    socket.emit('joined', room);
  });
});

server.listen(Number(values.port), values.host, () => {
  console.log(`socketio-server listening on ${values.host}:${values.port}`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    io.close();
    redis.quit().catch(() => {}).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
