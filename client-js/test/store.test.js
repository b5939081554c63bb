// The persistent tab store (src/store.js) on an in-memory IndexedDB
// (fake-indexeddb), and the client using it across "page loads": chunks
// come back as source local, are announced with HAVE after reconnecting,
// and a changed manifest drops the old version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IDBFactory } from 'fake-indexeddb';
import { ChunkStore, QUOTA_SHARE, clearStore } from '../src/store.js';
import { connect } from '../src/index.js';
import { FrameType, toHex } from 'p2pcache/wire';
import { FakeRelay, bytesOf, makeManifest, sha } from '../test-support/fake-relay.js';

const wait = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(cond, ms = 2000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await wait(5);
  }
}
const chunk = (n, seed) => bytesOf(n, seed);

test('put, get, has and the counters; the index and files survive a reopen', async () => {
  const indexedDB = new IDBFactory();
  const s = await ChunkStore.open({ indexedDB, maxBytes: 1 << 20, relay: 'http://r' });
  const a = chunk(1000, 1);
  assert.equal(s.has(sha(a)), false);
  assert.equal(await s.get(sha(a)), undefined);
  assert.equal(await s.put(sha(a), a), true);
  assert.equal(s.has(sha(a)), true);
  assert.deepEqual(await s.get(sha(a)), a);
  const m = makeManifest('x/a.bin', a);
  assert.equal(await s.putFile(m), false);
  assert.deepEqual(s.stats(), { bytes: 1000, chunks: 1, files: 1, maxBytes: 1 << 20, evictions: 0, hits: 1, misses: 1, pending: 0 });
  s.close();
  const again = await ChunkStore.open({ indexedDB, maxBytes: 1 << 20, relay: 'http://r' });
  assert.equal(again.has(sha(a)), true);
  assert.deepEqual(await again.get(sha(a)), a);
  assert.equal(again.file('x/a.bin').sha256, m.sha256);
  const other = await ChunkStore.open({ indexedDB, maxBytes: 1 << 20, relay: 'http://other' });
  assert.equal(other.files().length, 0, 'files are kept per relay');
  assert.equal(other.has(sha(a)), true, 'chunks are content-addressed, shared');
  again.close();
  other.close();
  await clearStore({ indexedDB });
  const fresh = await ChunkStore.open({ indexedDB, relay: 'http://r' });
  assert.equal(fresh.size, 0);
  fresh.close();
});

test('least recently used chunks go first; evictions are reported', async () => {
  const evicted = [];
  const s = await ChunkStore.open({ indexedDB: new IDBFactory(), maxBytes: 3000, onEvict: (h) => evicted.push(h) });
  const [a, b, c, d] = [1, 2, 3, 4].map((i) => chunk(1000, i));
  for (const x of [a, b, c]) await s.put(sha(x), x);
  await s.get(sha(a)); // a is now the most recent
  await s.put(sha(d), d);
  assert.deepEqual(evicted, [sha(b)]);
  assert.equal(s.has(sha(b)), false);
  assert.equal(await s.get(sha(b)), undefined);
  assert.equal(s.bytes, 3000);
  assert.equal(await s.put(sha(chunk(5000, 9)), chunk(5000, 9)), false, 'larger than the budget: not stored');
  assert.equal(s.stats().evictions, 1);
  s.close();
  // a smaller budget next time: trimmed at open
  const idb = new IDBFactory();
  const big = await ChunkStore.open({ indexedDB: idb, maxBytes: 10_000 });
  for (const x of [a, b, c, d]) await big.put(sha(x), x);
  big.close();
  const small = await ChunkStore.open({ indexedDB: idb, maxBytes: 2000 });
  assert.equal(small.bytes, 2000);
  assert.deepEqual([sha(c), sha(d)].map((h) => small.has(h)), [true, true]);
  small.close();
});

test('a changed manifest drops the old version and the chunks only it listed', async () => {
  const s = await ChunkStore.open({ indexedDB: new IDBFactory(), maxBytes: 1 << 20 });
  const shared = chunk(100, 7);
  const v1 = new Uint8Array([...chunk(65536, 1), ...shared]);
  const v2 = new Uint8Array([...chunk(65536, 2), ...shared]);
  const m1 = makeManifest('f', v1);
  const m2 = makeManifest('f', v2);
  await s.putFile(m1);
  for (let i = 0; i < 2; i++) await s.put(m1.chunks[i], v1.slice(i * 65536, (i + 1) * 65536));
  // twice at once, as a fetch's chunks do: one drop of the old version
  assert.deepEqual(await Promise.all([s.putFile(m2), s.putFile(m2)]), [true, false], 'changed, then the same');
  assert.equal(s.has(m1.chunks[0]), false, 'the old first chunk is gone');
  assert.equal(s.has(m1.chunks[1]), true, 'the chunk both versions list stays');
  assert.equal(s.file('f').sha256, m2.sha256);
  await s.dropFile('f');
  assert.equal(s.has(m1.chunks[1]), false, 'no stored file lists it any more');
  assert.equal(s.files().length, 0);
  s.close();
});

