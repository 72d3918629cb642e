// Child process of lib/tls.mjs (TlsPusherChild): a real pusher-js client
// connecting with forceTLS (wss://127.0.0.1:PORT); the parent starts it
// with NODE_EXTRA_CA_CERTS pointing at the test CA.
// argv: <app key> <port>
// stdout, one JSON object per line:
//   {"type":"state","current":...,"socket_id":...}  every state change
//   {"type":"subscribed","channel":...}
//   {"type":"event","channel":...,"event":...,"data":...}
//   {"type":"status","state":...,"socket_id":...}   answer to {"cmd":"status"}
// stdin, one JSON object per line: {"cmd":"subscribe","channel":...,"event":...},
//   {"cmd":"status"}, {"cmd":"exit"}.
import readline from 'node:readline';
import PusherJsModule from 'pusher-js';

const PusherJs = PusherJsModule.default ?? PusherJsModule;
const [key, port] = process.argv.slice(2);
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

const client = new PusherJs(key, {
  wsHost: '127.0.0.1',
  wssPort: Number(port),
  forceTLS: true,
  enabledTransports: ['ws'],
  cluster: 'mt1',
  disableStats: true,
});
client.connection.bind('state_change', ({ current }) => out({ type: 'state', current, socket_id: client.connection.socket_id }));
client.connection.bind('error', (e) => out({ type: 'error', error: String(e?.error?.data?.message ?? e?.type ?? e) }));

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line);
  if (m.cmd === 'subscribe') {
    const ch = client.subscribe(m.channel);
    ch.bind('pusher:subscription_succeeded', () => out({ type: 'subscribed', channel: m.channel }));
    ch.bind(m.event, (data) => out({ type: 'event', channel: m.channel, event: m.event, data }));
  } else if (m.cmd === 'status') {
    out({ type: 'status', state: client.connection.state, socket_id: client.connection.socket_id });
  } else if (m.cmd === 'exit') {
    client.disconnect();
    process.exit(0);
  }
});
process.stdin.on('end', () => {
  client.disconnect();
  process.exit(0);
});
