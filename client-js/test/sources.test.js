// Honest sources: CHUNK frames carry where the relay got the chunk in bits
// 0-2 of the header's first flags byte (PROTOCOL.md §2); the SDK counts
// them in stats().bySource and res.p2p, and older relays (0) count as relay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../src/index.js';
import { ChunkSource, FrameType, chunkSourceName, decodeFrame, encodeFrame, fromHex, toHex } from 'p2pcache/wire';
import { FakeRelay, bytesOf } from '../test-support/fake-relay.js';

const chunk = (source) => encodeFrame({ type: FrameType.CHUNK, id: 7, index: 1, total: 2, offset: 0, data: new Uint8Array([5, 6]), source });

test('CHUNK source bits: encoded in byte 2, decoded as f.source, absent when 0', () => {
  assert.equal(toHex(chunk(undefined)), '0111000000000007000000010000000200000000' + '0506');
  assert.equal(toHex(chunk(ChunkSource.PEER)), '0111020000000007000000010000000200000000' + '0506');
  assert.equal(decodeFrame(chunk(ChunkSource.ORIGIN)).source, 3);
  assert.equal('source' in decodeFrame(chunk(0)), false, 'unspecified: no field, as before');
  for (let bits = 1; bits <= 7; bits++) assert.equal(decodeFrame(chunk(bits)).source, bits, `bits ${bits} are accepted`);
  assert.throws(() => encodeFrame({ type: FrameType.CHUNK, id: 1, index: 0, total: 1, offset: 0, data: new Uint8Array(1), source: 8 }), /source 8/);
});

test('every other flag bit stays reserved, on CHUNK and on every other type', () => {
  const bad = [
    '0111080000000007000000010000000200000000', // CHUNK bit 3 of byte 2
    '0111800000000007000000010000000200000000', // CHUNK bit 7 of byte 2
    '0111000100000007000000010000000200000000', // CHUNK byte 3
    '0110010000000007000000020000000000', // MANIFEST with source bits
    '0112010000000007000200', // ERROR with source bits
    '0104010000000007', // CANCEL with source bits
  ];
  for (const hex of bad) assert.throws(() => decodeFrame(fromHex(hex)), (e) => e.code === 'bad_frame' && /reserved flags/.test(e.message), hex);
});

test('chunkSourceName: peer, origin and cluster (another relay) by name, everything else relay', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(chunkSourceName), ['relay', 'relay', 'peer', 'origin', 'cluster', 'relay', 'relay', 'relay']);
});

test('the client counts each chunk under the source the relay states', async () => {
  const relay = new FakeRelay();
  const bytes = bytesOf(4 * 65536, 9);
  relay.addFile('f.bin', bytes);
  relay.addFile('g.bin', bytesOf(1000, 10));
  relay.sourceOf = (path, i) => (path === 'f.bin' ? [ChunkSource.ORIGIN, ChunkSource.PEER, ChunkSource.PEER, ChunkSource.RELAY_CACHE][i] : 0);
  const c = await connect({ relay: 'http://r.test', WebSocket: relay.WebSocket, RTCPeerConnection: relay.RTCPeerConnection, fetch: relay.fetch, timeoutMs: 300 });
  try {
    assert.equal(c.stats().sourcesKnown, false);
    const res = await c.fetch('f.bin');
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes);
    assert.deepEqual(res.p2p.bySource, { relay: 1, peer: 2, origin: 1, cluster: 0, http: 0, local: 0 });
    assert.equal(res.p2p.source, 'peer', 'the source of most chunks');
    assert.equal(res.headers.get('x-p2pcache-source'), 'peer');
    assert.equal(c.stats().sourcesKnown, true);
    await c.fetch('g.bin'); // an unspecified source: relay
    assert.deepEqual(c.stats().bySource, { relay: 2, peer: 2, origin: 1, cluster: 0, http: 0, local: 0 });
    const again = await c.fetch('f.bin');
    assert.equal(again.p2p.bySource.local, 4, 'a repeat from the tab is local, whatever the relay said before');
  } finally {
    c.close();
  }
});

test('chunks from another relay of the mesh count as cluster; sources 5-7 (unknown yet) as relay, not as frame errors', async () => {
  const relay = new FakeRelay();
  const bytes = bytesOf(6 * 65536, 11);
  relay.addFile('m.bin', bytes);
  relay.addFile('s.bin', bytesOf(3 * 65536, 12));
  const bits = [ChunkSource.RELAY, ChunkSource.RELAY, 5, 6, 7, ChunkSource.RELAY_CACHE];
  relay.sourceOf = (path, i) => (path === 'm.bin' ? bits[i] : ChunkSource.RELAY);
  const c = await connect({ relay: 'http://r.test', WebSocket: relay.WebSocket, RTCPeerConnection: relay.RTCPeerConnection, fetch: relay.fetch, timeoutMs: 300, storeBytes: 0 });
  try {
    const res = await c.fetch('m.bin');
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes);
    assert.deepEqual(res.p2p.bySource, { relay: 4, peer: 0, origin: 0, cluster: 2, http: 0, local: 0 });
    assert.equal(res.p2p.source, 'relay');
    assert.equal(c.stats().sourcesKnown, true);
    // streamed: the same names
    const s = await c.fetch('s.bin', { stream: true });
    await s.arrayBuffer();
    const info = await s.p2pDone;
    assert.deepEqual(info.bySource, { relay: 0, peer: 0, origin: 0, cluster: 3, http: 0, local: 0 });
    assert.equal(info.source, 'cluster');
    assert.equal(s.headers.get('x-p2pcache-source'), null, 'a streamed response states no source before its body');
    assert.deepEqual(c.stats().bySource, { relay: 4, peer: 0, origin: 0, cluster: 5, http: 0, local: 0 });
  } finally {
    c.close();
  }
});
