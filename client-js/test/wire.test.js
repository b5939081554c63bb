import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FrameType,
  ErrorCode,
  encodeFrame,
  decodeFrame,
  chunkFrames,
  manifestFrames,
  FrameError,
  MAX_CHUNK_DATA,
  MAX_MANIFEST_DATA,
  MAX_MESSAGE_SIZE,
  errorName,
  frameTypeName,
  toHex,
  fromHex,
} from 'p2pcache/wire';

const HASH = 'ab'.repeat(32);

function roundTrip(f) {
  const b = encodeFrame(f);
  assert.ok(b.length <= MAX_MESSAGE_SIZE);
  return decodeFrame(b);
}

test('header layout is version, type, flags 0, big-endian id', () => {
  const b = encodeFrame({ type: FrameType.GET_MANIFEST, id: 0x01020304, path: 'a.jpg' });
  assert.deepEqual([...b], [1, 0x02, 0, 0, 1, 2, 3, 4, ...new TextEncoder().encode('a.jpg')]);
  const c = encodeFrame({ type: FrameType.CHUNK, id: 7, index: 0x0a, total: 0x0100, offset: 0x10, data: new Uint8Array([9]) });
  assert.deepEqual([...c], [1, 0x11, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0x0a, 0, 0, 1, 0, 0, 0, 0, 0x10, 9]);
  const e = encodeFrame({ type: FrameType.ERROR, id: 1, code: 0x0104, message: 'x' });
  assert.deepEqual([...e], [1, 0x12, 0, 0, 0, 0, 0, 1, 1, 4, 0x78]);
});

test('every frame type round-trips', () => {
  let f = roundTrip({ type: FrameType.GET_FILE, id: 1, path: 'images/ünï.jpg' });
  assert.equal(f.type, FrameType.GET_FILE);
  assert.equal(f.path, 'images/ünï.jpg');

  f = roundTrip({ type: FrameType.GET_MANIFEST, id: 0xffffffff, path: 'x' });
  assert.equal(f.id, 0xffffffff);
  assert.equal(f.path, 'x');

  f = roundTrip({ type: FrameType.GET_CHUNK, id: 3, index: 42, hash: HASH, path: 'a/b.png' });
  assert.equal(f.index, 42);
  assert.equal(toHex(f.hash), HASH);
  assert.equal(f.path, 'a/b.png');

  f = roundTrip({ type: FrameType.GET_CHUNK, id: 3, index: 0, hash: fromHex(HASH), path: '' });
  assert.equal(f.path, '');

  f = roundTrip({ type: FrameType.CANCEL, id: 9 });
  assert.equal(f.type, FrameType.CANCEL);
  assert.equal(f.id, 9);

  const payload = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  for (const type of [FrameType.PING, FrameType.PONG]) {
    f = roundTrip({ type, id: 5, data: payload });
    assert.deepEqual([...f.data], [...payload]);
  }

  f = roundTrip({ type: FrameType.MANIFEST, id: 4, total: 100, offset: 90, data: new Uint8Array(10).fill(7) });
  assert.equal(f.total, 100);
  assert.equal(f.offset, 90);
  assert.equal(f.data.length, 10);

  f = roundTrip({ type: FrameType.CHUNK, id: 4, index: 2, total: 65536, offset: 65516, data: new Uint8Array(20).fill(3) });
  assert.equal(f.index, 2);
  assert.equal(f.total, 65536);
  assert.equal(f.offset, 65516);
  assert.deepEqual([...f.data], new Array(20).fill(3));

  f = roundTrip({ type: FrameType.ERROR, id: 8, code: ErrorCode.STALE, message: 'changed' });
  assert.equal(f.code, 4);
  assert.equal(errorName(f.code), 'stale');
  assert.equal(f.message, 'changed');
});

test('decode accepts ArrayBuffer and views with an offset', () => {
  const b = encodeFrame({ type: FrameType.PING, id: 77, data: new Uint8Array(8).fill(1) });
  const big = new Uint8Array(b.length + 5);
  big.set(b, 5);
  assert.equal(decodeFrame(big.subarray(5)).id, 77);
  assert.equal(decodeFrame(b.buffer).id, 77);
});

