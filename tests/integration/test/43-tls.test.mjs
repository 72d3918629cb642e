// 43 TLS at the gateway: wss:// and https:// on one port from a certificate
// and key in files (made here with the openssl CLI, signed by a test CA),
// reloaded without a restart: on SIGHUP, and when the files change
// (--tls-watch; Soketi's SSL_CERT/SSL_KEY names). A new connection gets the
// new certificate while an existing pusher-js connection stays up and keeps
// receiving events; a bad file keeps the old certificate.
// Real clients: pusher-js with forceTLS in a child process that trusts the
// test CA (NODE_EXTRA_CA_CERTS), the pusher SDK with useTLS and an https
// agent holding the CA. The second cluster also runs its gateway <-> broker
// link over TLS, verified both ways (broker certificate against the CA and
// its IP, gateway client certificate required by the broker). Ports:
// portsFor(43, 0) (SIGHUP only) and portsFor(43, 1) (TLS link, --tls-watch 1);
// an encrypted key with its pass phrase (SSL_PASSPHRASE) on portsFor(43, 0) + 7.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { useCluster, portsFor, REPO_ROOT } from '../lib/cluster.mjs';
import { serverClient, closeAll, uniqueChannel, eventually, withTimeout, DEFAULT_TIMEOUT } from '../lib/clients.mjs';
import { makeCa, makeCert, installCert, peerCert, TlsPusherChild } from '../lib/tls.mjs';

after(closeAll);

const ca = makeCa();
const certA = makeCert(ca, 'a', { cn: 'herald-a', serial: '1001' });
const certB = makeCert(ca, 'b', { cn: 'herald-b', serial: '2002' });
const certC = makeCert(ca, 'c', { cn: 'herald-c', serial: '3003' });
// the files the gateways serve from, replaced during the tests
const live = makeCert(ca, 'live', { cn: 'herald-a', serial: '1001' });
const watched = makeCert(ca, 'watched', { cn: 'herald-a', serial: '1001' });
installCert(certA, live);
installCert(certA, watched);
after(() => fs.rmSync(ca.dir, { recursive: true, force: true }));

const agent = new https.Agent({ ca: fs.readFileSync(ca.caCert) });

function tlsServer(cluster) {
  return serverClient(cluster, 1, { useTLS: true, agent });
}

describe('TLS on the gateway port, reloaded on SIGHUP', () => {
  const cluster = useCluster({
    gateways: 1,
    brokers: 1,
    ...portsFor(43, 0),
    env: { HERALD_TLS_CERT: live.cert, HERALD_TLS_KEY: live.key, HERALD_TLS_WATCH: '0' },
  });
  let child;
  after(() => child?.close());
  const channel = uniqueChannel('tls');

  test('pusher-js over wss:// receives what the pusher SDK publishes over https://', async () => {
    assert.deepEqual(await peerCert(cluster.httpPort(1), ca.caCert), { cn: 'herald-a', serial: '1001' });
    assert.ok(cluster.lines.some((l) => /^gateway-1 ready wss:\/\/127\.0\.0\.1:\d+ /.test(l)), 'herald-local announces wss://');
    child = new TlsPusherChild({ key: cluster.app.key, port: cluster.httpPort(1), caCert: ca.caCert });
    await child.wait((m) => m.type === 'state' && m.current === 'connected', 'connected over wss://');
    child.send({ cmd: 'subscribe', channel, event: 'created' });
    await child.wait((m) => m.type === 'subscribed', `subscription to ${channel}`);
    const res = await tlsServer(cluster).trigger(channel, 'created', { n: 1 });
    assert.equal(res.status, 200);
    const ev = await child.wait((m) => m.type === 'event' && m.data?.n === 1, 'event 1 over wss://');
    assert.equal(ev.channel, channel);
  });

  test('plain http:// is not served on the TLS port', async () => {
    await assert.rejects(fetch(`http://127.0.0.1:${cluster.httpPort(1)}/health`));
  });

  test('SIGHUP: a new connection gets the new certificate; the open pusher-js connection stays and receives events', async () => {
    const before = child.mark();
    child.send({ cmd: 'status' });
    const s1 = await child.wait((m) => m.type === 'status', 'status before the reload', { since: before });
    assert.equal(s1.state, 'connected');

    installCert(certB, live);
    process.kill(cluster.pid('gateway-1'), 'SIGHUP');
    await eventually(
      async () => assert.deepEqual(await peerCert(cluster.httpPort(1), ca.caCert), { cn: 'herald-b', serial: '2002' }),
      { what: 'a new TLS connection served the new certificate (CN herald-b, serial 2002)' },
    );
    assert.match(cluster.log('gateway-1'), /TLS certificate reloaded \(SIGHUP\): CN=herald-b, serial 2002/);

    // the SDK makes a new https connection, verified against the new certificate
    const res = await tlsServer(cluster).trigger(channel, 'created', { n: 2 });
    assert.equal(res.status, 200);
    await child.wait((m) => m.type === 'event' && m.data?.n === 2, 'event 2 on the connection made before the reload');
    const mark = child.mark();
    child.send({ cmd: 'status' });
    const s2 = await child.wait((m) => m.type === 'status', 'status after the reload', { since: mark });
    assert.equal(s2.state, 'connected');
    assert.equal(s2.socket_id, s1.socket_id, 'the same connection: it never reconnected');
    assert.deepEqual(
      child.msgs.slice(before).filter((m) => m.type === 'state'),
      [],
      'no connection state change across the reload',
    );
  });

  test('a bad key file keeps the current certificate', async () => {
    const goodKey = fs.readFileSync(live.key);
    fs.writeFileSync(live.key, 'not a key\n');
    try {
      process.kill(cluster.pid('gateway-1'), 'SIGHUP');
      await eventually(
        async () => assert.match(cluster.log('gateway-1'), /TLS certificate not reloaded \(SIGHUP\): no usable private key/),
        { what: 'the refused reload in the log' },
      );
      assert.deepEqual(await peerCert(cluster.httpPort(1), ca.caCert), { cn: 'herald-b', serial: '2002' });
      const res = await tlsServer(cluster).trigger(channel, 'created', { n: 3 });
      assert.equal(res.status, 200);
      await child.wait((m) => m.type === 'event' && m.data?.n === 3, 'event 3 after the refused reload');
    } finally {
      fs.writeFileSync(live.key, goodKey);
    }
  });
});

