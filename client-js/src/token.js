// Tokens: the access token may be a string or a function that returns one
// (or a promise of one). The function is called for every WebSocket
// connect and reconnect and for every HTTP request of the fallback rung, so
// a page that hands out short-lived tokens gives the SDK a fresh one each
// time; it should cache and return quickly. The relay ends a session whose
// token expires (signal error/bye with code token_expired), and the client
// then reconnects at once, asking the function again.

import { P2PCacheError } from './errors.js';

/** The code the relay sends (signal error or bye, or the close reason) when a session's token expired. */
export const TOKEN_EXPIRED = 'token_expired';

/**
 * Validate the token option and return a source: () => Promise<string|null>.
 * A string is returned as is (an empty one means none); a function is called
 * each time and must return a string, null or undefined (or a promise of
 * one). What it throws or returns otherwise rejects with code 'forbidden'.
 */
export function tokenSource(token) {
  if (token === undefined || token === null || token === '') return async () => null;
  if (typeof token === 'string') return async () => token;
  if (typeof token !== 'function') {
    throw new P2PCacheError('bad_option', 'p2pcache: token must be a string or a function returning one');
  }
  return async () => {
    let t;
    try {
      t = await token();
    } catch (e) {
      throw new P2PCacheError('forbidden', `p2pcache: the token function failed: ${e?.message ?? e}`, { cause: e });
    }
    if (t === undefined || t === null || t === '') return null;
    if (typeof t !== 'string') throw new P2PCacheError('forbidden', `p2pcache: the token function returned a ${typeof t}, not a string`);
    return t;
  };
}

/** The token given as a plain string, or null (a function's token is known only when called). */
export function staticToken(token) {
  return typeof token === 'string' && token !== '' ? token : null;
}
