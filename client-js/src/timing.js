// Time and cancellation helpers: a monotonic clock, reconnect backoff,
// abortable sleep and merged abort signals.

import { abortError } from './errors.js';

/**
 * Delay before reconnect attempt n (0-based): base·2ⁿ capped at max, with
 * jitter in [half, full] of that.
 */
export function backoffDelay(n, { base = 250, max = 8000, random = Math.random } = {}) {
  const d = Math.min(max, base * 2 ** Math.min(n, 30));
  return Math.round(d / 2 + (random() * d) / 2);
}

/** Milliseconds from a monotonic clock where there is one. */
export const now = () => (globalThis.performance?.now ? globalThis.performance.now() : Date.now());

/** Resolve after ms, or reject with an aborted error when signal fires. */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** One signal that fires when either does (either may be absent). */
export function mergeSignals(a, b) {
  if (!a) return b;
  if (!b) return a;
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([a, b]);
  const c = new AbortController();
  const on = (s) => () => c.abort(s.reason);
  if (a.aborted) c.abort(a.reason);
  else if (b.aborted) c.abort(b.reason);
  else {
    a.addEventListener('abort', on(a), { once: true });
    b.addEventListener('abort', on(b), { once: true });
  }
  return c.signal;
}
