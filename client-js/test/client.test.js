// The client end to end against an in-process fake relay (fake WebSocket,
// RTCPeerConnection and fetch): the fallback ladder, verification, retries,
// the peer role and teardown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../src/index.js';
import { FrameType, ErrorCode, encodeFrame, decodeFrame, fromHex, toHex } from 'p2pcache/wire';
import { FakeRelay, bytesOf, sha } from '../test-support/fake-relay.js';

const RELAY = 'http://relay.test:8080';
const BIG = bytesOf(3 * 65536 + 999, 21); // 4 chunks
const SMALL = bytesOf(5000, 22);

function setup(opts = {}) {
  const relay = new FakeRelay();
  relay.addFile('images/big.jpg', BIG, { contentType: 'image/jpeg' });
  relay.addFile('small.png', SMALL, { contentType: 'image/png' });
  const clientOpts = {
    relay: RELAY,
    WebSocket: relay.WebSocket,
    RTCPeerConnection: null,
    fetch: relay.fetch,
    timeoutMs: 500,
    backoffBaseMs: 5,
    backoffMaxMs: 20,
    ...opts,
  };
  return { relay, clientOpts };
}

async function bytesOfRes(res) {
  return new Uint8Array(await res.arrayBuffer());
}

const wait = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(cond, ms = 2000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await wait(5);
  }
}

test('websocket rung: a multi-chunk file arrives verified, with progress and stats', async () => {
  const { relay, clientOpts } = setup();
  const c = await connect(clientOpts);
  try {
    assert.equal(c.stats().transport, 'websocket');
    assert.equal(c.stats().peerId, 'p-test');
    const progress = [];
    const res = await c.fetch('/images/big.jpg', { onProgress: (p) => progress.push(p) });
    assert.equal(res.status, 200);
    assert.ok(res.ok);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    assert.equal(res.headers.get('content-length'), String(BIG.length));
    assert.equal(res.headers.get('etag'), `"${sha(BIG)}"`);
    assert.equal(res.headers.get('x-p2pcache-source'), 'relay');
    assert.equal(res.headers.get('x-p2pcache-transport'), 'websocket');
    assert.deepEqual(await bytesOfRes(res), BIG);
    assert.equal(progress.length, 4);
    assert.equal(progress.at(-1).loaded, BIG.length);
    assert.equal(progress.at(-1).total, BIG.length);
    assert.equal(res.p2p.chunks, 4);
    assert.equal(res.p2p.bySource.relay, 4);
    assert.equal(res.p2p.verified, true);
    assert.equal(await res.p2pDone, res.p2p, 'a buffered response is complete: p2pDone resolves with its FetchInfo (d.ts)');
    const s = c.stats();
    assert.equal(s.files, 1);
    assert.equal(s.bytes, BIG.length);
    assert.equal(s.bySource.relay, 4);
    assert.equal(s.bySource.http, 0);
    // requests went as GET_MANIFEST then GET_CHUNK with the path, pipelined
    const reqs = relay.log.filter((f) => f.type === FrameType.GET_MANIFEST || f.type === FrameType.GET_CHUNK);
    assert.equal(reqs[0].type, FrameType.GET_MANIFEST);
    assert.equal(reqs[0].path, 'images/big.jpg');
    assert.equal(reqs.filter((f) => f.type === FrameType.GET_CHUNK && f.path === 'images/big.jpg').length, 4);
  } finally {
    c.close();
  }
});

