// Streamed fetches: a Response as soon as the manifest is known, whose body
// is a ReadableStream that releases each chunk once it is verified, in
// order, so a progressive JPEG or an interlaced PNG paints as it arrives.
//
// The ladder is per chunk, not per file: each chunk goes over frames if a
// link to the relay is up at the moment it is asked for, else over HTTP
// (a Range request on /files). So a fetch made before the data channel
// opens starts at once on the rung that is ready (the WebSocket, or HTTP
// before that) and its later chunks move to WebRTC as soon as it opens.
// Chunks failing over frames for a reason other than a lost link (a
// protocol error, origin trouble) make the rest of the file go over HTTP;
// a chunk that fails verification twice is fetched a third time over
// HTTP. Every chunk is checked against the manifest whatever its rung, and
// that is the whole check (transfer.js: the chunk hashes cover every byte).

import { P2PCacheError, abortError, closedError } from './errors.js';
import { progress } from './log.js';
import { chunkLength, chunkOffset } from './manifest.js';
import { countSources, mainSource } from './sources.js';
import { mergeSignals, now } from './timing.js';
import { transferChunks } from './transfer.js';

/** Chunks one HTTP Range request covers when no link to the relay is up. */
export const HTTP_SPAN_CHUNKS = 8;
/**
 * In service-worker mode, a fetch made while the first connection is
 * still being made waits this long for its WebSocket before taking
 * /manifest over HTTP (the linkWaitMs option's default there; 0
 * elsewhere): the WebSocket is up within a round trip or two, and frames
 * after it keep the page's images off /files altogether, at the cost of
 * about a round trip on the first image.
 */
export const LINK_WAIT_MS = 400;

// refusals no other rung would change
const TERMINAL = new Set(['not_found', 'forbidden', 'bad_path', 'too_large', 'aborted', 'closed']);
// a link that went away: the next chunk may find another one, nothing is wrong with frames
const LINK_LOST = new Set(['disconnected', 'timeout']);

/**
 * Parse a single HTTP byte range against a size: 'bytes=a-b', 'bytes=a-'
 * or 'bytes=-n'. Returns [start, endInclusive], null when the header is
 * absent or not one range (serve the whole file), or 'unsatisfiable'.
 */
export function parseRange(header, size) {
  if (typeof header !== 'string' || header === '') return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start;
  let end;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return null;
  }
  if (start >= size) return 'unsatisfiable';
  return [start, end];
}

/**
 * HTTP Range reads of one file, a span of chunks per request, each chunk
 * handed out as soon as its bytes are in (unverified: the transfer checks
 * them). get(i) takes chunk i from a span already asked for, or starts a
 * span at i of up to `count(i)` chunks.
 */
class HttpSpans {
  constructor({ http, m, last, signal, count }) {
    this._http = http;
    this._m = m;
    this._last = last;
    this._signal = signal;
    this._count = count;
    this._pending = new Map(); // chunk index → promise of its bytes
  }

  get(i) {
    if (!this._pending.has(i)) this._start(i);
    const p = this._pending.get(i);
    this._pending.delete(i); // taken once: a retry asks the relay again
    return p;
  }

  _start(i) {
    const m = this._m;
    let j = i;
    const want = Math.max(1, this._count(i));
    while (j < this._last && j + 1 - i < want && !this._pending.has(j + 1)) j++;
    const defer = [];
    for (let k = i; k <= j; k++) {
      let d;
      const p = new Promise((resolve, reject) => (d = { resolve, reject }));
      p.catch(() => {}); // a span chunk nobody takes in the end must not be an unhandled rejection
      defer.push(d);
      this._pending.set(k, p);
    }
    const start = chunkOffset(m, i);
    const end = chunkOffset(m, j) + chunkLength(m, j);
    let k = 0;
    this._http
      .range(m.path, start, end, m.etag, this._signal, (buf, filled) => {
        // resolve every chunk whose bytes are all in
        while (k < defer.length) {
          const off = chunkOffset(m, i + k) - start;
          const len = chunkLength(m, i + k);
          if (filled < off + len) break;
          defer[k++].resolve(buf.slice(off, off + len));
        }
      })
      .then(
        () => {
          const err = new P2PCacheError('protocol', `p2pcache: ${m.path}: HTTP range ${start}-${end - 1} ended short`);
          while (k < defer.length) defer[k++].reject(err);
        },
        (e) => {
          while (k < defer.length) defer[k++].reject(e);
        },
      );
  }
}

