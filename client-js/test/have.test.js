// HAVE (PROTOCOL.md §2): the frame codec against the relay's Go encoding,
// byte for byte, and the client's announcements (batched per file, on the
// data channel only, again after a reconnect, withdrawn when evicted, none
// with serve: false).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../src/index.js';
import {
  encodeFrame,
  decodeFrame,
  haveBitmap,
  fromHex,
  toHex,
  ByteLRU,
  FrameType,
  ErrorCode,
  FrameError,
  HAVE_DELAY_MS,
} from 'p2pcache/wire';
import { FakeRelay, bytesOf } from '../test-support/fake-relay.js';

const SEQ = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const P2P = '6e30663da275fe8f08e25a08dd299d09157fa30dddc65bcd7425212f4be9759e'; // sha256("p2pcache")

// Printed by wire.AppendFrame (relay/wire/frame.go) for these frames, and decoded
// by wire.DecodeFrame back to the same fields.
const GO_VECTORS = [
  {
    frame: { id: 0, hash: SEQ, count: 1, bitmap: '01', path: 'a' },
    hex: '0107000000000000' + SEQ + '00000001' + '01' + '61',
  },
  {
    frame: { id: 7, hash: SEQ, count: 10, bitmap: 'ff02', path: 'images/cat.jpg' },
    hex: '0107000000000007' + SEQ + '0000000a' + 'ff02' + '696d616765732f6361742e6a7067',
  },
  {
    frame: { id: 0xdeadbeef, hash: P2P, count: 83, bitmap: 'ffffffffffffffffffff07', path: 'images/nebula.png' },
    hex: '01070000deadbeef' + P2P + '00000053' + 'ffffffffffffffffffff07' + '696d616765732f6e6562756c612e706e67',
  },
  {
    frame: { id: 1, hash: P2P, count: 16, bitmap: '0000', path: 'x/ü.webp' },
    hex: '0107000000000001' + P2P + '00000010' + '0000' + '782fc3bc2e77656270',
  },
  {
    frame: { id: 2, hash: SEQ, count: 0, bitmap: '', path: 'empty' },
    hex: '0107000000000002' + SEQ + '00000000' + '656d707479',
  },
];

test('HAVE encodes byte-exact as relay/wire/frame.go does, and decodes back', () => {
  for (const { frame, hex } of GO_VECTORS) {
    const f = { type: FrameType.HAVE, ...frame, bitmap: fromHex(frame.bitmap) };
    assert.equal(toHex(encodeFrame(f)), hex, frame.path);
    const hashBytes = { ...f, hash: fromHex(frame.hash) };
    assert.equal(toHex(encodeFrame(hashBytes)), hex, `${frame.path}, hash as bytes`);
    const d = decodeFrame(fromHex(hex));
    assert.equal(d.type, FrameType.HAVE);
    assert.equal(d.id, frame.id);
    assert.equal(toHex(d.hash), frame.hash);
    assert.equal(d.count, frame.count);
    assert.equal(toHex(d.bitmap), frame.bitmap);
    assert.equal(d.path, frame.path);
  }
});

test('HAVE refuses what the relay refuses', () => {
  const base = { type: FrameType.HAVE, id: 1, hash: SEQ, path: 'a' };
  const bad = (f, re) => assert.throws(() => encodeFrame({ ...base, ...f }), (e) => e instanceof FrameError && re.test(e.message));
  bad({ count: 3, bitmap: new Uint8Array([0x08]) }, /bits set past chunk 3/);
  bad({ count: 9, bitmap: new Uint8Array([0x01]) }, /bitmap is 1 bytes for 9 chunks/);
  bad({ count: 1, bitmap: new Uint8Array([1]), path: '' }, /empty path/);
  bad({ count: 1, bitmap: new Uint8Array([1]), path: 'a'.repeat(1025) }, /path longer/);
  bad({ count: -1, bitmap: new Uint8Array(0) }, /count/);
  bad({ count: 1, bitmap: new Uint8Array([1]), hash: 'zz' }, /hash/);

  const hdr = '0107000000000009' + SEQ;
  const rejects = (hex, re) =>
    assert.throws(() => decodeFrame(fromHex(hex)), (e) => e.code === 'bad_frame' && e.type === FrameType.HAVE && e.id === 9 && re.test(e.message));
  rejects('0107000000000009' + SEQ.slice(0, 60), /at least 36/); // no count
  rejects(hdr + '00000009' + '0361', /empty path/); // the path byte is the bitmap's second
  rejects(hdr + '00000011' + '01', /needs 3 bytes/);
  rejects(hdr + '00000003' + '08' + '61', /bits set past chunk 3/);
  rejects(hdr + '00000001' + '01', /empty path/);
  rejects(hdr + '00000001' + '01' + 'ff', /not UTF-8/);
  rejects(hdr + 'ffffffff', /needs 536870912 bytes/);
});