test('webrtc rung: pre-negotiated channel, offer sent at once, frames over the data channel', async () => {
  const { relay, clientOpts } = setup({ RTCPeerConnection: undefined });
  clientOpts.RTCPeerConnection = relay.RTCPeerConnection;
  const transports = [];
  const c = await connect(clientOpts);
  c.addEventListener('transport', (e) => transports.push(e.detail.transport));
  try {
    assert.equal(c.stats().transport, 'webrtc-tcp');
    const pc = relay.pcs[0];
    assert.deepEqual(pc.config, { iceServers: [] });
    assert.equal(relay.lastDC.label, 'p2pcache');
    assert.deepEqual(relay.lastDC.opts, { negotiated: true, id: 0, ordered: true });
    assert.equal(relay.lastDC.binaryType, 'arraybuffer');
    const offer = relay.signals.find((s) => s.type === 'offer');
    assert.ok(offer && offer.v === 1 && offer.sdp.startsWith('v=0'));
    assert.equal(relay.signals.filter((s) => s.type === 'candidate').length, 0);
    const res = await c.fetch('small.png');
    assert.deepEqual(await bytesOfRes(res), SMALL);
    assert.equal(res.p2p.transport, 'webrtc-tcp');
    const chunkReqs = relay.log.filter((f) => f.type === FrameType.GET_CHUNK);
    assert.ok(chunkReqs.length > 0 && chunkReqs.every((f) => f.via === 'dc'));
  } finally {
    c.close();
  }
});

test('webrtc that never opens falls back to the websocket within its timeout', async () => {
  const { relay, clientOpts } = setup();
  relay.rtc = 'never';
  const t0 = Date.now();
  const c = await connect({ ...clientOpts, timeoutMs: 4000, RTCPeerConnection: relay.RTCPeerConnection, webrtcTimeoutMs: 80 });
  try {
    assert.ok(Date.now() - t0 < 2500, 'resolved by the webrtc timeout, not the overall one');
    assert.equal(c.stats().transport, 'websocket');
    assert.equal(relay.pcs[0].connectionState, 'closed', 'the failed peer connection is released');
    const res = await c.fetch('small.png');
    assert.deepEqual(await bytesOfRes(res), SMALL);
    assert.equal(res.p2p.transport, 'websocket');
  } finally {
    c.close();
  }
});

test('no websocket: connect resolves on the http rung and fetch verifies against the manifest', async () => {
  const { relay, clientOpts } = setup();
  relay.refuseWS = true;
  const c = await connect(clientOpts);
  try {
    assert.equal(c.stats().transport, 'http');
    assert.equal(c.stats().rttMs, null);
    const progress = [];
    const res = await c.fetch('/images/big.jpg', { onProgress: (p) => progress.push(p) });
    assert.deepEqual(await bytesOfRes(res), BIG);
    assert.equal(res.headers.get('x-p2pcache-source'), 'http');
    assert.equal(res.p2p.transport, 'http');
    assert.equal(res.p2p.verified, true);
    assert.ok(progress.length >= 1);
    assert.equal(c.stats().bySource.http, 4);
    assert.ok(relay.httpLog.includes('/files/images/big.jpg'));
    assert.ok(relay.httpLog.includes('/manifest/images/big.jpg'));
  } finally {
    c.close();
  }
});

test('a websocket that never says hello: connect still resolves in time, on http', async () => {
  const { relay, clientOpts } = setup({ timeoutMs: 100 });
  relay.silentWS = true;
  const t0 = Date.now();
  const c = await connect(clientOpts);
  try {
    assert.ok(Date.now() - t0 < 1500, 'bounded by timeoutMs');
    assert.equal(c.stats().transport, 'http');
    assert.deepEqual(await bytesOfRes(await c.fetch('small.png')), SMALL);
  } finally {
    c.close();
  }
});

test('a corrupted chunk is refetched once; the page only sees good bytes', async () => {
  const { relay, clientOpts } = setup();
  relay.corrupt.set('images/big.jpg#1', 1);
  const events = [];
  const errors = [];
  const c = await connect({ ...clientOpts, onError: (e) => errors.push(e) });
  c.addEventListener('verifyfailure', (e) => events.push(e.detail));
  try {
    const res = await c.fetch('images/big.jpg');
    assert.deepEqual(await bytesOfRes(res), BIG);
    assert.equal(res.p2p.transport, 'websocket');
    assert.equal(res.p2p.verifyFailures, 1);
    assert.equal(c.stats().verifyFailures, 1);
    assert.equal(events.length, 1);
    assert.equal(events[0].index, 1);
    assert.equal(errors[0].code, 'verify_failed');
    const reqs = relay.log.filter((f) => f.type === FrameType.GET_CHUNK && f.index === 1);
    assert.equal(reqs.length, 2);
  } finally {
    c.close();
  }
});

