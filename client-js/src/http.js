// The HTTP rung: GET /files/<path> and GET /manifest/<path> on the relay,
// the body verified against the manifest whenever one can be had.

import { P2PCacheError, abortError, closedError } from './errors.js';
import { parseManifest } from './manifest.js';
import { encodePathForURL } from './paths.js';
import { progress } from './log.js';
import { MAX_CHUNK_SIZE } from './protocol.js';
import { sha256Hex } from './sha256.js';
import { DIRECT_ACCEPT } from './sw/messages.js';

/** The P2PCacheError code for an HTTP status of the relay. */
export function codeForStatus(status) {
  switch (status) {
    case 400: return 'bad_path';
    case 401:
    case 403: return 'forbidden';
    case 404:
    case 410: return 'not_found';
    case 413: return 'too_large';
    case 429:
    case 503: return 'busy';
    case 502: return 'origin_error';
    case 504: return 'timeout';
    default: return 'http_error';
  }
}

/**
 * options:
 *   relay                        the relay's base URL (the client sets .relay when it moves to another)
 *   token                        the access token if it is a plain string (url()'s default)
 *   tokenSource()                a promise of the token for each request (a
 *                                token function is asked every time); default: token
 *   fetch                        a fetch() (null: this rung fails 'network')
 *   isClosed()                   whether the client was closed (its errors say so)
 *   onVerifyFailure(path, fst, info)   bytes that did not match the manifest
 *   log(level, msg, ...)
 */
export class HttpFallback {
  constructor({ relay, token = null, tokenSource = null, fetch, isClosed, onVerifyFailure, log }) {
    this.relay = relay;
    this._token = token;
    this._tokenSource = tokenSource ?? (async () => token);
    this._fetch = fetch;
    this._isClosed = isClosed;
    this._onVerifyFailure = onVerifyFailure;
    this._log = log;
  }

  /** The URL of /kind/path on the relay, with token (default: the string token) as access_token. */
  url(kind, path, token = this._token) {
    const u = new URL(`${this.relay}/${kind}/${encodePathForURL(path)}`);
    if (token) u.searchParams.set('access_token', token);
    return u.toString();
  }

  /** url() with a token from the token source (fresh if it is a function). */
  async freshURL(kind, path) {
    return this.url(kind, path, await this._tokenSource());
  }

  async manifest(path, signal) {
    const res = await this._fetch(await this.freshURL('manifest', path), { signal, headers: { accept: DIRECT_ACCEPT } });
    if (!res.ok) throw new P2PCacheError(codeForStatus(res.status), `p2pcache: HTTP ${res.status} for the manifest of ${path}`, { status: res.status });
    return parseManifest(await res.text(), path);
  }

  /**
   * Fetch one file (a clean path). fst is the fetch's accounting: its
   * manifest (if frames got one) is used instead of asking again, and on
   * success transport, httpChunks, verified, contentType, etag and
   * lastModified are set and sources cleared. Resolves { manifest, bytes }.
   */
  async fetchFile(path, fst, onProgress, signal) {
    if (!this._fetch) throw new P2PCacheError('network', 'p2pcache: no fetch() in this environment');
    fst.transport = 'http';
    const manifestP = fst.manifest ? Promise.resolve(fst.manifest) : this.manifest(path, signal).catch(() => null);
    let res;
    const url = await this.freshURL('files', path);
    try {
      res = await this._fetch(url, { signal, headers: { accept: DIRECT_ACCEPT } });
    } catch (e) {
      if (signal?.aborted) throw this._isClosed() ? closedError() : abortError(signal);
      throw new P2PCacheError('network', `p2pcache: ${path}: the relay could not be reached over HTTP: ${e?.message ?? e}`, { cause: e, path });
    }
    if (!res.ok) {
      manifestP.catch(() => {});
      throw new P2PCacheError(codeForStatus(res.status), `p2pcache: ${path}: HTTP ${res.status} from /files/`, { status: res.status, path });
    }
    const lenHeader = Number(res.headers.get('content-length'));
    const bytes = await this._readBody(res, path, Number.isFinite(lenHeader) && lenHeader > 0 ? lenHeader : fst.manifest?.size ?? 0, onProgress);
    let m = await manifestP;
    if (m) {
      let actual = await sha256Hex(bytes);
      if (actual !== m.sha256) {
        const etag = res.headers.get('etag');
        if (etag && etag !== m.etag) {
          // the file changed between manifest and body: look again, once
          m = await this.manifest(path, signal).catch(() => null);
        }
        if (!m || actual !== m.sha256) {
          this._onVerifyFailure(path, fst, { index: -1, expected: m?.sha256 ?? '', actual, attempt: 0, source: 'http' });
          throw new P2PCacheError('verify_failed', `p2pcache: ${path}: bytes from HTTP do not match the manifest's SHA-256`, { path });
        }
      }
      fst.manifest = m;
    }
    const chunks = Math.max(1, Math.ceil(bytes.length / (m?.chunkSize ?? MAX_CHUNK_SIZE)));
    fst.sources.clear();
    fst.httpChunks = chunks;
    fst.verified = !!m;
    fst.contentType = res.headers.get('content-type');
    fst.etag = res.headers.get('etag');
    fst.lastModified = res.headers.get('last-modified');
    return { manifest: m, bytes };
  }

