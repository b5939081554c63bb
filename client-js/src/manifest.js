// Manifest (PROTOCOL.md §3): parse and validate the JSON that names a
// file's chunks and hashes.

import { isHash, strictUTF8, toBytes } from './bytes.js';
import { P2PCacheError } from './errors.js';
import { normalizePath } from './paths.js';
import { MAX_CHUNK_SIZE } from './protocol.js';

function badManifest(why) {
  return new P2PCacheError('bad_manifest', `p2pcache: bad manifest: ${why}`);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * Whether s is an RFC 3339 date-time (2026-01-01T00:00:00Z,
 * 2026-01-01T02:00:00.5+02:00), with every field in range, as the relay
 * reads lastModified (Go's time.Time).
 */
function isRFC3339(s) {
  const t = typeof s === 'string' && RFC3339.exec(s);
  if (!t) return false;
  const [year, month, day, hour, min, sec] = t.slice(1, 7).map(Number);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  const zh = t[7] === undefined ? 0 : Number(t[7]);
  const zm = t[8] === undefined ? 0 : Number(t[8]);
  return month >= 1 && month <= 12 && day >= 1 && day <= days && hour <= 23 && min <= 59 && sec <= 59 && zh <= 23 && zm <= 59;
}

/**
 * Parse and validate a manifest (JSON text, UTF-8 bytes, or an already
 * parsed object). Returns a frozen object with the fields of PROTOCOL.md §3.
 * With expectedPath, the manifest must be for that (clean) path. Throws a
 * P2PCacheError with code 'bad_manifest'.
 */
export function parseManifest(input, expectedPath) {
  let m = input;
  if (typeof input === 'string' || input instanceof ArrayBuffer || ArrayBuffer.isView(input)) {
    let text = input;
    if (typeof input !== 'string') {
      try {
        text = strictUTF8.decode(toBytes(input));
      } catch {
        throw badManifest('not UTF-8');
      }
    }
    try {
      m = JSON.parse(text);
    } catch (e) {
      throw badManifest(`not JSON: ${e.message}`);
    }
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw badManifest('not a JSON object');
  if (m.v !== 1) throw badManifest(`version ${JSON.stringify(m.v)}, want 1`);
  if (typeof m.path !== 'string') throw badManifest('no path');
  let clean;
  try {
    clean = normalizePath(m.path);
  } catch {
    clean = null;
  }
  if (clean !== m.path) throw badManifest(`path ${JSON.stringify(m.path)} is not clean`);
  if (expectedPath !== undefined && m.path !== expectedPath) {
    throw badManifest(`manifest is for ${JSON.stringify(m.path)}, asked for ${JSON.stringify(expectedPath)}`);
  }
  if (!Number.isSafeInteger(m.size) || m.size < 0) throw badManifest(`size ${JSON.stringify(m.size)} is not a non-negative integer`);
  if (!Number.isInteger(m.chunkSize) || m.chunkSize < 1 || m.chunkSize > MAX_CHUNK_SIZE) {
    throw badManifest(`chunk size ${JSON.stringify(m.chunkSize)} not in 1..${MAX_CHUNK_SIZE}`);
  }
  if (m.contentType != null && typeof m.contentType !== 'string') throw badManifest('contentType is not a string');
  if (!isHash(m.sha256)) throw badManifest('sha256 is not 64 lowercase hex digits');
  if (m.etag !== `"${m.sha256}"`) throw badManifest(`etag ${JSON.stringify(m.etag)} does not match sha256`);
  if (m.lastModified != null && !isRFC3339(m.lastModified)) {
    throw badManifest(`lastModified ${JSON.stringify(m.lastModified)} is not an RFC 3339 time`);
  }
  const chunks = m.chunks ?? []; // null: none (an empty file), as the relay's JSON decoder reads it
  if (!Array.isArray(chunks)) throw badManifest('chunks is not an array');
  const want = Math.ceil(m.size / m.chunkSize);
  if (chunks.length !== want) {
    throw badManifest(`${chunks.length} chunk hashes for size ${m.size} and chunk size ${m.chunkSize}, want ${want}`);
  }
  for (let i = 0; i < chunks.length; i++) {
    if (!isHash(chunks[i])) throw badManifest(`chunk ${i} hash is not 64 lowercase hex digits`);
  }
  const out = {
    v: 1,
    path: m.path,
    size: m.size,
    contentType: m.contentType ?? '',
    etag: m.etag,
    chunkSize: m.chunkSize,
    sha256: m.sha256,
    chunks: Object.freeze(chunks.slice()),
  };
  if (m.lastModified != null) out.lastModified = m.lastModified;
  return Object.freeze(out);
}

/** Where chunk i starts in the file. */
export function chunkOffset(m, i) {
  return i * m.chunkSize;
}

/** Length of chunk i: chunkSize, except maybe the last; 0 out of range. */
export function chunkLength(m, i) {
  if (!Number.isInteger(i) || i < 0 || i >= m.chunks.length) return 0;
  return Math.min(m.chunkSize, m.size - i * m.chunkSize);
}