test('a chunk corrupted twice sends the whole file to the http rung', async () => {
  const { relay, clientOpts } = setup();
  relay.corrupt.set('images/big.jpg#2', 99);
  const c = await connect(clientOpts);
  try {
    const res = await c.fetch('images/big.jpg');
    assert.deepEqual(await bytesOfRes(res), BIG);
    assert.equal(res.p2p.transport, 'http');
    assert.match(res.p2p.fallbackReason, /verification/);
    assert.equal(res.p2p.verifyFailures, 2);
    assert.ok(relay.httpLog.includes('/files/images/big.jpg'));
    assert.equal(c.stats().bySource.http, 4);
  } finally {
    c.close();
  }
});

test('bad bytes on every rung reject with verify_failed', async () => {
  const { relay, clientOpts } = setup();
  relay.corrupt.set('images/big.jpg#0', 99);
  relay.corruptHTTP = true;
  const c = await connect(clientOpts);
  try {
    await assert.rejects(c.fetch('images/big.jpg'), (e) => e.code === 'verify_failed' && e.status === 502);
    assert.equal(c.stats().files, 0);
  } finally {
    c.close();
  }
});

test('not_found rejects with code and status, without trying http', async () => {
  const { relay, clientOpts } = setup();
  const c = await connect(clientOpts);
  try {
    await assert.rejects(c.fetch('nope.jpg'), (e) => e.name === 'P2PCacheError' && e.code === 'not_found' && e.status === 404 && e.remoteCode === 2);
    assert.equal((relay.httpLog ?? []).length, 0);
  } finally {
    c.close();
  }
  // over http a 404 maps to the same code
  const h = setup();
  h.relay.refuseWS = true;
  const c2 = await connect(h.clientOpts);
  try {
    await assert.rejects(c2.fetch('nope.jpg'), (e) => e.code === 'not_found' && e.status === 404);
  } finally {
    c2.close();
  }
});

test('stale refetches the manifest and restarts; busy is retried', async () => {
  const { relay, clientOpts } = setup();
  relay.errors.set('chunk:small.png', [ErrorCode.STALE]);
  relay.errors.set('manifest:images/big.jpg', [ErrorCode.BUSY, ErrorCode.BUSY]);
  const c = await connect(clientOpts);
  try {
    assert.deepEqual(await bytesOfRes(await c.fetch('small.png')), SMALL);
    assert.equal(relay.log.filter((f) => f.type === FrameType.GET_MANIFEST && f.path === 'small.png').length, 2);
    const res = await c.fetch('images/big.jpg');
    assert.deepEqual(await bytesOfRes(res), BIG);
    assert.equal(res.p2p.transport, 'websocket');
    assert.equal(relay.log.filter((f) => f.type === FrameType.GET_MANIFEST && f.path === 'images/big.jpg').length, 3);
  } finally {
    c.close();
  }
});

test('origin_error falls back to http', async () => {
  const { relay, clientOpts } = setup();
  relay.errors.set('manifest:small.png', [ErrorCode.ORIGIN_ERROR]);
  const c = await connect(clientOpts);
  try {
    const res = await c.fetch('small.png');
    assert.deepEqual(await bytesOfRes(res), SMALL);
    assert.equal(res.p2p.transport, 'http');
  } finally {
    c.close();
  }
});

test('pings are answered with the same id and bytes; own pings measure rtt', async () => {
  const { relay, clientOpts } = setup({ pingIntervalMs: 20 });
  const c = await connect(clientOpts);
  try {
    const got = [];
    relay.peerAnswers.set(0xabcdef, got);
    const payload = new Uint8Array([8, 7, 6, 5, 4, 3, 2, 1]);
    relay.lastWS.deliver(encodeFrame({ type: FrameType.PING, id: 0xabcdef, data: payload }));
    await until(() => got.length === 1);
    assert.equal(got[0].type, FrameType.PONG);
    assert.deepEqual([...got[0].data], [...payload]);
    await until(() => c.stats().rttMs !== null);
    assert.ok(c.stats().rttMs >= 0);
    assert.ok(relay.log.filter((f) => f.type === FrameType.PING).length >= 1);
  } finally {
    c.close();
  }
});

