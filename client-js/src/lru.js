// Byte-bounded LRU of verified chunks, keyed by hash.

/**
 * A least-recently-used map whose values' total byteLength never exceeds
 * maxBytes. onEvict(key, value), if given, is called for every entry pushed
 * out to make room (not for delete() or clear()).
 */
export class ByteLRU {
  constructor(maxBytes, onEvict = null) {
    this.maxBytes = Math.max(0, Math.floor(Number(maxBytes) || 0));
    this.bytes = 0;
    this.evictions = 0;
    this._m = new Map();
    this._onEvict = typeof onEvict === 'function' ? onEvict : null;
  }

  get size() {
    return this._m.size;
  }

  has(key) {
    return this._m.has(key);
  }

  /** Value for key, marking it most recently used. */
  get(key) {
    const v = this._m.get(key);
    if (v !== undefined) {
      this._m.delete(key);
      this._m.set(key, v);
    }
    return v;
  }

  /** Value without touching recency. */
  peek(key) {
    return this._m.get(key);
  }

  /**
   * Store value (a typed array) under key, evicting least recently used
   * entries to stay within maxBytes. A value larger than maxBytes is not
   * stored. A present key is only touched: content is named by its hash.
   * Returns whether the key is now present.
   */
  set(key, value) {
    if (this._m.has(key)) {
      this.get(key);
      return true;
    }
    const n = value.byteLength;
    if (n > this.maxBytes) return false;
    while (this.bytes + n > this.maxBytes && this._m.size > 0) {
      const [k, v] = this._m.entries().next().value;
      this._m.delete(k);
      this.bytes -= v.byteLength;
      this.evictions++;
      if (this._onEvict) this._onEvict(k, v);
    }
    this._m.set(key, value);
    this.bytes += n;
    return true;
  }

  delete(key) {
    const v = this._m.get(key);
    if (v === undefined) return false;
    this._m.delete(key);
    this.bytes -= v.byteLength;
    return true;
  }

  clear() {
    this._m.clear();
    this.bytes = 0;
  }

  keys() {
    return this._m.keys();
  }
}
