// Holdings: the peer role (PROTOCOL.md §2). Verified chunks stay in a
// byte-bounded LRU in memory and, when there is one, in the persistent tab
// store (store.js) behind it; which chunks of which file the client holds
// goes to the relay in HAVE frames (one per file, batched, again after
// every new data channel and after evictions from both tiers), and the
// relay's GET_CHUNK is answered from either tier.

import { toHex } from './bytes.js';
import { chunkFrames, encodeFrame, haveBitmap } from './frames.js';
import { ByteLRU } from './lru.js';
import { ErrorCode, FrameType, HEADER_LEN, MAX_CHUNK_DATA, MAX_MESSAGE_SIZE } from './protocol.js';

/** Peer role: the most files whose chunks the client tracks and announces with HAVE (the relay's own bound is 4096). */
export const MAX_ANNOUNCED_FILES = 1024;
/** Peer role: chunks stored or evicted within this many ms go to the relay in one HAVE per file. */
export const HAVE_DELAY_MS = 250;

/**
 * options:
 *   serve              false: hold chunks for local reuse only; no HAVE, GET_CHUNK refused
 *   maxBytes           the LRU's byte bound (peerCacheBytes)
 *   log(level, msg, ...)
 *   haveLink()         the open data channel's link, or null (HAVE goes nowhere else)
 *   maxMessageSize()   the relay's frame size limit (its hello), or 0
 */
export class Holdings {
  constructor({ serve, maxBytes, log, haveLink, maxMessageSize }) {
    this._serve = serve;
    this._log = log;
    this._haveLink = haveLink;
    this._maxMessageSize = maxMessageSize;
    this._lru = new ByteLRU(maxBytes, (h) => this._onChunkEvicted(h));
    this._files = new Map(); // whole-file sha256 → { path, sha256, chunks }, least recently used first
    this._chunkFiles = new Map(); // chunk hash → Set of whole-file sha256 listing it
    this._announced = new Map(); // whole-file sha256 → hex of the bitmap announced on this data channel
    this._haveDirty = new Set(); // whole-file sha256 whose HAVE may be out of date
    this._haveTimer = null;
    this._closed = false;
    this._store = null;
    this.served = { chunks: 0, bytes: 0, misses: 0, haveFrames: 0 };
  }

  /**
   * Put the persistent store (a ChunkStore) behind the LRU: its files are
   * tracked (and announced once a data channel is open) and its chunks
   * served and reused. Its evictions withdraw what is no longer held.
   */
  attachStore(store) {
    if (!store || this._closed) return;
    this._store = store;
    for (const f of store.files()) {
      this.trackFile(f);
      this._haveDirty.add(f.sha256);
    }
    this._flushHaves();
  }

  /** The store's eviction callback: like an LRU eviction, unless memory still has it. */
  storeEvicted(hashHex) {
    if (!this._lru.has(hashHex)) this._onChunkEvicted(hashHex);
  }

  /** Whether a chunk is held in either tier. */
  holds(hashHex) {
    return this._lru.has(hashHex) || !!this._store?.has(hashHex);
  }

  /**
   * A verified chunk held locally (marking it recently used): from memory
   * at once, from the store as a promise (then kept in memory too);
   * undefined when neither has it.
   */
  get(hashHex) {
    const b = this._lru.get(hashHex);
    if (b !== undefined || !this._store?.has(hashHex)) return b;
    return this._store.get(hashHex).then((v) => {
      if (v !== undefined && !this._closed) this._lru.set(hashHex, v);
      return v;
    });
  }

  /**
   * Keep a verified chunk of manifest m (in memory and in the store);
   * announce it if it was stored. bytes may be a view of a fetch's result,
   * which the page then owns: what is kept is a copy of the chunk alone.
   */
  put(hashHex, bytes, m) {
    const st = this._store;
    if (!st && bytes.byteLength > this._lru.maxBytes) return; // nothing would keep it
    if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = bytes.slice();
    const inMemory = this._lru.set(hashHex, bytes);
    if (st) {
      st.putFile(m)
        .then(() => st.put(hashHex, bytes))
        .catch((e) => this._log('warn', 'store: put failed', e));
    }
    if (inMemory || st) this._onChunkStored(hashHex, m);
  }

  /** stats().store, or null without a store. */
  storeStats() {
    return this._store?.stats() ?? null;
  }

  /** stats().cache */
  cacheStats() {
    const l = this._lru;
    return { bytes: l.bytes, chunks: l.size, maxBytes: l.maxBytes, evictions: l.evictions };
  }

  /** stats().served */
  servedStats() {
    return { ...this.served, announcedFiles: this._announced.size };
  }

  /**
   * Track which chunks of manifest m this client holds, to announce them
   * (most recently used last). A path whose stored manifest differs (the
   * file changed) has the old one withdrawn and dropped from the store.
   */
  trackFile(m) {
    if (this._closed) return;
    const stored = this._store?.file(m.path);
    if (stored && stored.sha256 !== m.sha256) {
      this._untrackFile(stored.sha256);
      this._store.putFile(m).catch(() => {}); // drops the old version's chunks
    }
    if (!this._serve) return;
    const known = this._files.get(m.sha256);
    if (known) {
      this._files.delete(m.sha256);
      this._files.set(m.sha256, known);
      return;
    }
    this._files.set(m.sha256, { path: m.path, sha256: m.sha256, chunks: m.chunks });
    for (const h of m.chunks) {
      let set = this._chunkFiles.get(h);
      if (!set) this._chunkFiles.set(h, (set = new Set()));
      set.add(m.sha256);
    }
    while (this._files.size > MAX_ANNOUNCED_FILES) {
      const [oldest] = this._files.keys();
      this._untrackFile(oldest);
    }
  }

