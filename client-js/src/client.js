// Client: the façade the page uses. It owns the options and the counters,
// and composes the parts through their constructor arguments and
// callbacks: the relay choice (relays.js), the Connection, Requests,
// Holdings, the HTTP rung, the ladder of buffered fetches (ladder.js) and
// the Streamer of streamed ones.

import { ObjectURLs, autoload } from './autoload.js';
import { Connection } from './connection.js';
import { P2PCacheError, closedError } from './errors.js';
import { Holdings } from './holdings.js';
import { HttpFallback } from './http.js';
import { dispatchFrame } from './inbound.js';
import { Ladder, newFetchState } from './ladder.js';
import { consoleLog, makeLog } from './log.js';
import { DEFAULTS, TRANSPORTS, relayOptions } from './options.js';
import { isPassiveType } from './passive.js';
import { normalizePath } from './paths.js';
import { PROBE_BUDGET_MS, RelayChoice, discoverRelays, measureRelays } from './relays.js';
import { Requests } from './requests.js';
import { ladderResponse, streamedResponse } from './respond.js';
import { emptySources } from './sources.js';
import { ChunkStore } from './store.js';
import { LINK_WAIT_MS, Streamer } from './stream.js';
import { answerWorker, registerWorker } from './sw/bridge.js';
import { mergeSignals, now } from './timing.js';
import { staticToken, tokenSource } from './token.js';

export { DEFAULTS };

export const VERSION = '0.1.0';

/** How long connect() waits for the persistent store to open. */
const STORE_OPEN_WAIT_MS = 1000;

const EventTargetBase = globalThis.EventTarget ?? class {
  addEventListener() {}
  removeEventListener() {}
  dispatchEvent() { return true; }
};

/**
 * A connection to a relay. Create it with connect(). Events (EventTarget):
 * 'transport' (detail { transport, previous }), 'relay' (detail { relay,
 * previous, reason: 'rtt' | 'failover', rttMs }: the relay in use was
 * chosen among several, or changed), 'verifyfailure' (detail { path,
 * index, expected, actual, attempt, source }), 'error' (detail { error }:
 * non-fatal problems such as a relay refusal).
 *
 * Peer role (unless serve: false): verified chunks stay in a byte-bounded
 * LRU; the client tells the relay which chunks of which file it holds with
 * HAVE frames over the data channel (one per file, batched, again after every
 * reconnect, and again when evictions change what it holds) and answers the
 * relay's GET_CHUNK from that LRU.
 */