  /**
   * GET bytes [start, end) of path with a Range request (If-Range: etag, so
   * a file that changed comes whole and fails verification rather than
   * mixing versions). onData(buf, filled) is called as bytes arrive: buf
   * holds the range, its first `filled` bytes are in. A relay that answers
   * 200 (no ranges) is read up to the range's end. Resolves when the range
   * is complete or the body ended; rejects with a P2PCacheError.
   */
  async range(path, start, end, etag, signal, onData) {
    if (!this._fetch) throw new P2PCacheError('network', 'p2pcache: no fetch() in this environment');
    const url = await this.freshURL('files', path);
    const headers = { range: `bytes=${start}-${end - 1}`, accept: DIRECT_ACCEPT };
    if (etag) headers['if-range'] = etag;
    let res;
    try {
      res = await this._fetch(url, { signal, headers });
    } catch (e) {
      if (signal?.aborted) throw this._isClosed() ? closedError() : abortError(signal);
      throw new P2PCacheError('network', `p2pcache: ${path}: the relay could not be reached over HTTP: ${e?.message ?? e}`, { cause: e, path });
    }
    if (res.status !== 206 && res.status !== 200) {
      res.body?.cancel?.().catch(() => {});
      throw new P2PCacheError(codeForStatus(res.status), `p2pcache: ${path}: HTTP ${res.status} from /files/ for a range`, { status: res.status, path });
    }
    const skip = res.status === 200 ? start : 0; // a whole body: drop what precedes the range
    const buf = new Uint8Array(end - start);
    let filled = 0;
    let seen = 0;
    const take = (value) => {
      let v = value;
      if (seen < skip) {
        const drop = Math.min(skip - seen, v.length);
        seen += drop;
        v = v.subarray(drop);
      }
      const n = Math.min(v.length, buf.length - filled);
      buf.set(v.subarray(0, n), filled);
      filled += n;
      return filled >= buf.length;
    };
    try {
      if (!res.body?.getReader) {
        take(new Uint8Array(await res.arrayBuffer()));
        onData(buf, filled);
        return;
      }
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const full = take(value);
        onData(buf, filled);
        if (full) {
          reader.cancel().catch(() => {});
          break;
        }
      }
    } catch (e) {
      if (signal?.aborted) throw this._isClosed() ? closedError() : abortError(signal);
      if (e instanceof P2PCacheError) throw e;
      throw new P2PCacheError('network', `p2pcache: ${path}: reading a range: ${e?.message ?? e}`, { cause: e, path });
    }
  }

  async _readBody(res, path, total, onProgress) {
    if (!res.body?.getReader) {
      const b = new Uint8Array(await res.arrayBuffer());
      progress(onProgress, { path, loaded: b.length, total: b.length, source: 'http' }, this._log);
      return b;
    }
    const reader = res.body.getReader();
    const parts = [];
    let loaded = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      loaded += value.length;
      progress(onProgress, { path, loaded, total: Math.max(total, loaded), source: 'http' }, this._log);
    }
    if (parts.length === 1) return parts[0];
    const out = new Uint8Array(loaded);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}
