// Verified transfer of one file's chunks: pipelined requests through a
// caller-supplied transport, every chunk checked against the manifest
// before a byte of it is kept.
//
// There is no second, whole-file check. The chunk hashes cover every byte
// of the file, and they come from the same manifest as its sha256 (the
// relay's, the one source the SDK trusts for both), so a file whose chunks
// all match is the manifest's file: hashing it again guards against
// nothing a chunk hash does not, and it cost a browser a pass over fresh
// memory per byte (Chromium on the bench machine: ~5 ms per MB, 25 ms at
// the end of a 5 MB fetch, before the page got its last byte). A file that
// comes whole over HTTP is checked against sha256 (http.js).

import { toBytes } from './bytes.js';
import { P2PCacheError, abortError } from './errors.js';
import { chunkLength, chunkOffset } from './manifest.js';
import { sha256Hex } from './sha256.js';
import { backoffDelay, sleep } from './timing.js';

/** How many times a chunk that failed verification is fetched again before giving up. */
export const VERIFY_RETRIES = 1;

/**
 * Fetch the chunks of manifest m (all of them, or first..last), verify each
 * against its hash; return the bytes of the span fetched (the file's, when
 * whole). Pure: the transport is the getChunk callback. Bytes that fail
 * verification are never released: not returned, nor passed to onChunk,
 * onRelease or localPut.
 *
 * opts:
 *   getChunk(index, hashHex, signal, attempt, into) → Promise<{ bytes, source }>
 *                                    attempt counts this chunk's failed verifications;
 *                                    into is the chunk's place in the result, where the
 *                                    transport may write it (bytes is then into; bytes
 *                                    that fail verification there are overwritten by the
 *                                    next attempt, or the result is dropped)
 *   localGet(hashHex) → Uint8Array | undefined, or a promise of one (verified chunks held locally)
 *   localPut(hashHex, bytes, source)             (called with verified chunks; bytes may be a
 *                                                 view of the result: copy what you keep)
 *   onChunk({ index, length, source })           (after a chunk is verified and placed)
 *   onRelease(index, bytes)                      (verified chunks in index order, for a stream)
 *   onVerifyFailure({ index, expected, actual, attempt, source })
 *   first (0), last (the last chunk), maxInFlight (8), verifyRetries (VERIFY_RETRIES),
 *   busyRetries (6), busyBaseMs (100), signal, hash (sha256Hex)
 *
 * Throws P2PCacheError 'verify_failed' when a chunk fails verifyRetries+1
 * times; any error of getChunk otherwise
 * (after retrying 'busy' with backoff). On a throw, chunk requests still in
 * flight are aborted through their signal.
 */
export async function transferChunks(m, opts) {
  const {
    getChunk,
    localGet = () => undefined,
    localPut = () => {},
    onChunk = () => {},
    onRelease = null,
    onVerifyFailure = () => {},
    maxInFlight = 8,
    verifyRetries = VERIFY_RETRIES,
    busyRetries = 6,
    busyBaseMs = 100,
    signal,
    hash = sha256Hex,
  } = opts;
  const n = m.chunks.length;
  const first = Math.max(0, opts.first ?? 0);
  const last = Math.min(n - 1, opts.last ?? n - 1);
  const base = n === 0 ? 0 : chunkOffset(m, first);
  const end = n === 0 ? 0 : chunkOffset(m, last) + chunkLength(m, last);
  const out = new Uint8Array(end - base);
  const ctrl = new AbortController();
  const onOuterAbort = () => ctrl.abort(signal.reason);
  if (signal) {
    if (signal.aborted) throw abortError(signal);
    signal.addEventListener('abort', onOuterAbort, { once: true });
  }
  let next = first;
  let failed = null;
  // in-order release: done[i] once chunk i is placed; released up to nextRelease-1
  const done = new Uint8Array(Math.max(0, last - first + 1));
  let nextRelease = first;
  const release = () => {
    if (!onRelease) return;
    while (nextRelease <= last && done[nextRelease - first]) {
      const off = chunkOffset(m, nextRelease) - base;
      onRelease(nextRelease, out.subarray(off, off + chunkLength(m, nextRelease)));
      nextRelease++;
    }
  };
  const into = (i) => {
    const off = chunkOffset(m, i) - base;
    return out.subarray(off, off + chunkLength(m, i));
  };
  const place = (i, bytes, len, source) => {
    const off = chunkOffset(m, i) - base;
    // a transport that wrote into the result has placed it already
    if (bytes.buffer !== out.buffer || bytes.byteOffset !== out.byteOffset + off) out.set(bytes, off);
    done[i - first] = 1;
    onChunk({ index: i, length: len, source });
    release();
  };

  const one = async (i) => {
    const expected = m.chunks[i];
    const len = chunkLength(m, i);
    const local = await localGet(expected);
    if (local && local.byteLength === len) {
      place(i, local, len, 'local');
      return;
    }
    let busy = 0;
    for (let attempt = 0; ; ) {
      if (failed) throw failed;
      let got;
      try {
        got = await getChunk(i, expected, ctrl.signal, attempt, into(i));
      } catch (e) {
        if (e?.code === 'busy' && busy < busyRetries && !ctrl.signal.aborted) {
          await sleep(backoffDelay(busy++, { base: busyBaseMs, max: 4000 }), ctrl.signal);
          continue;
        }
        throw e;
      }
      const bytes = toBytes(got.bytes);
      const actual = bytes.length === len ? await hash(bytes) : `length ${bytes.length}, want ${len}`;
      if (actual === expected) {
        if (failed) throw failed;
        localPut(expected, bytes, got.source ?? 'relay');
        place(i, bytes, len, got.source ?? 'relay');
        return;
      }
      onVerifyFailure({ index: i, expected, actual, attempt, source: got.source ?? 'relay' });
      if (attempt >= verifyRetries) {
        throw new P2PCacheError(
          'verify_failed',
          `p2pcache: chunk ${i} of ${m.path} failed verification ${attempt + 1} times`,
          { path: m.path },
        );
      }
      attempt++;
    }
  };

  const worker = async () => {
    while (!failed && next <= last) {
      const i = next++;
      try {
        await one(i);
      } catch (e) {
        if (!failed) {
          failed = e;
          ctrl.abort(e);
        }
        throw failed;
      }
    }
  };

  try {
    const workers = [];
    for (let w = 0; w < Math.min(Math.max(1, maxInFlight), last - first + 1); w++) workers.push(worker());
    const results = await Promise.allSettled(workers);
    if (failed) throw failed;
    const bad = results.find((r) => r.status === 'rejected');
    if (bad) throw bad.reason;
  } finally {
    signal?.removeEventListener('abort', onOuterAbort);
  }
  if (signal?.aborted) throw abortError(signal);
  return out;
}
