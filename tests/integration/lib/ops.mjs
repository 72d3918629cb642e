// Helpers for the operations tests (files 25-29): the metrics/health port
// of each component (herald-local --metrics-port BASE: gateway i on
// BASE+i-1, then broker j on BASE+gateways+j-1), scraping and parsing the
// Prometheus text format, and plain HTTP GETs.

import { withTimeout, DEFAULT_TIMEOUT } from './clients.mjs';

/** Metrics/health port of component `name` ("gateway-1", "broker-2"). */
export function metricsPortOf(cluster, name) {
  if (!cluster.metricsPort) throw new Error('cluster started without metricsPort');
  const m = name.match(/^(gateway|broker)-(\d+)$/);
  if (!m) throw new Error(`no metrics port for ${name}`);
  const k = Number(m[2]);
  return m[1] === 'gateway' ? cluster.metricsPort + k - 1 : cluster.metricsPort + cluster.gateways + k - 1;
}

/** GET http://127.0.0.1:port/path; resolves {status, text, type}. */
export async function get(port, path) {
  const res = await withTimeout(fetch(`http://127.0.0.1:${port}${path}`), DEFAULT_TIMEOUT, `GET :${port}${path}`);
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

/**
 * Parses the text exposition format into {samples: Map("name{a="x",...}" ->
 * number), types: Map(name -> type)}. Label order is kept as rendered.
 */
export function parseMetrics(text) {
  const samples = new Map();
  const types = new Map();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const t = line.match(/^# TYPE (\S+) (\S+)$/);
    if (t) {
      types.set(t[1], t[2]);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = line.match(/^(\S+?)(\{.*\})? (\S+)$/);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return { samples, types };
}

/** Scrapes component `name`; resolves the parsed metrics. */
export async function scrape(cluster, name) {
  const r = await get(metricsPortOf(cluster, name), '/metrics');
  if (r.status !== 200) throw new Error(`/metrics on ${name}: ${r.status} ${r.text}`);
  return parseMetrics(r.text);
}

/** The value of one sample (0 when absent); labels as an object, in rendered order. */
export function sample(parsed, name, labels = {}) {
  const keys = Object.keys(labels);
  const key = keys.length ? `${name}{${keys.map((k) => `${k}="${labels[k]}"`).join(',')}}` : name;
  return parsed.samples.get(key) ?? 0;
}

/**
 * A minimal TCP load balancer in front of gateways, as a Kubernetes Service
 * behaves: each new connection goes to the first backend whose /ready
 * answers 200 (checked on its main port), bytes are piped both ways.
 * Resolves {port, close()}.
 */
export async function startBalancer(port, backendPorts) {
  const { default: net } = await import('node:net');
  const sockets = new Set();
  const server = net.createServer(async (client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    let target = 0;
    for (const b of backendPorts) {
      try {
        if ((await get(b, '/ready')).status === 200) {
          target = b;
          break;
        }
      } catch {}
    }
    if (!target || client.destroyed) {
      client.destroy();
      return;
    }
    const up = net.connect(target, '127.0.0.1');
    sockets.add(up);
    up.on('connect', () => {
      client.pipe(up);
      up.pipe(client);
      client.resume();
    });
    up.on('error', () => client.destroy());
    up.on('close', () => {
      sockets.delete(up);
      client.destroy();
    });
    client.on('close', () => up.destroy());
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    port,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
