// Relay choice (src/relays.js): the RTT probes, discovery through
// /cluster, the ranking and failover; then the client with several fake
// relays: it connects to the lowest RTT, moves on when the chosen one is
// unreachable at connect or lost later, and reports it all in
// stats().relays and 'relay' events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../src/index.js';
import { FAILOVER_AFTER, MAX_RELAYS, RelayChoice, discoverRelays, measureRelays, parseCluster, rankCandidates, relayBase, rttOf } from '../src/relays.js';
import { FakeRelay, bytesOf } from '../test-support/fake-relay.js';

const wait = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(cond, ms = 3000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await wait(5);
  }
}

/**
 * A fake network of relays by origin: { [origin]: { rttMs, down, status,
 * cluster, legacy } }. fetch answers /readyz (CORS) after rttMs (the first
 * request of a connection pays 3×), or, for a legacy relay (no CORS on
 * /readyz: a CORS request fails), no-cors /healthz with an opaque answer;
 * /cluster with the JSON given (404 without), and anything else from the
 * origin's FakeRelay; down refuses everything.
 */
function network(spec) {
  const hosts = new Map();
  for (const [origin, h] of Object.entries(spec)) {
    const relay = new FakeRelay();
    hosts.set(origin, { relay, rttMs: 1, probes: 0, ...h });
  }
  const hostOf = (url) => {
    const u = new URL(url);
    const h = hosts.get(`${u.protocol === 'wss:' ? 'https:' : u.protocol === 'ws:' ? 'http:' : u.protocol}//${u.host}`);
    if (!h) throw new TypeError(`no such host: ${url}`);
    return h;
  };
  const fetch = async (url, init = {}) => {
    const h = hostOf(url);
    const path = new URL(url).pathname;
    if (h.down) throw new TypeError('fetch failed');
    if (path === '/readyz' || path === '/healthz') {
      assert.equal(init.cache, 'no-store');
      assert.equal(init.mode, path === '/readyz' ? 'cors' : 'no-cors');
      if (path === '/readyz' && h.legacy) throw new TypeError('Failed to fetch (CORS)');
      if (path === '/healthz' && !h.legacy) throw new Error('probed /healthz, want /readyz');
      h.probes++;
      const ms = h.probes === 1 ? 3 * h.rttMs : h.rttMs;
      await new Promise((resolve, reject) => {
        const t = setTimeout(resolve, ms);
        init.signal?.addEventListener('abort', () => {
          clearTimeout(t);
          reject(new DOMException('aborted', 'AbortError'));
        });
      });
      if (h.legacy) return { type: 'opaque', ok: false, status: 0, body: null };
      return new Response('{"status":"ready"}', { status: h.status ?? 200 });
    }
    if (path === '/cluster') {
      if (!h.cluster) return new Response('{"error":"not in a cluster"}', { status: 404 });
      return new Response(JSON.stringify(h.cluster), { headers: { 'content-type': 'application/json' } });
    }
    return h.relay.fetch(url, init);
  };
  const WebSocket = class {
    constructor(url) {
      const h = hostOf(url);
      if (h.down) h.relay.refuseWS = true;
      return new h.relay.WebSocket(url);
    }
  };
  return { hosts, fetch, WebSocket, relay: (origin) => hosts.get(origin).relay };
}

const A = 'http://a.test';
const B = 'http://b.test';
const C = 'https://c.test';

test('relayBase and rttOf', () => {
  assert.equal(relayBase('https://r.test/base//?x=1#y'), 'https://r.test/base');
  assert.equal(relayBase('http://r.test'), 'http://r.test');
  assert.throws(() => relayBase('ftp://r.test'), (e) => e.code === 'bad_option');
  assert.throws(() => relayBase('not a url'), (e) => e.code === 'bad_option');
  assert.equal(rttOf([]), null);
  assert.equal(rttOf([90]), 90, 'only the connection-setup request: that is all there is');
  assert.equal(rttOf([90, 12.34, 10.01]), 10, 'the first request set the connection up: the fastest of the others');
});

test('rankCandidates: lowest RTT first, unreachable last, ties and the unreachable in the given order', () => {
  const ranked = rankCandidates([
    { url: 'u1', rttMs: null, error: 'x' },
    { url: 'u2', rttMs: 30 },
    { url: 'u3', rttMs: 10 },
    { url: 'u4', rttMs: null, error: 'y' },
    { url: 'u5', rttMs: 10 },
  ]);
  assert.deepEqual(ranked.map((c) => c.url), ['u3', 'u5', 'u2', 'u1', 'u4']);
});