describe('TLS links between gateway and broker (mutual), gateway files watched (Soketi names)', () => {
  const brokerCert = makeCert(ca, 'broker', { cn: 'broker-1', serial: '4004' });
  const gatewayCert = makeCert(ca, 'gwclient', { cn: 'gateway-1', serial: '5005' });
  const cluster = useCluster({
    gateways: 1,
    brokers: 1,
    ...portsFor(43, 1),
    env: {
      SSL_CERT: watched.cert,
      SSL_KEY: watched.key,
      HERALD_TLS_WATCH: '1',
      HERALD_BROKER_TLS_CERT: brokerCert.cert,
      HERALD_BROKER_TLS_KEY: brokerCert.key,
      HERALD_BROKER_TLS_CLIENT_CA: ca.caCert,
      HERALD_LINK_TLS_CA: ca.caCert,
      HERALD_LINK_TLS_CERT: gatewayCert.cert,
      HERALD_LINK_TLS_KEY: gatewayCert.key,
    },
  });
  let child;
  after(() => child?.close());

  test('the link is TLS both ways verified, and events flow end to end over it', async () => {
    await eventually(
      () => {
        assert.match(cluster.log('gateway-1'), /broker link 127\.0\.0\.1:\d+: TLS verified \(TLSv1\.3 \S+, peer certificate CN=broker-1\)/);
        assert.match(cluster.log('broker-1'), /gateway link from 127\.0\.0\.1:\d+: TLS \(TLSv1\.3 \S+, peer certificate CN=gateway-1\)/);
      },
      { what: 'both ends to log the verified TLS link' },
    );
    const channel = uniqueChannel('tls-link');
    child = new TlsPusherChild({ key: cluster.app.key, port: cluster.httpPort(1), caCert: ca.caCert });
    await child.wait((m) => m.type === 'state' && m.current === 'connected', 'connected over wss://');
    child.send({ cmd: 'subscribe', channel, event: 'created' });
    await child.wait((m) => m.type === 'subscribed', `subscription to ${channel}`);
    const res = await tlsServer(cluster).trigger(channel, 'created', { n: 1 });
    assert.equal(res.status, 200, 'the broker acknowledged the publish over the TLS link');
    await child.wait((m) => m.type === 'event' && m.data?.n === 1, 'the event, through Redis and both TLS hops');
  });

  test('the broker port speaks only TLS and wants a client certificate', async () => {
    const [host, port] = cluster.brokerAddr(1).split(':');
    // a plaintext client (a Hello frame's length prefix and junk) gets no
    // protocol bytes back, only a TLS alert or nothing, and is closed
    const plain = await withTimeout(
      new Promise((resolve) => {
        const s = net.connect(Number(port), host, () => s.write(Buffer.from([0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8])));
        const got = [];
        s.on('data', (d) => got.push(d));
        s.on('error', () => {});
        s.on('close', () => resolve(Buffer.concat(got)));
      }),
      DEFAULT_TIMEOUT,
      'the broker to close a plaintext connection',
    );
    assert.ok(plain.length === 0 || plain[0] === 0x15, `only a TLS alert came back (${plain.toString('hex').slice(0, 40)})`);
    // TLS without a client certificate: refused
    const anon = await withTimeout(
      new Promise((resolve) => {
        const s = tls.connect({ host, port: Number(port), ca: fs.readFileSync(ca.caCert) });
        s.on('secureConnect', () => s.write('x'));
        s.on('data', () => {});
        s.on('error', (e) => resolve(`error: ${e.message}`));
        s.on('close', () => resolve('closed'));
      }),
      DEFAULT_TIMEOUT,
      'the broker to refuse a TLS client without a certificate',
    );
    assert.ok(anon, anon);
    assert.match(cluster.log('broker-1'), /gateway link .* closed: TLS failed/);
  });

  test('replacing the gateway\'s TLS files is enough: new connections get the new certificate', async () => {
    assert.deepEqual(await peerCert(cluster.httpPort(1), ca.caCert), { cn: 'herald-a', serial: '1001' });
    installCert(certC, watched);
    await eventually(
      async () => assert.deepEqual(await peerCert(cluster.httpPort(1), ca.caCert), { cn: 'herald-c', serial: '3003' }),
      { what: 'the watched files reloaded (CN herald-c, serial 3003)' },
    );
    assert.match(cluster.log('gateway-1'), /TLS certificate reloaded \(file changed\): CN=herald-c/);
    const res = await tlsServer(cluster).trigger(uniqueChannel('tls-watch'), 'created', { n: 1 });
    assert.equal(res.status, 200);
  });
});

