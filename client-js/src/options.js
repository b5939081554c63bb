// connect()'s options: their defaults, and which relays they name.

import { P2PCacheError } from './errors.js';
import { MAX_RELAYS, relayBase } from './relays.js';
import { DEFAULT_STORE_BYTES } from './store.js';

export const DEFAULTS = Object.freeze({
  timeoutMs: 5000,
  serve: true,
  peerCacheBytes: 64 << 20,
  storeBytes: DEFAULT_STORE_BYTES,
  maxInFlight: 8,
  maxRequests: 24,
  requestTimeoutMs: 15000,
  retryWindowMs: 10000,
  pingIntervalMs: 1500,
  idleTimeoutMs: 8000,
  reconnect: true,
  backoffBaseMs: 250,
  backoffMaxMs: 8000,
});

/** The rungs of the ladder, best first. */
export const TRANSPORTS = Object.freeze(['webrtc-tcp', 'websocket', 'http']);

/** The origin this module was loaded from, if it is http(s). */
function defaultRelay() {
  try {
    const o = new URL(import.meta.url).origin;
    if (o && o !== 'null' && /^https?:/.test(o)) return o;
  } catch {
    // not loaded from a URL with an origin
  }
  return null;
}

/**
 * The relays options o name: { home, urls, discover }. home is the relay
 * the client is named for (relay, or relays[0]): service-worker mode routes
 * its /files/ URLs and the tab store keeps files under it. urls are the
 * candidates known now (relays, cut to MAX_RELAYS, without duplicates; or
 * [home]); discover: ask home's /cluster for more. Throws bad_option for a
 * missing or malformed relay, or relay and relays together.
 */
export function relayOptions(o) {
  if (o.relays !== undefined) {
    if (o.relay !== undefined) throw new P2PCacheError('bad_option', 'p2pcache: pass relay or relays, not both');
    if (o.discover) throw new P2PCacheError('bad_option', 'p2pcache: discover takes one relay (relay), not a list');
    if (!Array.isArray(o.relays) || o.relays.length === 0) {
      throw new P2PCacheError('bad_option', 'p2pcache: relays must be a non-empty array of relay URLs');
    }
    const urls = [];
    for (const r of o.relays) {
      const u = relayBase(r);
      if (!urls.includes(u) && urls.length < MAX_RELAYS) urls.push(u);
    }
    return { home: urls[0], urls, discover: false };
  }
  const relay = o.relay ?? defaultRelay();
  if (!relay) {
    throw new P2PCacheError('bad_option', 'p2pcache: no relay URL: pass { relay } (the module was not loaded from an http(s) origin)');
  }
  const home = relayBase(relay);
  return { home, urls: [home], discover: o.discover === true };
}