test('peer role: the relay gets held chunks by hash, and unknown_chunk otherwise', async () => {
  const { relay, clientOpts } = setup();
  const c = await connect(clientOpts);
  try {
    await c.fetch('images/big.jpg');
    const m = relay.files.get('images/big.jpg').manifest;
    const frames = await relay.askPeer(relay.lastWS, 500, 0, fromHex(m.chunks[0]));
    assert.equal(frames.length, 2, 'a 64 KiB chunk answers in two frames');
    const chunk = new Uint8Array(frames[0].total);
    for (const f of frames) {
      assert.equal(f.type, FrameType.CHUNK);
      assert.equal(f.id, 500);
      chunk.set(f.data, f.offset);
    }
    assert.equal(sha(chunk), m.chunks[0]);
    const miss = await relay.askPeer(relay.lastWS, 501, 0, new Uint8Array(32));
    assert.equal(miss.length, 1);
    assert.equal(miss[0].type, FrameType.ERROR);
    assert.equal(miss[0].code, ErrorCode.UNKNOWN_CHUNK);
    assert.equal(c.stats().served.chunks, 1);
  } finally {
    c.close();
  }
});

test('unknown request types are answered unsupported; GET_FILE from the relay too', async () => {
  const { relay, clientOpts } = setup();
  const c = await connect(clientOpts);
  try {
    const got = [];
    relay.peerAnswers.set(77, got);
    relay.lastWS.deliver(new Uint8Array([1, 0x0e, 0, 0, 0, 0, 0, 77]));
    relay.peerAnswers.set(78, got);
    relay.lastWS.deliver(encodeFrame({ type: FrameType.GET_FILE, id: 78, path: 'x' }));
    await until(() => got.length === 2);
    assert.ok(got.every((f) => f.type === FrameType.ERROR && f.code === ErrorCode.UNSUPPORTED));
  } finally {
    c.close();
  }
});

test('a repeat fetch is served from the local chunk cache', async () => {
  const { relay, clientOpts } = setup();
  const c = await connect(clientOpts);
  try {
    await c.fetch('images/big.jpg');
    const before = relay.chunkRequests;
    const res = await c.fetch('images/big.jpg');
    assert.deepEqual(await bytesOfRes(res), BIG);
    assert.equal(relay.chunkRequests, before, 'no chunk went over the wire');
    assert.equal(res.headers.get('x-p2pcache-source'), 'local');
    assert.equal(res.p2p.bySource.local, 4);
    assert.equal(c.stats().bySource.local, 4);
    assert.equal(c.stats().cache.chunks, 4);
  } finally {
    c.close();
  }
});

test('the peer cache respects peerCacheBytes', async () => {
  const { clientOpts } = setup({ peerCacheBytes: 100000, maxInFlight: 1 }); // in order: deterministic evictions
  const c = await connect(clientOpts);
  try {
    await c.fetch('images/big.jpg');
    const s = c.stats().cache;
    assert.ok(s.bytes <= 100000);
    assert.equal(s.chunks, 2, 'one 64 KiB chunk and the 999-byte tail fit; two 64 KiB chunks would not');
    assert.ok(s.evictions >= 2);
  } finally {
    c.close();
  }
});

test('a relay restart mid-fetch: the fetch completes after reconnecting', async () => {
  const { relay, clientOpts } = setup({ maxInFlight: 1 });
  const c = await connect(clientOpts);
  try {
    let dropped = false;
    const res = await c.fetch('images/big.jpg', {
      onProgress: ({ index }) => {
        if (!dropped && index === 1) {
          dropped = true;
          relay.dropAll();
        }
      },
    });
    assert.ok(dropped);
    assert.deepEqual(await bytesOfRes(res), BIG);
    assert.equal(res.p2p.transport, 'websocket');
    assert.ok(res.p2p.retries >= 1);
    assert.equal(res.p2p.bySource.relay, 4, 'chunks fetched before the drop still count once, as relay');
    assert.equal(relay.wsCount, 2);
    assert.equal(c.stats().reconnects, 1);
    assert.equal(c.stats().transport, 'websocket');
  } finally {
    c.close();
  }
});

