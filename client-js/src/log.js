// Logging and user callbacks: neither may break the client.

/** The console logger used for { log: true }. */
export function consoleLog(level, msg, ...rest) {
  const f = console[level === 'warn' || level === 'error' || level === 'info' ? level : 'debug'];
  f.call(console, `[p2pcache] ${msg}`, ...rest);
}

/** A log(level, msg, ...data) that calls fn (if any) and swallows what it throws. */
export function makeLog(fn) {
  if (typeof fn !== 'function') return () => {};
  return (level, msg, ...rest) => {
    try {
      fn(level, msg, ...rest);
    } catch {
      // a logger must not break the client
    }
  };
}

/** Call a progress callback (if any) with ev; what it throws is logged, not propagated. */
export function progress(cb, ev, log) {
  if (!cb) return;
  try {
    cb(ev);
  } catch (e) {
    log('warn', 'onProgress threw', e);
  }
}
