// The channel -> broker mapping every gateway computes (common/hc_rendezvous.c):
// score = splitmix64 finaliser of FNV-1a over node, a 0 byte, and key;
// the live node with the highest score owns the key (ties: lower index).
// Tests use it to know which broker owns a channel without asking anyone.

const MASK = (1n << 64n) - 1n;
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;

function fnv1a(h, bytes) {
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * FNV_PRIME) & MASK;
  }
  return h;
}

function splitmix64Final(z) {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
  return z ^ (z >> 31n);
}

export function score(node, key) {
  let h = fnv1a(FNV_OFFSET, Buffer.from(node));
  h = fnv1a(h, [0]);
  h = fnv1a(h, Buffer.from(key));
  return splitmix64Final(h);
}

/** Index (0-based) of the owner of `key` among `nodes` whose alive[i] is not false; -1 if none. */
export function pick(nodes, key, alive = []) {
  let best = -1;
  let bestScore = 0n;
  nodes.forEach((node, i) => {
    if (alive[i] === false) return;
    const s = score(node, key);
    if (best < 0 || s > bestScore) {
      best = i;
      bestScore = s;
    }
  });
  return best;
}

/** 1-based broker number owning channel `channel` of app `appId` in a cluster. */
export function ownerBroker(cluster, channel, alive = []) {
  const nodes = [];
  for (let j = 1; j <= cluster.brokers; j++) nodes.push(cluster.brokerAddr(j));
  return pick(nodes, `${cluster.app.id}:${channel}`, alive) + 1;
}
