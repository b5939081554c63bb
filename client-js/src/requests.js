// Requests: the client's outstanding requests to the relay — ids, the
// pending map that matches answers to them, reassembly of the answer, the
// per-request timeout and CANCEL, and the slots that keep all fetches
// together under the relay's per-peer limit.

import { P2PCacheError, abortError, remoteError } from './errors.js';
import { FragmentBuffer } from './fragments.js';
import { encodeFrame } from './frames.js';
import { FrameType, MAX_CHUNK_SIZE, MAX_MANIFEST_LEN, frameTypeName } from './protocol.js';
import { backoffDelay, sleep } from './timing.js';

/**
 * options:
 *   link()         the link to send on now, or null (no connection)
 *   limit()        how many requests may be in flight over all fetches
 *   timeoutMs      a request with no progress for this long fails 'timeout'
 *   isReserved(id) ids taken elsewhere (PINGs share the id space)
 */
export class Requests {
  constructor({ link, limit, timeoutMs, isReserved = () => false }) {
    this._link = link;
    this._limit = limit;
    this._timeoutMs = timeoutMs;
    this._isReserved = isReserved;
    this._pending = new Map(); // our request id → pending request
    this._nextId = 0;
    this._slotsUsed = 0;
    this._slotWaiters = [];
  }

  /** Requests awaiting their answer. */
  get size() {
    return this._pending.size;
  }

  /** The next free non-zero u32 id. */
  allocId() {
    for (;;) {
      this._nextId = (this._nextId + 1) >>> 0;
      if (this._nextId !== 0 && !this._pending.has(this._nextId) && !this._isReserved(this._nextId)) return this._nextId;
    }
  }

  /**
   * Send a request and resolve with the reassembled answer bytes (MANIFEST
   * or CHUNK). Rejects with the ERROR it got, 'timeout' (no progress for
   * timeoutMs), 'disconnected', 'protocol', 'aborted' or 'closed'. info,
   * if given, is filled in: source (a CHUNK's source bits, 0 when the relay
   * did not say) and transport (the link it went on: 'webrtc-tcp' or 'websocket').
   * into, if given, is where a CHUNK answer of exactly its length is
   * reassembled (the result is then into; see FragmentBuffer).
   */
  async request(frame, expect, signal, info = null, into = null) {
    await this._acquireSlot(signal);
    try {
      return await this._requestNow(frame, expect, signal, info, into);
    } finally {
      this._releaseSlot();
    }
  }

  /** An answer frame (MANIFEST, CHUNK, ERROR) for one of ours; a late one is dropped. */
  onFrame(f) {
    this._pending.get(f.id)?.onFrame(f);
  }

  /** Fail request id (a malformed answer to it): CANCEL it and reject. */
  fail(id, err) {
    this._pending.get(id)?.fail(err);
  }

  /** Reject every request sent on a link of owner (its connection died). */
  failOwner(owner, err) {
    for (const p of [...this._pending.values()]) if (p.owner === owner) p.finish(err);
  }

  /** Reject everything pending and every request waiting for a slot. */
  close(err) {
    for (const p of [...this._pending.values()]) p.finish(err);
    for (const w of this._slotWaiters.splice(0)) w.reject(err);
  }

  _acquireSlot(signal) {
    if (this._slotsUsed < this._limit()) {
      this._slotsUsed++;
      return Promise.resolve();
    }
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const w = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        this._slotWaiters = this._slotWaiters.filter((x) => x !== w);
        reject(abortError(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this._slotWaiters.push(w);
    });
  }

  _releaseSlot() {
    const w = this._slotWaiters.shift();
    if (w) w.resolve(); // the slot passes on
    else this._slotsUsed--;
  }

  _requestNow(frame, expect, signal, info, into) {
    const link = this._link();
    if (!link) return Promise.reject(new P2PCacheError('disconnected', 'p2pcache: no connection to the relay'));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (info) {
      info.transport = link.transport;
      info.source = 0;
    }
    const id = this.allocId();
    const pending = this._pending;
    const timeoutMs = this._timeoutMs;
    return new Promise((resolve, reject) => {
      const p = {
        id,
        expect,
        index: frame.index,
        owner: link.owner,
        buf: null,
        timer: null,
        finish(err, val) {
          if (pending.get(id) !== p) return;
          pending.delete(id);
          clearTimeout(p.timer);
          signal?.removeEventListener('abort', p.onAbort);
          if (err) reject(err);
          else resolve(val);
        },
        cancel() {
          link.send(encodeFrame({ type: FrameType.CANCEL, id }), { control: true });
        },
        fail(err) {
          p.cancel();
          p.finish(err);
        },
        onAbort() {
          p.fail(abortError(signal));
        },
        arm() {
          clearTimeout(p.timer);
          p.timer = setTimeout(() => {
            p.fail(new P2PCacheError('timeout', `p2pcache: no answer from the relay for ${timeoutMs} ms`));
          }, timeoutMs);
        },
        onFrame(f) {
          if (f.type === FrameType.ERROR) {
            p.finish(remoteError(f.code, f.message, frame.path));
            return;
          }
          if (f.type !== expect || (expect === FrameType.CHUNK && f.index !== frame.index)) {
            p.fail(new P2PCacheError('protocol', `p2pcache: ${frameTypeName(f.type)} in answer to a ${frameTypeName(frame.type)}`));
            return;
          }
          if (info && f.source) info.source = f.source;
          try {
            if (!p.buf) {
              p.buf = expect === FrameType.CHUNK ? new FragmentBuffer(f.total, MAX_CHUNK_SIZE, into) : new FragmentBuffer(f.total, MAX_MANIFEST_LEN);
            }
            if (p.buf.add(f.offset, f.data, f.total)) {
              p.finish(null, p.buf.bytes);
              return;
            }
          } catch (e) {
            p.fail(new P2PCacheError('protocol', e.message, { cause: e }));
            return;
          }
          p.arm();
        },
      };
      pending.set(id, p);
      p.arm();
      signal?.addEventListener('abort', p.onAbort, { once: true });
      link.send(encodeFrame({ ...frame, id }), { control: true });
    });
  }
}

/** Run fn, retrying an ERROR busy with backoff (up to 6 times). */
export async function withBusyRetry(fn, signal) {
  for (let n = 0; ; n++) {
    try {
      return await fn();
    } catch (e) {
      if (e?.code !== 'busy' || n >= 6) throw e;
      await sleep(backoffDelay(n, { base: 100, max: 4000 }), signal);
    }
  }
}
