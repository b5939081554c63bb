// The bundle the relay serves (p2pcache.js, built from src/ by esbuild),
// not only its sources: the same client against the in-process fake relay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import connectDefault, { connect, Client, P2PCacheError, VERSION } from '../p2pcache.js';
import * as source from '../src/index.js';
import { ErrorCode, FrameType, fromHex, toHex } from 'p2pcache/wire';
import { FakeRelay, bytesOf, sha } from '../test-support/fake-relay.js';

const BIG = bytesOf(3 * 65536 + 999, 41); // 4 chunks
const SMALL = bytesOf(5000, 42);

function setup(opts = {}) {
  const relay = new FakeRelay();
  relay.addFile('images/big.jpg', BIG, { contentType: 'image/jpeg' });
  relay.addFile('small.png', SMALL, { contentType: 'image/png' });
  const clientOpts = {
    relay: 'http://relay.test:8080',
    WebSocket: relay.WebSocket,
    RTCPeerConnection: relay.RTCPeerConnection,
    fetch: relay.fetch,
    timeoutMs: 500,
    backoffBaseMs: 5,
    backoffMaxMs: 20,
    ...opts,
  };
  return { relay, clientOpts };
}

const wait = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(cond, ms = 3000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await wait(5);
  }
}

test('bundle: public surface', () => {
  assert.equal(connectDefault, connect);
  assert.equal(VERSION, source.VERSION);
  assert.equal(typeof Client, 'function');
  assert.notEqual(Client, source.Client, 'the bundle is its own copy of the code');
});

test('bundle: webrtc rung fetches verified bytes, announces them with HAVE and serves them', async () => {
  const { relay, clientOpts } = setup();
  const c = await connect(clientOpts);
  try {
    assert.ok(c instanceof Client);
    assert.equal(c.stats().transport, 'webrtc-tcp');
    const res = await c.fetch('/images/big.jpg');
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), BIG);
    assert.equal(res.headers.get('etag'), `"${sha(BIG)}"`);
    assert.equal(res.p2p.transport, 'webrtc-tcp');
    assert.equal(res.p2p.bySource.relay, 4);
    const m = relay.files.get('images/big.jpg').manifest;
    await until(() => relay.log.some((f) => f.type === FrameType.HAVE));
    const have = relay.log.find((f) => f.type === FrameType.HAVE);
    assert.equal(have.via, 'dc');
    assert.equal(toHex(have.hash), m.sha256);
    assert.equal(toHex(have.bitmap), '0f');
    const frames = await relay.askPeer(relay.lastDC, 700, 3, fromHex(m.chunks[3]));
    assert.equal(frames.length, 1);
    assert.equal(frames[0].type, FrameType.CHUNK);
    assert.equal(sha(frames[0].data), m.chunks[3]);
    const s = c.stats();
    assert.equal(s.served.chunks, 1);
    assert.equal(s.served.announcedFiles, 1);
    assert.equal(s.peerId, 'p-test');
    assert.ok(c.peerConnection);
  } finally {
    c.close();
  }
  assert.equal(c.stats().closed, true);
});

test('bundle: the ladder — websocket when WebRTC never opens, http when the WebSocket is refused', async () => {
  const a = setup({ webrtcTimeoutMs: 50 });
  a.relay.rtc = 'never';
  const c = await connect(a.clientOpts);
  try {
    assert.equal(c.stats().transport, 'websocket');
    const res = await c.fetch('small.png');
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), SMALL);
    assert.equal(res.p2p.transport, 'websocket');
  } finally {
    c.close();
  }
  const b = setup();
  b.relay.refuseWS = true;
  const h = await connect(b.clientOpts);
  try {
    assert.equal(h.stats().transport, 'http');
    const res = await h.fetch('small.png');
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), SMALL);
    assert.equal(res.p2p.transport, 'http');
    assert.equal(res.p2p.verified, true);
  } finally {
    h.close();
  }
});

test('bundle: errors are its P2PCacheError, with code and status', async () => {
  const { relay, clientOpts } = setup({ RTCPeerConnection: null });
  relay.corrupt.set('small.png#0', 1);
  const failures = [];
  const c = await connect(clientOpts);
  c.addEventListener('verifyfailure', (e) => failures.push(e.detail));
  try {
    await assert.rejects(c.fetch('nope.jpg'), (e) => e instanceof P2PCacheError && e.code === 'not_found' && e.status === 404 && e.remoteCode === ErrorCode.NOT_FOUND);
    await assert.rejects(c.fetch('../x'), (e) => e instanceof P2PCacheError && e.code === 'bad_path');
    const res = await c.fetch('small.png');
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), SMALL);
    assert.equal(failures.length, 1, 'a corrupted chunk is caught and refetched');
    assert.equal(res.p2p.verifyFailures, 1);
  } finally {
    c.close();
  }
  await assert.rejects(connect({ relay: 'ftp://x' }), (e) => e instanceof P2PCacheError && e.code === 'bad_option');
});
