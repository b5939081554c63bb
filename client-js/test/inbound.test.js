// Inbound frames (src/inbound.js): each message from the relay goes to the
// right handler, and malformed ones are answered or fail their request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dispatchFrame } from '../src/inbound.js';
import { ErrorCode, FrameType, decodeFrame, encodeFrame } from 'p2pcache/wire';

function harness() {
  const got = { sent: [], cancelled: [], pongs: [], gets: [], answers: [], failed: [], logs: [] };
  const link = {
    send: (b, opts) => got.sent.push({ f: decodeFrame(b), control: !!opts?.control }),
    cancel: (rid) => got.cancelled.push(rid),
  };
  const handlers = {
    requests: { onFrame: (f) => got.answers.push(f), fail: (id, e) => got.failed.push([id, e.code]) },
    onPong: (f) => got.pongs.push(f.id),
    onGetChunk: (f, l) => got.gets.push([f.index, l === link]),
    log: (level) => got.logs.push(level),
  };
  const deliver = (bytes) => dispatchFrame(bytes, link, handlers);
  return { got, deliver };
}

test('requests from the relay: PING is answered, GET_CHUNK served, whole files refused, CANCEL passed on', () => {
  const { got, deliver } = harness();
  const data = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  deliver(encodeFrame({ type: FrameType.PING, id: 9, data }));
  assert.equal(got.sent[0].f.type, FrameType.PONG);
  assert.equal(got.sent[0].f.id, 9);
  assert.deepEqual([...got.sent[0].f.data], [...data]);
  assert.equal(got.sent[0].control, true);
  deliver(encodeFrame({ type: FrameType.GET_CHUNK, id: 10, index: 3, hash: 'ab'.repeat(32), path: '' }).buffer);
  assert.deepEqual(got.gets, [[3, true]]);
  deliver(encodeFrame({ type: FrameType.GET_MANIFEST, id: 11, path: 'x' }));
  assert.equal(got.sent[1].f.code, ErrorCode.UNSUPPORTED);
  deliver(encodeFrame({ type: FrameType.CANCEL, id: 10 }));
  assert.deepEqual(got.cancelled, [10]);
  deliver(encodeFrame({ type: FrameType.HAVE, id: 0, hash: 'ab'.repeat(32), count: 1, bitmap: new Uint8Array([1]), path: 'a' }));
  assert.equal(got.sent.length, 2, 'HAVE needs no answer');
});

test('answers go to the requests; PONG to the pinger', () => {
  const { got, deliver } = harness();
  deliver(encodeFrame({ type: FrameType.PONG, id: 4, data: new Uint8Array(8) }));
  deliver(encodeFrame({ type: FrameType.ERROR, id: 5, code: 2, message: 'no' }));
  deliver(encodeFrame({ type: FrameType.CHUNK, id: 6, index: 0, total: 1, offset: 0, data: new Uint8Array(1) }));
  assert.deepEqual(got.pongs, [4]);
  assert.deepEqual(got.answers.map((f) => f.id), [5, 6]);
});

test('malformed: a request is answered with ERROR, an answer fails its request, the rest is logged', () => {
  const { got, deliver } = harness();
  deliver(new Uint8Array([1, 0x0e, 0, 0, 0, 0, 0, 77])); // unknown request type
  assert.equal(got.sent[0].f.code, ErrorCode.UNSUPPORTED);
  assert.equal(got.sent[0].f.id, 77);
  deliver(new Uint8Array([1, FrameType.PING, 0, 0, 0, 0, 0, 78])); // PING without its payload
  assert.equal(got.sent[1].f.code, ErrorCode.BAD_REQUEST);
  deliver(new Uint8Array([1, FrameType.CHUNK, 0, 0, 0, 0, 0, 79])); // CHUNK without its fields
  assert.deepEqual(got.failed, [[79, 'protocol']]);
  deliver(new Uint8Array([2, 1, 0, 0, 0, 0, 0, 80])); // another version: no id to answer
  deliver('text is signaling, not a frame');
  assert.equal(got.sent.length, 2);
  assert.equal(got.failed.length, 1);
  assert.equal(got.logs.filter((l) => l === 'warn').length, 4);
});