/**
 * Streamed fetches for a Client. deps:
 *   ready()                         a promise to wait for before starting (the store opening, the relay choice)
 *   link()                          the link frames go on now, or null
 *   awaitLink(ms, signal)           a link within ms if a connection is being made, else null
 *   linkWaitMs                      how long a fetch waits for a link being made (0: not at all)
 *   manifestFramed(path, signal)    the manifest over frames
 *   chunkFramed(path, i, hash, signal, into) → { bytes, source }   one chunk over frames
 *   http                            the HttpFallback (manifest(), range(), freshURL())
 *   holdings                        the peer role's chunks (get, put, trackFile, fileComplete)
 *   stats                           the client's counters (bySource, files, bytes)
 *   onVerifyFailure(path, fst, info)
 *   isClosed(), closeSignal, maxInFlight, log
 */
export class Streamer {
  constructor(deps) {
    this._d = deps;
  }

  /**
   * Start fetching path (clean). Resolves, once the manifest is known, with
   * { response, done }: response is a Response (200, or 206 for a range)
   * whose body streams verified bytes; done resolves with
   * { manifest, bytes, info } when the body is complete (bytes: the span
   * fetched) and rejects with the error that ended it. opts: signal,
   * onProgress, range ([start, endInclusive] or an HTTP Range header
   * string), buffered (the caller reads done's bytes, not the body: the
   * body gets no copy of them and ends empty when done resolves).
   */
  async open(path, opts = {}) {
    const d = this._d;
    if (d.isClosed()) throw closedError();
    const t0 = now();
    await d.ready?.(); // the persistent store, so its chunks count
    const ctrl = new AbortController();
    const signal = mergeSignals(mergeSignals(d.closeSignal, opts.signal), ctrl.signal);
    const fst = {
      path,
      manifest: null,
      sources: new Map(),
      loaded: 0,
      verifyFailures: 0,
      retries: 0,
      transport: null,
      framesBroken: false,
      fallback: null,
    };
    const fail = (e) => {
      if (d.isClosed()) return closedError();
      if (opts.signal?.aborted) return abortError(opts.signal);
      return e;
    };
    let m;
    try {
      m = await this._manifest(path, signal, fst);
    } catch (e) {
      throw fail(e);
    }
    let range = opts.range ?? null;
    if (typeof range === 'string') range = parseRange(range, m.size);
    if (range === 'unsatisfiable' || (range && !(range[0] >= 0 && range[1] >= range[0] && range[1] < m.size))) {
      throw new P2PCacheError('bad_range', `p2pcache: ${path}: range not satisfiable in ${m.size} bytes`, { status: 416, path });
    }
    const n = m.chunks.length;
    const first = range ? Math.floor(range[0] / m.chunkSize) : 0;
    const last = range ? Math.floor(range[1] / m.chunkSize) : n - 1;
    const lo = range ? range[0] : 0;
    const hi = range ? range[1] + 1 : m.size;

    let controller;
    const body = new ReadableStream({
      start: (c) => {
        controller = c;
      },
      cancel: (reason) => ctrl.abort(reason ?? new P2PCacheError('aborted', 'p2pcache: body cancelled')),
    });
    const headers = {
      'content-type': m.contentType || 'application/octet-stream',
      'content-length': String(hi - lo),
      'x-p2pcache-transport': fst.transport ?? 'http',
      'accept-ranges': 'bytes',
    };
    if (m.etag) headers.etag = m.etag;
    const lm = m.lastModified ? new Date(m.lastModified) : null;
    if (lm && !isNaN(lm)) headers['last-modified'] = lm.toUTCString();
    if (range) headers['content-range'] = `bytes ${lo}-${hi - 1}/${m.size}`;
    const response = new Response(body, { status: range ? 206 : 200, headers });

    const spans = new HttpSpans({
      http: d.http,
      m,
      last,
      signal,
      count: () => (d.link() ? 1 : HTTP_SPAN_CHUNKS),
    });
    d.holdings.trackFile(m);
    const done = transferChunks(m, {
      first,
      last,
      getChunk: (i, hash, sig, attempt, into) => this._chunk(fst, spans, path, i, hash, sig, attempt, into),
      localGet: (h) => d.holdings.get(h),
      localPut: (h, b) => d.holdings.put(h, b, m),
      onChunk: ({ index, length, source }) => {
        if (!fst.sources.has(index)) {
          fst.sources.set(index, source);
          d.stats.bySource[source] = (d.stats.bySource[source] ?? 0) + 1;
          fst.loaded += length;
        }
        progress(opts.onProgress, { path, loaded: fst.loaded, total: hi - lo, index, source: fst.sources.get(index) }, d.log);
      },
      onRelease: opts.buffered ? null : (i, bytes) => {
        const off = chunkOffset(m, i);
        const a = Math.max(lo, off) - off;
        const b = Math.min(hi, off + bytes.length) - off;
        try {
          controller.enqueue(bytes.slice(a, b));
        } catch {
          // the reader went away: cancel() aborts the transfer
        }
      },
      onVerifyFailure: (info) => d.onVerifyFailure(path, fst, info),
      maxInFlight: d.maxInFlight,
      verifyRetries: 2, // the third try goes over HTTP (see _chunk)
      signal,
    }).then(
      (bytes) => {
        if (first === 0 && last === n - 1) d.holdings.fileComplete(m);
        d.stats.files++;
        d.stats.bytes += hi - lo;
        try {
          controller.close();
        } catch {
          // cancelled
        }
        return { manifest: m, bytes, info: this._info(path, fst, m, hi - lo, now() - t0) };
      },
      (e) => {
        const err = fail(e);
        try {
          controller.error(err);
        } catch {
          // cancelled
        }
        throw err;
      },
    );
    done.catch(() => {}); // the body's reader sees the error; done is for who asks
    try {
      Object.defineProperty(response, 'p2pDone', { value: done.then((r) => r.info), enumerable: true });
      response.p2pDone.catch(() => {});
    } catch {
      // a frozen Response
    }
    return { response, done, manifest: m };
  }