export class Client extends EventTargetBase {
  constructor(options = {}) {
    super();
    const o = { ...DEFAULTS, ...options };
    const { home, urls, discover } = relayOptions(o);
    /** The relay the client is named for (relay, or relays[0]); see d.ts. */
    this.home = home;
    this._relays = new RelayChoice(urls);
    this._discover = discover;
    /** Settles once the relay is chosen (connect() sets it). */
    this._choice = Promise.resolve();
    this._opts = o;
    const fetchImpl = o.fetch ?? globalThis.fetch?.bind(globalThis);
    this._fetchImpl = fetchImpl;
    const token = tokenSource(o.token);
    this._token = token;
    // the relay in use and a fresh token for every (re)connect: a function token is asked each time
    const wsURL = async () => {
      const ws = new URL(this.relay + '/ws');
      ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
      const t = await token();
      if (t) ws.searchParams.set('access_token', t);
      return ws.toString();
    };
    const transports = o.transports ?? TRANSPORTS;
    const allowRTC = transports.includes('webrtc-tcp') && o.RTCPeerConnection !== null;
    const wsFrames = transports.includes('websocket');
    // WebRTC needs the WebSocket for signaling even when frames may not use it
    this._allowWS = wsFrames || allowRTC;
    this._timeoutMs = o.timeoutMs;
    this._early = o.early ?? !!o.serviceWorker;
    this._log = makeLog(o.log === true ? consoleLog : o.log);
    this._onErrorOpt = typeof o.onError === 'function' ? o.onError : null;
    this._closed = false;
    this._closeCtrl = new AbortController();
    this._urls = new ObjectURLs();
    this._observers = new Set();
    this._cleanups = [];
    /** Service-worker mode: { registration, controlled, error } once connect() set it up, else null. */
    this.serviceWorker = null;
    this._stats = { files: 0, bytes: 0, bySource: emptySources(), verifyFailures: 0, sourcesKnown: false };

    this._conn = new Connection({
      WebSocket: o.WebSocket ?? globalThis.WebSocket ?? null,
      RTCPeerConnection: allowRTC ? o.RTCPeerConnection ?? globalThis.RTCPeerConnection ?? null : null,
      wsURL,
      serve: o.serve !== false,
      wsFrames,
      useWS: this._allowWS,
      timeoutMs: o.timeoutMs,
      rtcTimeoutMs: o.webrtcTimeoutMs ?? Math.min(o.timeoutMs, 4000),
      reconnect: o.reconnect,
      backoffBaseMs: o.backoffBaseMs,
      backoffMaxMs: o.backoffMaxMs,
      pingIntervalMs: o.pingIntervalMs,
      idleTimeoutMs: o.idleTimeoutMs,
      log: this._log,
      allocId: () => this._requests.allocId(),
      onTransport: (transport, previous) => this._emit('transport', { transport, previous }),
      onDataChannel: () => this._holdings.announceAll(),
      onConnected: () => this._relays.connected(),
      onAttemptFailed: () => this._attemptFailed(),
      onLost: (session, err) => {
        this._requests.failOwner(session, err);
        this._holdings.connectionLost();
      },
      onMessage: (data, link) =>
        dispatchFrame(data, link, {
          requests: this._requests,
          onPong: (f) => this._conn.onPong(f),
          onGetChunk: (f, l) => this._holdings.serveChunk(f, l),
          log: this._log,
        }),
      onRelayError: (err) => this._emitError(err),
    });
    this._requests = new Requests({
      link: () => this._conn.link(),
      limit: () => this._maxRequests(),
      timeoutMs: o.requestTimeoutMs,
      isReserved: (id) => this._conn.pingPending(id),
    });
    this._holdings = new Holdings({
      serve: o.serve !== false,
      maxBytes: o.peerCacheBytes,
      log: this._log,
      haveLink: () => this._conn.dataChannelLink(),
      maxMessageSize: () => this._conn.hello?.maxMessageSize,
    });
    // the persistent tab store, opened in the background (connect() waits for it, briefly);
    // files are kept under home: the relays of one cluster serve one origin
    this._storeReady = ChunkStore.open({
      indexedDB: o.indexedDB === undefined ? globalThis.indexedDB : o.indexedDB,
      maxBytes: o.storeBytes,
      relay: this.home,
      onEvict: (h) => this._holdings.storeEvicted(h),
      log: this._log,
    }).then(
      (store) => {
        if (store && this._closed) store.close();
        else if (store) this._holdings.attachStore(store);
      },
      () => {},
    );
    // what fetches wait for before they start: the store, or STORE_OPEN_WAIT_MS (a blocked open must not hang them)
    this._storeWait = new Promise((resolve) => {
      const t = setTimeout(resolve, STORE_OPEN_WAIT_MS);
      this._storeReady.then(() => {
        clearTimeout(t);
        resolve();
      });
    });
    this._http = new HttpFallback({
      relay: this.relay,
      token: staticToken(o.token),
      tokenSource: token,
      fetch: fetchImpl,
      isClosed: () => this._closed,
      onVerifyFailure: (path, fst, info) => this._verifyFailure(path, fst, info),
      log: this._log,
    });
    this._ladder = new Ladder({
      conn: this._conn,
      requests: this._requests,
      holdings: this._holdings,
      http: this._http,
      stats: this._stats,
      allowWS: this._allowWS,
      timeoutMs: o.timeoutMs,
      retryWindowMs: o.retryWindowMs,
      maxInFlight: o.maxInFlight,
      isClosed: () => this._closed,
      log: this._log,
      onVerifyFailure: (path, fst, info) => this._verifyFailure(path, fst, info),
    });
    this._streamer = new Streamer({
      // the store, and the relay to use
      ready: () => Promise.all([this._storeWait, this._choice]),
      link: () => this._conn.link(),
      awaitLink: (ms, signal) => (this._allowWS && this._conn.hopeful ? this._conn.awaitLink(ms, signal) : null),
      linkWaitMs: o.linkWaitMs ?? (o.serviceWorker ? LINK_WAIT_MS : 0),
      manifestFramed: (path, signal) => this._ladder.manifestFramed(path, signal),
      chunkFramed: (path, i, hash, signal, into) => this._ladder.chunkFramed(path, i, hash, signal, into),
      http: this._http,
      holdings: this._holdings,
      stats: this._stats,
      onVerifyFailure: (path, fst, info) => this._verifyFailure(path, fst, info),
      isClosed: () => this._closed,
      closeSignal: this._closeCtrl.signal,
      maxInFlight: o.maxInFlight,
      log: this._log,
    });
  }

