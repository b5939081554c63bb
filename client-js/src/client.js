// Client: the façade the page uses. It owns the options and the counters,
// composes the parts (Connection, Requests, Holdings, HttpFallback) through
// their constructor arguments and callbacks, and runs the per-fetch ladder:
// frames while a link is up, a reconnect waited out, HTTP otherwise.

import { ObjectURLs, autoload } from './autoload.js';
import { Connection } from './connection.js';
import { P2PCacheError, abortError, closedError } from './errors.js';
import { Holdings } from './holdings.js';
import { HttpFallback } from './http.js';
import { dispatchFrame } from './inbound.js';
import { consoleLog, makeLog, progress } from './log.js';
import { parseManifest } from './manifest.js';
import { isPassiveType } from './passive.js';
import { normalizePath } from './paths.js';
import { FrameType, chunkSourceName } from './protocol.js';
import { Requests, withBusyRetry } from './requests.js';
import { mergeSignals, now } from './timing.js';
import { ChunkStore, DEFAULT_STORE_BYTES } from './store.js';
import { LINK_WAIT_MS, Streamer } from './stream.js';
import { answerWorker, registerWorker } from './sw/bridge.js';
import { staticToken, tokenSource } from './token.js';
import { transferChunks } from './transfer.js';

export const VERSION = '0.1.0';

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

const TRANSPORTS = ['webrtc-tcp', 'websocket', 'http'];
/** How long connect() waits for the persistent store to open. */
const STORE_OPEN_WAIT_MS = 1000;
const TERMINAL = new Set(['not_found', 'forbidden', 'bad_path', 'too_large', 'aborted', 'closed']);
const RETRY_ON_LINK = new Set(['disconnected', 'timeout']);

function defaultRelay() {
  try {
    const o = new URL(import.meta.url).origin;
    if (o && o !== 'null' && /^https?:/.test(o)) return o;
  } catch {
    // not loaded from a URL with an origin
  }
  return null;
}

function emptySources() {
  return { relay: 0, peer: 0, origin: 0, http: 0, local: 0 };
}

const EventTargetBase = globalThis.EventTarget ?? class {
  addEventListener() {}
  removeEventListener() {}
  dispatchEvent() { return true; }
};

