// Autoload: elements marked with data-p2p-src, data-p2p-srcset (in a
// <picture> too) or data-p2p-bg loaded through the client, lazily when
// they say loading="lazy", as object URLs the client owns (revoked by
// close()). Only passive types become object URLs (passive.js); an element
// whose file is of another type gets the relay's /files URL, unless the
// page allowed active types.

import { P2PCacheError } from './errors.js';
import { isPassiveType } from './passive.js';
import { selectPath } from './responsive.js';

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

/** Attributes autoload watches besides the path attribute. */
const WATCHED = ['data-p2p-srcset', 'data-p2p-bg', 'data-p2p-sizes', 'sizes'];

/** How far outside the viewport a lazy element starts loading. */
export const LAZY_ROOT_MARGIN = '200px';

/**
 * Load every element marked for it under root through host.fetch:
 *   <img data-p2p-src="/a.jpg">                   src becomes an object URL
 *   <img data-p2p-srcset="/a.jpg 480w, /b.jpg 960w" sizes="50vw">
 *   <picture><source data-p2p-srcset="/a.avif" type="image/avif" media="…">
 *            <img data-p2p-src="/a.jpg"></picture>   the source a browser would pick
 *   <div data-p2p-bg="/hero.jpg">                 style.backgroundImage: url(…)
 * loading="lazy" (or data-p2p-loading="lazy") waits until the element
 * comes within LAZY_ROOT_MARGIN of the viewport (IntersectionObserver).
 * Elements added or changed later are picked up too (MutationObserver,
 * handed to host.observers so close() can disconnect it). Each element
 * gets data-p2p-state="lazy|loading|loaded|error" and the events
 * p2pprogress, p2pload (detail: the FetchInfo) and p2perror (detail:
 * { error }). Returns { ready, stop() }: ready settles when the elements
 * present now (the lazy ones not yet in view excepted) are done.
 *
 * Bodies are streamed (host.fetch with stream: true), so the content type
 * is known before the bytes: a file whose type is not passive (passive.js)
 * is not made into an object URL; the element gets the relay's /files URL
 * (host.fileURL) instead, unless host.allowActiveTypes. A fetch that fails
 * (other than for close()) also falls back to the /files URL, so the page
 * shows what it would without the SDK; opts.fallback: false leaves the
 * element alone.
 *
 * host: { fetch(path, opts), isClosed(), urls: ObjectURLs, observers: Set, log,
 *         allowActiveTypes, fileURL(path) → Promise<string> }
 * opts: attribute ('data-p2p-src'), observe (true), fallback (true),
 *       window (globalThis: matchMedia, devicePixelRatio, innerWidth,
 *       IntersectionObserver, MutationObserver)
 */