function rejects(bytes, code, check) {
  assert.throws(
    () => decodeFrame(bytes),
    (e) => {
      assert.ok(e instanceof FrameError, `not a FrameError: ${e}`);
      assert.equal(e.code, code);
      if (check) check(e);
      return true;
    },
  );
}

test('decode rejects short frames', () => {
  rejects(new Uint8Array(0), 'bad_frame');
  rejects(new Uint8Array([1, 5, 0, 0, 0, 0, 0]), 'bad_frame');
  // CHUNK with an incomplete fixed part
  rejects(new Uint8Array([1, 0x11, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]), 'bad_frame', (e) => {
    assert.equal(e.type, FrameType.CHUNK);
    assert.equal(e.id, 1);
  });
  rejects(new Uint8Array([1, 0x03, 0, 0, 0, 0, 0, 1, ...new Uint8Array(35)]), 'bad_frame');
  rejects(new Uint8Array([1, 0x10, 0, 0, 0, 0, 0, 1, 0, 0, 0]), 'bad_frame');
  rejects(new Uint8Array([1, 0x12, 0, 0, 0, 0, 0, 1, 0]), 'bad_frame');
});

test('decode rejects a bad version and set flags', () => {
  const ok = encodeFrame({ type: FrameType.CANCEL, id: 1 });
  const v2 = ok.slice();
  v2[0] = 2;
  rejects(v2, 'bad_version');
  const v0 = ok.slice();
  v0[0] = 0;
  rejects(v0, 'bad_version');
  for (const i of [2, 3]) {
    const fl = ok.slice();
    fl[i] = 1;
    rejects(fl, 'bad_frame', (e) => assert.equal(e.id, 1));
  }
});

test('decode rejects fragments outside their total', () => {
  const chunk = encodeFrame({ type: FrameType.CHUNK, id: 1, index: 0, total: 10, offset: 0, data: new Uint8Array(10) });
  const dv = new DataView(chunk.buffer);
  dv.setUint32(12, 9); // total 9 < 10 data bytes
  rejects(chunk, 'bad_frame');
  dv.setUint32(12, 10);
  dv.setUint32(16, 1); // offset 1 + 10 > 10
  rejects(chunk, 'bad_frame');
  dv.setUint32(16, 0xffffffff); // offset overflow must not wrap
  rejects(chunk, 'bad_frame');
  dv.setUint32(16, 0);
  dv.setUint32(12, 65537); // chunk longer than the max
  rejects(chunk, 'bad_frame');

  const man = encodeFrame({ type: FrameType.MANIFEST, id: 1, total: 4, offset: 0, data: new Uint8Array(4) });
  const mv = new DataView(man.buffer);
  mv.setUint32(12, 1); // offset 1 + 4 > 4
  rejects(man, 'bad_frame');
  mv.setUint32(12, 0);
  mv.setUint32(8, (16 << 20) + 1);
  rejects(man, 'bad_frame');
});

test('decode rejects other malformed bodies', () => {
  rejects(new Uint8Array([1, 0x04, 0, 0, 0, 0, 0, 1, 0]), 'bad_frame'); // CANCEL with a body
  rejects(new Uint8Array([1, 0x05, 0, 0, 0, 0, 0, 1, 1, 2, 3]), 'bad_frame'); // short PING
  rejects(new Uint8Array([1, 0x01, 0, 0, 0, 0, 0, 1]), 'bad_frame'); // GET_FILE without path
  rejects(new Uint8Array([1, 0x02, 0, 0, 0, 0, 0, 1, 0xff, 0xfe]), 'bad_frame'); // path not UTF-8
  const long = new Uint8Array(8 + 1025).fill(0x61);
  long.set([1, 0x01, 0, 0, 0, 0, 0, 1]);
  rejects(long, 'bad_frame');
  const bigMsg = new Uint8Array(8 + 2 + 1025).fill(0x61);
  bigMsg.set([1, 0x12, 0, 0, 0, 0, 0, 1, 0, 1]);
  rejects(bigMsg, 'bad_frame');
  rejects(new Uint8Array(MAX_MESSAGE_SIZE + 1).fill(1), 'bad_frame');
  rejects(new Uint8Array([1, 0x07, 0, 0, 0, 0, 0, 9]), 'bad_frame', (e) => {
    assert.equal(e.type, 7); // HAVE without its hash and count
    assert.equal(e.id, 9);
  });
  rejects(new Uint8Array([1, 0x08, 0, 0, 0, 0, 0, 9]), 'unknown_type', (e) => {
    assert.equal(e.type, 8);
    assert.equal(e.id, 9);
  });
});

