// The window side of service-worker mode: register the worker (router.js)
// for the client's home relay, wait until it controls the page (it claims open
// pages on activation, so the first load counts), and answer its requests
// with the client's streamed fetches, chunk by verified chunk, over the
// MessageChannel each request brings (messages.js).

import { abortError } from '../errors.js';
import { FETCH, READY, workerURL } from './messages.js';

/**
 * Answer one worker request on port: accept, then head, chunks and end
 * from client.fetch(path, { stream: true, range }); error (before or
 * after the head) when that fails. A cancel from the worker aborts the
 * fetch.
 */
export async function serveWorkerRequest(client, msg, port) {
  const post = (m, transfer) => {
    try {
      port.postMessage(m, transfer);
    } catch {
      // the worker went away
    }
  };
  if (msg.relay !== client.home || typeof msg.path !== 'string') {
    post({ type: 'error', message: 'not a request for this client', code: 'unsupported' });
    return;
  }
  const ctrl = new AbortController();
  port.onmessage = (ev) => {
    if (ev.data?.type === 'cancel') ctrl.abort(abortError(ctrl.signal));
  };
  post({ type: 'accept' });
  try {
    const res = await client.fetch(msg.path, { stream: true, range: msg.range || undefined, signal: ctrl.signal });
    const headers = {};
    res.headers.forEach((v, k) => {
      headers[k] = v;
    });
    post({ type: 'head', status: res.status, headers });
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (ctrl.signal.aborted) {
        reader.cancel().catch(() => {});
        return;
      }
      const copy = value.slice(); // its own buffer, transferred
      post({ type: 'chunk', bytes: copy.buffer }, [copy.buffer]);
    }
    post({ type: 'end' });
  } catch (e) {
    if (!ctrl.signal.aborted) post({ type: 'error', message: String(e?.message ?? e), code: e?.code ?? 'error' });
  } finally {
    port.onmessage = null;
    try {
      port.close(); // what was posted is still delivered
    } catch {
      // closed
    }
  }
}

/**
 * Answer the worker's requests through client from now on: a 'message'
 * listener on container, and startMessages() so requests the worker sent
 * before this ran are delivered. Call it synchronously while the page's
 * first scripts run: a page's client message queue is enabled once its
 * parsing ends, and requests for images in its markup that arrive before
 * any listener are lost (the worker then falls back to the network after
 * ACCEPT_TIMEOUT_MS). Returns { stop() }.
 */
export function answerWorker(client, container = globalThis.navigator?.serviceWorker) {
  if (!container) return { stop() {} };
  const onMessage = (ev) => {
    if (ev.data?.type === FETCH && ev.ports?.[0]) serveWorkerRequest(client, ev.data, ev.ports[0]);
  };
  const sayReady = () => {
    try {
      container.controller?.postMessage({ type: READY, relay: client.home });
    } catch {
      // not controlled
    }
  };
  container.addEventListener('message', onMessage);
  container.addEventListener('controllerchange', sayReady);
  container.startMessages?.();
  sayReady();
  return {
    stop() {
      container.removeEventListener('message', onMessage);
      container.removeEventListener('controllerchange', sayReady);
    },
  };
}

/**
 * Register scriptURL (with ?relay=<client.home>: the relay the page's
 * URLs name, whichever relay the client uses) and wait until it
 * controls the page. Resolves { registration, controlled, error } within
 * timeoutMs: controlled is whether the worker controls this page now; a
 * failed registration resolves with controlled false and its error.
 * container: navigator.serviceWorker; base: the page's URL (resolves
 * scriptURL). The worker's requests are answered by answerWorker().
 */
export async function registerWorker(client, scriptURL, { container = globalThis.navigator?.serviceWorker, base = globalThis.location?.href, timeoutMs = 5000, log = () => {} } = {}) {
  if (!container) return { registration: null, controlled: false, error: 'no service workers here (an insecure origin?)' };
  let registration = null;
  try {
    registration = await container.register(workerURL(scriptURL, client.home, base));
    if (!container.controller) {
      let t;
      await Promise.race([
        new Promise((r) => container.addEventListener('controllerchange', r, { once: true })),
        new Promise((r) => (t = setTimeout(r, timeoutMs))),
      ]);
      clearTimeout(t);
    }
  } catch (e) {
    log('warn', `service worker: ${e?.message ?? e}`);
    return { registration, controlled: !!container.controller, error: String(e?.message ?? e) };
  }
  try {
    container.controller?.postMessage({ type: READY, relay: client.home });
  } catch {
    // not controlled
  }
  return { registration, controlled: !!container.controller, error: null };
}

/** answerWorker() then registerWorker(): { registration, controlled, error, stop() }. */
export async function installServiceWorker(client, scriptURL, opts = {}) {
  const answering = answerWorker(client, opts.container === undefined ? globalThis.navigator?.serviceWorker : opts.container);
  const r = await registerWorker(client, scriptURL, opts);
  return { ...r, stop: answering.stop };
}
