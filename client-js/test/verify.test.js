import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transferChunks, parseManifest, P2PCacheError, VERIFY_RETRIES } from 'p2pcache/wire';
import { makeManifest, bytesOf, sha } from '../test-support/fake-relay.js';

const file = bytesOf(5 * 65536 + 123, 11);
const m = parseManifest(makeManifest('big.bin', file));
const chunkOf = (i) => file.slice(i * 65536, (i + 1) * 65536);

/** A fake transport: serves chunks, corrupting per a plan, recording every hand-off. */
function harness({ corrupt = {}, delay = () => 0, errors = {} } = {}) {
  const h = {
    calls: [],
    placed: [],
    stored: new Map(),
    failures: [],
    inFlight: 0,
    maxSeen: 0,
    getChunk: async (i, hash, signal) => {
      h.calls.push(i);
      assert.equal(hash, m.chunks[i]);
      h.inFlight++;
      h.maxSeen = Math.max(h.maxSeen, h.inFlight);
      try {
        await new Promise((r) => setTimeout(r, delay(i)));
        if (signal.aborted) throw new P2PCacheError('aborted', 'aborted');
        const q = errors[i];
        if (q && q.length) throw new P2PCacheError(q.shift(), 'scripted');
        const b = chunkOf(i);
        if ((corrupt[i] ?? 0) > 0) {
          corrupt[i]--;
          b[100] ^= 0x40;
        }
        return { bytes: b, source: 'relay' };
      } finally {
        h.inFlight--;
      }
    },
    localPut: (hash, bytes) => {
      assert.equal(sha(bytes), hash, 'only verified bytes may be stored');
      h.stored.set(hash, bytes);
    },
    onChunk: (c) => h.placed.push(c.index),
    onVerifyFailure: (f) => h.failures.push(f),
  };
  return h;
}

test('all chunks verified and assembled, pipelined', async () => {
  const h = harness({ delay: (i) => (i % 2 ? 5 : 1) });
  const out = await transferChunks(m, { ...h, maxInFlight: 4 });
  assert.deepEqual(out, file);
  assert.deepEqual([...h.placed].sort(), [0, 1, 2, 3, 4, 5]);
  assert.equal(h.failures.length, 0);
  assert.ok(h.maxSeen > 1 && h.maxSeen <= 4, `in flight ${h.maxSeen}`);
  assert.equal(h.stored.size, 6);
});

test('a bad chunk is refetched once and never handed out', async () => {
  const h = harness({ corrupt: { 2: 1 } });
  const out = await transferChunks(m, h);
  assert.deepEqual(out, file);
  assert.equal(h.calls.filter((i) => i === 2).length, 2, 'chunk 2 fetched twice');
  assert.equal(h.failures.length, 1);
  assert.equal(h.failures[0].index, 2);
  assert.equal(h.failures[0].expected, m.chunks[2]);
  assert.notEqual(h.failures[0].actual, m.chunks[2]);
  assert.equal(h.placed.filter((i) => i === 2).length, 1, 'placed once, after it verified');
});

test('a chunk bad twice fails the transfer with verify_failed, nothing bad escapes', async () => {
  const h = harness({ corrupt: { 3: 5 } });
  await assert.rejects(transferChunks(m, h), (e) => e.code === 'verify_failed' && /chunk 3/.test(e.message));
  assert.equal(h.calls.filter((i) => i === 3).length, VERIFY_RETRIES + 1);
  assert.ok(!h.placed.includes(3));
  assert.ok(!h.stored.has(m.chunks[3]));
  assert.equal(h.failures.length, 2);
});

test('a chunk of the wrong length fails verification', async () => {
  const h = harness();
  const get = h.getChunk;
  h.getChunk = async (i, hash, s) => {
    const r = await get(i, hash, s);
    return i === 5 ? { ...r, bytes: r.bytes.subarray(0, 10) } : r;
  };
  await assert.rejects(transferChunks(m, h), (e) => e.code === 'verify_failed');
  assert.ok(h.failures.every((f) => f.index === 5 && /length/.test(f.actual)));
});

