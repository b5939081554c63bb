// The persistent tab store: verified chunks kept in IndexedDB under a byte
// budget, least recently used out first, so a later page load or a
// navigation on the same site gets them back as source 'local' and the
// client can announce them to the relay (HAVE) as soon as it reconnects.
//
// Three object stores in one database (one per site origin, shared by its
// tabs):
//   chunks  hash → the chunk's bytes (Uint8Array)
//   lru     hash → { size, used }: the index, loaded whole at open without
//           reading any bytes; `used` orders the eviction
//   files   "relay path" → the manifest fields the peer role needs (path,
//           sha256, chunks, size, chunkSize, contentType, etag, lastModified)
// Chunks are named by their SHA-256, so a stored chunk is right for every
// file that lists it; a file whose manifest changed is dropped with the
// chunks no other stored file lists (dropFile). Every chunk read back is
// verified again by the transfer before use, like any other source.
//
// Each tab keeps the index in memory from the moment it opened the store:
// a chunk another tab stored later is not seen (it comes over the network
// instead), and one another tab evicted reads back as a miss. Neither is
// wrong, only less useful; the index is a hint, the bytes are checked.
// A failing database (quota, private mode, a blocked upgrade) turns the
// store off for the session; the in-memory LRU still works.

import { P2PCacheError } from './errors.js';

/** Default byte budget of the store (storeBytes), before the quota clamp. */
export const DEFAULT_STORE_BYTES = 128 << 20;
/** The store takes at most this share of the origin's storage quota. */
export const QUOTA_SHARE = 0.2;
/** How often touched chunks' `used` times are written back, ms. */
export const TOUCH_FLUSH_MS = 2000;

const DB_NAME = 'p2pcache-store';
const DB_VERSION = 1;

function req(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(tx.error ?? new Error('transaction aborted'));
  });
}

const fileKey = (relay, path) => `${relay} ${path}`;

/**
 * A byte-bounded, persistent, content-addressed chunk store. Open it with
 * ChunkStore.open(); every method is safe to call after a failure (it then
 * does nothing, or misses).
 */
export class ChunkStore {
  /**
   * Open (or create) the store. options: indexedDB (default
   * globalThis.indexedDB), maxBytes (DEFAULT_STORE_BYTES; clamped to
   * QUOTA_SHARE of navigator.storage.estimate()'s quota when known),
   * relay (the relay's base URL: files are kept per relay), onEvict(hash)
   * (a chunk left the store), log, name (the database name; tests).
   * Resolves null when there is no IndexedDB or it cannot be opened.
   */
  static async open({ indexedDB = globalThis.indexedDB, maxBytes = DEFAULT_STORE_BYTES, relay = '', onEvict = null, log = () => {}, name = DB_NAME, storage = globalThis.navigator?.storage } = {}) {
    if (!indexedDB || !(maxBytes > 0)) return null;
    let budget = Math.floor(maxBytes);
    try {
      const est = await storage?.estimate?.();
      if (est?.quota > 0) budget = Math.min(budget, Math.floor(est.quota * QUOTA_SHARE));
    } catch {
      // no estimate: keep the option's budget
    }
    try {
      const open = indexedDB.open(name, DB_VERSION);
      open.onupgradeneeded = () => {
        const db = open.result;
        for (const s of ['chunks', 'lru', 'files']) if (!db.objectStoreNames.contains(s)) db.createObjectStore(s);
      };
      open.onblocked = () => log('warn', 'store: the database upgrade is blocked by another tab');
      const db = await req(open);
      const s = new ChunkStore(db, { maxBytes: budget, relay, onEvict, log });
      await s._load();
      return s;
    } catch (e) {
      log('warn', `store: off: ${e?.message ?? e}`);
      return null;
    }
  }

  constructor(db, { maxBytes, relay, onEvict, log }) {
    this._db = db;
    this.maxBytes = maxBytes;
    this._relay = relay;
    this._onEvict = typeof onEvict === 'function' ? onEvict : null;
    this._log = log;
    this._index = new Map(); // hash → { size, used }, least recently used first
    this._files = new Map(); // path → file record (this relay's)
    this._refs = new Map(); // hash → number of stored files listing it
    this.bytes = 0;
    this.evictions = 0;
    this.hits = 0;
    this.misses = 0;
    this.pending = 0; // chunk writes not committed yet
    this._touched = new Set();
    this._touchTimer = null;
    this._clock = 0; // last `used` stamp: strictly increasing, so ties never reorder the LRU
    this._broken = false;
    this._closed = false;
    db.onversionchange = () => this.close();
  }

