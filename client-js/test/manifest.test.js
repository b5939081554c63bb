import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifest, chunkLength, chunkOffset, P2PCacheError } from 'p2pcache/wire';
import { makeManifest, bytesOf } from '../test-support/fake-relay.js';

const file = bytesOf(150000, 3);
const good = makeManifest('images/aurora.jpg', file, { contentType: 'image/jpeg' });

test('a valid manifest parses from text, bytes and objects', () => {
  const text = JSON.stringify({ ...good, lastModified: '2026-01-01T00:00:00Z', extra: 'ignored' });
  for (const input of [text, new TextEncoder().encode(text), JSON.parse(text)]) {
    const m = parseManifest(input, 'images/aurora.jpg');
    assert.equal(m.size, 150000);
    assert.equal(m.chunks.length, 3);
    assert.equal(m.contentType, 'image/jpeg');
    assert.equal(m.lastModified, '2026-01-01T00:00:00Z');
    assert.equal(m.extra, undefined);
    assert.ok(Object.isFrozen(m));
  }
});

test('chunk geometry', () => {
  const m = parseManifest(good);
  assert.equal(chunkLength(m, 0), 65536);
  assert.equal(chunkLength(m, 2), 150000 - 2 * 65536);
  assert.equal(chunkLength(m, 3), 0);
  assert.equal(chunkOffset(m, 2), 131072);
});

test('an empty file has no chunks', () => {
  const m = parseManifest(makeManifest('empty.txt', new Uint8Array(0)));
  assert.equal(m.size, 0);
  assert.equal(m.chunks.length, 0);
});

function bad(mut, re) {
  const obj = structuredClone(good);
  mut(obj);
  assert.throws(
    () => parseManifest(JSON.stringify(obj)),
    (e) => e instanceof P2PCacheError && e.code === 'bad_manifest' && (!re || re.test(e.message)),
  );
}

test('invalid manifests are refused', () => {
  bad((m) => (m.v = 2), /version/);
  bad((m) => delete m.v, /version/);
  bad((m) => (m.path = '/images/aurora.jpg'), /not clean/);
  bad((m) => (m.path = 'images/../etc/passwd'), /not clean/);
  bad((m) => (m.size = -1), /size/);
  bad((m) => (m.size = 1.5), /size/);
  bad((m) => (m.size = '150000'), /size/);
  bad((m) => (m.chunkSize = 0), /chunk size/);
  bad((m) => (m.chunkSize = 65537), /chunk size/);
  bad((m) => m.chunks.pop(), /chunk hashes/);
  bad((m) => m.chunks.push(m.chunks[0]), /chunk hashes/);
  bad((m) => (m.chunks[1] = m.chunks[1].toUpperCase()), /chunk 1/);
  bad((m) => (m.chunks[1] = m.chunks[1].slice(1)), /chunk 1/);
  bad((m) => (m.sha256 = 'x'.repeat(64)), /sha256/);
  bad((m) => (m.etag = m.sha256), /etag/);
  bad((m) => (m.etag = `W/"${m.sha256}"`), /etag/);
  bad((m) => (m.contentType = 5), /contentType/);
  bad((m) => (m.chunks = 'nope'), /array/);
  assert.throws(() => parseManifest(JSON.stringify(good) + ' {}'), /not JSON/);
  assert.throws(() => parseManifest('[]'), /object/);
  assert.throws(() => parseManifest(new Uint8Array([0x7b, 0xff, 0x7d])), /UTF-8/);
});

test('a manifest for another path is refused', () => {
  assert.throws(() => parseManifest(good, 'images/other.jpg'), (e) => e.code === 'bad_manifest' && /asked for/.test(e.message));
});