export function autoload(host, root, opts = {}) {
  if (!root?.querySelectorAll) throw new P2PCacheError('bad_option', 'p2pcache: autoload needs a document or element');
  const { urls, log } = host;
  const attr = opts.attribute ?? 'data-p2p-src';
  const win = opts.window ?? globalThis;
  const loaded = new WeakMap(); // element → the target being or already loaded
  const selector = `[${attr}],[data-p2p-srcset],[data-p2p-bg]`;
  const fire = (el, type, detail) => {
    try {
      const Ev = globalThis.CustomEvent;
      if (Ev) el.dispatchEvent(new Ev(type, { detail, bubbles: true }));
    } catch (e) {
      log('warn', `${type} listener threw`, e);
    }
  };
  // what el wants now: { path, bg } or null
  const target = (el) => {
    if (el.tagName === 'SOURCE') return null; // its <img> does the loading
    const bg = el.getAttribute('data-p2p-bg');
    if (bg) return { path: bg, bg: true };
    const path = selectPath(el, { attr, win });
    return path ? { path, bg: false } : null;
  };
  const apply = (el, t, url) => {
    if (t.bg) {
      el.style.backgroundImage = `url(${JSON.stringify(url)})`;
      return;
    }
    const old = el.getAttribute('src');
    el.setAttribute('src', url);
    if (old && old !== url && urls.has(old)) urls.revoke(old);
  };
  const load = async (el) => {
    const t = target(el);
    if (!t || host.isClosed()) return;
    const key = `${t.bg ? 'bg' : 'src'} ${t.path}`;
    if (loaded.get(el) === key) return;
    loaded.set(el, key);
    el.setAttribute('data-p2p-state', 'loading');
    const current = () => !host.isClosed() && loaded.get(el) === key;
    try {
      const res = await host.fetch(t.path, { stream: true, onProgress: (ev) => fire(el, 'p2pprogress', ev) });
      let url;
      if (host.allowActiveTypes || isPassiveType(res.headers.get('content-type'))) {
        const blob = await res.blob();
        if (!current()) return;
        url = urls.create(blob);
      } else {
        res.body?.cancel().catch(() => {});
        url = await host.fileURL(t.path);
        if (!current()) return;
      }
      apply(el, t, url);
      el.setAttribute('data-p2p-state', 'loaded');
      fire(el, 'p2pload', await res.p2pDone.catch(() => null));
    } catch (error) {
      if (loaded.get(el) !== key) return;
      el.setAttribute('data-p2p-state', 'error');
      log('warn', `autoload ${t.path}: ${error?.message}`);
      if (opts.fallback !== false && !host.isClosed() && error?.code !== 'bad_path') {
        // what the page would show without the SDK
        host.fileURL(t.path).then((u) => current() && apply(el, t, u), () => {});
      }
      fire(el, 'p2perror', { error });
    }
  };
  // lazy elements wait for the viewport
  let io = null;
  const waiting = new WeakSet();
  const isLazy = (el) => (el.getAttribute('loading') ?? el.getAttribute('data-p2p-loading')) === 'lazy';
  const visit = (el) => {
    if (isLazy(el) && typeof win.IntersectionObserver === 'function') {
      if (waiting.has(el) || loaded.has(el)) return loaded.has(el) ? load(el) : undefined;
      io ??= new win.IntersectionObserver(
        (entries) => {
          for (const e of entries) {
            if (!e.isIntersecting && !(e.intersectionRatio > 0)) continue;
            io.unobserve(e.target);
            waiting.delete(e.target);
            load(e.target);
          }
        },
        { rootMargin: LAZY_ROOT_MARGIN },
      );
      waiting.add(el);
      el.setAttribute('data-p2p-state', 'lazy');
      io.observe(el);
      return undefined;
    }
    return load(el);
  };
  const scan = (node) => {
    const out = [];
    const take = (el) => {
      if (el.tagName === 'SOURCE') {
        // a <source> changed: its <picture>'s <img> chooses again
        const img = [...(el.parentElement?.children ?? [])].find((c) => c.tagName === 'IMG');
        if (img) out.push(visit(img));
        return;
      }
      out.push(visit(el));
    };
    if (node.nodeType === 1 && (node.hasAttribute?.(attr) || node.hasAttribute?.('data-p2p-srcset') || node.hasAttribute?.('data-p2p-bg'))) take(node);
    for (const el of node.querySelectorAll?.(selector) ?? []) take(el);
    return out;
  };
  const ready = Promise.allSettled(scan(root)).then(() => undefined);
  let mo = null;
  if (opts.observe !== false && typeof win.MutationObserver === 'function') {
    mo = new win.MutationObserver((records) => {
      try {
        for (const r of records) {
          if (r.type === 'attributes') scan(r.target);
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
      attributeFilter: [attr, ...WATCHED],
    });
    host.observers.add(mo);
  }
  if (io) host.observers.add(io);
  return {
    ready,
    stop: () => {
      if (mo) {
        mo.disconnect();
        host.observers.delete(mo);
      }
      if (io) {
        io.disconnect();
        host.observers.delete(io);
      }
    },
  };
}