  /** The relay in use: the one chosen among several (relays, discover), else relay. */
  get relay() {
    return this._relays.chosen;
  }

  // -- relay choice -----------------------------------------------------------------

  /**
   * Choose the relay: discover home's cluster (discover), then measure
   * the candidates and take the lowest RTT (relays.js). Nothing to do for
   * one relay. Never rejects.
   */
  async _chooseRelay() {
    try {
      const budgetMs = Math.min(PROBE_BUDGET_MS, this._timeoutMs);
      let urls = this._relays.stats().candidates.map((c) => c.url);
      if (this._discover) {
        urls = await discoverRelays(this.home, { fetch: this._fetchImpl, timeoutMs: budgetMs, log: this._log });
      }
      if (urls.length < 2 || this._closed) return;
      const measured = await measureRelays(urls, { fetch: this._fetchImpl, budgetMs, log: this._log });
      if (this._closed) return;
      this._relays.rank(measured);
      this._relayChanged(null, 'rtt');
    } catch (e) {
      this._log('error', 'relay choice failed', e);
    }
  }

  /** A connection attempt failed: the choice may move to another relay (null: stay). */
  _attemptFailed() {
    const move = this._relays.attemptFailed();
    if (move) this._relayChanged(move.previous, 'failover');
    return move;
  }

  _relayChanged(previous, reason) {
    const relay = this.relay;
    this._http.relay = relay;
    const rttMs = this._relays.stats().candidates.find((c) => c.url === relay)?.rttMs ?? null;
    this._log('info', `relay: ${relay} (${reason}${rttMs === null ? '' : `, ${rttMs} ms`}${previous ? `, was ${previous}` : ''})`);
    this._emit('relay', { relay, previous, reason, rttMs });
  }

  // -- events -------------------------------------------------------------------

  _emit(type, detail) {
    try {
      const Ev = globalThis.CustomEvent;
      if (Ev) this.dispatchEvent(new Ev(type, { detail }));
    } catch (e) {
      this._log('error', `p2pcache: ${type} listener threw`, e);
    }
  }

  _emitError(err) {
    this._emit('error', { error: err });
    if (this._onErrorOpt) {
      try {
        this._onErrorOpt(err);
      } catch {
        // user callback
      }
    }
  }

  _verifyFailure(path, fst, info) {
    this._stats.verifyFailures++;
    fst.verifyFailures++;
    const detail = { path, ...info };
    this._log('warn', `verification failed: ${path} chunk ${info.index}`, detail);
    this._emit('verifyfailure', detail);
    if (this._onErrorOpt) {
      const err = new P2PCacheError('verify_failed', `p2pcache: ${path}: ${info.index < 0 ? 'file' : 'chunk ' + info.index} failed verification`, { path });
      err.detail = detail;
      try {
        this._onErrorOpt(err);
      } catch {
        // user callback
      }
    }
  }