// An encrypted key (Soketi's SSL_PASSPHRASE): a single embedded gateway on
// a spare port of portsFor(43, 0), started directly, served with the pass
// phrase; with a wrong one it refuses to start and says which flag to set.
describe('TLS with an encrypted key', () => {
  const port = portsFor(43, 0).port + 7;
  const enc = { cert: certA.cert, key: `${ca.dir}/enc.key` };
  execFileSync('openssl', ['pkey', '-in', certA.key, '-aes256', '-passout', 'pass:open sesame', '-out', enc.key]);
  // relative build directories are the repository root's, as in lib/cluster.mjs
  const bin = path.resolve(REPO_ROOT, process.env.HERALD_BUILD_DIR || 'build', 'gateway/herald-gateway');
  const procs = [];
  after(() => procs.forEach((p) => p.kill('SIGKILL')));

  function start(passphrase) {
    const p = spawn(bin, ['--embedded', '--host', '127.0.0.1', '--port', String(port), '--metrics-port', '0'], {
      env: { ...process.env, HERALD_DEFAULT_APP_ID: 'app-id', HERALD_DEFAULT_APP_KEY: 'app-key', HERALD_DEFAULT_APP_SECRET: 'app-secret',
        SSL_CERT: enc.cert, SSL_KEY: enc.key, SSL_PASSPHRASE: passphrase },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    procs.push(p);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const exited = new Promise((resolve) => p.on('exit', (code) => resolve(code)));
    return { p, exited, out: () => out };
  }

  test('the right pass phrase: the certificate is served', async () => {
    assert.match(fs.readFileSync(enc.key, 'utf8'), /ENCRYPTED PRIVATE KEY/);
    const g = start('open sesame');
    await eventually(async () => assert.deepEqual(await peerCert(port, ca.caCert), { cn: 'herald-a', serial: '1001' }),
      { what: 'the gateway serving TLS with the encrypted key' });
    g.p.kill('SIGTERM');
    await withTimeout(g.exited, DEFAULT_TIMEOUT, 'the gateway to stop');
  });

  test('a wrong pass phrase: it does not start, and says why', async () => {
    const g = start('wrong');
    const code = await withTimeout(g.exited, DEFAULT_TIMEOUT, 'the gateway to exit');
    assert.notEqual(code, 0);
    assert.match(g.out(), /not encrypted with the pass phrase of --tls-passphrase/);
  });
});
