// The service-worker mode's shared vocabulary: which requests the worker
// routes, and the messages it exchanges with the controlling window that
// answers them (bridge.js) over a MessageChannel per request.
//
//   worker → window  { type: 'p2pcache:fetch', relay, path, range }  + a MessagePort
//   window → worker (on that port, in this order):
//     { type: 'accept' }                      at once: a p2pcache client is here
//     { type: 'head', status, headers }       the manifest is known: the response starts
//     { type: 'chunk', bytes }                verified bytes, in order (the ArrayBuffer transferred)
//     { type: 'end' }                         the body is complete and the whole file checked
//     { type: 'error', message, code }        the window cannot (before head) or could not
//                                             (after it) answer: the worker falls back to the network
//   worker → window (same port): { type: 'cancel' }   the page went away, or the worker gave up

import { normalizePath } from '../paths.js';

export const FETCH = 'p2pcache:fetch';

/**
 * The Accept header of the SDK's own HTTP requests (/manifest, /files and
 * its ranges). The worker passes such a request to the network: a page's
 * client asking over HTTP must not be routed back to itself. A
 * CORS-safelisted value, so no preflight.
 */
export const DIRECT_ACCEPT = '*/*;p2pcache=direct';
export const READY = 'p2pcache:ready';

/**
 * Request destinations the worker answers through a window: media and
 * fetch()/XHR (destination ''). Documents, frames, scripts, styles, workers
 * and the like always go to the network: a response the worker builds
 * would run in the site's origin, outside the relay's own headers.
 */
export const ROUTED_DESTINATIONS = new Set(['image', 'audio', 'video', 'track', 'font', '']);

/** The relay origins a worker serves, from its script URL: ?relay=<origin>[&relay=…]. */
export function relaysOf(scriptURL) {
  const out = [];
  try {
    for (const r of new URL(scriptURL).searchParams.getAll('relay')) {
      const u = new URL(r);
      if (u.protocol === 'http:' || u.protocol === 'https:') out.push(u.origin + u.pathname.replace(/\/+$/, ''));
    }
  } catch {
    // no URL: no relays
  }
  return out;
}

/**
 * The relay and clean path a request URL asks for, when it is
 * <relay>/files/<path> of one of relays (its query, e.g. an access_token,
 * ignored); null otherwise.
 */
export function routeOf(url, relays) {
  let u;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  for (const relay of relays) {
    const prefix = relay + '/files/';
    const here = u.origin + u.pathname;
    if (!here.startsWith(prefix)) continue;
    try {
      const path = normalizePath(here.slice(prefix.length).split('/').map(decodeURIComponent).join('/'));
      return { relay, path };
    } catch {
      return null; // not a path the relay would take: let the network say so
    }
  }
  return null;
}

/** The script URL to register for client's relay: scriptURL?relay=<relay>. */
export function workerURL(scriptURL, relay, base) {
  const u = new URL(scriptURL, base);
  u.searchParams.set('relay', relay);
  return u.toString();
}