test('a transport that writes into the result: placed once, bad bytes there overwritten, never released', async () => {
  // getChunk gets each chunk's place in the result (into) and answers with
  // it, as Requests does; chunk 3's first answer is corrupt in place
  const intos = new Map();
  const released = [];
  const stored = [];
  let corruptOnce = true;
  const getChunk = async (i, hash, signal, attempt, into) => {
    assert.equal(into.length, m.chunks.length - 1 === i ? file.length - i * 65536 : 65536, `chunk ${i}: into is the chunk's length`);
    if (intos.has(i)) assert.equal(intos.get(i), into.byteOffset, 'a retry writes the same place');
    intos.set(i, into.byteOffset);
    into.set(chunkOf(i));
    if (i === 3 && corruptOnce) {
      corruptOnce = false;
      into[7] ^= 1;
    }
    return { bytes: into, source: 'relay' };
  };
  const failures = [];
  const out = await transferChunks(m, {
    getChunk,
    localPut: (hash, bytes) => stored.push(sha(bytes) === hash),
    onRelease: (i, bytes) => released.push([i, sha(bytes) === m.chunks[i]]),
    onVerifyFailure: (f) => failures.push(f.index),
    maxInFlight: 3,
  });
  assert.deepEqual(out, file);
  assert.deepEqual([...intos.keys()].sort(), [0, 1, 2, 3, 4, 5]);
  for (const [i, off] of intos) assert.equal(off, out.byteOffset + i * 65536, `chunk ${i} was written in its place in the result`);
  assert.deepEqual(failures, [3]);
  assert.deepEqual(released, [0, 1, 2, 3, 4, 5].map((i) => [i, true]), 'only verified bytes, in order');
  assert.ok(stored.length === 6 && stored.every(Boolean), 'only verified bytes stored');
});

test('the chunk hashes decide: a manifest sha256 that disagrees with them is not a second check', async () => {
  // The manifest is the one source of both, so the whole is the chunks'
  // (transfer.js); a whole file over HTTP is checked against sha256 (http.test.js).
  const other = parseManifest({ ...makeManifest('big.bin', file), sha256: 'a'.repeat(64), etag: `"${'a'.repeat(64)}"` });
  const h = harness();
  assert.deepEqual(await transferChunks(other, h), file);
  assert.equal(h.failures.length, 0);
});

test('busy is retried with backoff; other errors propagate and abort the rest', async () => {
  const h = harness({ errors: { 1: ['busy', 'busy'] } });
  const out = await transferChunks(m, { ...h, busyBaseMs: 1 });
  assert.deepEqual(out, file);
  assert.equal(h.calls.filter((i) => i === 1).length, 3);

  const h2 = harness({ errors: { 0: ['stale'] }, delay: (i) => (i === 0 ? 0 : 30) });
  await assert.rejects(transferChunks(m, { ...h2, maxInFlight: 3 }), (e) => e.code === 'stale');
});

test('chunks held locally are not fetched', async () => {
  const h = harness();
  const local = new Map([[m.chunks[0], chunkOf(0)], [m.chunks[4], chunkOf(4)]]);
  const sources = {};
  const out = await transferChunks(m, {
    ...h,
    localGet: (k) => local.get(k),
    onChunk: (c) => (sources[c.index] = c.source),
  });
  assert.deepEqual(out, file);
  assert.deepEqual([...h.calls].sort(), [1, 2, 3, 5]);
  assert.equal(sources[0], 'local');
  assert.equal(sources[1], 'relay');
});

test('an abort stops the transfer', async () => {
  const h = harness({ delay: () => 20 });
  const ac = new AbortController();
  const p = transferChunks(m, { ...h, signal: ac.signal, maxInFlight: 2 });
  setTimeout(() => ac.abort(), 5);
  await assert.rejects(p, (e) => e.code === 'aborted');
  assert.ok(h.calls.length < 6);
});

test('an empty file transfers with no chunk requests', async () => {
  const e = parseManifest(makeManifest('e', new Uint8Array(0)));
  const h = harness();
  const out = await transferChunks(e, h);
  assert.equal(out.length, 0);
  assert.equal(h.calls.length, 0);
});
