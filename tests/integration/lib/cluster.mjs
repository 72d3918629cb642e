// A Herald cluster for one test file: starts scripts/herald-local with the
// given numbers of gateways and brokers on the given ports and a fresh state
// directory, waits for its READY line, and gives the tests handles on it
// (URLs, app credentials, kill/restart through the control FIFO, logs).
// useCluster() registers node:test before/after hooks so the cluster is
// always stopped, whatever the tests did; a process 'exit' hook is the last
// resort that leaves no process behind if the runner dies.
//
// Binaries come from HERALD_BUILD_DIR (default "build", relative to the
// repository root). State directories go under HERALD_TEST_STATE_ROOT when
// set (scripts/test scans them for sanitizer reports afterwards), else under
// $TMPDIR/herald-it/.

import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { before, after, afterEach } from 'node:test';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..', '..');
const HERALD_LOCAL = path.join(REPO_ROOT, 'scripts', 'herald-local');

/** Sanitizer reports that fail a run when found in any component's log. */
export const SANITIZER_PATTERNS = [/ERROR: AddressSanitizer/, /runtime error:/, /ERROR: LeakSanitizer/];

/**
 * Ports for test file number `file` (1..50), cluster `slot` (0 or 1) inside it.
 * Each lane (HERALD_TEST_LANE=0..7, default 0) owns 2,000 ports from
 * 12000 + 2000*lane, so several suites can run side by side on one machine:
 * gateways at lane+20*file+10*slot (up to 10), brokers at lane+1000+20*file
 * +10*slot (up to 9) and redis on the last port of the broker block. All
 * stay below Linux's ephemeral range (32768+).
 */
export function portsFor(file, slot = 0) {
  if (!(file >= 1 && file <= 50) || !(slot === 0 || slot === 1)) {
    throw new Error(`portsFor(${file}, ${slot}): file must be 1..50 and slot 0 or 1`);
  }
  const lane = Number(process.env.HERALD_TEST_LANE || 0);
  if (!(Number.isInteger(lane) && lane >= 0 && lane <= 7)) {
    throw new Error(`HERALD_TEST_LANE must be an integer 0..7, not ${process.env.HERALD_TEST_LANE}`);
  }
  const base = 12000 + 2000 * lane + 20 * file + 10 * slot;
  return { port: base, brokerPort: base + 1000, redisPort: base + 1009 };
}