test('haveBitmap sets bit i%8 of byte i/8, least significant first', () => {
  const hashes = Array.from({ length: 11 }, (_, i) => String(i));
  assert.equal(toHex(haveBitmap(hashes, () => true)), 'ff07');
  assert.equal(toHex(haveBitmap(hashes, (h) => h === '0' || h === '9')), '0102');
  assert.equal(toHex(haveBitmap(hashes, () => false)), '0000');
  assert.equal(haveBitmap([], () => true).length, 0);
});

test('ByteLRU calls onEvict for entries pushed out, not for delete or clear', () => {
  const gone = [];
  const lru = new ByteLRU(10, (k, v) => gone.push([k, v.length]));
  lru.set('a', new Uint8Array(4));
  lru.set('b', new Uint8Array(4));
  lru.delete('b');
  lru.set('c', new Uint8Array(4));
  lru.set('d', new Uint8Array(4)); // pushes out a
  assert.deepEqual(gone, [['a', 4]]);
  lru.clear();
  assert.deepEqual(gone, [['a', 4]]);
});

// ---- the client's announcements, against the fake relay ----

const BIG = bytesOf(3 * 65536 + 999, 31); // 4 chunks
const OTHER = bytesOf(2 * 65536, 32); // 2 chunks
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(cond, ms = 3000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await wait(5);
  }
}

