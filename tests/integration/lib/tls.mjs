// TLS helpers for the integration tests (files 43-45):
// - certificates made with the openssl CLI: a test CA, and server
//   certificates for 127.0.0.1 it signs (chosen CN and serial);
// - peerCert(): the certificate a new TLS connection to a port is served;
// - TlsPusherChild: a real pusher-js client with forceTLS (wss://) running
//   in a child Node process started with NODE_EXTRA_CA_CERTS (pusher-js on
//   Node opens its socket with tls.connect and takes no CA option; the
//   extra CA variable is read only at process start), driven by JSON lines
//   on stdin and reporting on stdout (lib/tls-pusher-child.mjs).
// Nothing here sleeps to synchronise: every wait is for an event, with a
// timeout that says what was awaited.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TIMEOUT, withTimeout } from './clients.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

function openssl(args, cwd) {
  return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** A new directory with a test CA in it: {dir, caCert, caKey}. */
export function makeCa(prefix = 'herald-tls-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Herald test CA'],
    dir,
  );
  return { dir, caCert: path.join(dir, 'ca.pem'), caKey: path.join(dir, 'ca.key') };
}

/**
 * A server certificate for 127.0.0.1 signed by ca, written to
 * <name>.pem / <name>.key in ca.dir. serial: hex digits. Returns
 * {cert, key, cn, serial} (serial upper-case, as Node reports it).
 */
export function makeCert(ca, name, { cn = name, serial = '01' } = {}) {
  const { dir } = ca;
  fs.writeFileSync(path.join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`],
    dir,
  );
  openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', `0x${serial}`,
      '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`],
    dir,
  );
  return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`), cn, serial: serial.toUpperCase() };
}

/** Replaces dest's certificate and key files by src's (each by an atomic rename). */
export function installCert(src, dest) {
  for (const [from, to] of [[src.cert, dest.cert], [src.key, dest.key]]) {
    fs.copyFileSync(from, `${to}.tmp`);
    fs.renameSync(`${to}.tmp`, to);
  }
}

/** The certificate a new TLS connection to 127.0.0.1:port gets: {cn, serial}. Verifies it against ca. */
export function peerCert(port, caCert, ms = DEFAULT_TIMEOUT) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(caCert), servername: undefined }, () => {
        const c = s.getPeerCertificate();
        s.end();
        resolve({ cn: c.subject?.CN, serial: String(c.serialNumber).replace(/^0+/, '').toUpperCase() });
      });
      s.on('error', reject);
    }),
    ms,
    `a TLS handshake with 127.0.0.1:${port}`,
  );
}

/** pusher-js with forceTLS in a child process trusting caCert. */
export class TlsPusherChild {
  constructor({ key, port, caCert }) {
    this.msgs = [];
    this.waiters = [];
    this.stderr = '';
    this.proc = spawn(process.execPath, [path.join(here, 'tls-pusher-child.mjs'), key, String(port)], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caCert },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.proc.stderr.on('data', (d) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => this.proc.on('exit', resolve));
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => {
      let m;
      try {
        m = JSON.parse(line);
      } catch {
        return;
      }
      this.msgs.push(m);
      for (const w of [...this.waiters]) {
        const hit = this.msgs.slice(w.since).find(w.pred);
        if (hit) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(hit);
        }
      }
    });
  }

  send(cmd) {
    this.proc.stdin.write(`${JSON.stringify(cmd)}\n`);
  }

  mark() {
    return this.msgs.length;
  }

  /** Resolves with the first message at index >= since matching pred. */
  wait(pred, what, { since = 0, ms = DEFAULT_TIMEOUT } = {}) {
    const hit = this.msgs.slice(since).find(pred);
    if (hit) return Promise.resolve(hit);
    return withTimeout(
      new Promise((resolve) => this.waiters.push({ pred, since, resolve })),
      ms,
      `${what} from the pusher-js child (stdout so far: ${JSON.stringify(this.msgs).slice(-800)}; stderr: ${this.stderr.slice(-800)})`,
    );
  }

  async close() {
    if (this.proc.exitCode !== null || this.proc.signalCode) return;
    this.send({ cmd: 'exit' });
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(t);
  }
}