const live = new Set();
process.on('exit', () => {
  for (const c of live) c.killNow();
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const c of live) c.killNow();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

function timeoutError(what, ms, extra = '') {
  return new Error(`timed out after ${ms} ms waiting for ${what}${extra ? `\n${extra}` : ''}`);
}

export class Cluster {
  /**
   * @param {object} o
   * @param {number} [o.gateways=1]
   * @param {number} [o.brokers=1]  0: embedded mode (each gateway runs the broker
   *   core in process; no brokers, no Redis). With HERALD_TEST_EMBEDDED=1, every
   *   one-gateway cluster runs embedded (scripts/test's embedded pass).
   * @param {number} o.port         first gateway port
   * @param {number} o.brokerPort   first broker port
   * @param {number} o.redisPort
   * @param {number} [o.metricsPort] herald-local --metrics-port BASE (default: off)
   * @param {object} [o.env]        extra environment for every component
   * @param {string} [o.buildDir]   default $HERALD_BUILD_DIR or "build"
   */
  constructor(o) {
    this.gateways = o.gateways ?? 1;
    this.brokers = o.brokers ?? 1;
    if (process.env.HERALD_TEST_EMBEDDED === '1' && this.gateways === 1) this.brokers = 0;
    this.port = o.port;
    this.brokerPort = o.brokerPort;
    this.redisPort = o.redisPort;
    this.metricsPort = o.metricsPort ?? 0;
    this.env = o.env ?? {};
    this.buildDir = o.buildDir ?? process.env.HERALD_BUILD_DIR ?? 'build';
    this.lines = [];
    this.expectedDeaths = new Map(); // name -> deaths requested through kill()
    this.unexpectedDeaths = []; // "died" lines nobody asked for
    this.stderr = '';
    this.waiters = [];
    this.app = null;
    this.proc = null;
    this.exited = null;
    this.stateDir = null;
  }

  /** Start herald-local; resolves once READY and the app line were printed. */
  async start({ timeout = 60000 } = {}) {
    const root = process.env.HERALD_TEST_STATE_ROOT || path.join(os.tmpdir(), 'herald-it');
    fs.mkdirSync(root, { recursive: true });
    this.stateDir = fs.mkdtempSync(path.join(root, `herald-it-${this.port}-`));
    const args = [
      '--gateways', String(this.gateways),
      '--brokers', String(this.brokers),
      '--port', String(this.port),
      '--broker-port', String(this.brokerPort),
      '--redis-port', String(this.redisPort),
      '--build-dir', this.buildDir,
      '--state-dir', this.stateDir,
    ];
    if (this.metricsPort) args.push('--metrics-port', String(this.metricsPort));
    this.proc = spawn(HERALD_LOCAL, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, HERALD_LOCAL_EXIT_WITH_PARENT: '1', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(this);
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
        const why = new Error(
          `herald-local exited (code ${code}, signal ${signal}) while waiting` +
            `\n--- herald-local stderr ---\n${this.stderr}\n--- stdout ---\n${this.lines.join('\n')}`,
        );
        for (const w of this.waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(why);
        }
      });
    });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d) => {
      this.stderr += d;
    });
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => this.onLine(line));

    await this.waitForLine(/^READY /, { since: 0, timeout });
    const appLine = await this.waitForLine(/^app id=(\S+) key=(\S+) secret=(\S+)$/, { since: 0, timeout });
    const m = appLine.match(/^app id=(\S+) key=(\S+) secret=(\S+)$/);
    this.app = { id: m[1], key: m[2], secret: m[3] };
    await this.waitForLinks({ since: 0 });
    return this;
  }

  onLine(line) {
    this.lines.push(line);
    const died = line.match(/^(\S+) died \(/);
    if (died) {
      const n = this.expectedDeaths.get(died[1]) ?? 0;
      if (n > 0) this.expectedDeaths.set(died[1], n - 1);
      else this.unexpectedDeaths.push(line);
    }
    if (process.env.HERALD_TEST_VERBOSE) process.stderr.write(`[herald-local ${this.port}] ${line}\n`);
    const idx = this.lines.length - 1;
    for (const w of [...this.waiters]) {
      if (idx >= w.since && w.re.test(line)) {
        clearTimeout(w.timer);
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  }

  /** Index of the next stdout line; pass as `since` to wait for later lines only. */
  mark() {
    return this.lines.length;
  }

  /**
   * Resolves with the first stdout line matching `re` at index >= since
   * (default: lines printed from now on); rejects after `timeout` ms or when
   * herald-local exits.
   */
  waitForLine(re, { since = this.lines.length, timeout = 30000 } = {}) {
    for (let i = since; i < this.lines.length; i++) {
      if (re.test(this.lines[i])) return Promise.resolve(this.lines[i]);
    }
    if (this.exitInfo) {
      return Promise.reject(new Error(`herald-local already exited; no line matching ${re}\n${this.stderr}`));
    }
    return new Promise((resolve, reject) => {
      const w = { re, since, resolve, reject };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(
          timeoutError(
            `herald-local line ${re}`,
            timeout,
            `--- stdout so far ---\n${this.lines.join('\n')}\n--- stderr ---\n${this.stderr}`,
          ),
        );
      }, timeout);
      this.waiters.push(w);
    });
  }

  /** ws://127.0.0.1:PORT of gateway i (1-based). */
  url(i = 1) {
    return `ws://127.0.0.1:${this.httpPort(i)}`;
  }

  /** Full Pusher WebSocket URL of gateway i, as pusher-js builds it. */
  wsUrl(i = 1, { key = this.app.key, query = 'protocol=7&client=js&version=8.4.0&flash=false' } = {}) {
    return `${this.url(i)}/app/${key}${query ? `?${query}` : ''}`;
  }

  /** Port of gateway i (1-based): WebSocket and HTTP API share it. */
  httpPort(i = 1) {
    if (i < 1 || i > this.gateways) throw new Error(`no gateway-${i} in this cluster`);
    return this.port + i - 1;
  }

  brokerAddr(j = 1) {
    return `127.0.0.1:${this.brokerPort + j - 1}`;
  }

  pid(name) {
    try {
      return Number(fs.readFileSync(path.join(this.stateDir, `${name}.pid`), 'utf8').trim());
    } catch {
      return 0;
    }
  }

  /** True when the process in `name`'s pid file is running. */
  alive(name) {
    const pid = this.pid(name);
    if (!pid) return false;
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
      return false;
    }
  }

  log(name) {
    try {
      return fs.readFileSync(path.join(this.stateDir, `${name}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  componentNames() {
    const names = this.brokers > 0 ? ['redis'] : [];
    for (let j = 1; j <= this.brokers; j++) names.push(`broker-${j}`);
    for (let i = 1; i <= this.gateways; i++) names.push(`gateway-${i}`);
    return names;
  }

  /** Writes one command line to the control FIFO (never blocks). */
  control(line) {
    const fifo = path.join(this.stateDir, 'control');
    let fd;
    try {
      fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    } catch (e) {
      throw new Error(`cannot write "${line}" to ${fifo} (is herald-local running?): ${e.message}`);
    }
    try {
      fs.writeSync(fd, `${line}\n`);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Sends `sig` to component `name` through herald-local; resolves with its "died" line. */
  async kill(name, sig = 'KILL', { timeout = 15000 } = {}) {
    const since = this.mark();
    this.expectedDeaths.set(name, (this.expectedDeaths.get(name) ?? 0) + 1);
    this.control(`kill ${name} ${sig}`);
    return this.waitForLine(new RegExp(`^${name} died \\(`), { since, timeout });
  }

  /** Restarts `name` through herald-local; resolves with its new "ready" line. */
  async restart(name, { timeout = 30000 } = {}) {
    const since = this.mark();
    this.control(`restart ${name}`);
    const line = await this.waitForLine(new RegExp(`^${name} (ready|failed)`), { since, timeout });
    if (!/ ready /.test(line)) throw new Error(`${line}\n--- ${name}.log ---\n${this.log(name).slice(-4000)}`);
    if (name !== 'redis') await this.waitForLinks();
    return line;
  }

  /**
   * Resolves when every live broker has an established TCP connection from
   * every gateway (read from /proc/net/tcp), so that subscribes and
   * publishes go to the owner that every gateway computes.
   */
  async waitForLinks({ timeout = 20000, since = this.mark() } = {}) {
    const deadline = Date.now() + timeout;
    const want = [];
    for (let j = 1; j <= this.brokers; j++) {
      if (this.isUp(`broker-${j}`)) want.push(this.brokerPort + j - 1);
    }
    let gateways = 0;
    for (let i = 1; i <= this.gateways; i++) if (this.isUp(`gateway-${i}`)) gateways += 1;
    for (;;) {
      const died = this.lines.slice(since).filter((l) => / died \(/.test(l));
      if (died.length) {
        const names = died.map((l) => l.split(' ')[0]);
        throw new Error(
          `while waiting for gateway links: ${died.join('; ')}\n` +
            names.map((n) => `--- ${n}.log ---\n${this.log(n).slice(-3000)}`).join('\n'),
        );
      }
      const counts = establishedByLocalPort();
      const missing = want.filter((p) => (counts.get(p) ?? 0) < gateways);
      if (missing.length === 0) return;
      if (Date.now() > deadline) {
        throw timeoutError(
          `gateway links to brokers on ports ${missing.join(',')}`,
          timeout,
          this.componentNames()
            .filter((n) => n !== 'redis')
            .map((n) => `--- ${n}.log ---\n${this.log(n).slice(-2000)}`)
            .join('\n'),
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Throws (and forgets them) if components died without a kill() asking
   * for it, with the tail of their logs; useCluster calls it after each test.
   */
  checkDeaths() {
    if (!this.unexpectedDeaths.length) return;
    const lines = this.unexpectedDeaths.splice(0);
    const names = [...new Set(lines.map((l) => l.split(' ')[0]))];
    throw new Error(
      `unexpected: ${lines.join('; ')}\n` + names.map((n) => `--- ${n}.log ---\n${this.log(n).slice(-3000)}`).join('\n'),
    );
  }

  /** True unless herald-local's last word on `name` was "died" or "stopped". */
  isUp(name) {
    let up = false;
    for (const l of this.lines) {
      if (l.startsWith(`${name} ready `)) up = true;
      else if (l.startsWith(`${name} died (`) || l === `${name} stopped`) up = false;
    }
    return up;
  }

  /** Runs redis-cli against this cluster's Redis; resolves with trimmed stdout. */
  redis(...args) {
    return new Promise((resolve, reject) => {
      execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(this.redisPort), ...args], (err, out, errOut) => {
        if (err) reject(new Error(`redis-cli ${args.join(' ')}: ${err.message} ${errOut}`));
        else resolve(out.trim());
      });
    });
  }

  /** Sanitizer reports found in component logs: [{name, line}]. */
  sanitizerReports() {
    const found = [];
    for (const name of this.componentNames()) {
      for (const line of this.log(name).split('\n')) {
        if (SANITIZER_PATTERNS.some((re) => re.test(line))) found.push({ name, line });
      }
    }
    return found;
  }

  /** Synchronous last resort: kill herald-local and every component pid. */
  killNow() {
    live.delete(this);
    try {
      if (this.proc && !this.exitInfo) this.proc.kill('SIGKILL');
    } catch {}
    if (!this.stateDir) return;
    for (const name of this.componentNames()) {
      const pid = this.pid(name);
      if (pid && this.alive(name)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
    }
  }

  /**
   * Stops the cluster: SIGTERM to herald-local (which stops its children,
   * TERM then KILL), falls back to killing everything after 15 s. Throws if
   * a component's log holds a sanitizer report.
   */
  async stop() {
    if (!this.proc) return;
    if (!this.exitInfo) {
      this.proc.kill('SIGTERM');
      let timer;
      const t = new Promise((r) => {
        timer = setTimeout(() => r('timeout'), 15000);
      });
      const outcome = await Promise.race([this.exited, t]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        process.stderr.write(`herald-local on ${this.port} did not stop in 15 s; killing everything\n`);
      }
    }
    this.killNow();
    this.checkDeaths();
    const reports = this.sanitizerReports();
    if (reports.length) {
      throw new Error(
        `sanitizer reports in ${this.stateDir}:\n` + reports.map((r) => `${r.name}: ${r.line}`).join('\n'),
      );
    }
  }
}

/** Map local port -> number of ESTABLISHED TCP sockets (IPv4 and IPv6). */
function establishedByLocalPort() {
  const counts = new Map();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      const cols = row.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== '01') continue;
      const port = parseInt(cols[1].split(':')[1], 16);
      counts.set(port, (counts.get(port) ?? 0) + 1);
    }
  }
  return counts;
}

/**
 * Registers before/after hooks for a cluster shared by the tests of the
 * current file (or describe block) and returns it; it is started in before()
 * and always stopped in after().
 */
export function useCluster(opts) {
  const c = new Cluster(opts);
  before(() => c.start(), { timeout: 90000 });
  // A component that crashed during a test fails that test, with its log.
  afterEach(() => c.checkDeaths());
  after(() => c.stop(), { timeout: 30000 });
  return c;
}