/**
 * A connection to one relay. Create it with connect(). Events (EventTarget):
 * 'transport' (detail { transport, previous }), 'verifyfailure' (detail
 * { path, index, expected, actual, attempt, source }), 'error' (detail
 * { error }: non-fatal problems such as a relay refusal).
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
    const self = this;
    const o = { ...DEFAULTS, ...options };
    const relay = o.relay ?? defaultRelay();
    if (!relay) {
      throw new P2PCacheError('bad_option', 'p2pcache: no relay URL: pass { relay } (the module was not loaded from an http(s) origin)');
    }
    let u;
    try {
      u = new URL(relay);
    } catch {
      throw new P2PCacheError('bad_option', `p2pcache: relay ${JSON.stringify(relay)} is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new P2PCacheError('bad_option', `p2pcache: relay must be http(s), not ${u.protocol}`);
    }
    this.relay = u.origin + u.pathname.replace(/\/+$/, '');
    this._opts = o;
    const token = tokenSource(o.token);
    this._token = token;
    const wsBase = new URL(this.relay + '/ws');
    wsBase.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    // a fresh token for every (re)connect: a function token is asked each time
    const wsURL = async () => {
      const ws = new URL(wsBase);
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
    // the persistent tab store, opened in the background (connect() waits for it, briefly)
    this._storeReady = ChunkStore.open({
      indexedDB: o.indexedDB === undefined ? globalThis.indexedDB : o.indexedDB,
      maxBytes: o.storeBytes,
      relay: this.relay,
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
    this._streamer = new Streamer({
      ready: () => this._storeWait,
      link: () => this._conn.link(),
      awaitLink: (ms, signal) => (this._allowWS && this._conn.hopeful ? this._conn.awaitLink(ms, signal) : null),
      linkWaitMs: o.linkWaitMs ?? (o.serviceWorker ? LINK_WAIT_MS : 0),
      manifestFramed: (path, signal) => this._framedManifest(path, signal),
      chunkFramed: (path, i, hash, signal) => this._framedChunk(path, i, hash, signal),
      get http() {
        return self._http;
      },
      holdings: this._holdings,
      stats: this._stats,
      onVerifyFailure: (path, fst, info) => this._verifyFailure(path, fst, info),
      isClosed: () => this._closed,
      closeSignal: this._closeCtrl.signal,
      maxInFlight: o.maxInFlight,
      log: this._log,
    });
    this._http = new HttpFallback({
      relay: this.relay,
      token: staticToken(o.token),
      tokenSource: token,
      fetch: o.fetch ?? globalThis.fetch?.bind(globalThis),
      isClosed: () => this._closed,
      onVerifyFailure: (path, fst, info) => this._verifyFailure(path, fst, info),
      log: this._log,
    });
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

  // -- frames ------------------------------------------------------------------------

  /** The relay answers ERROR busy past its per-peer limit; keep all fetches together under it. */
  _maxRequests() {
    const relayMax = this._conn.hello?.maxRequests;
    const mine = this._opts.maxRequests;
    return Number.isInteger(relayMax) && relayMax > 0 ? Math.max(1, Math.min(mine, relayMax - 2)) : mine;
  }

  async _framedManifest(path, signal) {
    const bytes = await withBusyRetry(
      () => this._requests.request({ type: FrameType.GET_MANIFEST, path }, FrameType.MANIFEST, signal),
      signal,
    );
    return parseManifest(bytes, path);
  }

  /** One chunk over frames: { bytes, source } with the source the relay stated (CHUNK flags). */
  async _framedChunk(path, index, hash, signal) {
    const info = {};
    const bytes = await this._requests.request({ type: FrameType.GET_CHUNK, index, hash, path }, FrameType.CHUNK, signal, info);
    if (info.source) this._stats.sourcesKnown = true;
    return { bytes, source: chunkSourceName(info.source), transport: info.transport };
  }

  /** Fetch one file over frames; fst carries per-fetch accounting across retries. */
  async _fetchFramed(path, fst, onProgress, signal) {
    const holdings = this._holdings;
    for (let restart = 0; ; restart++) {
      const m = await this._framedManifest(path, signal);
      if (fst.manifest?.sha256 !== m.sha256) {
        fst.sources.clear();
        fst.loaded = 0;
      }
      fst.manifest = m;
      if (fst.transport !== 'webrtc-tcp') fst.transport = this._conn.link()?.transport ?? fst.transport;
      holdings.trackFile(m);
      try {
        const bytes = await transferChunks(m, {
          getChunk: (index, hash, sig) => this._framedChunk(path, index, hash, sig),
          localGet: (h) => holdings.get(h),
          localPut: (h, b) => holdings.put(h, b, m),
          onChunk: ({ index, length, source }) => {
            if (!fst.sources.has(index)) {
              // a chunk fetched earlier in this same fetch counts under its first source
              fst.sources.set(index, source);
              this._stats.bySource[source] = (this._stats.bySource[source] ?? 0) + 1;
              fst.loaded += length;
            }
            progress(onProgress, { path, loaded: fst.loaded, total: m.size, index, source: fst.sources.get(index) }, this._log);
          },
          onVerifyFailure: (info) => this._verifyFailure(path, fst, info),
          maxInFlight: this._opts.maxInFlight,
          signal,
        });
        holdings.fileComplete(m);
        return { manifest: m, bytes };
      } catch (e) {
        if (e?.code === 'stale' && restart < 3) {
          this._log('info', `${path} changed; fetching its manifest again`);
          fst.retries++;
          continue;
        }
        throw e;
      }
    }
  }

  async _fetchHttp(path, fst, onProgress, signal) {
    const result = await this._http.fetchFile(path, fst, onProgress, signal);
    this._stats.bySource.http += fst.httpChunks;
    return result;
  }

  // -- public API ------------------------------------------------------------------

  /**
   * Fetch a file. Resolves with a standard Response (status 200) whose bytes
   * have been verified against the manifest, or rejects with a
   * P2PCacheError (see its `code`; not_found has status 404).
   * opts: { onProgress({ path, loaded, total, index?, source }), signal }
   */
  async fetch(path, opts = {}) {
    const clean = normalizePath(path);
    if (this._closed) throw closedError();
    if (opts.stream || opts.range || this._early) return this._fetchStreamed(clean, opts);
    const t0 = now();
    const conn = this._conn;
    const signal = mergeSignals(this._closeCtrl.signal, opts.signal);
    const onProgress = typeof opts.onProgress === 'function' ? opts.onProgress : null;
    const fst = {
      path: clean,
      manifest: null,
      sources: new Map(),
      loaded: 0,
      verifyFailures: 0,
      retries: 0,
      transport: null,
      httpChunks: 0,
      verified: true,
      fallback: null,
    };
    const rethrow = (e) => {
      if (this._closed) throw closedError();
      if (opts.signal?.aborted) throw abortError(opts.signal);
      throw e;
    };
    // The ladder, per fetch: frames (data channel or WebSocket) while a link
    // is up; after a drop, wait up to timeoutMs for the reconnect and retry
    // (chunks already verified are kept); frames failing otherwise (bad
    // bytes twice, a protocol error, origin trouble) → HTTP for the whole
    // file. If HTTP cannot reach the relay either while the client is
    // reconnecting (a relay restart), keep waiting for it until
    // retryWindowMs after the trouble began.
    let result = null;
    let recoverUntil = 0;
    let framesDone = !this._allowWS;
    let wait = conn.hopeful ? this._timeoutMs : 0;
    const recovering = () => {
      if (!recoverUntil) recoverUntil = now() + this._opts.retryWindowMs;
      return now() < recoverUntil;
    };
    try {
      for (;;) {
        if (!framesDone) {
          const link = await conn.awaitLink(wait, signal, recoverUntil > 0);
          if (link) {
            try {
              result = await this._fetchFramed(clean, fst, onProgress, signal);
              break;
            } catch (e) {
              if (this._closed || signal.aborted) rethrow(e);
              if (TERMINAL.has(e?.code)) throw e;
              if (RETRY_ON_LINK.has(e?.code) && fst.retries < 4 && recovering()) {
                fst.retries++;
                wait = Math.min(this._timeoutMs, recoverUntil - now());
                this._log('info', `${clean}: ${e.message}; retrying`);
                continue;
              }
              fst.fallback = e;
              framesDone = true;
              this._log('info', `${clean}: falling back to HTTP: ${e.message}`);
            }
          }
        }
        try {
          result = await this._fetchHttp(clean, fst, onProgress, signal);
          break;
        } catch (e) {
          if (this._closed || signal.aborted) rethrow(e);
          if (e.code === 'network' && !framesDone && (recoverUntil || conn.recovering) && recovering()) {
            // the relay is unreachable altogether: likely restarting
            fst.retries++;
            wait = recoverUntil - now();
            this._log('info', `${clean}: relay unreachable; waiting for it to come back`);
            await conn.awaitLink(Math.min(wait, 1000), signal, true);
            continue;
          }
          if (fst.fallback && e.code === 'network') e.message += ` (after: ${fst.fallback.message})`;
          throw e;
        }
      }
    } catch (e) {
      rethrow(e);
    }
    return this._respond(clean, fst, result, now() - t0);
  }

  /**
   * The streamed path (stream, range or early): resolves at the manifest
   * with a streaming Response; without opts.stream (early mode), once the
   * whole body is verified, as a buffered Response like the ladder's.
   */
  async _fetchStreamed(clean, opts) {
    const { response, done } = await this._streamer.open(clean, opts);
    if (opts.stream || opts.range) return response;
    const { manifest, bytes, info } = await done;
    this._stats.files--; // _respond counts it
    this._stats.bytes -= bytes.length;
    return this._respondWith(clean, manifest, bytes, info);
  }

  /** A buffered Response for a streamed fetch's result (info: its FetchInfo). */
  _respondWith(path, m, bytes, info) {
    this._stats.files++;
    this._stats.bytes += bytes.length;
    const headers = {
      'content-type': m.contentType || 'application/octet-stream',
      'content-length': String(bytes.length),
      'x-p2pcache-source': info.source,
      'x-p2pcache-transport': info.transport,
    };
    if (m.etag) headers.etag = m.etag;
    const lm = m.lastModified ? new Date(m.lastModified) : null;
    if (lm && !isNaN(lm)) headers['last-modified'] = lm.toUTCString();
    const res = new Response(new Blob([bytes], { type: headers['content-type'] }), { status: 200, headers });
    try {
      Object.defineProperty(res, 'p2p', { value: info, enumerable: true });
      Object.defineProperty(res, 'p2pDone', { value: Promise.resolve(info), enumerable: true });
    } catch {
      // a frozen Response: the headers still tell the source
    }
    return res;
  }

  _respond(path, fst, { manifest: m, bytes }, ms) {
    this._stats.files++;
    this._stats.bytes += bytes.length;
    const bySource = emptySources();
    for (const s of fst.sources.values()) bySource[s] = (bySource[s] ?? 0) + 1;
    bySource.http += fst.httpChunks;
    let source = 'relay';
    let most = -1;
    for (const [k, v] of Object.entries(bySource)) {
      if (v > most) {
        most = v;
        source = k;
      }
    }
    const contentType = m?.contentType || fst.contentType || 'application/octet-stream';
    const headers = {
      'content-type': contentType,
      'content-length': String(bytes.length),
      'x-p2pcache-source': source,
      'x-p2pcache-transport': fst.transport ?? 'http',
    };
    const etag = m?.etag ?? fst.etag;
    if (etag) headers.etag = etag;
    const lm = m?.lastModified ? new Date(m.lastModified) : null;
    if (lm && !isNaN(lm)) headers['last-modified'] = lm.toUTCString();
    else if (fst.lastModified) headers['last-modified'] = fst.lastModified;
    const info = Object.freeze({
      path,
      transport: fst.transport ?? 'http',
      source,
      ms: Math.round(ms * 10) / 10,
      bytes: bytes.length,
      chunks: Object.values(bySource).reduce((a, b) => a + b, 0),
      bySource: Object.freeze(bySource),
      verified: fst.verified,
      verifyFailures: fst.verifyFailures,
      retries: fst.retries,
      fallbackReason: fst.fallback?.message ?? null,
      sha256: m?.sha256 ?? null,
    });
    const blob = new Blob([bytes], { type: contentType });
    const res = new Response(blob, { status: 200, headers });
    try {
      Object.defineProperty(res, 'p2p', { value: info, enumerable: true });
    } catch {
      // a frozen Response: the headers still tell the source
    }
    return res;
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
 *
 * options: relay (default: the origin this module was loaded from), token,
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
  const started = c._conn.start();
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
