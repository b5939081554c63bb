// Relay choice: which of several relays a client talks to, and which one
// next when it loses it.
//
// The candidates come from connect({ relays: [...] }), or from the relay's
// GET /cluster with connect({ relay, discover: true }) (the relays of its
// mesh). Each is timed with a few tiny requests (GET <relay>/healthz,
// uncached), all candidates at once within a budget: the first request of
// each pays for the connection (DNS, TCP, TLS), so a candidate's RTT is
// the fastest of the later ones. The client connects to the lowest;
// candidates that did not answer rank last, in the order given.
//
// The probes are GET <relay>/readyz with CORS (the relay allows any
// origin there), so a relay that is draining or not ready (503) ranks as
// unreachable. A relay of an older release, whose /readyz has no CORS
// headers, fails the first CORS probe; it is then timed with no-cors
// GET /healthz, where the time to an (opaque) answer is all a probe needs.
//
// Failover (RelayChoice): the client moves to the next candidate by RTT
// when it cannot connect to the chosen one: at once when the chosen relay
// never came up, after FAILOVER_AFTER failed reconnects when it was up and
// went away. Once every candidate has failed since the last connection,
// it starts again from the best, with the usual reconnect backoff.

import { P2PCacheError } from './errors.js';
import { now } from './timing.js';

/** Requests per candidate: one to set the connection up, then the samples. */
export const PROBES = 3;
/** The longest the measurement takes, all candidates together. */
export const PROBE_BUDGET_MS = 2000;
/** Most candidates considered (a longer list, given or discovered, is cut). */
export const MAX_RELAYS = 16;
/** Failed reconnects to a relay that was up before the client moves on. */
export const FAILOVER_AFTER = 2;

/**
 * The base URL of a relay: origin and path, no trailing slash, no query.
 * Throws a bad_option P2PCacheError unless url is an http(s) URL.
 */