test('after a drop with no relay back, fetch falls to http; the client reconnects later', async () => {
  const { relay, clientOpts } = setup();
  const c = await connect({ ...clientOpts, timeoutMs: 100, backoffBaseMs: 30, backoffMaxMs: 60 });
  try {
    relay.refuseWS = true;
    relay.dropAll();
    const res = await c.fetch('small.png');
    assert.deepEqual(await bytesOfRes(res), SMALL);
    assert.equal(res.p2p.transport, 'http');
    relay.refuseWS = false;
    await until(() => c.stats().transport === 'websocket');
  } finally {
    c.close();
  }
});

test('close() rejects pending fetches and later ones, and stops reconnecting', async () => {
  const { relay, clientOpts } = setup();
  relay.errors.set('manifest:small.png', []);
  const c = await connect(clientOpts);
  // a manifest request the relay never answers
  relay.handle = async () => {};
  const p = c.fetch('small.png');
  await wait(10);
  c.close();
  await assert.rejects(p, (e) => e.code === 'closed');
  await assert.rejects(c.fetch('small.png'), (e) => e.code === 'closed');
  assert.equal(c.stats().closed, true);
  const n = relay.wsCount;
  await wait(60);
  assert.equal(relay.wsCount, n, 'no reconnect after close');
  assert.equal(relay.sockets.size, 0, 'websocket closed');
});

test('a user abort rejects with aborted', async () => {
  const { relay, clientOpts } = setup();
  const c = await connect(clientOpts);
  try {
    relay.handle = async () => {};
    const ac = new AbortController();
    const p = c.fetch('small.png', { signal: ac.signal });
    setTimeout(() => ac.abort(), 10);
    await assert.rejects(p, (e) => e.code === 'aborted');
    assert.equal(c.stats().inFlight, 0);
  } finally {
    c.close();
  }
});

test('bad paths reject before touching the network', async () => {
  const { relay, clientOpts } = setup();
  const c = await connect(clientOpts);
  try {
    const requests = () => relay.log.filter((f) => f.type !== FrameType.PING && f.type !== FrameType.PONG).length;
    const before = requests();
    await assert.rejects(c.fetch('../secret'), (e) => e.code === 'bad_path' && /'\.\.'/.test(e.message));
    await assert.rejects(c.fetch('a/./b'), (e) => e.code === 'bad_path');
    assert.equal(requests(), before);
    assert.equal((relay.httpLog ?? []).length, 0);
  } finally {
    c.close();
  }
});

test('when even http fails, fetch rejects with a clear network error', async () => {
  const { relay, clientOpts } = setup();
  relay.refuseWS = true;
  relay.httpDown = true;
  const c = await connect(clientOpts);
  try {
    await assert.rejects(c.fetch('small.png'), (e) => e.code === 'network' && /could not be reached/.test(e.message));
  } finally {
    c.close();
  }
});

test('the token rides as access_token on the websocket and http', async () => {
  const { relay, clientOpts } = setup({ token: 's3cr3t' });
  relay.refuseWS = true;
  const c = await connect(clientOpts);
  try {
    assert.match(relay.lastWS.url, /^ws:\/\/relay\.test:8080\/ws\?access_token=s3cr3t$/);
    await c.fetch('small.png');
    assert.ok(relay.httpLog.includes('/files/small.png?access_token=s3cr3t'));
  } finally {
    c.close();
  }
});

test('https relays use wss', async () => {
  const { relay, clientOpts } = setup({ relay: 'https://r.example' });
  const c = await connect(clientOpts);
  try {
    assert.equal(relay.lastWS.url, 'wss://r.example/ws');
  } finally {
    c.close();
  }
});

