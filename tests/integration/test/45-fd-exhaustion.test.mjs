// 45 running out of file descriptors: a gateway started under `ulimit -n 64`
// is sent more WebSocket connections than it has descriptors for. When
// accept() fails with EMFILE it must pause accepting (logged once, counted
// in herald_accept_fd_exhausted_total), neither spin (libwebsockets' own
// listener logs "accept: errno 24" on every loop turn) nor crash, keep
// serving the connections it has, and accept the waiting ones as soon as
// some close. The gateway runs embedded, started directly (not through
// herald-local, whose other processes would share the limit). Real client:
// ws (raw Pusher protocol). Ports: portsFor(45): gateway on port, metrics on
// port+5.
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { portsFor, REPO_ROOT, SANITIZER_PATTERNS } from '../lib/cluster.mjs';
import { RawClient, closeAll, eventually, withTimeout, DEFAULT_TIMEOUT } from '../lib/clients.mjs';
import { get, parseMetrics, sample } from '../lib/ops.mjs';

after(closeAll);

const FD_LIMIT = 64;

describe('accept paused when out of file descriptors', () => {
  const { port } = portsFor(45, 0);
  const metricsPort = port + 5;
  const buildDir = path.resolve(REPO_ROOT, process.env.HERALD_BUILD_DIR ?? 'build');
  let gw;
  let log = '';
  const logWaiters = [];
  let exited;

  function waitLog(re, what, ms = DEFAULT_TIMEOUT) {
    if (re.test(log)) return Promise.resolve();
    return withTimeout(new Promise((resolve) => logWaiters.push({ re, resolve })), ms, `${what} (log so far:\n${log.slice(-2000)})`);
  }

  before(async () => {
    gw = spawn(
      'bash',
      ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`, path.join(buildDir, 'gateway', 'herald-gateway'),
        '--embedded', '--host', '127.0.0.1', '--port', String(port), '--metrics-host', '127.0.0.1',
        '--metrics-port', String(metricsPort), '--gateway-id', 'gateway-fd'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HERALD_DRAIN_SECONDS: '0' } },
    );
    exited = new Promise((resolve) => gw.on('exit', (code, signal) => resolve({ code, signal })));
    for (const s of [gw.stdout, gw.stderr]) {
      s.setEncoding('utf8');
      s.on('data', (d) => {
        log += d;
        for (const w of [...logWaiters]) {
          if (w.re.test(log)) {
            logWaiters.splice(logWaiters.indexOf(w), 1);
            w.resolve();
          }
        }
      });
    }
    await waitLog(/herald-gateway listening on/, 'the gateway to listen');
  });

  after(async () => {
    if (gw && gw.exitCode === null && !gw.signalCode) {
      gw.kill('SIGINT');
      await withTimeout(exited, 10000, 'the gateway to exit');
    }
    // not started by herald-local: scripts/test does not scan this log
    for (const re of SANITIZER_PATTERNS) assert.doesNotMatch(log, re, 'a sanitizer report in the gateway log');
  });

  test('existing connections are served while accepts pause; waiting ones get in when some close', async () => {
    const url = `ws://127.0.0.1:${port}/app/app-key?protocol=7&client=js&version=8.4.0`;
    // more connections than descriptors, all at once: some must wait
    const attempts = Array.from({ length: FD_LIMIT + 16 }, () => new RawClient(url));
    const everOpened = new Set();
    for (const c of attempts) c.opened.then(() => everOpened.add(c), () => {});
    await waitLog(/pausing new connections/, 'the accept pause to be logged', 30000);
    // the handshakes of those accepted before the pause complete
    const open = await eventually(
      () => {
        const o = attempts.filter((c) => c.ws.readyState === 1);
        assert.ok(o.length > 10, `${o.length} open`);
        return o;
      },
      { what: 'the connections accepted before the pause to open' },
    );
    assert.ok(open.length < FD_LIMIT, `${open.length} connections open with ${FD_LIMIT} descriptors`);

    // the accepted ones are all served meanwhile: pusher:ping -> pusher:pong, subscribe
    for (const c of open) c.send({ event: 'pusher:ping', data: {} });
    await Promise.all(open.map((c) => c.nextEvent('pusher:pong')));
    await open[0].subscribe('fd-test');

    // as connections close, the waiting ones are accepted and established
    for (const c of open) c.close();
    for (const c of attempts.filter((x) => !open.includes(x))) {
      await withTimeout(c.opened, DEFAULT_TIMEOUT, `connection ${attempts.indexOf(c) + 1} to be accepted after closes`);
      await c.nextEvent('pusher:connection_established');
      c.close();
    }
    assert.equal(everOpened.size, attempts.length);

    // no spin, no crash: lws's own accept error never appears, the pause is
    // logged once per episode, the process is alive
    assert.doesNotMatch(log, /accept: errno/);
    const pauses = (log.match(/pausing new connections/g) ?? []).length;
    assert.ok(pauses <= attempts.length, `at most one pause line per accept episode (${pauses}):\n${log.slice(-2000)}`);
    assert.equal(gw.exitCode, null);

    // once descriptors are free again the metrics port answers and counts it
    const m = await eventually(
      async () => {
        const r = await get(metricsPort, '/metrics');
        assert.equal(r.status, 200);
        return parseMetrics(r.text);
      },
      { what: 'the metrics port to answer once connections closed' },
    );
    assert.ok(sample(m, 'herald_accept_fd_exhausted_total') >= 1, 'EMFILE counted');
    assert.equal(sample(m, 'herald_accept_paused'), 0);
  });
});