test('the budget is clamped to a share of the storage quota', async () => {
  const s = await ChunkStore.open({ indexedDB: new IDBFactory(), maxBytes: 1 << 30, storage: { estimate: async () => ({ quota: 1_000_000, usage: 0 }) } });
  assert.equal(s.maxBytes, Math.floor(1_000_000 * QUOTA_SHARE));
  s.close();
  assert.equal(await ChunkStore.open({ indexedDB: null }), null, 'no IndexedDB: no store');
  assert.equal(await ChunkStore.open({ indexedDB: new IDBFactory(), maxBytes: 0 }), null, 'storeBytes 0: off');
});

function setup() {
  const relay = new FakeRelay();
  const bytes = bytesOf(5 * 65536 + 10, 61);
  relay.addFile('img/a.jpg', bytes, { contentType: 'image/jpeg' });
  return { relay, bytes };
}

const opts = (relay, indexedDB, extra = {}) => ({
  relay: 'http://relay.test',
  WebSocket: relay.WebSocket,
  RTCPeerConnection: relay.RTCPeerConnection,
  fetch: relay.fetch,
  timeoutMs: 500,
  indexedDB,
  ...extra,
});

test('a second page load is served from the store as local, and announced with HAVE on connect', async () => {
  const { relay, bytes } = setup();
  const indexedDB = new IDBFactory();
  const first = await connect(opts(relay, indexedDB));
  const res = await first.fetch('img/a.jpg');
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes);
  await until(() => first.stats().store.chunks === 6);
  first.close();

  // the next page: a new client, the same database, a new connection
  relay.log.length = 0;
  const asked = relay.chunkRequests;
  const second = await connect(opts(relay, indexedDB));
  try {
    const m = relay.files.get('img/a.jpg').manifest;
    await until(() => relay.log.some((f) => f.type === FrameType.HAVE));
    const have = relay.log.find((f) => f.type === FrameType.HAVE);
    assert.equal(toHex(have.hash), m.sha256, 'announced before any fetch');
    assert.equal(have.bitmap[0], 0b111111);
    const again = await second.fetch('/img/a.jpg');
    assert.deepEqual(new Uint8Array(await again.arrayBuffer()), bytes);
    assert.equal(again.p2p.bySource.local, 6);
    assert.equal(relay.chunkRequests, asked, 'no chunk asked of the relay');
    assert.equal(second.stats().store.hits, 6);
    // the relay asks this peer for a chunk: served from the store
    const got = await relay.askPeer(relay.lastDC, 900, 2, m.chunks[2]);
    const frames = got.filter((f) => f.type === FrameType.CHUNK);
    assert.equal(frames.reduce((n, f) => n + f.data.length, 0), 65536, 'the whole chunk, in fragments');
  } finally {
    second.close();
  }
});

test('a file that changed at the relay: the stored version is dropped and withdrawn', async () => {
  const { relay } = setup();
  const indexedDB = new IDBFactory();
  const first = await connect(opts(relay, indexedDB));
  const oldSha = relay.files.get('img/a.jpg').manifest.sha256;
  await (await first.fetch('img/a.jpg')).arrayBuffer();
  await until(() => first.stats().store.chunks === 6);
  first.close();
  const v2 = bytesOf(2 * 65536, 62);
  relay.addFile('img/a.jpg', v2, { contentType: 'image/jpeg' });
  relay.log.length = 0;
  const second = await connect(opts(relay, indexedDB));
  try {
    await until(() => relay.log.some((f) => f.type === FrameType.HAVE && toHex(f.hash) === oldSha));
    const res = await second.fetch('img/a.jpg');
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), v2);
    assert.equal(res.p2p.bySource.local, 0);
    await until(() => relay.log.some((f) => f.type === FrameType.HAVE && toHex(f.hash) === oldSha && f.bitmap.every((b) => b === 0)));
    await until(() => second.stats().store.files === 1 && second.stats().store.chunks === 2);
  } finally {
    second.close();
  }
});
