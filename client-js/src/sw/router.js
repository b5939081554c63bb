// The service worker's logic (bundled as p2pcache-sw.js by worker.js):
// every GET a controlled page makes for <relay>/files/<path> — a plain
// <img src>, srcset, CSS url(), fetch() — is answered through a window
// that holds a p2pcache connection, since a worker cannot hold WebRTC
// (the window streams verified chunks back over a MessageChannel; see
// messages.js). Anything else, and any failure, goes to the network as if
// the worker were not there: a page with the worker and without it shows
// the same images.
//
// Which window: the one that made the request, else any window of this
// origin that said it is ready. One that does not accept within
// ACCEPT_TIMEOUT_MS (its SDK not loaded yet, or no SDK at all), or sends
// no head within HEAD_TIMEOUT_MS, is given up on: the request goes to the
// network. After the head, a window that errors or falls silent for
// IDLE_TIMEOUT_MS mid-body (it navigated away, say) is replaced by the
// network for the rest: a Range request from the first byte not yet
// delivered (If-Range: the ETag, so a changed file cannot be spliced in).

import { DIRECT_ACCEPT, FETCH, READY, ROUTED_DESTINATIONS, relaysOf, routeOf } from './messages.js';

export const ACCEPT_TIMEOUT_MS = 3000;
export const HEAD_TIMEOUT_MS = 15000;
export const IDLE_TIMEOUT_MS = 15000;

/**
 * Wire the worker into scope (the ServiceWorkerGlobalScope, or a stand-in
 * with the same parts: addEventListener, clients, fetch, location,
 * skipWaiting). Returns { handle(event) } for tests.
 */
