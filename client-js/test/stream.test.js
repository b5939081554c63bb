// Streamed fetches (src/stream.js): a Response at the manifest whose body
// releases verified chunks in order; the per-chunk ladder (frames when a
// link is up, HTTP Range spans otherwise); refetches and the whole-file
// check; ranges; early connect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../src/index.js';
import { parseRange, HTTP_SPAN_CHUNKS, LINK_WAIT_MS } from '../src/stream.js';
import { FrameType } from 'p2pcache/wire';
import { FakeRelay, bytesOf, sha } from '../test-support/fake-relay.js';

const CS = 65536;
const BIG = bytesOf(10 * CS + 500, 51); // 11 chunks
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

function setup(opts = {}) {
  const relay = new FakeRelay();
  relay.addFile('big.jpg', BIG, { contentType: 'image/jpeg' });
  const clientOpts = {
    relay: 'http://relay.test',
    WebSocket: relay.WebSocket,
    RTCPeerConnection: relay.RTCPeerConnection,
    fetch: relay.fetch,
    timeoutMs: 500,
    ...opts,
  };
  return { relay, clientOpts };
}

/** Read a body, noting each piece and when it came. */
async function readAll(res) {
  const reader = res.body.getReader();
  const parts = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return { out, parts };
}

test('parseRange: single byte ranges against a size', () => {
  assert.deepEqual(parseRange('bytes=0-99', 1000), [0, 99]);
  assert.deepEqual(parseRange('bytes=900-', 1000), [900, 999]);
  assert.deepEqual(parseRange('bytes=-100', 1000), [900, 999]);
  assert.deepEqual(parseRange('bytes=990-5000', 1000), [990, 999]);
  assert.equal(parseRange('bytes=1000-', 1000), 'unsatisfiable');
  assert.equal(parseRange('bytes=-0', 1000), 'unsatisfiable');
  for (const h of [undefined, '', 'bytes=1-2,4-5', 'items=0-1', 'bytes=5-2', 'bytes=-']) assert.equal(parseRange(h, 1000), null, String(h));
});

test('stream: the response comes at the manifest; verified chunks flow in order', async () => {
  const { relay, clientOpts } = setup();
  relay.chunkDelayMs = 15;
  const c = await connect(clientOpts);
  try {
    const res = await c.fetch('/big.jpg', { stream: true });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(BIG.length));
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    assert.ok(relay.chunkRequests < 11, 'resolved before every chunk was even asked for');
    const { out, parts } = await readAll(res);
    assert.deepEqual(out, BIG);
    assert.equal(parts.length, 11, 'one piece per chunk');
    const info = await res.p2pDone;
    assert.equal(info.bySource.relay, 11);
    assert.equal(info.transport, 'webrtc-tcp');
    assert.equal(info.sha256, sha(BIG));
    assert.equal(c.stats().files, 1);
  } finally {
    c.close();
  }
});

test('stream: a chunk bad twice over frames is fetched a third time over HTTP; bad bytes never flow', async () => {
  const { relay, clientOpts } = setup();
  relay.corrupt.set('big.jpg#4', 2);
  const c = await connect(clientOpts);
  try {
    const res = await c.fetch('big.jpg', { stream: true });
    const { out } = await readAll(res);
    assert.deepEqual(out, BIG);
    const info = await res.p2pDone;
    assert.equal(info.verifyFailures, 2);
    assert.equal(info.bySource.http, 1);
    assert.equal(info.bySource.relay, 10);
    assert.deepEqual(relay.httpRanges.map((r) => r.range), [`bytes=${4 * CS}-${5 * CS - 1}`], 'one chunk over HTTP');
    assert.equal(relay.httpRanges[0].ifRange, `"${sha(BIG)}"`);
  } finally {
    c.close();
  }
});

test('stream: the chunk hashes decide; the last chunk flows once verified, with no whole-file pass', async () => {
  const { relay, clientOpts } = setup();
  const m = relay.files.get('big.jpg').manifest;
  const want = relay.files.get('big.jpg').bytes;
  m.sha256 = 'ab'.repeat(32); // disagrees with the chunks, which are right (transfer.js: not a second check)
  m.etag = `"${m.sha256}"`;
  const c = await connect(clientOpts);
  const events = [];
  c.addEventListener('verifyfailure', (e) => events.push(e.detail.index));
  try {
    const res = await c.fetch('big.jpg', { stream: true });
    const got = new Uint8Array(await res.arrayBuffer());
    assert.equal(got.length, want.length);
    assert.ok(got.every((b, i) => b === want[i]), 'the body is the verified chunks');
    await res.p2pDone;
    assert.deepEqual(events, []);
    assert.equal(c.stats().files, 1);
  } finally {
    c.close();
  }
});