test('encode refuses what would not decode', () => {
  assert.throws(() => encodeFrame({ type: FrameType.GET_FILE, id: 1, path: '' }), FrameError);
  assert.throws(() => encodeFrame({ type: FrameType.GET_FILE, id: 1, path: 'a'.repeat(1025) }), FrameError);
  assert.throws(() => encodeFrame({ type: FrameType.PING, id: 1, data: new Uint8Array(7) }), FrameError);
  assert.throws(() => encodeFrame({ type: FrameType.GET_CHUNK, id: 1, index: 0, hash: 'AB'.repeat(32), path: '' }), FrameError);
  assert.throws(() => encodeFrame({ type: FrameType.GET_CHUNK, id: 1, index: 0, hash: new Uint8Array(31), path: '' }), FrameError);
  assert.throws(
    () => encodeFrame({ type: FrameType.CHUNK, id: 1, index: 0, total: 65536, offset: 0, data: new Uint8Array(MAX_CHUNK_DATA + 1) }),
    FrameError,
  );
  assert.throws(() => encodeFrame({ type: FrameType.CHUNK, id: 1, index: 0, total: 5, offset: 1, data: new Uint8Array(5) }), FrameError);
  assert.throws(() => encodeFrame({ type: FrameType.CANCEL, id: -1 }), FrameError);
  assert.throws(() => encodeFrame({ type: FrameType.CANCEL, id: 2 ** 32 }), FrameError);
  assert.throws(() => encodeFrame({ type: 0x30, id: 1 }), (e) => e.code === 'unknown_type');
});

test('a 64 KiB chunk travels as two frames of at most 65536 bytes', () => {
  const data = new Uint8Array(65536).map((_, i) => i * 7);
  const frames = chunkFrames(11, 3, data);
  assert.equal(frames.length, 2);
  assert.equal(frames[0].length, 65536);
  assert.equal(frames[1].length, 20 + 20);
  const a = decodeFrame(frames[0]);
  const b = decodeFrame(frames[1]);
  assert.equal(a.offset, 0);
  assert.equal(a.data.length, MAX_CHUNK_DATA);
  assert.equal(b.offset, MAX_CHUNK_DATA);
  assert.equal(b.total, 65536);
  assert.equal(a.index, 3);
  assert.equal(b.id, 11);
  const joined = new Uint8Array(65536);
  joined.set(a.data, a.offset);
  joined.set(b.data, b.offset);
  assert.deepEqual(joined, data);
  // a smaller chunk is one frame; an empty one still is one frame
  assert.equal(chunkFrames(1, 0, new Uint8Array(MAX_CHUNK_DATA)).length, 1);
  assert.equal(chunkFrames(1, 0, new Uint8Array(0)).length, 1);
});

test('a large manifest is split into MANIFEST fragments', () => {
  const json = new Uint8Array(MAX_MANIFEST_DATA * 2 + 5).fill(0x20);
  const frames = manifestFrames(2, json);
  assert.equal(frames.length, 3);
  for (const fr of frames) assert.ok(fr.length <= MAX_MESSAGE_SIZE);
  const last = decodeFrame(frames[2]);
  assert.equal(last.offset, MAX_MANIFEST_DATA * 2);
  assert.equal(last.total, json.length);
});

test('names', () => {
  assert.equal(frameTypeName(0x11), 'CHUNK');
  assert.equal(frameTypeName(0x42), 'TYPE_0x42');
  assert.equal(errorName(11), 'unknown_chunk');
  assert.equal(errorName(99), 'code_99');
});
