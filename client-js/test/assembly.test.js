import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FragmentBuffer, FrameError, chunkFrames, decodeFrame, MAX_MANIFEST_LEN } from 'p2pcache/wire';
import { bytesOf } from '../test-support/fake-relay.js';

test('a chunk assembles from out-of-order fragments', () => {
  const data = bytesOf(65536, 9);
  const frames = chunkFrames(1, 0, data).reverse();
  const first = decodeFrame(frames[0]);
  const buf = new FragmentBuffer(first.total);
  assert.equal(buf.add(first.offset, first.data, first.total), false);
  assert.equal(buf.complete, false);
  const second = decodeFrame(frames[1]);
  assert.equal(buf.add(second.offset, second.data, second.total), true);
  assert.deepEqual(buf.bytes, data);
});

test('many small fragments in shuffled order, with duplicates and overlaps', () => {
  const data = bytesOf(1000, 4);
  const buf = new FragmentBuffer(1000);
  const pieces = [];
  for (let o = 0; o < 1000; o += 100) pieces.push(o);
  const order = [7, 3, 9, 0, 3, 5, 1, 8, 2, 6]; // 3 twice, 4 missing
  for (const k of order) buf.add(pieces[k], data.subarray(pieces[k], pieces[k] + 100));
  assert.equal(buf.complete, false, 'a missing fragment means incomplete, however many arrived');
  assert.equal(buf.received, 900);
  buf.add(350, data.subarray(350, 450)); // overlaps 3 and 4
  assert.equal(buf.complete, false);
  buf.add(400, data.subarray(400, 500));
  assert.equal(buf.complete, true);
  assert.deepEqual(buf.bytes, data);
});

test('fragments outside the total or with another total are refused', () => {
  const buf = new FragmentBuffer(10);
  assert.throws(() => buf.add(5, new Uint8Array(6)), FrameError);
  assert.throws(() => buf.add(-1, new Uint8Array(1)), FrameError);
  assert.throws(() => buf.add(0, new Uint8Array(5), 11), FrameError);
  assert.equal(buf.complete, false);
  assert.throws(() => new FragmentBuffer(65537), FrameError);
  assert.throws(() => new FragmentBuffer(-1), FrameError);
  assert.ok(new FragmentBuffer(1000, MAX_MANIFEST_LEN));
});

test('an empty whole is complete after its one empty fragment, not before', () => {
  const buf = new FragmentBuffer(0);
  assert.equal(buf.complete, false);
  assert.equal(buf.add(0, new Uint8Array(0)), true);
});