  async _load() {
    const tx = this._db.transaction(['lru', 'files'], 'readonly');
    const lru = tx.objectStore('lru');
    const [keys, vals, files] = await Promise.all([
      req(lru.getAllKeys()),
      req(lru.getAll()),
      req(tx.objectStore('files').getAll()),
    ]);
    const entries = keys.map((k, i) => [k, vals[i]]).filter(([, v]) => v && v.size >= 0);
    entries.sort((a, b) => a[1].used - b[1].used);
    for (const [k, v] of entries) {
      this._index.set(k, { size: v.size, used: v.used });
      this.bytes += v.size;
      this._clock = Math.max(this._clock, v.used);
    }
    for (const f of files.sort((a, b) => (a.used ?? 0) - (b.used ?? 0))) {
      if (f?.relay !== this._relay || typeof f.path !== 'string') continue;
      this._files.set(f.path, f);
      this._ref(f, 1);
    }
    if (this.bytes > this.maxBytes) await this._evict(0); // a smaller budget than last time
  }

  _ref(f, d) {
    for (const h of new Set(f.chunks)) {
      const n = (this._refs.get(h) ?? 0) + d;
      if (n > 0) this._refs.set(h, n);
      else this._refs.delete(h);
    }
  }

  /** Whether a chunk is (as far as this tab knows) in the store. */
  has(hash) {
    return !this._broken && this._index.has(hash);
  }

  /** Chunks indexed. */
  get size() {
    return this._index.size;
  }

  /** The stored files of this relay, least recently used first: [{ path, sha256, chunks, ... }]. */
  files() {
    return [...this._files.values()];
  }

  /** The stored file record of path, or undefined. */
  file(path) {
    return this._files.get(path);
  }

  /** A chunk's bytes, or undefined (a miss); marks it recently used. */
  async get(hash) {
    if (!this.has(hash)) {
      this.misses++;
      return undefined;
    }
    let v;
    try {
      v = await req(this._db.transaction('chunks', 'readonly').objectStore('chunks').get(hash));
    } catch (e) {
      this._fail(e);
      return undefined;
    }
    if (!(v instanceof Uint8Array)) {
      // gone (another tab evicted it): forget it here too
      this.misses++;
      this._forget(hash);
      return undefined;
    }
    this.hits++;
    this._touch(hash);
    return v;
  }

  _stamp() {
    this._clock = Math.max(Date.now(), this._clock + 1);
    return this._clock;
  }

  _touch(hash) {
    const e = this._index.get(hash);
    if (!e) return;
    e.used = this._stamp();
    this._index.delete(hash);
    this._index.set(hash, e);
    this._touched.add(hash);
    if (!this._touchTimer && !this._closed) {
      this._touchTimer = setTimeout(() => {
        this._touchTimer = null;
        this._flushTouches();
      }, TOUCH_FLUSH_MS);
    }
  }

  async _flushTouches() {
    const hs = [...this._touched].filter((h) => this._index.has(h));
    this._touched.clear();
    if (!hs.length || this._broken) return;
    try {
      const tx = this._db.transaction('lru', 'readwrite');
      const lru = tx.objectStore('lru');
      for (const h of hs) lru.put({ ...this._index.get(h) }, h);
      await done(tx);
    } catch (e) {
      this._fail(e);
    }
  }

  /** Keep a verified chunk (a no-op for one already held, but a touch). Resolves whether it is stored. */
  async put(hash, bytes) {
    if (this._broken || this._closed) return false;
    if (this._index.has(hash)) {
      this._touch(hash);
      return true;
    }
    const size = bytes.byteLength;
    if (size > this.maxBytes) return false;
    const entry = { size, used: this._stamp() };
    // index it now so a put racing this one does not write it twice
    this._index.set(hash, entry);
    this.bytes += size;
    this.pending++;
    try {
      await this._evict(0, hash);
      const tx = this._db.transaction(['chunks', 'lru'], 'readwrite');
      tx.objectStore('chunks').put(bytes.slice(), hash);
      tx.objectStore('lru').put(entry, hash);
      await done(tx);
      return true;
    } catch (e) {
      this._forget(hash);
      this._fail(e);
      return false;
    } finally {
      this.pending--;
    }
  }

