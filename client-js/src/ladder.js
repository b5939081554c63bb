// The per-fetch ladder of a buffered fetch: the whole file over frames
// while a link is up, a reconnect waited out, HTTP otherwise. (Streamed
// fetches climb per chunk instead: stream.js.)

import { abortError, closedError } from './errors.js';
import { progress } from './log.js';
import { parseManifest } from './manifest.js';
import { FrameType, chunkSourceName } from './protocol.js';
import { withBusyRetry } from './requests.js';
import { now } from './timing.js';
import { transferChunks } from './transfer.js';

// refusals no other rung would change
const TERMINAL = new Set(['not_found', 'forbidden', 'bad_path', 'too_large', 'aborted', 'closed']);
// a link that went away: worth waiting for the next one
const RETRY_ON_LINK = new Set(['disconnected', 'timeout']);
/** Times a fetch over frames starts again from the manifest when the file changed under it. */
const STALE_RESTARTS = 3;

/** A fresh per-fetch accounting record (carried across the rungs and retries of one fetch). */
export function newFetchState(path) {
  return {
    path,
    manifest: null,
    sources: new Map(), // chunk index → source
    loaded: 0,
    verifyFailures: 0,
    retries: 0,
    transport: null,
    httpChunks: 0,
    verified: true,
    fallback: null, // the error that made frames give way to HTTP
  };
}

/**
 * Frames and HTTP for one client's buffered fetches. deps:
 *   conn                         the Connection (link, awaitLink, hopeful, recovering)
 *   requests                     the Requests (request frames, answers)
 *   holdings                     the peer role's chunks
 *   http                         the HttpFallback
 *   stats                        the client's counters (bySource, sourcesKnown)
 *   allowWS                      whether frames are allowed at all
 *   timeoutMs, retryWindowMs, maxInFlight
 *   isClosed(), log, onVerifyFailure(path, fst, info)
 */
export class Ladder {
  constructor(deps) {
    this._d = deps;
  }

  /** The manifest of path over frames (busy answers retried). */
  async manifestFramed(path, signal) {
    const bytes = await withBusyRetry(
      () => this._d.requests.request({ type: FrameType.GET_MANIFEST, path }, FrameType.MANIFEST, signal),
      signal,
    );
    return parseManifest(bytes, path);
  }

  /**
   * One chunk over frames: { bytes, source, transport } with the source the
   * relay stated (CHUNK flags); reassembled in into when given (Requests.request).
   */
  async chunkFramed(path, index, hash, signal, into = null) {
    const info = {};
    const bytes = await this._d.requests.request({ type: FrameType.GET_CHUNK, index, hash, path }, FrameType.CHUNK, signal, info, into);
    if (info.source) this._d.stats.sourcesKnown = true;
    return { bytes, source: chunkSourceName(info.source), transport: info.transport };
  }

  /** Fetch one file over frames; fst carries per-fetch accounting across retries. */
  async _framed(path, fst, onProgress, signal) {
    const d = this._d;
    const holdings = d.holdings;
    for (let restart = 0; ; restart++) {
      const m = await this.manifestFramed(path, signal);
      if (fst.manifest?.sha256 !== m.sha256) {
        fst.sources.clear();
        fst.loaded = 0;
      }
      fst.manifest = m;
      if (fst.transport !== 'webrtc-tcp') fst.transport = d.conn.link()?.transport ?? fst.transport;
      holdings.trackFile(m);
      try {
        const bytes = await transferChunks(m, {
          getChunk: (index, hash, sig, _attempt, into) => this.chunkFramed(path, index, hash, sig, into),
          localGet: (h) => holdings.get(h),
          localPut: (h, b) => holdings.put(h, b, m),
          onChunk: ({ index, length, source }) => {
            if (!fst.sources.has(index)) {
              // a chunk fetched earlier in this same fetch counts under its first source
              fst.sources.set(index, source);
              d.stats.bySource[source] = (d.stats.bySource[source] ?? 0) + 1;
              fst.loaded += length;
            }
            progress(onProgress, { path, loaded: fst.loaded, total: m.size, index, source: fst.sources.get(index) }, d.log);
          },
          onVerifyFailure: (info) => d.onVerifyFailure(path, fst, info),
          maxInFlight: d.maxInFlight,
          signal,
        });
        holdings.fileComplete(m);
        return { manifest: m, bytes };
      } catch (e) {
        if (e?.code === 'stale' && restart < STALE_RESTARTS) {
          d.log('info', `${path} changed; fetching its manifest again`);
          fst.retries++;
          continue;
        }
        throw e;
      }
    }
  }

  async _http(path, fst, onProgress, signal) {
    const result = await this._d.http.fetchFile(path, fst, onProgress, signal);
    this._d.stats.bySource.http += fst.httpChunks;
    return result;
  }

  /**
   * Fetch path (clean) by the ladder; resolves { manifest, bytes } with
   * fst (newFetchState) filled in. signal: the fetch's and the client's;
   * userSignal: the page's alone (its abort is reported as such).
   *
   * The ladder, per fetch: frames (data channel or WebSocket) while a link
   * is up; after a drop, wait up to timeoutMs for the reconnect and retry
   * (chunks already verified are kept); frames failing otherwise (bad
   * bytes twice, a protocol error, origin trouble) → HTTP for the whole
   * file. If HTTP cannot reach the relay either while the client is
   * reconnecting (a relay restart), keep waiting for it until
   * retryWindowMs after the trouble began.
   */
  async run(clean, fst, { onProgress, signal, userSignal }) {
    const d = this._d;
    const conn = d.conn;
    const rethrow = (e) => {
      if (d.isClosed()) throw closedError();
      if (userSignal?.aborted) throw abortError(userSignal);
      throw e;
    };
    let recoverUntil = 0;
    let framesDone = !d.allowWS;
    let wait = conn.hopeful ? d.timeoutMs : 0;
    const recovering = () => {
      if (!recoverUntil) recoverUntil = now() + d.retryWindowMs;
      return now() < recoverUntil;
    };
    try {
      for (;;) {
        if (!framesDone) {
          const link = await conn.awaitLink(wait, signal, recoverUntil > 0);
          if (link) {
            try {
              return await this._framed(clean, fst, onProgress, signal);
            } catch (e) {
              if (d.isClosed() || signal.aborted) rethrow(e);
              if (TERMINAL.has(e?.code)) throw e;
              if (RETRY_ON_LINK.has(e?.code) && fst.retries < 4 && recovering()) {
                fst.retries++;
                wait = Math.min(d.timeoutMs, recoverUntil - now());
                d.log('info', `${clean}: ${e.message}; retrying`);
                continue;
              }
              fst.fallback = e;
              framesDone = true;
              d.log('info', `${clean}: falling back to HTTP: ${e.message}`);
            }
          }
        }
        try {
          return await this._http(clean, fst, onProgress, signal);
        } catch (e) {
          if (d.isClosed() || signal.aborted) rethrow(e);
          if (e.code === 'network' && !framesDone && (recoverUntil || conn.recovering) && recovering()) {
            // the relay is unreachable altogether: likely restarting
            fst.retries++;
            wait = recoverUntil - now();
            d.log('info', `${clean}: relay unreachable; waiting for it to come back`);
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
  }
}
