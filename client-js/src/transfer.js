// Verified transfer of one file's chunks: pipelined requests through a
// caller-supplied transport, every chunk and the whole file checked against
// the manifest before a byte is kept.

import { toBytes } from './bytes.js';
import { P2PCacheError, abortError } from './errors.js';
import { chunkLength, chunkOffset } from './manifest.js';
import { sha256Hex } from './sha256.js';
import { backoffDelay, sleep } from './timing.js';

/** How many times a chunk that failed verification is fetched again before giving up. */
export const VERIFY_RETRIES = 1;

/**
 * Fetch every chunk of manifest m, verify each against its hash and the
 * whole against m.sha256, and return the file's bytes. Pure: the transport
 * is the getChunk callback. Bytes that fail verification are never placed
 * in the result nor passed to onChunk or localPut.
 *
 * opts:
 *   getChunk(index, hashHex, signal) → Promise<{ bytes: Uint8Array, source: string }>
 *   localGet(hashHex) → Uint8Array | undefined   (verified chunks held locally)
 *   localPut(hashHex, bytes)                     (called with verified chunks)
 *   onChunk({ index, length, source })           (after a chunk is verified and placed)
 *   onVerifyFailure({ index, expected, actual, attempt, source })  (index -1: whole file)
 *   maxInFlight (8), busyRetries (6), busyBaseMs (100), signal, hash (sha256Hex)
 *
 * Throws P2PCacheError 'verify_failed' when a chunk fails VERIFY_RETRIES+1
 * times or the whole file does not match; any error of getChunk otherwise
 * (after retrying 'busy' with backoff). On a throw, chunk requests still in
 * flight are aborted through their signal.
 */
export async function transferChunks(m, opts) {
  const {
    getChunk,
    localGet = () => undefined,
    localPut = () => {},
    onChunk = () => {},
    onVerifyFailure = () => {},
    maxInFlight = 8,
    busyRetries = 6,
    busyBaseMs = 100,
    signal,
    hash = sha256Hex,
  } = opts;
  const n = m.chunks.length;
  const out = new Uint8Array(m.size);
  const ctrl = new AbortController();
  const onOuterAbort = () => ctrl.abort(signal.reason);
  if (signal) {
    if (signal.aborted) throw abortError(signal);
    signal.addEventListener('abort', onOuterAbort, { once: true });
  }
  let next = 0;
  let failed = null;

  const one = async (i) => {
    const expected = m.chunks[i];
    const len = chunkLength(m, i);
    const off = chunkOffset(m, i);
    const local = localGet(expected);
    if (local && local.byteLength === len) {
      out.set(local, off);
      onChunk({ index: i, length: len, source: 'local' });
      return;
    }
    let busy = 0;
    for (let attempt = 0; ; ) {
      if (failed) throw failed;
      let got;
      try {
        got = await getChunk(i, expected, ctrl.signal);
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
        out.set(bytes, off);
        localPut(expected, bytes);
        onChunk({ index: i, length: len, source: got.source ?? 'relay' });
        return;
      }
      onVerifyFailure({ index: i, expected, actual, attempt, source: got.source ?? 'relay' });
      if (attempt >= VERIFY_RETRIES) {
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
    while (!failed && next < n) {
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
    for (let w = 0; w < Math.min(Math.max(1, maxInFlight), n); w++) workers.push(worker());
    const results = await Promise.allSettled(workers);
    if (failed) throw failed;
    const bad = results.find((r) => r.status === 'rejected');
    if (bad) throw bad.reason;
  } finally {
    signal?.removeEventListener('abort', onOuterAbort);
  }
  if (signal?.aborted) throw abortError(signal);
  const whole = await hash(out);
  if (whole !== m.sha256) {
    onVerifyFailure({ index: -1, expected: m.sha256, actual: whole, attempt: 0, source: 'file' });
    throw new P2PCacheError('verify_failed', `p2pcache: ${m.path}: whole-file SHA-256 does not match the manifest`, {
      path: m.path,
    });
  }
  return out;
}
