// Errors: the one error class the SDK rejects with, and its constructors.

import { errorName } from './protocol.js';

// HTTP-like status for each error code of P2PCacheError (0: no HTTP meaning).
const STATUS_OF = Object.freeze({
  bad_path: 400,
  bad_request: 400,
  not_found: 404,
  forbidden: 403,
  too_large: 413,
  origin_error: 502,
  internal: 500,
  busy: 503,
  verify_failed: 502,
  timeout: 504,
  unsupported: 501,
  bad_range: 416,
});

/**
 * The one error class the SDK rejects with. `code` is a stable string:
 * the ERROR frame names of PROTOCOL.md (not_found, forbidden, too_large,
 * bad_path, origin_error, stale, busy, ...) plus the SDK's own:
 * verify_failed, timeout, disconnected, closed, aborted, network,
 * http_error, protocol, bad_frame, unknown_type, bad_version, bad_manifest,
 * bad_signal, bad_option, bad_range. `status` is the HTTP-like status (404 for
 * not_found, ..., or the real status of an HTTP fallback), 0 when none
 * applies.
 */
export class P2PCacheError extends Error {
  constructor(code, message, extra = {}) {
    super(message, extra.cause !== undefined ? { cause: extra.cause } : undefined);
    this.name = 'P2PCacheError';
    this.code = code;
    this.status = extra.status ?? STATUS_OF[code] ?? 0;
    if (extra.remoteCode !== undefined) this.remoteCode = extra.remoteCode;
    if (extra.path !== undefined) this.path = extra.path;
  }
}

/** A malformed wire frame. `type` and `id` are set when the header was readable. */
export class FrameError extends P2PCacheError {
  constructor(code, message, type, id) {
    super(code, message);
    this.name = 'FrameError';
    if (type !== undefined) this.type = type;
    if (id !== undefined) this.id = id;
  }
}

/** An ERROR frame received in answer to one of our requests. */
export function remoteError(code, message, path) {
  const name = errorName(code);
  return new P2PCacheError(name, `relay: ${name}${message ? ': ' + message : ''}${path ? ` (${path})` : ''}`, {
    remoteCode: code,
    path,
  });
}

/** What a fetch rejects with once its signal fired. */
export function abortError(signal) {
  return new P2PCacheError('aborted', 'p2pcache: fetch aborted', { cause: signal?.reason });
}

/** What everything rejects with after Client.close(). */
export function closedError() {
  return new P2PCacheError('closed', 'p2pcache: client closed');
}
