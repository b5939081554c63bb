// Paths (PROTOCOL.md §2: "paths are origin-relative and must already be
// clean"). The SDK refuses, never repairs, exactly as the relay does.

import { utf8Length } from './bytes.js';
import { P2PCacheError } from './errors.js';
import { MAX_PATH_LEN } from './protocol.js';

function badPath(p, why) {
  return new P2PCacheError('bad_path', `p2pcache: bad path ${JSON.stringify(String(p))}: ${why}`, { path: String(p) });
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The clean origin-relative form of a path: '/images/cat.jpg' → 'images/cat.jpg'.
 * Like the relay, it refuses rather than repairs: '..', '.', empty segments,
 * backslashes, '%', '?', '#', control characters, schemes and paths over 1024
 * UTF-8 bytes throw a P2PCacheError with code 'bad_path'.
 */
export function normalizePath(p) {
  if (typeof p !== 'string') throw badPath(p, 'not a string');
  let s = p.startsWith('/') ? p.slice(1) : p;
  if (s === '') throw badPath(p, 'empty');
  if (s.startsWith('/')) throw badPath(p, 'starts with //');
  if (LONE_SURROGATE.test(s)) throw badPath(p, 'not valid Unicode');
  if (utf8Length(s) > MAX_PATH_LEN) throw badPath(p, `longer than ${MAX_PATH_LEN} bytes`);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw badPath(p, `control character 0x${c.toString(16).padStart(2, '0')}`);
    if (c === 0x5c) throw badPath(p, 'backslash');
    if (c === 0x25) throw badPath(p, "percent-escape (pass the decoded path)");
    if (c === 0x3f || c === 0x23) throw badPath(p, 'query or fragment');
  }
  const segs = s.split('/');
  if (segs[0].includes(':')) throw badPath(p, 'a scheme or host is not allowed, only a path');
  for (const seg of segs) {
    if (seg === '..') throw badPath(p, "'..' segments are not allowed");
    if (seg === '.') throw badPath(p, "'.' segments are not allowed");
    if (seg === '') throw badPath(p, 'empty segment');
  }
  return s;
}

/** A clean path as a URL path: each segment percent-encoded. */
export function encodePathForURL(clean) {
  return clean.split('/').map(encodeURIComponent).join('/');
}