test('range: 206 with the slice; only the chunks it covers are asked for', async () => {
  const { relay, clientOpts } = setup();
  const c = await connect(clientOpts);
  try {
    const res = await c.fetch('big.jpg', { range: `bytes=${CS + 10}-${2 * CS + 20}` });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), `bytes ${CS + 10}-${2 * CS + 20}/${BIG.length}`);
    assert.equal(res.headers.get('content-length'), String(CS + 11));
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), BIG.slice(CS + 10, 2 * CS + 21));
    const asked = relay.log.filter((f) => f.type === FrameType.GET_CHUNK).map((f) => f.index);
    assert.deepEqual(asked.sort(), [1, 2]);
    const tail = await c.fetch('big.jpg', { range: [BIG.length - 3, BIG.length - 1] });
    assert.deepEqual(new Uint8Array(await tail.arrayBuffer()), BIG.slice(-3));
    await assert.rejects(c.fetch('big.jpg', { range: 'bytes=99999999-' }), (e) => e.code === 'bad_range' && e.status === 416);
  } finally {
    c.close();
  }
});

test('no link at all: the file comes in HTTP Range spans, each chunk verified', async () => {
  const { relay, clientOpts } = setup({ transports: ['http'] });
  const c = await connect(clientOpts);
  try {
    const res = await c.fetch('big.jpg', { stream: true });
    assert.deepEqual((await readAll(res)).out, BIG);
    const info = await res.p2pDone;
    assert.equal(info.transport, 'http');
    assert.equal(info.bySource.http, 11);
    assert.equal(relay.httpRanges.length, Math.ceil(11 / HTTP_SPAN_CHUNKS));
    assert.equal(relay.httpRanges[0].range, `bytes=0-${HTTP_SPAN_CHUNKS * CS - 1}`);
    // a relay that ignores ranges: whole bodies, the right slice kept
    relay.httpNoRanges = true;
    const again = await c.fetch('big.jpg', { stream: true, signal: undefined });
    assert.deepEqual((await readAll(again)).out.length, BIG.length);
  } finally {
    c.close();
  }
});

test('early with linkWaitMs, a WebSocket that comes fast: connect resolves at once, and the fetch waits for it: no HTTP at all', async () => {
  const { relay, clientOpts } = setup({ early: true, linkWaitMs: LINK_WAIT_MS, RTCPeerConnection: null });
  relay.helloDelayMs = 40;
  const t0 = Date.now();
  const c = await connect(clientOpts);
  try {
    assert.ok(Date.now() - t0 < 20, 'did not wait for the connection');
    const res = await c.fetch('big.jpg');
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), BIG);
    assert.equal(res.p2p.bySource.relay, 11);
    assert.equal((relay.httpLog ?? []).length, 0);
  } finally {
    c.close();
  }
});

test('early with linkWaitMs, a slow WebSocket: the first fetch starts over HTTP and moves to frames when the link is up', async () => {
  const { relay, clientOpts } = setup({ early: true, linkWaitMs: LINK_WAIT_MS, RTCPeerConnection: null, timeoutMs: 3000 });
  // no link within LINK_WAIT_MS: the manifest and a first span over HTTP (150 ms each); the hello comes meanwhile
  relay.helloDelayMs = LINK_WAIT_MS + 200;
  relay.httpDelayMs = 150;
  relay.chunkDelayMs = 5;
  const t0 = Date.now();
  const c = await connect(clientOpts);
  try {
    assert.ok(Date.now() - t0 < 20, 'did not wait for the connection');
    assert.equal(c.stats().transport, 'http');
    const res = await c.fetch('big.jpg');
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), BIG);
    assert.equal(res.p2p.verified, true);
    assert.ok(res.p2p.bySource.http > 0, `some chunks over HTTP first (${JSON.stringify(res.p2p.bySource)})`);
    assert.ok(res.p2p.bySource.relay > 0, 'the rest over frames');
    assert.ok(relay.httpLog.includes('/manifest/big.jpg'), 'the manifest did not wait for the link');
    assert.equal(c.stats().transport, 'websocket');
    const again = await c.fetch('big.jpg');
    assert.equal(again.p2p.bySource.local, 11);
  } finally {
    c.close();
  }
});

test('early without a link wait: the first fetch takes HTTP at once and moves to frames', async () => {
  const { relay, clientOpts } = setup({ early: true, RTCPeerConnection: null, timeoutMs: 3000 });
  relay.helloDelayMs = 100;
  relay.httpDelayMs = 60;
  const c = await connect(clientOpts);
  try {
    const res = await c.fetch('big.jpg');
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), BIG);
    assert.ok(relay.httpLog[0] === '/manifest/big.jpg', 'the manifest over HTTP at once');
    assert.ok(res.p2p.bySource.http > 0 && res.p2p.bySource.relay > 0, JSON.stringify(res.p2p.bySource));
  } finally {
    c.close();
  }
});

test('cancelling the body stops the transfer', async () => {
  const { relay, clientOpts } = setup();
  relay.chunkDelayMs = 20;
  const c = await connect({ ...clientOpts, maxInFlight: 2 });
  try {
    const res = await c.fetch('big.jpg', { stream: true });
    const reader = res.body.getReader();
    await reader.read();
    await reader.cancel();
    await assert.rejects(res.p2pDone, (e) => e.code === 'aborted' || e.name === 'AbortError' || /abort/i.test(e.message));
    const asked = relay.chunkRequests;
    await wait(100);
    assert.equal(relay.chunkRequests, asked, 'no more chunks asked for');
    assert.ok(asked < 11);
  } finally {
    c.close();
  }
});