test('parseCluster validates and caps the members', () => {
  const cluster = {
    self: 'r1',
    relays: [
      { id: 'r0', url: 'https://r0.test/', region: 'eu', peers: 3 },
      { id: 'r1', url: 'https://public-name-of-me.test', self: true },
      { id: 'r2', url: 'javascript:alert(1)' },
      { id: 'r3', url: 'ftp://r3.test' },
      { id: 'r4' },
      { id: 'r5', url: '' },
      { id: 'r6', url: 42 },
      null,
      'https://r7.test',
      { id: 'r8', url: 'https://r0.test' },
      { id: 'r9', url: 'http://r9.test:8080/base/' },
    ],
  };
  assert.deepEqual(parseCluster(cluster, 'https://me.test'), ['https://me.test', 'https://r0.test', 'http://r9.test:8080/base']);
  // the entry named by self stands for the relay asked, even without self: true
  assert.deepEqual(parseCluster({ self: 'x', relays: [{ id: 'x', url: 'https://x-public.test' }] }, 'https://me.test'), ['https://me.test']);
  for (const bad of [null, 'nope', [], { relays: 'x' }, { relays: [{}] }]) assert.deepEqual(parseCluster(bad, 'https://me.test'), ['https://me.test']);
  const many = { relays: Array.from({ length: 40 }, (_, i) => ({ id: `r${i}`, url: `https://r${i}.test` })) };
  const got = parseCluster(many, 'https://me.test');
  assert.equal(got.length, MAX_RELAYS);
  assert.equal(got[0], 'https://me.test');
  assert.equal(parseCluster(many, 'https://me.test', 3).length, 3);
});

test('discoverRelays: the cluster, or the relay alone on 404, an error or no answer', async () => {
  const net = network({
    [A]: { cluster: { self: 'a', relays: [{ id: 'a', url: A, self: true }, { id: 'b', url: B }, { id: 'c', url: C }] } },
    [B]: {},
  });
  assert.deepEqual(await discoverRelays(A, { fetch: net.fetch }), [A, B, C]);
  assert.deepEqual(await discoverRelays(B, { fetch: net.fetch }), [B], '404: not in a cluster');
  const logs = [];
  const log = (level, msg) => logs.push(`${level} ${msg}`);
  assert.deepEqual(await discoverRelays(A, { fetch: async () => new Response('{nope', { status: 200 }), log }), [A], 'unreadable JSON');
  assert.deepEqual(await discoverRelays(A, { fetch: async () => new Response('', { status: 500 }), log }), [A], 'HTTP 500');
  assert.deepEqual(await discoverRelays(A, { fetch: async () => { throw new TypeError('fetch failed'); }, log }), [A], 'unreachable');
  const hang = (url, init) => new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(init.signal.reason)));
  assert.deepEqual(await discoverRelays(A, { fetch: hang, timeoutMs: 30, log }), [A], 'no answer in time');
  assert.equal(logs.filter((l) => l.startsWith('warn')).length, 4, logs.join('\n'));
  assert.match(logs.at(-1), /no answer in time/);
});

test('measureRelays: the lowest RTT first; failures and HTTP errors last with their error; bounded by the budget', async () => {
  const net = network({
    [A]: { rttMs: 40 },
    [B]: { rttMs: 2 },
    [C]: { down: true },
    'http://d.test': { rttMs: 1, status: 503 },
    'http://slow.test': { rttMs: 1000 },
  });
  const t0 = Date.now();
  const got = await measureRelays([A, 'http://slow.test', C, B, 'http://d.test'], { fetch: net.fetch, budgetMs: 400 });
  assert.ok(Date.now() - t0 < 1000, 'the budget bounds the measurement');
  assert.deepEqual(got.map((c) => c.url), [B, A, 'http://slow.test', C, 'http://d.test']);
  assert.ok(got[0].rttMs >= 1 && got[0].rttMs < got[1].rttMs, JSON.stringify(got));
  assert.ok(got[1].rttMs >= 39, 'the first, connection-setup request (3×) is not the RTT');
  assert.equal(got[0].error, undefined);
  assert.deepEqual(got.slice(2).map((c) => [c.rttMs, c.error]), [
    [null, 'no answer in time'],
    [null, 'fetch failed'],
    [null, 'HTTP 503'],
  ]);
  assert.equal(net.hosts.get(B).probes, 3, 'three probes each');
  // a relay without CORS on /readyz (an older release) is timed over no-cors /healthz
  const mixed = network({ [A]: { rttMs: 30, legacy: true }, [B]: { rttMs: 5 } });
  const m = await measureRelays([A, B], { fetch: mixed.fetch, budgetMs: 1000 });
  assert.deepEqual(m.map((c) => c.url), [B, A]);
  assert.ok(m[1].rttMs >= 29 && m[1].error === undefined, JSON.stringify(m));
  assert.equal(mixed.hosts.get(A).probes, 3, 'three timed probes of the legacy relay');
  // an opaque answer (no-cors, another origin) counts: its status cannot be seen
  const opaque = await measureRelays([A], { fetch: async () => ({ type: 'opaque', ok: false, status: 0, body: null }), budgetMs: 100 });
  assert.equal(typeof opaque[0].rttMs, 'number');
  const none = await measureRelays([A], { fetch: null, budgetMs: 100 });
  assert.deepEqual(none, [{ url: A, rttMs: null, error: 'no fetch() in this environment' }]);
});