  /** Evict least recently used chunks (never `keep`) until need more bytes fit the budget. */
  async _evict(need, keep = null) {
    const out = [];
    for (const [h, e] of this._index) {
      if (this.bytes + need <= this.maxBytes) break;
      if (h === keep) continue;
      out.push(h);
      this.bytes -= e.size;
    }
    if (!out.length) return;
    for (const h of out) this._index.delete(h);
    this.evictions += out.length;
    await this._delete(out);
    for (const h of out) this._onEvict?.(h);
    this._dropEmptyFiles();
  }

  async _delete(hashes) {
    try {
      const tx = this._db.transaction(['chunks', 'lru'], 'readwrite');
      for (const h of hashes) {
        tx.objectStore('chunks').delete(h);
        tx.objectStore('lru').delete(h);
      }
      await done(tx);
    } catch (e) {
      this._fail(e);
    }
  }

  _forget(hash) {
    const e = this._index.get(hash);
    if (!e) return;
    this._index.delete(hash);
    this.bytes -= e.size;
  }

  /** Files none of whose chunks are left are forgotten. */
  _dropEmptyFiles() {
    for (const f of [...this._files.values()]) {
      if (!f.chunks.some((h) => this._index.has(h))) this.dropFile(f.path, { keepChunks: true });
    }
  }

  /**
   * Remember manifest m as a stored file (its chunks as they get stored).
   * A different manifest stored for the same path is dropped first, with
   * the chunks no other file lists. Resolves whether the path's manifest
   * changed.
   */
  async putFile(m) {
    if (this._broken || this._closed) return false;
    const old = this._files.get(m.path);
    if (old?.sha256 === m.sha256) {
      old.used = this._stamp();
      return false;
    }
    const rec = {
      relay: this._relay,
      path: m.path,
      sha256: m.sha256,
      chunks: m.chunks,
      size: m.size,
      chunkSize: m.chunkSize,
      contentType: m.contentType ?? '',
      etag: m.etag ?? '',
      lastModified: m.lastModified ?? '',
      used: this._stamp(),
    };
    // the new record first (refs and index), so a put racing this sees it and
    // the chunks both versions list are not orphans when the old one goes
    this._ref(rec, 1);
    this._files.set(m.path, rec);
    if (old) await this._dropRecord(old);
    try {
      const tx = this._db.transaction('files', 'readwrite');
      tx.objectStore('files').put(rec, fileKey(this._relay, m.path));
      await done(tx);
    } catch (e) {
      this._fail(e);
    }
    return !!old;
  }

  /**
   * Forget path's stored file and delete its chunks that no other stored
   * file lists (unless keepChunks).
   */
  async dropFile(path, { keepChunks = false } = {}) {
    const f = this._files.get(path);
    if (!f) return;
    this._files.delete(path);
    await this._dropRecord(f, { keepChunks, deleteRecord: true });
  }

  /** Release record f's chunk references and delete the chunks no stored file lists any more. */
  async _dropRecord(f, { keepChunks = false, deleteRecord = false } = {}) {
    this._ref(f, -1);
    const orphans = keepChunks ? [] : [...new Set(f.chunks)].filter((h) => !this._refs.has(h) && this._index.has(h));
    for (const h of orphans) this._forget(h);
    try {
      const tx = this._db.transaction(['files', 'chunks', 'lru'], 'readwrite');
      if (deleteRecord) tx.objectStore('files').delete(fileKey(this._relay, f.path));
      for (const h of orphans) {
        tx.objectStore('chunks').delete(h);
        tx.objectStore('lru').delete(h);
      }
      await done(tx);
    } catch (e) {
      this._fail(e);
    }
    for (const h of orphans) this._onEvict?.(h);
  }

  /** stats().store */
  stats() {
    return { bytes: this.bytes, chunks: this._index.size, files: this._files.size, maxBytes: this.maxBytes, evictions: this.evictions, hits: this.hits, misses: this.misses, pending: this.pending };
  }

  _fail(e) {
    if (this._broken) return;
    this._broken = true;
    this._log('warn', `store: off after an error: ${e?.message ?? e}`);
  }

  /** Write back pending touches and close the database (idempotent). */
  close() {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this._touchTimer);
    this._touchTimer = null;
    const db = this._db;
    this._flushTouches().finally(() => {
      try {
        db.close();
      } catch {
        // closed
      }
    });
  }
}

/** Delete the whole store database (all relays' files). */
export async function clearStore({ indexedDB = globalThis.indexedDB, name = DB_NAME } = {}) {
  if (!indexedDB) throw new P2PCacheError('unsupported', 'p2pcache: no IndexedDB here');
  await req(indexedDB.deleteDatabase(name));
}