  /** The relay answers ERROR busy past its per-peer limit; keep all fetches together under it. */
  _maxRequests() {
    const relayMax = this._conn.hello?.maxRequests;
    const mine = this._opts.maxRequests;
    return Number.isInteger(relayMax) && relayMax > 0 ? Math.max(1, Math.min(mine, relayMax - 2)) : mine;
  }

  // -- public API ------------------------------------------------------------------

  /**
   * Fetch a file. Resolves with a standard Response (status 200) whose bytes
   * have been verified against the manifest, or rejects with a
   * P2PCacheError (see its `code`; not_found has status 404).
   * opts: { onProgress({ path, loaded, total, index?, source }), signal,
   * stream, range }
   */
  async fetch(path, opts = {}) {
    const clean = normalizePath(path);
    if (this._closed) throw closedError();
    if (opts.stream || opts.range || this._early) return this._fetchStreamed(clean, opts);
    const t0 = now();
    const fst = newFetchState(clean);
    const result = await this._ladder.run(clean, fst, {
      onProgress: typeof opts.onProgress === 'function' ? opts.onProgress : null,
      signal: mergeSignals(this._closeCtrl.signal, opts.signal),
      userSignal: opts.signal,
    });
    this._stats.files++;
    this._stats.bytes += result.bytes.length;
    return ladderResponse(clean, fst, result, now() - t0);
  }

  /**
   * The streamed path (stream, range or early): resolves at the manifest
   * with a streaming Response; without opts.stream (early mode), once the
   * whole body is verified, as a buffered Response like the ladder's (the
   * Streamer counted it in stats).
   */
  async _fetchStreamed(clean, opts) {
    const buffered = !opts.stream && !opts.range;
    const { response, done } = await this._streamer.open(clean, buffered ? { ...opts, buffered } : opts);
    if (!buffered) return response;
    const { manifest, bytes, info } = await done;
    return streamedResponse(manifest, bytes, info);
  }

  /**
   * Fetch a file and return a URL for it to use as an element's src: an
   * object URL (revoked by close() or revokeObjectURL()) when its content
   * type is passive (passive.js: raster images, audio, video, fonts) or the
   * client has allowActiveTypes; otherwise the relay's /files URL, which
   * the browser loads from the relay's origin under its headers.
   */
  async objectURL(path, opts = {}) {
    const res = await this.fetch(path, opts);
    if (!this._opts.allowActiveTypes && !isPassiveType(res.headers.get('content-type'))) {
      res.body?.cancel?.().catch(() => {});
      return this._http.freshURL('files', normalizePath(path));
    }
    const blob = await res.blob();
    if (this._closed) throw closedError();
    return this._urls.create(blob);
  }

  /** Revoke an object URL made by objectURL() or autoload(). */
  revokeObjectURL(url) {
    this._urls.revoke(url);
  }

  /**
   * Load every element with a data-p2p-src attribute under root (default
   * document) through the client, setting its src to an object URL as soon as
   * the file is complete; elements added or changed later are picked up too
   * (MutationObserver). Each element gets data-p2p-state="loading|loaded|error"
   * and the events p2pprogress, p2pload (detail: res.p2p) and p2perror (detail: { error }).
   * Returns { ready: Promise (the elements present now settled), stop() }.
   */
  autoload(root = globalThis.document, opts = {}) {
    const host = {
      fetch: (path, o) => this.fetch(path, o),
      isClosed: () => this._closed,
      urls: this._urls,
      observers: this._observers,
      log: this._log,
      allowActiveTypes: this._opts.allowActiveTypes === true,
      fileURL: (path) => this._http.freshURL('files', normalizePath(path)),
    };
    return autoload(host, root, opts);
  }