test('RelayChoice: failover at once when the chosen relay never came up, after FAILOVER_AFTER failures when it did, round robin with backoff once all failed', () => {
  const ch = new RelayChoice([A]);
  assert.equal(ch.chosen, A);
  assert.equal(ch.attemptFailed(), null, 'one candidate: nowhere to go');
  const r = new RelayChoice([A, B, C]);
  r.rank([{ url: B, rttMs: 5 }, { url: A, rttMs: 9 }, { url: C, rttMs: null, error: 'fetch failed' }]);
  assert.equal(r.chosen, B);
  assert.deepEqual(r.attemptFailed(), { relay: A, previous: B, immediate: true }, 'B never came up: next by RTT at once');
  r.connected();
  for (let i = 1; i < FAILOVER_AFTER; i++) assert.equal(r.attemptFailed(), null, 'A was up: retried first');
  assert.deepEqual(r.attemptFailed(), { relay: B, previous: A, immediate: true }, 'the candidates are good again after a connection');
  assert.deepEqual(r.attemptFailed(), { relay: C, previous: B, immediate: true });
  assert.deepEqual(r.attemptFailed(), { relay: B, previous: C, immediate: false }, 'all failed: the best again, after backoff');
  assert.deepEqual(r.attemptFailed(), { relay: A, previous: B, immediate: true }, 'and round again');
  assert.equal(r.failovers, 5);
  assert.deepEqual(r.stats(), {
    chosen: A,
    candidates: [{ url: B, rttMs: 5 }, { url: A, rttMs: 9 }, { url: C, rttMs: null, error: 'fetch failed' }],
    failovers: 5,
  });
});

const FILE = bytesOf(3 * 65536 + 7, 41);

function clientOpts(net, extra = {}) {
  return { WebSocket: net.WebSocket, RTCPeerConnection: null, fetch: net.fetch, timeoutMs: 800, backoffBaseMs: 5, backoffMaxMs: 20, storeBytes: 0, ...extra };
}

test('connect({ relays }) connects to the lowest RTT and reports the choice', async () => {
  const net = network({ [A]: { rttMs: 30 }, [B]: { rttMs: 2 }, [C]: { down: true } });
  for (const o of [A, B]) net.relay(o).addFile('f.bin', FILE);
  const c = await connect(clientOpts(net, { relays: [A, B, C, A] }));
  try {
    assert.equal(c.relay, B);
    assert.equal(c.home, A, 'the relay named first');
    assert.equal(c.stats().transport, 'websocket');
    const s = c.stats().relays;
    assert.equal(s.chosen, B);
    assert.equal(s.failovers, 0);
    assert.deepEqual(s.candidates.map((x) => x.url), [B, A, C], 'best first, duplicates dropped');
    assert.equal(s.candidates[2].rttMs, null);
    assert.equal(s.candidates[2].error, 'fetch failed');
    assert.equal(net.relay(A).wsCount, 0, 'no WebSocket to the slower relay');
    const res = await c.fetch('f.bin');
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), FILE);
    assert.equal(res.p2p.transport, 'websocket');
    assert.ok(net.relay(B).log.some((f) => f.path === 'f.bin'));
  } finally {
    c.close();
  }
});

test('connect({ relay }) makes no probes; a single candidate is reported unmeasured', async () => {
  const net = network({ [A]: {} });
  const c = await connect(clientOpts(net, { relay: A }));
  try {
    assert.equal(net.hosts.get(A).probes, 0);
    assert.deepEqual(c.stats().relays, { chosen: A, candidates: [{ url: A, rttMs: null }], failovers: 0 });
    assert.equal(c.relay, A);
    assert.equal(c.home, A);
  } finally {
    c.close();
  }
});

