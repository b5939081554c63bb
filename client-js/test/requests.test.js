// Requests (src/requests.js): ids, answers matched and reassembled, the
// per-request timeout, CANCEL, and the slots shared by all fetches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Requests, withBusyRetry } from '../src/requests.js';
import { ErrorCode, FrameType, decodeFrame } from 'p2pcache/wire';

function fakeLink(owner = 's1') {
  return {
    owner,
    sent: [],
    send(b, opts) {
      this.sent.push({ f: decodeFrame(b), control: !!opts?.control });
      return true;
    },
  };
}

function setup({ limit = 24, timeoutMs = 1000, reserved = new Set() } = {}) {
  const link = fakeLink();
  let current = link;
  const r = new Requests({ link: () => current, limit: () => limit, timeoutMs, isReserved: (id) => reserved.has(id) });
  return { r, link, setLink: (l) => (current = l) };
}

const chunkFrame = (id, index, total, offset, data) => ({ type: FrameType.CHUNK, id, index, total, offset, data: new Uint8Array(data) });

test('ids are non-zero, skip ids in use and reserved ones, and wrap', () => {
  const { r } = setup({ reserved: new Set([2]) });
  assert.equal(r.allocId(), 1);
  assert.equal(r.allocId(), 3);
  r._nextId = 0xfffffffe;
  assert.equal(r.allocId(), 0xffffffff);
  assert.equal(r.allocId(), 1, 'wraps past 0');
});

test('an answer in fragments, in any order, resolves with the whole', async () => {
  const { r, link } = setup();
  const p = r.request({ type: FrameType.GET_CHUNK, index: 2, hash: 'ab'.repeat(32), path: 'a' }, FrameType.CHUNK);
  await Promise.resolve();
  const req = link.sent[0];
  assert.equal(req.f.type, FrameType.GET_CHUNK);
  assert.equal(req.control, true);
  assert.equal(r.size, 1);
  r.onFrame(chunkFrame(req.f.id, 2, 4, 2, [3, 4]));
  r.onFrame(chunkFrame(req.f.id, 2, 4, 0, [1, 2]));
  assert.deepEqual([...(await p)], [1, 2, 3, 4]);
  assert.equal(r.size, 0);
  r.onFrame(chunkFrame(req.f.id, 2, 4, 0, [9, 9])); // late: dropped
});

test('a CHUNK is reassembled in into when its length matches, in a buffer of its own otherwise', async () => {
  const { r, link } = setup();
  const file = new Uint8Array(10);
  const into = file.subarray(4, 8);
  const a = r.request({ type: FrameType.GET_CHUNK, index: 0, hash: 'ab'.repeat(32), path: 'a' }, FrameType.CHUNK, null, null, into);
  const b = r.request({ type: FrameType.GET_CHUNK, index: 1, hash: 'ab'.repeat(32), path: 'a' }, FrameType.CHUNK, null, null, file.subarray(0, 3));
  await Promise.resolve();
  const [ida, idb] = link.sent.map((s) => s.f.id);
  r.onFrame(chunkFrame(ida, 0, 4, 2, [7, 8]));
  r.onFrame(chunkFrame(ida, 0, 4, 0, [5, 6]));
  r.onFrame(chunkFrame(idb, 1, 2, 0, [1, 2])); // 2 bytes, into has 3: not used
  const got = await a;
  assert.equal(got, into, 'the answer is into itself');
  assert.deepEqual([...file], [0, 0, 0, 0, 5, 6, 7, 8, 0, 0]);
  const other = await b;
  assert.notEqual(other.buffer, file.buffer);
  assert.deepEqual([...other], [1, 2]);
});