  /** A snapshot of the client's state and counters. */
  stats() {
    const s = this._stats;
    const conn = this._conn;
    const rtt = conn.rtt;
    return {
      transport: conn.transport,
      rttMs: rtt === null ? null : Math.round(rtt * 10) / 10,
      files: s.files,
      bytes: s.bytes,
      bySource: { ...s.bySource },
      sourcesKnown: s.sourcesKnown,
      verifyFailures: s.verifyFailures,
      peerId: conn.hello?.peerId ?? null,
      connected: !!conn.link(),
      closed: this._closed,
      reconnects: conn.reconnects,
      inFlight: this._requests.size,
      cache: this._holdings.cacheStats(),
      store: this._holdings.storeStats(),
      served: this._holdings.servedStats(),
      connect: conn.connectTimes ? { ...conn.connectTimes } : null,
      relays: this._relays.stats(),
    };
  }

  /**
   * The RTCPeerConnection of the current connection (null on the WebSocket
   * and HTTP rungs), for diagnostics such as getStats(): which ICE candidate
   * pair carries the data channel. Do not close or renegotiate it.
   */
  get peerConnection() {
    return this._conn.session?.pc ?? null;
  }

  /** Release everything: connections, timers, object URLs; pending fetches reject with code 'closed'. */
  close() {
    if (this._closed) return;
    this._closed = true;
    const err = closedError();
    // requests first: the connection's end must not fail them as 'disconnected'
    this._requests.close(err);
    this._closeCtrl.abort(err);
    this._conn.close();
    for (const mo of this._observers) mo.disconnect();
    this._observers.clear();
    this._urls.revokeAll();
    this._holdings.close();
    for (const f of this._cleanups.splice(0)) {
      try {
        f();
      } catch {
        // closing anyway
      }
    }
  }
}

/**
 * Connect to a relay. Resolves with a Client within about timeoutMs, on
 * whichever rung works (stats().transport); it rejects only for bad options.
 * With several candidate relays (relays, or discover) it first measures
 * them, for at most min(2000, timeoutMs) ms, and connects to the lowest RTT.
 *
 * options: relay (default: the origin this module was loaded from), relays
 * (candidate relays instead of relay), discover (true: the candidates are
 * the relays of relay's cluster, GET /cluster), token,
 * timeoutMs (5000), webrtcTimeoutMs (min(timeoutMs, 4000)), peerCacheBytes
 * (64 MiB), serve (true: announce held chunks with HAVE and serve them to the
 * relay; false opts out, in the offer too), maxInFlight (8 per fetch), maxRequests (24 in flight over all fetches;
 * the relay's default limit is 32), requestTimeoutMs (15000), pingIntervalMs (1500),
 * idleTimeoutMs (8000), retryWindowMs (10000: how long a fetch caught by a
 * lost connection waits for the relay to come back), reconnect (true), transports (['webrtc-tcp',
 * 'websocket', 'http'], to restrict the ladder), log (function(level, msg,
 * ...data) or true for the console), onError(err); for tests and non-browser
 * hosts: WebSocket, RTCPeerConnection (null: no WebRTC), fetch.
 */
export async function connect(options = {}) {
  const c = new Client(options);
  // service-worker mode: answer the worker before anything is awaited (see answerWorker)
  if (options.serviceWorker) c._cleanups.push(answerWorker(c).stop);
  // the relay to use (at once with one), then the connection to it
  c._choice = c._chooseRelay();
  const started = c._choice.then(() => c._conn.start());
  // the store's index (a few ms), so the first fetches can use it
  await c._storeWait;
  // service-worker mode answers the worker from the first moment: it implies early
  const early = options.early ?? !!options.serviceWorker;
  if (options.serviceWorker) {
    const sw = await registerWorker(c, options.serviceWorker, { timeoutMs: c._timeoutMs, log: c._log });
    c.serviceWorker = Object.freeze(sw);
  }
  // early: resolve now; fetches take whatever rung is ready and move up as better ones open
  if (early) started.catch(() => {});
  else await started;
  return c;
}
