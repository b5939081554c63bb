// The HTTP rung: GET /files/<path> and GET /manifest/<path> on the relay,
// the body verified against the manifest whenever one can be had.

import { P2PCacheError, abortError, closedError } from './errors.js';
import { parseManifest } from './manifest.js';
import { encodePathForURL } from './paths.js';
import { progress } from './log.js';
import { MAX_CHUNK_SIZE } from './protocol.js';
import { sha256Hex } from './sha256.js';

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
 *   relay, token                 the relay's base URL and access token
 *   fetch                        a fetch() (null: this rung fails 'network')
 *   isClosed()                   whether the client was closed (its errors say so)
 *   onVerifyFailure(path, fst, info)   bytes that did not match the manifest
 *   log(level, msg, ...)
 */
export class HttpFallback {
  constructor({ relay, token, fetch, isClosed, onVerifyFailure, log }) {
    this._relay = relay;
    this._token = token;
    this._fetch = fetch;
    this._isClosed = isClosed;
    this._onVerifyFailure = onVerifyFailure;
    this._log = log;
  }

  url(kind, path) {
    const u = new URL(`${this._relay}/${kind}/${encodePathForURL(path)}`);
    if (this._token) u.searchParams.set('access_token', this._token);
    return u.toString();
  }

  async manifest(path, signal) {
    const res = await this._fetch(this.url('manifest', path), { signal });
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
    try {
      res = await this._fetch(this.url('files', path), { signal });
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