  async _manifest(path, signal, fst) {
    const d = this._d;
    const link = d.link() ?? (d.linkWaitMs > 0 ? await d.awaitLink(d.linkWaitMs, signal) : null);
    if (link) {
      fst.transport = link.transport;
      try {
        return await d.manifestFramed(path, signal);
      } catch (e) {
        if (d.isClosed() || signal.aborted || TERMINAL.has(e?.code)) throw e;
        d.log('info', `${path}: manifest over HTTP: ${e.message}`);
        if (!LINK_LOST.has(e?.code)) {
          fst.framesBroken = true;
          fst.fallback = e;
        }
      }
    }
    fst.transport = 'http';
    return d.http.manifest(path, signal);
  }

  /** One chunk by the per-chunk ladder: frames if a link is up (and they have not failed for this file), else HTTP. */
  async _chunk(fst, spans, path, i, hash, signal, attempt, into) {
    const d = this._d;
    if (attempt < 2 && !fst.framesBroken && d.link()) {
      try {
        const got = await d.chunkFramed(path, i, hash, signal, into);
        if (got.transport === 'webrtc-tcp' || !fst.transport || fst.transport === 'http') fst.transport = got.transport ?? fst.transport;
        return got;
      } catch (e) {
        if (d.isClosed() || signal.aborted || TERMINAL.has(e?.code) || e?.code === 'busy' || e?.code === 'stale') throw e;
        if (!LINK_LOST.has(e?.code)) {
          fst.framesBroken = true;
          fst.fallback ??= e;
          d.log('info', `${path}: the rest over HTTP: ${e.message}`);
        }
      }
    }
    return { bytes: await spans.get(i), source: 'http' };
  }

  _info(path, fst, m, bytes, ms) {
    const bySource = countSources(fst.sources.values());
    const source = mainSource(bySource);
    const transport = bySource.http === fst.sources.size && fst.sources.size > 0 ? 'http' : fst.transport ?? 'http';
    return Object.freeze({
      path,
      transport,
      source,
      ms: Math.round(ms * 10) / 10,
      bytes,
      chunks: fst.sources.size,
      bySource: Object.freeze(bySource),
      verified: true,
      verifyFailures: fst.verifyFailures,
      retries: fst.retries,
      fallbackReason: fst.fallback?.message ?? null,
      sha256: m.sha256,
    });
  }
}