  /** The whole file m is here: tell the relay now, not after HAVE_DELAY_MS. */
  fileComplete(m) {
    if (!this._files.has(m.sha256)) return;
    this._haveDirty.add(m.sha256);
    this._flushHaves();
  }

  /** A new data channel: the relay knows nothing this client holds; announce every tracked file. */
  announceAll() {
    this._announced.clear();
    for (const sha of this._files.keys()) this._haveDirty.add(sha);
    this._flushHaves();
  }

  /** The connection is gone: the relay forgets a peer's holdings when it leaves. */
  connectionLost() {
    this._announced.clear();
  }

  /** Answer the relay's GET_CHUNK from the LRU or the store (or ERROR forbidden / unknown_chunk). */
  serveChunk(f, link) {
    if (!this._serve) {
      link.send(encodeFrame({ type: FrameType.ERROR, id: f.id, code: ErrorCode.FORBIDDEN, message: 'this peer does not serve' }), { control: true });
      return;
    }
    const key = toHex(f.hash);
    const got = this.get(key);
    if (got instanceof Promise) {
      got.then(
        (bytes) => this._answer(f, link, key, bytes),
        () => this._answer(f, link, key, undefined),
      );
      return;
    }
    this._answer(f, link, key, got);
  }

  _answer(f, link, key, bytes) {
    if (this._closed) return;
    if (!bytes) {
      this.served.misses++;
      link.send(encodeFrame({ type: FrameType.ERROR, id: f.id, code: ErrorCode.UNKNOWN_CHUNK, message: key }), { control: true });
      return;
    }
    const maxData = Math.min(MAX_CHUNK_DATA, (this._maxMessageSize() || MAX_MESSAGE_SIZE) - HEADER_LEN - 12);
    for (const fr of chunkFrames(f.id, f.index, bytes, maxData)) link.send(fr, { rid: f.id });
    this.served.chunks++;
    this.served.bytes += bytes.length;
  }

  /** Forget everything (idempotent); nothing is announced afterwards. The store stays on disk. */
  close() {
    this._closed = true;
    this._store?.close();
    this._store = null;
    clearTimeout(this._haveTimer);
    this._haveTimer = null;
    this._lru.clear();
    this._files.clear();
    this._chunkFiles.clear();
    this._announced.clear();
    this._haveDirty.clear();
  }

  /** Stop tracking a file, first withdrawing it (an all-zero HAVE) if the relay was told of it. */
  _untrackFile(sha) {
    const f = this._files.get(sha);
    if (!f) return;
    if (this._announced.has(sha)) this._sendHave(f, new Uint8Array(Math.ceil(f.chunks.length / 8)));
    this._announced.delete(sha);
    this._haveDirty.delete(sha);
    this._files.delete(sha);
    for (const h of f.chunks) {
      const set = this._chunkFiles.get(h);
      if (!set) continue;
      set.delete(sha);
      if (set.size === 0) this._chunkFiles.delete(h);
    }
  }

  /** Called with every verified chunk stored in the peer cache, and the manifest it belongs to. */
  _onChunkStored(_hashHex, m) {
    if (!this._serve || this._closed) return;
    this.trackFile(m);
    this._haveDirty.add(m.sha256);
    this._scheduleHaves();
  }

  /** Called by the LRU for every chunk it pushes out: the files listing it need a new HAVE. */
  _onChunkEvicted(hashHex) {
    if (this._store?.has(hashHex)) return; // still held, on disk
    const set = this._chunkFiles.get(hashHex);
    if (!set) return;
    for (const sha of set) this._haveDirty.add(sha);
    this._scheduleHaves();
  }

  _scheduleHaves() {
    if (this._haveTimer || this._closed) return;
    this._haveTimer = setTimeout(() => {
      this._haveTimer = null;
      this._flushHaves();
    }, HAVE_DELAY_MS);
  }

  /** Send one HAVE per file whose holdings changed since it was last announced. */
  _flushHaves() {
    if (this._haveTimer) clearTimeout(this._haveTimer);
    this._haveTimer = null;
    if (!this._serve || this._closed) return;
    const link = this._haveLink();
    const dirty = [...this._haveDirty];
    this._haveDirty.clear();
    for (const sha of dirty) {
      const f = this._files.get(sha);
      if (!f) continue;
      const bitmap = haveBitmap(f.chunks, (h) => this.holds(h));
      if (!bitmap.some((b) => b !== 0)) {
        this._untrackFile(sha); // nothing left of it: withdraw if announced, and forget it
        continue;
      }
      if (!link) continue; // announced in full when a data channel opens
      const key = toHex(bitmap);
      if (this._announced.get(sha) === key) continue;
      if (this._sendHave(f, bitmap, link)) this._announced.set(sha, key);
    }
  }

  _sendHave(f, bitmap, link = this._haveLink()) {
    if (!link) return false;
    let bytes;
    try {
      bytes = encodeFrame({ type: FrameType.HAVE, id: 0, hash: f.sha256, count: f.chunks.length, bitmap, path: f.path });
    } catch (e) {
      this._log('warn', `HAVE for ${f.path} not sent: ${e.message}`);
      return false;
    }
    if (bytes.length > MAX_MESSAGE_SIZE) {
      this._log('debug', `HAVE for ${f.path} not sent: ${f.chunks.length} chunks do not fit one frame`);
      return false;
    }
    if (!link.send(bytes)) return false;
    this.served.haveFrames++;
    return true;
  }
}
