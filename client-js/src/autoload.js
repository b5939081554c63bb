// Autoload: elements with data-p2p-src loaded through the client, as object
// URLs the client owns (revoked by close()).

import { P2PCacheError } from './errors.js';

/** The object URLs a client made; each is revoked once (by revoke or revokeAll). */
export class ObjectURLs {
  constructor() {
    this._urls = new Set();
  }

  /** An object URL for blob, owned until revoked. */
  create(blob) {
    const url = URL.createObjectURL(blob);
    this._urls.add(url);
    return url;
  }

  has(url) {
    return this._urls.has(url);
  }

  /** Revoke url if it is one of ours. */
  revoke(url) {
    if (this._urls.delete(url)) {
      try {
        URL.revokeObjectURL(url);
      } catch {
        // ignore
      }
    }
  }

  revokeAll() {
    for (const u of this._urls) {
      try {
        URL.revokeObjectURL(u);
      } catch {
        // ignore
      }
    }
    this._urls.clear();
  }
}

/**
 * Load every element with a data-p2p-src attribute under root through
 * host.fetch, setting its src to an object URL (from host.urls) as soon as
 * the file is complete; elements added or changed later are picked up too
 * (MutationObserver, handed to host.observers so close() can disconnect
 * it). Each element gets data-p2p-state="loading|loaded|error" and the
 * events p2pprogress, p2pload (detail: res.p2p) and p2perror (detail:
 * { error }). Returns { ready, stop() }.
 *
 * host: { fetch(path, opts), isClosed(), urls: ObjectURLs, observers: Set, log }
 */
export function autoload(host, root, opts = {}) {
  if (!root?.querySelectorAll) throw new P2PCacheError('bad_option', 'p2pcache: autoload needs a document or element');
  const { urls, log } = host;
  const attr = opts.attribute ?? 'data-p2p-src';
  const loaded = new WeakMap(); // element → path being or already loaded
  const fire = (el, type, detail) => {
    try {
      const Ev = globalThis.CustomEvent;
      if (Ev) el.dispatchEvent(new Ev(type, { detail, bubbles: true }));
    } catch (e) {
      log('warn', `${type} listener threw`, e);
    }
  };
  const load = (el) => {
    const path = el.getAttribute(attr);
    if (!path || loaded.get(el) === path || host.isClosed()) return Promise.resolve();
    loaded.set(el, path);
    el.setAttribute('data-p2p-state', 'loading');
    return host
      .fetch(path, { onProgress: (ev) => fire(el, 'p2pprogress', ev) })
      .then(async (res) => {
        const blob = await res.blob();
        if (host.isClosed() || loaded.get(el) !== path) return;
        const url = urls.create(blob);
        const old = el.getAttribute('src');
        el.setAttribute('src', url);
        if (old && urls.has(old)) urls.revoke(old);
        el.setAttribute('data-p2p-state', 'loaded');
        fire(el, 'p2pload', res.p2p);
      })
      .catch((error) => {
        if (loaded.get(el) !== path) return;
        el.setAttribute('data-p2p-state', 'error');
        log('warn', `autoload ${path}: ${error?.message}`);
        fire(el, 'p2perror', { error });
      });
  };
  const scan = (node) => {
    const out = [];
    if (node.nodeType === 1 && node.hasAttribute?.(attr)) out.push(load(node));
    for (const el of node.querySelectorAll?.(`[${attr}]`) ?? []) out.push(load(el));
    return out;
  };
  const ready = Promise.allSettled(scan(root)).then(() => undefined);
  let mo = null;
  if (opts.observe !== false && typeof globalThis.MutationObserver === 'function') {
    mo = new MutationObserver((records) => {
      try {
        for (const r of records) {
          if (r.type === 'attributes') load(r.target);
          else for (const n of r.addedNodes) if (n.nodeType === 1) scan(n);
        }
      } catch (e) {
        log('error', 'autoload observer failed', e);
      }
    });
    mo.observe(root.nodeType === 9 ? root.documentElement : root, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: [attr],
    });
    host.observers.add(mo);
  }
  return {
    ready,
    stop: () => {
      if (mo) {
        mo.disconnect();
        host.observers.delete(mo);
      }
    },
  };
}
