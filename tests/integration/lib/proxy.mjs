// proxy.mjs: a tiny TCP load balancer for tests. Listens on a port and
// forwards each connection to the first backend (in order) that accepts
// it, so killing a gateway makes clients reconnect to the next one, as
// behind a real load balancer. cut() drops every open connection (a
// network blip). Used by the recovery tests (13, 14).
import net from 'node:net';

export class TcpProxy {
  /** @param {number[]} backends ports on 127.0.0.1, tried in order */
  constructor(backends) {
    this.backends = backends;
    this.sockets = new Set();
    this.server = net.createServer((client) => this.accept(client));
  }

  listen() {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.port = this.server.address().port;
        resolve(this.port);
      });
    });
  }

  accept(client, i = 0) {
    client.pause();
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => {});
    if (i >= this.backends.length) {
      client.destroy();
      return;
    }
    const up = net.connect(this.backends[i], '127.0.0.1');
    up.once('error', () => {
      if (!up.connected) {
        this.sockets.delete(client);
        if (!client.destroyed) this.accept(client, i + 1);
      } else client.destroy();
    });
    up.once('connect', () => {
      up.connected = true;
      this.sockets.add(up);
      up.on('close', () => {
        this.sockets.delete(up);
        client.destroy();
      });
      client.on('close', () => up.destroy());
      client.pipe(up);
      up.pipe(client);
      client.resume();
    });
  }

  /** Drops every connection going through the proxy now. */
  cut() {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  close() {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