test('connect({ relay, discover: true }) measures the relays of its cluster; 404 is that relay alone', async () => {
  const net = network({
    [A]: { rttMs: 25, cluster: { self: 'a', relays: [{ id: 'a', url: 'https://a-public.test', self: true }, { id: 'b', url: B }, { id: 'x', url: 'ftp://x' }] } },
    [B]: { rttMs: 2 },
  });
  const c = await connect(clientOpts(net, { relay: A, discover: true }));
  try {
    assert.equal(c.relay, B);
    assert.deepEqual(c.stats().relays.candidates.map((x) => x.url), [B, A]);
    assert.equal(c.stats().transport, 'websocket');
  } finally {
    c.close();
  }
  const d = await connect(clientOpts(net, { relay: B, discover: true }));
  try {
    assert.equal(d.relay, B);
    assert.deepEqual(d.stats().relays.candidates, [{ url: B, rttMs: null }]);
  } finally {
    d.close();
  }
});

test('bad relay options are refused', async () => {
  for (const bad of [{ relays: [] }, { relays: 'http://a.test' }, { relays: ['ws://a.test'] }, { relay: A, relays: [B] }, { relays: [A], discover: true }]) {
    await assert.rejects(connect({ ...bad, fetch: async () => new Response('') }), (e) => e.code === 'bad_option', JSON.stringify(bad));
  }
});

test('the chosen relay refusing at connect: the next by RTT, within connect()', async () => {
  const net = network({ [A]: { rttMs: 2 }, [B]: { rttMs: 20 } });
  net.relay(A).refuseWS = true; // A answers HTTP, but its WebSocket is refused
  const c = await connect(clientOpts(net, { relays: [A, B] }));
  try {
    const s = c.stats();
    assert.equal(s.relays.chosen, B);
    assert.equal(s.relays.failovers, 1);
    assert.equal(s.transport, 'websocket', 'connect() gave B the rest of its budget');
    assert.equal(c.relay, B);
  } finally {
    c.close();
  }
});

test('a lost relay that does not come back: the client moves to the next by RTT, says so, and the pending fetch completes', async () => {
  const net = network({ [A]: { rttMs: 2 }, [B]: { rttMs: 20 }, [C]: { rttMs: 40 } });
  for (const o of [A, B, C]) net.relay(o).addFile('f.bin', FILE);
  const c = await connect(clientOpts(net, { relays: [C, B, A] }));
  const events = [];
  c.addEventListener('relay', (e) => events.push(e.detail));
  try {
    assert.equal(c.relay, A);
    assert.equal(c.stats().transport, 'websocket');
    // A goes away for good: its connection closes and every reconnect to it fails
    net.hosts.get(A).down = true;
    net.relay(A).dropAll();
    const res = await c.fetch('f.bin');
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), FILE);
    await until(() => c.stats().connected);
    assert.equal(c.relay, B);
    assert.equal(c.stats().relays.failovers, 1);
    assert.deepEqual(events.map((e) => [e.relay, e.previous, e.reason]), [[B, A, 'failover']]);
    assert.equal(events[0].rttMs, c.stats().relays.candidates[1].rttMs);
    assert.equal(net.relay(A).wsCount, 1 + FAILOVER_AFTER, 'A was retried before the client moved on');
    assert.ok(net.relay(B).wsCount >= 1);
    assert.equal(net.relay(C).wsCount, 0);
    // and the next fetch goes to B over frames
    const again = await c.fetch('f.bin');
    assert.equal(again.p2p.transport, 'websocket');
  } finally {
    c.close();
  }
});

test('early: connect() resolves before the choice; the first fetch waits for it and goes to the chosen relay', async () => {
  const net = network({ [A]: { rttMs: 30 }, [B]: { rttMs: 2 } });
  for (const o of [A, B]) net.relay(o).addFile('f.bin', FILE);
  const c = await connect(clientOpts(net, { relays: [A, B], early: true }));
  const events = [];
  c.addEventListener('relay', (e) => events.push(e.detail));
  try {
    assert.equal(c.relay, A, 'not chosen yet: the home relay');
    const res = await c.fetch('f.bin');
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), FILE);
    assert.equal(c.relay, B);
    assert.deepEqual(events.map((e) => [e.relay, e.previous, e.reason]), [[B, null, 'rtt']]);
    assert.equal(events[0].rttMs, c.stats().relays.candidates[0].rttMs);
    assert.equal(net.relay(A).httpLog, undefined, 'nothing fetched from A');
    assert.equal(net.relay(A).wsCount, 0);
  } finally {
    c.close();
  }
});