test('options are checked', async () => {
  await assert.rejects(connect({ relay: 'ftp://x' }), (e) => e.code === 'bad_option');
  await assert.rejects(connect({ relay: 'not a url' }), (e) => e.code === 'bad_option');
  await assert.rejects(connect({}), (e) => e.code === 'bad_option', 'no default relay under node (file: URL)');
});

test('transports can be restricted to http', async () => {
  const { relay, clientOpts } = setup({ transports: ['http'] });
  const c = await connect(clientOpts);
  try {
    assert.equal(relay.wsCount, 0);
    assert.equal(c.stats().transport, 'http');
    assert.deepEqual(await bytesOfRes(await c.fetch('small.png')), SMALL);
  } finally {
    c.close();
  }
});

test('frames that are not ours are ignored without breaking the client', async () => {
  const { relay, clientOpts } = setup();
  const c = await connect(clientOpts);
  try {
    const ws = relay.lastWS;
    ws.deliver(new Uint8Array([9, 9, 9])); // short
    ws.deliver(new Uint8Array([2, 0x11, 0, 0, 0, 0, 0, 1])); // bad version
    ws.deliver(encodeFrame({ type: FrameType.CHUNK, id: 12345, index: 0, total: 1, offset: 0, data: new Uint8Array(1) })); // no such request
    const ev = new Event('message');
    ev.data = '{not json';
    ws.dispatchEvent(ev);
    assert.deepEqual(await bytesOfRes(await c.fetch('small.png')), SMALL);
    assert.equal(c.stats().transport, 'websocket');
  } finally {
    c.close();
  }
});

test('requests in flight stay under maxRequests across concurrent fetches', async () => {
  const { relay, clientOpts } = setup({ maxRequests: 3, maxInFlight: 8 });
  relay.chunkDelayMs = 3;
  const c = await connect(clientOpts);
  try {
    const [a, b] = await Promise.all([c.fetch('images/big.jpg'), c.fetch('small.png')]);
    assert.deepEqual(await bytesOfRes(a), BIG);
    assert.deepEqual(await bytesOfRes(b), SMALL);
    assert.ok(relay.maxOpen >= 2 && relay.maxOpen <= 3, `max open ${relay.maxOpen}`);
    assert.equal(c.stats().inFlight, 0);
  } finally {
    c.close();
  }
});

test('a relay restart with the relay fully down for a while: the fetch rides it out', async () => {
  const { relay, clientOpts } = setup({ maxInFlight: 1, timeoutMs: 100, backoffBaseMs: 20, backoffMaxMs: 40 });
  const c = await connect(clientOpts);
  try {
    let dropped = false;
    const p = c.fetch('images/big.jpg', {
      onProgress: ({ index }) => {
        if (!dropped && index === 1) {
          dropped = true;
          relay.refuseWS = true;
          relay.httpDown = true;
          relay.dropAll();
          setTimeout(() => {
            relay.refuseWS = false;
            relay.httpDown = false;
          }, 400);
        }
      },
    });
    const res = await p;
    assert.deepEqual(await bytesOfRes(res), BIG);
    assert.ok(res.p2p.retries >= 1);
    assert.equal(c.stats().transport, 'websocket');
  } finally {
    c.close();
  }
});

test('a relay that stays down: the fetch fails with network after retryWindowMs', async () => {
  const { relay, clientOpts } = setup({ maxInFlight: 1, timeoutMs: 50, retryWindowMs: 300, backoffBaseMs: 20, backoffMaxMs: 40 });
  const c = await connect(clientOpts);
  try {
    const t0 = Date.now();
    const p = c.fetch('images/big.jpg', {
      onProgress: () => {
        relay.refuseWS = true;
        relay.httpDown = true;
        relay.dropAll();
      },
    });
    await assert.rejects(p, (e) => e.code === 'network');
    const took = Date.now() - t0;
    assert.ok(took >= 250 && took < 4000, `took ${took} ms`);
  } finally {
    c.close();
  }
});

void decodeFrame;
void toHex;