function setup(opts = {}) {
  const relay = new FakeRelay();
  relay.addFile('images/big.jpg', BIG, { contentType: 'image/jpeg' });
  relay.addFile('other.bin', OTHER);
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

const haves = (relay, path) => relay.log.filter((f) => f.type === FrameType.HAVE && (!path || f.path === path));

test('a fetched file is announced in one HAVE on the data channel, with every chunk', async () => {
  const { relay, clientOpts } = setup();
  const c = await connect(clientOpts);
  try {
    assert.equal(c.stats().transport, 'webrtc-tcp');
    await c.fetch('images/big.jpg');
    await until(() => haves(relay).length >= 1);
    await wait(HAVE_DELAY_MS + 50); // nothing more comes: one frame per file
    const m = relay.files.get('images/big.jpg').manifest;
    const hs = haves(relay);
    assert.equal(hs.length, 1);
    assert.equal(hs[0].via, 'dc');
    assert.equal(toHex(hs[0].hash), m.sha256);
    assert.equal(hs[0].count, 4);
    assert.equal(toHex(hs[0].bitmap), '0f');
    assert.equal(c.stats().served.haveFrames, 1);
    assert.equal(c.stats().served.announcedFiles, 1);
    // a repeat fetch (all local) changes nothing: no new HAVE
    await c.fetch('images/big.jpg');
    await wait(HAVE_DELAY_MS + 50);
    assert.equal(haves(relay).length, 1);
  } finally {
    c.close();
  }
});

test('after a reconnect, everything held is announced again', async () => {
  const { relay, clientOpts } = setup();
  const c = await connect(clientOpts);
  try {
    await c.fetch('images/big.jpg');
    await c.fetch('other.bin');
    await until(() => haves(relay).length >= 2);
    relay.dropAll();
    await until(() => relay.pcs.length === 2 && c.stats().transport === 'webrtc-tcp');
    await until(() => haves(relay).length >= 4);
    const again = haves(relay).slice(2);
    assert.deepEqual(again.map((f) => f.path).sort(), ['images/big.jpg', 'other.bin']);
    assert.ok(again.every((f) => f.via === 'dc'));
    assert.deepEqual(again.map((f) => toHex(f.bitmap)).sort(), ['03', '0f']);
  } finally {
    c.close();
  }
});

test('evicted chunks are withdrawn with a new bitmap; a file with none left with an empty one', async () => {
  // room for two 64 KiB chunks, fetched in order: big.jpg leaves chunks 2 and 3
  // (64 KiB + 999 bytes); other.bin's two chunks then push both out
  const { relay, clientOpts } = setup({ peerCacheBytes: 2 * 65536, maxInFlight: 1 });
  const c = await connect(clientOpts);
  try {
    await c.fetch('images/big.jpg');
    await until(() => haves(relay, 'images/big.jpg').length >= 1);
    const first = haves(relay, 'images/big.jpg').at(-1);
    assert.equal(toHex(first.bitmap), '0c', 'chunks 2 and 3 are what fits');
    await c.fetch('other.bin');
    await until(() => haves(relay, 'images/big.jpg').some((f) => toHex(f.bitmap) === '00'));
    assert.equal(toHex(haves(relay, 'other.bin').at(-1).bitmap), '03');
    assert.equal(c.stats().served.announcedFiles, 1);
    // what was withdrawn is no longer served either
    const m = relay.files.get('images/big.jpg').manifest;
    const miss = await relay.askPeer(relay.lastDC, 900, 3, fromHex(m.chunks[3]));
    assert.equal(miss[0].code, ErrorCode.UNKNOWN_CHUNK);
  } finally {
    c.close();
  }
});

test('serve: false says so in the offer, sends no HAVE and refuses GET_CHUNK', async () => {
  const { relay, clientOpts } = setup({ serve: false });
  const c = await connect(clientOpts);
  try {
    assert.equal(relay.signals.find((s) => s.type === 'offer').serve, false);
    await c.fetch('images/big.jpg');
    await wait(HAVE_DELAY_MS + 50);
    assert.equal(haves(relay).length, 0);
    const m = relay.files.get('images/big.jpg').manifest;
    const got = await relay.askPeer(relay.lastDC, 901, 0, fromHex(m.chunks[0]));
    assert.equal(got.length, 1);
    assert.equal(got[0].code, ErrorCode.FORBIDDEN);
    // the local cache still serves repeat fetches
    const res = await c.fetch('images/big.jpg');
    assert.equal(res.p2p.source, 'local');
  } finally {
    c.close();
  }
  const { relay: r2, clientOpts: o2 } = setup();
  const c2 = await connect(o2);
  c2.close();
  assert.equal('serve' in r2.signals.find((s) => s.type === 'offer'), false, 'serving is the default; the offer says nothing');
});

test('no HAVE over the websocket rung: the relay only asks peers with a data channel', async () => {
  const { relay, clientOpts } = setup({ RTCPeerConnection: null });
  const c = await connect(clientOpts);
  try {
    assert.equal(c.stats().transport, 'websocket');
    await c.fetch('images/big.jpg');
    await wait(HAVE_DELAY_MS + 50);
    assert.equal(haves(relay).length, 0);
    assert.equal(c.stats().cache.chunks, 4, 'the chunks are still held for local use');
  } finally {
    c.close();
  }
});

test('connect timings and the peer connection are exposed', async () => {
  const { clientOpts } = setup();
  const c = await connect(clientOpts);
  try {
    const t = c.stats().connect;
    for (const k of ['ws', 'hello', 'offer', 'answer', 'dtls', 'dataChannel']) {
      assert.equal(typeof t[k], 'number', k);
    }
    assert.ok(t.hello <= t.offer && t.offer <= t.answer && t.answer <= t.dataChannel);
    assert.ok(c.peerConnection, 'the fake RTCPeerConnection');
  } finally {
    c.close();
  }
  assert.equal(c.peerConnection, null);
});