export function installRouter(scope, { acceptMs = ACCEPT_TIMEOUT_MS, headMs = HEAD_TIMEOUT_MS, idleMs = IDLE_TIMEOUT_MS } = {}) {
  const relays = relaysOf(scope.location?.href ?? '');
  const ready = new Map(); // client id → Set of relays its window serves

  scope.addEventListener('install', (e) => e.waitUntil?.(scope.skipWaiting?.()));
  // claim the pages already open: the first load is controlled without a reload
  scope.addEventListener('activate', (e) => e.waitUntil?.(scope.clients.claim()));
  scope.addEventListener('message', (e) => {
    if (e.data?.type === READY && typeof e.data.relay === 'string' && e.source?.id) {
      if (!ready.has(e.source.id)) ready.set(e.source.id, new Set());
      ready.get(e.source.id).add(e.data.relay);
    }
  });

  /** Windows to try for relay, best first: the requesting one, then the ready ones. */
  async function windowsFor(event, relay) {
    const out = [];
    const seen = new Set();
    const add = (c) => {
      if (c && !seen.has(c.id) && (c.type === undefined || c.type === 'window')) {
        seen.add(c.id);
        out.push(c);
      }
    };
    if (event.clientId) add(await scope.clients.get(event.clientId));
    if (!out.length && event.resultingClientId) add(await scope.clients.get(event.resultingClientId));
    const all = await scope.clients.matchAll({ type: 'window' });
    for (const c of all) if (ready.get(c.id)?.has(relay)) add(c);
    for (const id of [...ready.keys()]) if (!all.some((c) => c.id === id)) ready.delete(id);
    return out;
  }

  /**
   * Ask one window for the file. Resolves with a Response once it sent the
   * head; rejects (fall back) if it does not accept or answer in time.
   */
  function ask(win, route, req, range) {
    return new Promise((resolve, reject) => {
      const { port1, port2 } = new MessageChannel();
      let state = 'asked'; // asked → accepted → streaming → done
      let timer = null;
      let controller = null;
      let delivered = 0;
      let head = null;
      const arm = (ms, why) => {
        clearTimeout(timer);
        timer = setTimeout(() => onFail(new Error(why)), ms);
      };
      const finish = () => {
        clearTimeout(timer);
        state = 'done';
        port1.onmessage = null;
        try {
          port1.close();
        } catch {
          // closed
        }
      };
      const onFail = (err) => {
        if (state === 'done') return;
        if (state !== 'streaming') {
          try {
            port1.postMessage({ type: 'cancel' });
          } catch {
            // gone
          }
          finish();
          reject(err);
          return;
        }
        // mid-body: the rest from the network
        try {
          port1.postMessage({ type: 'cancel' });
        } catch {
          // gone
        }
        finish();
        continueFromNetwork(scope, req, head, delivered, range, controller);
      };
      port1.onmessage = (ev) => {
        const m = ev.data ?? {};
        if (state === 'done') return;
        switch (m.type) {
          case 'accept':
            if (state === 'asked') {
              state = 'accepted';
              arm(headMs, 'no head from the window');
            }
            return;
          case 'head': {
            if (state !== 'asked' && state !== 'accepted') return;
            state = 'streaming';
            head = m;
            arm(idleMs, 'the window fell silent');
            const body = new ReadableStream({
              start: (c) => {
                controller = c;
              },
              cancel: () => {
                try {
                  port1.postMessage({ type: 'cancel' });
                } catch {
                  // gone
                }
                finish();
              },
            });
            const headers = new Headers(m.headers ?? {});
            headers.set('x-content-type-options', 'nosniff');
            headers.set('x-p2pcache-via', 'service-worker');
            resolve(new Response(body, { status: m.status ?? 200, headers }));
            return;
          }
          case 'chunk':
            if (state !== 'streaming') return;
            arm(idleMs, 'the window fell silent');
            try {
              const b = new Uint8Array(m.bytes);
              delivered += b.length;
              controller.enqueue(b);
            } catch {
              // the page stopped reading
            }
            return;
          case 'end':
            if (state !== 'streaming') return;
            finish();
            try {
              controller.close();
            } catch {
              // cancelled
            }
            return;
          case 'error':
            onFail(new Error(m.message ?? 'the window failed'));
            return;
          default:
        }
      };
      arm(acceptMs, 'no window accepted');
      win.postMessage({ type: FETCH, relay: route.relay, path: route.path, range }, [port2]);
    });
  }

  async function viaWindows(event, route) {
    const req = event.request;
    const range = req.headers.get('range');
    if (range && !/^bytes=\d*-\d*$/.test(range.trim())) throw new Error('not one range');
    for (const win of await windowsFor(event, route.relay)) {
      try {
        return await ask(win, route, req, range || null);
      } catch {
        // the next window, or the network
      }
    }
    throw new Error('no window answered');
  }

  function handle(event) {
    const req = event.request;
    if (req.method !== 'GET' || !ROUTED_DESTINATIONS.has(req.destination ?? '')) return false;
    if (req.headers.get('accept')?.includes(DIRECT_ACCEPT)) return false; // the SDK's own HTTP rung
    const route = routeOf(req.url, relays);
    if (!route) return false;
    event.respondWith(viaWindows(event, route).catch(() => scope.fetch(req)));
    return true;
  }

  scope.addEventListener('fetch', handle);
  return { handle, relays, ready };
}

/**
 * A window failed mid-body: fetch the bytes not yet delivered from the
 * network and append them to the body (controller), or error it.
 */
async function continueFromNetwork(scope, req, head, delivered, range, controller) {
  try {
    const h = new Headers(head.headers ?? {});
    let start = delivered;
    let end = '';
    const cr = /^bytes (\d+)-(\d+)\/\d+$/.exec(h.get('content-range') ?? '');
    if (cr) {
      start = Number(cr[1]) + delivered;
      end = cr[2];
    }
    const headers = { range: `bytes=${start}-${end}` };
    const etag = h.get('etag');
    if (etag) headers['if-range'] = etag;
    const res = await scope.fetch(req.url, { headers, mode: 'cors', credentials: 'omit' });
    if (res.status !== 206) throw new Error(`network: HTTP ${res.status} for the rest`);
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      controller.enqueue(value);
    }
    controller.close();
  } catch (e) {
    try {
      controller.error(e);
    } catch {
      // cancelled
    }
  }
}
