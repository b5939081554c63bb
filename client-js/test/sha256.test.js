import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sha256Sync, sha256Hex, toHex } from 'p2pcache/wire';
import { bytesOf } from '../test-support/fake-relay.js';

const ref = (b) => createHash('sha256').update(b).digest('hex');

test('pure-JS SHA-256 matches node crypto at every padding boundary', () => {
  for (let n = 0; n <= 200; n++) {
    const d = bytesOf(n, n + 1);
    assert.equal(toHex(sha256Sync(d)), ref(d), `length ${n}`);
  }
  assert.equal(toHex(sha256Sync(new TextEncoder().encode('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('pure-JS SHA-256 of a large buffer and a view with an offset', () => {
  const d = bytesOf(1 << 20, 77);
  assert.equal(toHex(sha256Sync(d)), ref(d));
  const v = d.subarray(13, 70000);
  assert.equal(toHex(sha256Sync(v)), ref(v));
});

test('sha256Hex uses crypto.subtle when present and agrees', async () => {
  const d = bytesOf(70000, 2);
  assert.equal(await sha256Hex(d), ref(d));
  assert.equal(await sha256Hex(d.subarray(5, 100)), ref(d.subarray(5, 100)));
});