export function relayBase(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    throw new P2PCacheError('bad_option', `p2pcache: relay ${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new P2PCacheError('bad_option', `p2pcache: relay must be http(s), not ${u.protocol}`);
  }
  return u.origin + u.pathname.replace(/\/+$/, '');
}

/** relayBase(), or null for anything it refuses. */
function baseOrNull(url) {
  try {
    return typeof url === 'string' ? relayBase(url) : null;
  } catch {
    return null;
  }
}

/**
 * The candidate URLs in a GET /cluster answer ({ self, relays: [{ id,
 * url, ... }] }) of relay: relay first (the page reached it by that URL:
 * it stands for the entry of the answering relay itself, whatever URL that
 * entry advertises), then every other member's http(s) URL in the order
 * listed, without duplicates, at most max in all. Members with no URL, or
 * one that is not http(s), are left out; an answer of another shape gives
 * [relay].
 */
export function parseCluster(json, relay, max = MAX_RELAYS) {
  const out = [relay];
  const members = json && typeof json === 'object' && Array.isArray(json.relays) ? json.relays : [];
  for (const m of members) {
    if (out.length >= max) break;
    if (!m || typeof m !== 'object') continue;
    if (m.self === true || (typeof json.self === 'string' && m.id === json.self)) continue;
    const url = baseOrNull(m.url);
    if (url && !out.includes(url)) out.push(url);
  }
  return out;
}

/**
 * The relays of relay's cluster (GET <relay>/cluster, parseCluster), or
 * [relay] when it is not in one (404) or the answer cannot be had within
 * timeoutMs or read (logged).
 */
export async function discoverRelays(relay, { fetch, max = MAX_RELAYS, timeoutMs = PROBE_BUDGET_MS, log = () => {} } = {}) {
  if (!fetch) return [relay];
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(new Error('no answer in time')), timeoutMs);
  try {
    const res = await fetch(`${relay}/cluster`, { cache: 'no-store', signal: ctrl.signal });
    if (res.status === 404) return [relay];
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const urls = parseCluster(await res.json(), relay, max);
    log('info', `cluster of ${relay}: ${urls.length} relay(s)`);
    return urls;
  } catch (e) {
    log('warn', `${relay}/cluster: ${ctrl.signal.aborted ? 'no answer in time' : e?.message ?? e}; using that relay alone`);
    return [relay];
  } finally {
    clearTimeout(timer);
  }
}

/** A candidate's RTT from its probe times: the fastest after the first (which set the connection up), else the first. */
export function rttOf(samples) {
  if (samples.length === 0) return null;
  const ms = samples.length > 1 ? Math.min(...samples.slice(1)) : samples[0];
  return Math.round(ms * 10) / 10;
}

/**
 * Time `probes` requests to url's /readyz one after another, pushing each
 * time onto samples; with no-cors /healthz instead when the first CORS
 * request fails (a relay without CORS on /readyz) and that one answers.
 */
async function probe(url, samples, { fetch, probes, signal }) {
  let legacy = false;
  for (let i = 0; i < probes; i++) {
    const t0 = now();
    let res;
    if (legacy) {
      res = await fetch(`${url}/healthz`, { cache: 'no-store', mode: 'no-cors', signal });
    } else {
      try {
        res = await fetch(`${url}/readyz`, { cache: 'no-store', mode: 'cors', signal });
      } catch (e) {
        if (i > 0 || signal?.aborted || e?.name !== 'TypeError') throw e;
        legacy = true;
        i--; // that was no measurement: start again without CORS
        continue;
      }
    }
    const ms = now() - t0;
    try {
      res.body?.cancel?.()?.catch?.(() => {});
    } catch {
      // no body to release
    }
    if (res.type !== 'opaque' && !res.ok) throw new Error(`HTTP ${res.status}`);
    samples.push(ms);
  }
}

/**
 * Measure every url at once, within budgetMs: resolves with
 * [{ url, rttMs, error? }] best first; rttMs is null (and error says why)
 * for a candidate with no answer, and those rank last in the order given.
 */
export async function measureRelays(urls, { fetch, probes = PROBES, budgetMs = PROBE_BUDGET_MS, log = () => {} } = {}) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(new Error('no answer in time')), budgetMs);
  try {
    const results = await Promise.all(
      urls.map(async (url) => {
        const samples = [];
        let error;
        try {
          if (!fetch) throw new Error('no fetch() in this environment');
          await probe(url, samples, { fetch, probes, signal: ctrl.signal });
        } catch (e) {
          error = ctrl.signal.aborted ? 'no answer in time' : String(e?.message ?? e);
        }
        const rttMs = rttOf(samples);
        if (rttMs === null) {
          log('info', `relay ${url}: unreachable: ${error}`);
          return { url, rttMs, error };
        }
        return { url, rttMs };
      }),
    );
    return rankCandidates(results);
  } finally {
    clearTimeout(timer);
  }
}

/** Candidates by RTT, lowest first; unmeasured ones (rttMs null) last, each group in its given order. */
export function rankCandidates(cands) {
  return cands
    .map((c, i) => ({ c, i }))
    .sort((a, b) => {
      const x = a.c.rttMs;
      const y = b.c.rttMs;
      if (x === null || y === null) return (x === null) - (y === null) || a.i - b.i;
      return x - y || a.i - b.i;
    })
    .map(({ c }) => c);
}

/**
 * The candidates of one client and which is chosen. Starts with the first
 * of urls; rank() reorders them by measurement and chooses the best;
 * attemptFailed() and connected() drive failover (see the file comment).
 */
export class RelayChoice {
  constructor(urls) {
    this._cands = urls.map((url) => ({ url, rttMs: null }));
    this._i = 0;
    this.failovers = 0;
    this._fails = 0; // failed attempts on the chosen relay since it was chosen or last up
    this._wasUp = false; // the chosen relay was up since it was chosen
    this._failed = new Set(); // relays that failed since the last connection
  }

  /** The relay in use. */
  get chosen() {
    return this._cands[this._i].url;
  }

  get size() {
    return this._cands.length;
  }

  /** Take measured candidates ([{ url, rttMs, error? }], best first) and choose the first. */
  rank(measured) {
    this._cands = measured.map((c) => ({ ...c }));
    this._i = 0;
  }

  /** The chosen relay is up: it counts as good again, and so do the others. */
  connected() {
    this._fails = 0;
    this._wasUp = true;
    this._failed.clear();
  }

  /**
   * An attempt to connect to the chosen relay failed. Returns null to stay,
   * or { relay, previous, immediate } when the client should move:
   * immediate unless every candidate has failed since the last connection
   * (then it starts again from the best, after the usual backoff).
   */
  attemptFailed() {
    this._fails++;
    if (this._cands.length < 2 || this._fails < (this._wasUp ? FAILOVER_AFTER : 1)) return null;
    this._failed.add(this.chosen);
    let next = this._cands.findIndex((c) => !this._failed.has(c.url));
    let immediate = true;
    if (next < 0) {
      this._failed.clear();
      next = 0;
      immediate = false;
    }
    if (next === this._i) return null;
    const previous = this.chosen;
    this._i = next;
    this._fails = 0;
    this._wasUp = false;
    this.failovers++;
    return { relay: this.chosen, previous, immediate };
  }

  /** For stats(): { chosen, candidates: [{ url, rttMs, error? }] best first, failovers }. */
  stats() {
    return { chosen: this.chosen, candidates: this._cands.map((c) => ({ ...c })), failovers: this.failovers };
  }
}
