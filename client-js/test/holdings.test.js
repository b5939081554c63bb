// Holdings (src/holdings.js), the peer role on its own: serving chunks
// within the relay's frame size, and HAVE bookkeeping without a client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Holdings } from '../src/holdings.js';
import { ErrorCode, FrameType, decodeFrame, fromHex, toHex } from 'p2pcache/wire';
import { bytesOf, makeManifest } from '../test-support/fake-relay.js';

function fakeLink() {
  return {
    frames: [],
    send(b) {
      this.frames.push(decodeFrame(b));
      return true;
    },
  };
}

const FILE = bytesOf(2 * 65536 + 10, 9);
const M = makeManifest('a/file.bin', FILE);
const chunk = (i) => FILE.slice(i * 65536, (i + 1) * 65536);

function setup(opts = {}) {
  const link = fakeLink();
  let maxMessageSize = 0;
  let haveLink = link;
  const h = new Holdings({
    serve: true,
    maxBytes: 1 << 20,
    log() {},
    haveLink: () => haveLink,
    maxMessageSize: () => maxMessageSize,
    ...opts,
  });
  return { h, link, setMax: (n) => (maxMessageSize = n), setHaveLink: (l) => (haveLink = l) };
}

test('put keeps a copy of the chunk alone when given a view of a larger buffer (a fetch result)', () => {
  const { h } = setup();
  const result = FILE.slice();
  h.put(M.chunks[1], result.subarray(65536, 2 * 65536), M);
  result.fill(0); // the page owns the result
  const kept = h.get(M.chunks[1]);
  assert.equal(kept.byteLength, 65536);
  assert.equal(kept.buffer.byteLength, 65536, 'not a view of the result');
  assert.deepEqual(kept, chunk(1));
  const whole = chunk(0);
  h.put(M.chunks[0], whole, M);
  assert.equal(h.get(M.chunks[0]), whole, 'a buffer of its own is kept as is');
});

test('a held chunk is served in frames that fit the relay’s maxMessageSize', () => {
  const { h, setMax } = setup();
  h.put(M.chunks[0], chunk(0), M);
  const ask = (id) => ({ type: FrameType.GET_CHUNK, id, index: 0, hash: fromHex(M.chunks[0]), path: '' });
  const l1 = fakeLink();
  h.serveChunk(ask(1), l1);
  assert.deepEqual(l1.frames.map((f) => f.data.length), [65516, 20], 'default: 64 KiB frames');
  setMax(16384);
  const l2 = fakeLink();
  h.serveChunk(ask(2), l2);
  assert.ok(l2.frames.every((f) => f.data.length + 20 <= 16384));
  assert.equal(l2.frames.length, 5);
  const whole = new Uint8Array(65536);
  for (const f of l2.frames) whole.set(f.data, f.offset);
  assert.deepEqual(whole, chunk(0));
  const miss = fakeLink();
  h.serveChunk({ ...ask(3), hash: new Uint8Array(32) }, miss);
  assert.equal(miss.frames[0].code, ErrorCode.UNKNOWN_CHUNK);
  assert.deepEqual(h.servedStats(), { chunks: 2, bytes: 2 * 65536, misses: 1, haveFrames: 0, announcedFiles: 0 });
  h.close();
});

test('serve: false keeps chunks for local use but never announces or serves them', async () => {
  const { h, link } = setup({ serve: false });
  h.put(M.chunks[0], chunk(0), M);
  assert.deepEqual(h.get(M.chunks[0]), chunk(0));
  h.fileComplete(M);
  h.announceAll();
  const l = fakeLink();
  h.serveChunk({ type: FrameType.GET_CHUNK, id: 1, index: 0, hash: fromHex(M.chunks[0]), path: '' }, l);
  assert.equal(l.frames[0].code, ErrorCode.FORBIDDEN);
  assert.equal(link.frames.length, 0);
  h.close();
});

test('a finished file is announced at once; a lost connection means announcing it again; close stops everything', () => {
  const { h, link, setHaveLink } = setup();
  h.trackFile(M);
  h.put(M.chunks[0], chunk(0), M);
  h.put(M.chunks[2], chunk(2), M);
  h.fileComplete(M);
  assert.equal(link.frames.length, 1);
  assert.equal(toHex(link.frames[0].bitmap), '05');
  assert.equal(h.servedStats().announcedFiles, 1);
  h.fileComplete(M);
  assert.equal(link.frames.length, 1, 'unchanged: not sent again');
  h.connectionLost();
  assert.equal(h.servedStats().announcedFiles, 0);
  setHaveLink(null);
  h.announceAll();
  assert.equal(link.frames.length, 1, 'no data channel: nothing sent');
  setHaveLink(link);
  h.announceAll();
  assert.equal(link.frames.length, 2);
  assert.deepEqual(h.cacheStats(), { bytes: 65536 + 10, chunks: 2, maxBytes: 1 << 20, evictions: 0 });
  h.close();
  assert.equal(h.cacheStats().chunks, 0);
  h.put(M.chunks[1], chunk(1), M);
  h.announceAll();
  assert.equal(link.frames.length, 2, 'nothing announced after close');
});
