// The Responses fetches resolve with (src/respond.js): the verified bytes
// as the body (the bytes themselves, a stream of one chunk: no copy),
// the file's headers, res.p2p; and no Blob on the way. In Chromium a Blob
// of a file's bytes is copied into the browser process's blob store and
// read back by res.arrayBuffer(): 21-33 ms of CPU per MB against 6-7 for
// the stream (see bodyOf in respond.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ladderResponse, streamedResponse } from '../src/respond.js';

const bytes = Uint8Array.from({ length: 70000 }, (_, i) => (i * 7) & 0xff);
const manifest = { path: 'a.webp', size: bytes.length, contentType: 'image/webp', etag: '"e1"', sha256: 'ab'.repeat(32), lastModified: '2026-01-01T00:00:00Z' };

/** fn() with globalThis.Blob replaced by one that throws: the code under test must not build one. */
async function withoutBlob(fn) {
  const saved = globalThis.Blob;
  globalThis.Blob = class {
    constructor() {
      throw new Error('Blob constructed');
    }
  };
  try {
    return await fn();
  } finally {
    globalThis.Blob = saved;
  }
}

function fetchState() {
  return { sources: new Map([[0, 'relay'], [1, 'relay']]), httpChunks: 0, transport: 'webrtc-tcp', verified: true, verifyFailures: 0, retries: 0, fallback: null };
}

test('ladderResponse: the bytes as the body, no Blob on the way', async () => {
  const res = await withoutBlob(() => ladderResponse('a.webp', fetchState(), { manifest, bytes }, 12.34));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/webp');
  assert.equal(res.headers.get('content-length'), String(bytes.length));
  assert.equal(res.headers.get('etag'), '"e1"');
  assert.equal(res.headers.get('last-modified'), new Date(manifest.lastModified).toUTCString());
  assert.equal(res.headers.get('x-p2pcache-transport'), 'webrtc-tcp');
  assert.equal(res.p2p.transport, 'webrtc-tcp');
  assert.equal(res.p2p.bytes, bytes.length);
  assert.equal(res.p2p.ms, 12.3);
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes);
});

test('ladderResponse: blob() keeps the content type (from the header)', async () => {
  const res = ladderResponse('a.webp', fetchState(), { manifest, bytes }, 1);
  const blob = await res.blob();
  assert.equal(blob.type, 'image/webp');
  assert.equal(blob.size, bytes.length);
});

test('ladderResponse: a view into a larger buffer gives only its own bytes', async () => {
  const big = new Uint8Array(bytes.length + 100);
  big.set(bytes, 50);
  const res = ladderResponse('a.webp', fetchState(), { manifest, bytes: big.subarray(50, 50 + bytes.length) }, 1);
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes);
});

test('streamedResponse: the bytes as the body, no Blob on the way', async () => {
  const info = { source: 'relay', transport: 'webrtc-tcp' };
  const res = await withoutBlob(() => streamedResponse(manifest, bytes, info));
  assert.equal(res.headers.get('content-type'), 'image/webp');
  assert.equal(res.headers.get('x-p2pcache-source'), 'relay');
  assert.equal(res.p2p, info);
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes);
});

test('ladderResponse: the body is the bytes themselves (no copy), then ends', async () => {
  const res = ladderResponse('a.webp', fetchState(), { manifest, bytes }, 1);
  const reader = res.body.getReader();
  const first = await reader.read();
  assert.equal(first.done, false);
  assert.equal(first.value.buffer, bytes.buffer, 'the chunk is the fetch\'s own buffer');
  assert.equal(first.value.byteLength, bytes.length);
  assert.equal((await reader.read()).done, true);
});

test('ladderResponse: an empty file has an empty body', async () => {
  const res = ladderResponse('e.txt', fetchState(), { manifest: { ...manifest, size: 0, contentType: 'text/plain' }, bytes: new Uint8Array(0) }, 1);
  assert.equal(res.headers.get('content-length'), '0');
  assert.equal((await res.arrayBuffer()).byteLength, 0);
  assert.equal(await ladderResponse('e.txt', fetchState(), { manifest, bytes: new Uint8Array(0) }, 1).text(), '');
});

test('ladderResponse: clone() gives both readers the bytes', async () => {
  const res = ladderResponse('a.webp', fetchState(), { manifest, bytes }, 1);
  const copy = res.clone();
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes);
  assert.deepEqual(new Uint8Array(await copy.arrayBuffer()), bytes);
});