test('ERROR rejects with the remote code; a wrong answer is a protocol error and is cancelled', async () => {
  const { r, link } = setup();
  const a = r.request({ type: FrameType.GET_MANIFEST, path: 'x.jpg' }, FrameType.MANIFEST);
  const b = r.request({ type: FrameType.GET_CHUNK, index: 1, hash: 'ab'.repeat(32), path: 'x.jpg' }, FrameType.CHUNK);
  await Promise.resolve();
  const [ida, idb] = link.sent.map((s) => s.f.id);
  r.onFrame({ type: FrameType.ERROR, id: ida, code: ErrorCode.NOT_FOUND, message: 'gone' });
  await assert.rejects(a, (e) => e.code === 'not_found' && e.status === 404 && e.path === 'x.jpg');
  r.onFrame(chunkFrame(idb, 0, 1, 0, [1])); // index 0 answering index 1
  await assert.rejects(b, (e) => e.code === 'protocol');
  const cancel = link.sent.at(-1);
  assert.equal(cancel.f.type, FrameType.CANCEL);
  assert.equal(cancel.f.id, idb);
});

test('no progress for timeoutMs fails timeout and cancels; abort fails aborted and cancels', async () => {
  const { r, link } = setup({ timeoutMs: 30 });
  await assert.rejects(r.request({ type: FrameType.GET_MANIFEST, path: 'a' }, FrameType.MANIFEST), (e) => e.code === 'timeout' && e.status === 504);
  assert.equal(link.sent.at(-1).f.type, FrameType.CANCEL);
  const ac = new AbortController();
  const p = r.request({ type: FrameType.GET_MANIFEST, path: 'a' }, FrameType.MANIFEST, ac.signal);
  await Promise.resolve();
  ac.abort();
  await assert.rejects(p, (e) => e.code === 'aborted');
  assert.equal(link.sent.at(-1).f.type, FrameType.CANCEL);
  assert.equal(r.size, 0);
});

test('no link: disconnected; a dead owner fails its requests only', async () => {
  const { r, link, setLink } = setup();
  const a = r.request({ type: FrameType.GET_MANIFEST, path: 'a' }, FrameType.MANIFEST);
  await Promise.resolve();
  const other = fakeLink('s2');
  setLink(other);
  const b = r.request({ type: FrameType.GET_MANIFEST, path: 'b' }, FrameType.MANIFEST);
  await Promise.resolve();
  r.failOwner('s1', Object.assign(new Error('lost'), { code: 'disconnected' }));
  await assert.rejects(a, (e) => e.code === 'disconnected');
  assert.equal(r.size, 1);
  assert.equal(link.sent.length, 1, 'no CANCEL on a dead link');
  setLink(null);
  await assert.rejects(r.request({ type: FrameType.GET_MANIFEST, path: 'c' }, FrameType.MANIFEST), (e) => e.code === 'disconnected');
  r.close(Object.assign(new Error('closed'), { code: 'closed' }));
  await assert.rejects(b, (e) => e.code === 'closed');
});

test('slots: at most limit() in flight; the rest wait their turn, and close rejects them', async () => {
  const { r, link } = setup({ limit: 2 });
  const ps = [1, 2, 3].map((i) => r.request({ type: FrameType.GET_MANIFEST, path: `f${i}` }, FrameType.MANIFEST));
  await new Promise((res) => setTimeout(res, 5));
  assert.equal(link.sent.length, 2);
  r.onFrame({ type: FrameType.MANIFEST, id: link.sent[0].f.id, total: 1, offset: 0, data: new Uint8Array([7]) });
  await ps[0];
  await new Promise((res) => setTimeout(res, 5));
  assert.equal(link.sent.length, 3, 'the slot passed on');
  assert.equal(link.sent[2].f.path, 'f3');
  const waiting = r.request({ type: FrameType.GET_MANIFEST, path: 'f4' }, FrameType.MANIFEST);
  const err = Object.assign(new Error('closed'), { code: 'closed' });
  r.close(err);
  for (const p of [ps[1], ps[2], waiting]) await assert.rejects(p, (e) => e.code === 'closed');
});

test('withBusyRetry retries busy with backoff, nothing else', async () => {
  let n = 0;
  const busy = Object.assign(new Error('busy'), { code: 'busy' });
  assert.equal(await withBusyRetry(async () => (++n < 3 ? Promise.reject(busy) : 'ok')), 'ok');
  assert.equal(n, 3);
  n = 0;
  const other = Object.assign(new Error('x'), { code: 'not_found' });
  await assert.rejects(withBusyRetry(async () => { n++; throw other; }), (e) => e === other);
  assert.equal(n, 1);
});
