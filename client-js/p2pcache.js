// p2pcache.js: the browser SDK of the p2pcache relay.
//
// A plain ES module with no dependencies and no build step. It fetches static
// files from the relay over a WebRTC data channel carried by ICE-TCP, falls
// back to the same wire frames over the signaling WebSocket, then to plain
// HTTP, and verifies every byte against the file's manifest (SHA-256 per
// chunk and for the whole file) before handing it to the page.
//
// The wire and signaling contract is PROTOCOL.md (version 1) in the
// repository; the section names below follow it.
//
//   import { connect } from 'https://relay.example/p2pcache.js';
//   const client = await connect({ token });
//   const res = await client.fetch('/images/cat.jpg', { onProgress });
//
// Everything above the "Client" section is pure (no DOM, no network) and is
// exported so it can be tested under node.

export const VERSION = '0.1.0';

// ---------------------------------------------------------------------------
// Constants (PROTOCOL.md §2)

export const WIRE_VERSION = 1;
export const HEADER_LEN = 8;
/** Largest frame, header included. */
export const MAX_MESSAGE_SIZE = 65536;
export const MAX_PATH_LEN = 1024;
export const MAX_ERROR_MESSAGE_LEN = 1024;
/** Largest chunk a manifest may describe. */
export const MAX_CHUNK_SIZE = 65536;
/** Largest manifest JSON. */
export const MAX_MANIFEST_LEN = 16 << 20;
export const PING_LEN = 8;
/** Chunk bytes that fit in one CHUNK frame: 65536 - 8 - 12. */
export const MAX_CHUNK_DATA = MAX_MESSAGE_SIZE - HEADER_LEN - 12;
/** Manifest bytes that fit in one MANIFEST frame: 65536 - 8 - 8. */
export const MAX_MANIFEST_DATA = MAX_MESSAGE_SIZE - HEADER_LEN - 8;

export const FrameType = Object.freeze({
  GET_FILE: 0x01,
  GET_MANIFEST: 0x02,
  GET_CHUNK: 0x03,
  CANCEL: 0x04,
  PING: 0x05,
  PONG: 0x06,
  HAVE: 0x07,
  MANIFEST: 0x10,
  CHUNK: 0x11,
  ERROR: 0x12,
});

const FRAME_NAMES = Object.freeze(Object.fromEntries(Object.entries(FrameType).map(([k, v]) => [v, k])));

/** frameTypeName(0x11) === 'CHUNK'. */
export function frameTypeName(t) {
  return FRAME_NAMES[t] ?? `TYPE_0x${(t >>> 0).toString(16).padStart(2, '0')}`;
}

export const ErrorCode = Object.freeze({
  BAD_REQUEST: 1,
  NOT_FOUND: 2,
  ORIGIN_ERROR: 3,
  STALE: 4,
  TOO_LARGE: 5,
  BUSY: 6,
  FORBIDDEN: 7,
  INTERNAL: 8,
  CANCELLED: 9,
  UNSUPPORTED: 10,
  UNKNOWN_CHUNK: 11,
  BAD_PATH: 12,
});

const ERROR_NAMES = Object.freeze({
  1: 'bad_request',
  2: 'not_found',
  3: 'origin_error',
  4: 'stale',
  5: 'too_large',
  6: 'busy',
  7: 'forbidden',
  8: 'internal',
  9: 'cancelled',
  10: 'unsupported',
  11: 'unknown_chunk',
  12: 'bad_path',
});

/** errorName(4) === 'stale'; unknown codes are 'code_<n>'. */
export function errorName(code) {
  return ERROR_NAMES[code] ?? `code_${code}`;
}

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
});

/**
 * The one error class the SDK rejects with. `code` is a stable string:
 * the ERROR frame names of PROTOCOL.md (not_found, forbidden, too_large,
 * bad_path, origin_error, stale, busy, ...) plus the SDK's own:
 * verify_failed, timeout, disconnected, closed, aborted, network,
 * http_error, protocol, bad_frame, unknown_type, bad_version, bad_manifest,
 * bad_option. `status` is the HTTP-like status (404 for not_found, ...,
 * or the real status of an HTTP fallback), 0 when none applies.
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

// ---------------------------------------------------------------------------
// Bytes and hex

const te = new TextEncoder();
const tdFatal = new TextDecoder('utf-8', { fatal: true });

function toBytes(input) {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError('expected an ArrayBuffer or a typed array');
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lowercase hex of bytes. */
export function toHex(bytes) {
  const b = toBytes(bytes);
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]];
  return s;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** True for exactly 64 lowercase hex digits (the only spelling PROTOCOL.md allows). */
export function isHash(s) {
  return typeof s === 'string' && HEX64.test(s);
}

/** Bytes of a lowercase hex string. */
export function fromHex(hex) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) {
    throw new TypeError('not lowercase hex');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

// ---------------------------------------------------------------------------
// SHA-256. crypto.subtle exists only in secure contexts (https, localhost);
// a relay reached over plain http from another host gets the pure-JS one.

const K256 = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

function sha256Blocks(H, W, d, off, end) {
  let h0 = H[0], h1 = H[1], h2 = H[2], h3 = H[3], h4 = H[4], h5 = H[5], h6 = H[6], h7 = H[7];
  for (; off < end; off += 64) {
    for (let t = 0; t < 16; t++) {
      const o = off + t * 4;
      W[t] = (d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3];
    }
    for (let t = 16; t < 64; t++) {
      const w15 = W[t - 15], w2 = W[t - 2];
      const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
      const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
      W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
    }
    let a = h0, b = h1, c = h2, e = h4, f = h5, g = h6, h = h7, dd = h3;
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (h + S1 + ch + K256[t] + W[t]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      h = g; g = f; f = e; e = (dd + t1) | 0; dd = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + dd) | 0;
    h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + h) | 0;
  }
  H[0] = h0; H[1] = h1; H[2] = h2; H[3] = h3; H[4] = h4; H[5] = h5; H[6] = h6; H[7] = h7;
}

/** Pure-JS SHA-256 of bytes: a 32-byte Uint8Array. */
export function sha256Sync(input) {
  const d = toBytes(input);
  const H = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const W = new Uint32Array(64);
  const full = d.length - (d.length % 64);
  sha256Blocks(H, W, d, 0, full);
  const rest = d.length - full;
  const tail = new Uint8Array(rest < 56 ? 64 : 128);
  tail.set(d.subarray(full));
  tail[rest] = 0x80;
  const bits = d.length * 8;
  const dv = new DataView(tail.buffer);
  dv.setUint32(tail.length - 8, Math.floor(bits / 0x100000000));
  dv.setUint32(tail.length - 4, bits >>> 0);
  sha256Blocks(H, W, tail, 0, tail.length);
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setUint32(i * 4, H[i]);
  return out;
}

/** Whether crypto.subtle is usable here (false in insecure browser contexts). */
export function hasSubtle() {
  return typeof globalThis.crypto?.subtle?.digest === 'function';
}

/** SHA-256 of bytes as 64 lowercase hex digits; crypto.subtle when available. */
export async function sha256Hex(input) {
  const d = toBytes(input);
  if (hasSubtle()) {
    try {
      return toHex(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', d)));
    } catch {
      // fall through to the JS implementation (e.g. a detached or shared buffer)
    }
  }
  return toHex(sha256Sync(d));
}

// ---------------------------------------------------------------------------
// Paths (PROTOCOL.md §2: "paths are origin-relative and must already be clean")

function badPath(p, why) {
  return new P2PCacheError('bad_path', `p2pcache: bad path ${JSON.stringify(String(p))}: ${why}`, { path: String(p) });
}

function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) { n += 4; i++; }
    else n += 3;
  }
  return n;
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

// ---------------------------------------------------------------------------
// Wire frames (PROTOCOL.md §2)

function frameErr(code, msg, type, id) {
  const name = type !== undefined ? frameTypeName(type) + ': ' : '';
  return new FrameError(code, `p2pcache: bad frame: ${name}${msg}`, type, id);
}

function u32ok(n) {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

function hashBytes(h, type) {
  if (typeof h === 'string') {
    if (!isHash(h)) throw frameErr('bad_frame', 'hash is not 64 lowercase hex digits', type);
    return fromHex(h);
  }
  const b = toBytes(h);
  if (b.length !== 32) throw frameErr('bad_frame', `hash is ${b.length} bytes, want 32`, type);
  return b;
}

/**
 * Encode one frame object to a Uint8Array. The object has `type` and `id`
 * plus the fields of its type: path (GET_FILE, GET_MANIFEST, GET_CHUNK,
 * HAVE); index, hash (GET_CHUNK: 32 bytes or 64 hex digits); hash, count,
 * bitmap (HAVE: the file's whole-file hash, its chunk count, one bit per
 * chunk); data (PING, PONG, MANIFEST, CHUNK); total, offset (MANIFEST,
 * CHUNK); code, message (ERROR). Throws a FrameError for anything that
 * would not decode.
 */
export function encodeFrame(f) {
  const { type } = f;
  const id = f.id ?? 0;
  if (!u32ok(id)) throw frameErr('bad_frame', `id ${id} is not a u32`, type);
  let body; // array of Uint8Array parts, after the fixed fields
  let fixed = 0;
  let path, hash, data, msg, bitmap;
  switch (type) {
    case FrameType.GET_FILE:
    case FrameType.GET_MANIFEST:
    case FrameType.GET_CHUNK: {
      path = te.encode(f.path ?? '');
      if (type !== FrameType.GET_CHUNK && path.length === 0) throw frameErr('bad_frame', 'empty path', type);
      if (path.length > MAX_PATH_LEN) throw frameErr('bad_frame', `path longer than ${MAX_PATH_LEN} bytes`, type);
      if (type === FrameType.GET_CHUNK) {
        if (!u32ok(f.index)) throw frameErr('bad_frame', 'index is not a u32', type);
        hash = hashBytes(f.hash, type);
        fixed = 36;
      }
      body = path;
      break;
    }
    case FrameType.HAVE: {
      path = te.encode(f.path ?? '');
      if (path.length === 0) throw frameErr('bad_frame', 'empty path', type);
      if (path.length > MAX_PATH_LEN) throw frameErr('bad_frame', `path longer than ${MAX_PATH_LEN} bytes`, type);
      hash = hashBytes(f.hash, type);
      if (!u32ok(f.count)) throw frameErr('bad_frame', 'count is not a u32', type);
      bitmap = toBytes(f.bitmap ?? new Uint8Array(0));
      checkBitmap(bitmap, f.count, type, id);
      fixed = 36 + bitmap.length;
      body = path;
      break;
    }
    case FrameType.CANCEL:
      body = new Uint8Array(0);
      break;
    case FrameType.PING:
    case FrameType.PONG:
      data = toBytes(f.data ?? new Uint8Array(0));
      if (data.length !== PING_LEN) throw frameErr('bad_frame', `payload is ${data.length} bytes, want ${PING_LEN}`, type);
      body = data;
      break;
    case FrameType.MANIFEST:
    case FrameType.CHUNK: {
      data = toBytes(f.data ?? new Uint8Array(0));
      const isChunk = type === FrameType.CHUNK;
      const maxTotal = isChunk ? MAX_CHUNK_SIZE : MAX_MANIFEST_LEN;
      const maxData = isChunk ? MAX_CHUNK_DATA : MAX_MANIFEST_DATA;
      if (isChunk && !u32ok(f.index)) throw frameErr('bad_frame', 'index is not a u32', type);
      if (!u32ok(f.total) || f.total > maxTotal) throw frameErr('bad_frame', `length ${f.total} over ${maxTotal}`, type);
      if (!u32ok(f.offset)) throw frameErr('bad_frame', 'offset is not a u32', type);
      if (data.length > maxData || f.offset + data.length > f.total) {
        throw frameErr('bad_frame', `fragment ${f.offset}+${data.length} outside length ${f.total}`, type);
      }
      fixed = isChunk ? 12 : 8;
      body = data;
      break;
    }
    case FrameType.ERROR:
      msg = te.encode(f.message ?? '');
      if (!Number.isInteger(f.code) || f.code < 0 || f.code > 0xffff) throw frameErr('bad_frame', 'code is not a u16', type);
      if (msg.length > MAX_ERROR_MESSAGE_LEN) throw frameErr('bad_frame', `message over ${MAX_ERROR_MESSAGE_LEN} bytes`, type);
      fixed = 2;
      body = msg;
      break;
    default:
      throw frameErr('unknown_type', `type ${type} is unknown`, undefined, id);
  }
  const out = new Uint8Array(HEADER_LEN + fixed + body.length);
  const dv = new DataView(out.buffer);
  out[0] = WIRE_VERSION;
  out[1] = type;
  dv.setUint32(4, id);
  let o = HEADER_LEN;
  if (type === FrameType.GET_CHUNK) {
    dv.setUint32(o, f.index);
    out.set(hash, o + 4);
  } else if (type === FrameType.MANIFEST) {
    dv.setUint32(o, f.total);
    dv.setUint32(o + 4, f.offset);
  } else if (type === FrameType.CHUNK) {
    dv.setUint32(o, f.index);
    dv.setUint32(o + 4, f.total);
    dv.setUint32(o + 8, f.offset);
  } else if (type === FrameType.ERROR) {
    dv.setUint16(o, f.code);
  } else if (type === FrameType.HAVE) {
    out.set(hash, o);
    dv.setUint32(o + 32, f.count);
    out.set(bitmap, o + 36);
  }
  out.set(body, o + fixed);
  return out;
}

/** A HAVE bitmap must be ceil(count/8) bytes with no bit set past chunk count-1. */
function checkBitmap(bitmap, count, type, id) {
  const want = Math.ceil(count / 8);
  if (bitmap.length !== want) throw frameErr('bad_frame', `bitmap is ${bitmap.length} bytes for ${count} chunks`, type, id);
  const rest = count % 8;
  if (rest !== 0 && bitmap[want - 1] >> rest !== 0) throw frameErr('bad_frame', `bits set past chunk ${count}`, type, id);
}

/**
 * The bitmap of a HAVE frame for a file's chunk hashes: bit i (bit i%8 of
 * byte i/8, least significant first) is set when holds(chunks[i]) is true.
 */
export function haveBitmap(chunks, holds) {
  const out = new Uint8Array(Math.ceil(chunks.length / 8));
  for (let i = 0; i < chunks.length; i++) if (holds(chunks[i])) out[i >> 3] |= 1 << (i & 7);
  return out;
}

/** Fast path for the send side of CHUNK frames: header + data in one buffer. */
function encodeChunkFrame(id, index, total, offset, data) {
  const out = new Uint8Array(HEADER_LEN + 12 + data.length);
  const dv = new DataView(out.buffer);
  out[0] = WIRE_VERSION;
  out[1] = FrameType.CHUNK;
  dv.setUint32(4, id);
  dv.setUint32(8, index);
  dv.setUint32(12, total);
  dv.setUint32(16, offset);
  out.set(data, 20);
  return out;
}

function decodeUTF8(bytes, what, type, id) {
  try {
    return tdFatal.decode(bytes);
  } catch {
    throw frameErr('bad_frame', `${what} is not UTF-8`, type, id);
  }
}

/**
 * Decode one message (ArrayBuffer or typed array) into a frame object.
 * `data`, `hash` and `bitmap` alias the input. Throws a FrameError with code
 * 'bad_frame', 'unknown_type' or 'bad_version'; when the header was readable
 * the error carries `type` and `id`, so a request can be answered with ERROR.
 */
export function decodeFrame(input) {
  const b = toBytes(input);
  if (b.length < HEADER_LEN) throw frameErr('bad_frame', `${b.length} bytes, shorter than the ${HEADER_LEN}-byte header`);
  if (b.length > MAX_MESSAGE_SIZE) throw frameErr('bad_frame', `${b.length} bytes, over ${MAX_MESSAGE_SIZE}`);
  if (b[0] !== WIRE_VERSION) throw frameErr('bad_version', `version ${b[0]}, want ${WIRE_VERSION}`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const type = b[1];
  const id = dv.getUint32(4);
  if (b[2] !== 0 || b[3] !== 0) throw frameErr('bad_frame', 'reserved flags set', type, id);
  const body = b.subarray(HEADER_LEN);
  const need = (n) => {
    if (body.length < n) throw frameErr('bad_frame', `body is ${body.length} bytes, want at least ${n}`, type, id);
  };
  const f = { type, id };
  switch (type) {
    case FrameType.GET_FILE:
    case FrameType.GET_MANIFEST:
      if (body.length === 0) throw frameErr('bad_frame', 'empty path', type, id);
      if (body.length > MAX_PATH_LEN) throw frameErr('bad_frame', `path longer than ${MAX_PATH_LEN} bytes`, type, id);
      f.path = decodeUTF8(body, 'path', type, id);
      break;
    case FrameType.GET_CHUNK:
      need(36);
      if (body.length - 36 > MAX_PATH_LEN) throw frameErr('bad_frame', `path longer than ${MAX_PATH_LEN} bytes`, type, id);
      f.index = dv.getUint32(HEADER_LEN);
      f.hash = body.subarray(4, 36);
      f.path = decodeUTF8(body.subarray(36), 'path', type, id);
      break;
    case FrameType.HAVE: {
      need(36);
      f.hash = body.subarray(0, 32);
      f.count = dv.getUint32(HEADER_LEN + 32);
      const n = Math.ceil(f.count / 8);
      if (body.length - 36 < n) {
        throw frameErr('bad_frame', `bitmap for ${f.count} chunks needs ${n} bytes, body has ${body.length - 36}`, type, id);
      }
      f.bitmap = body.subarray(36, 36 + n);
      const p = body.subarray(36 + n);
      if (p.length === 0) throw frameErr('bad_frame', 'empty path', type, id);
      checkBitmap(f.bitmap, f.count, type, id);
      if (p.length > MAX_PATH_LEN) throw frameErr('bad_frame', `path longer than ${MAX_PATH_LEN} bytes`, type, id);
      f.path = decodeUTF8(p, 'path', type, id);
      break;
    }
    case FrameType.CANCEL:
      if (body.length !== 0) throw frameErr('bad_frame', `CANCEL has a ${body.length}-byte body`, type, id);
      break;
    case FrameType.PING:
    case FrameType.PONG:
      if (body.length !== PING_LEN) throw frameErr('bad_frame', `payload is ${body.length} bytes, want ${PING_LEN}`, type, id);
      f.data = body;
      break;
    case FrameType.MANIFEST:
      need(8);
      f.total = dv.getUint32(HEADER_LEN);
      f.offset = dv.getUint32(HEADER_LEN + 4);
      f.data = body.subarray(8);
      if (f.total > MAX_MANIFEST_LEN) throw frameErr('bad_frame', `manifest length ${f.total} over ${MAX_MANIFEST_LEN}`, type, id);
      if (f.offset + f.data.length > f.total) {
        throw frameErr('bad_frame', `fragment ${f.offset}+${f.data.length} outside length ${f.total}`, type, id);
      }
      break;
    case FrameType.CHUNK:
      need(12);
      f.index = dv.getUint32(HEADER_LEN);
      f.total = dv.getUint32(HEADER_LEN + 4);
      f.offset = dv.getUint32(HEADER_LEN + 8);
      f.data = body.subarray(12);
      if (f.total > MAX_CHUNK_SIZE) throw frameErr('bad_frame', `chunk length ${f.total} over ${MAX_CHUNK_SIZE}`, type, id);
      if (f.offset + f.data.length > f.total) {
        throw frameErr('bad_frame', `fragment ${f.offset}+${f.data.length} outside length ${f.total}`, type, id);
      }
      break;
    case FrameType.ERROR:
      need(2);
      f.code = dv.getUint16(HEADER_LEN);
      if (body.length - 2 > MAX_ERROR_MESSAGE_LEN) throw frameErr('bad_frame', `message over ${MAX_ERROR_MESSAGE_LEN} bytes`, type, id);
      f.message = decodeUTF8(body.subarray(2), 'message', type, id);
      break;
    default:
      throw frameErr('unknown_type', `type 0x${type.toString(16).padStart(2, '0')} is unknown`, type, id);
  }
  return f;
}

/** Request types (0x01–0x0f) are answered by the receiver; answers (0x10–) are not. */
export function isRequestType(t) {
  return t >= 0x01 && t <= 0x0f;
}

/**
 * Split a chunk into CHUNK frames of at most maxData bytes each (default
 * 65516, the most that fits a 65536-byte frame).
 */
export function chunkFrames(id, index, bytes, maxData = MAX_CHUNK_DATA) {
  const b = toBytes(bytes);
  const step = Math.max(1, Math.min(maxData, MAX_CHUNK_DATA));
  const out = [];
  let off = 0;
  do {
    const n = Math.min(step, b.length - off);
    out.push(encodeChunkFrame(id, index, b.length, off, b.subarray(off, off + n)));
    off += n;
  } while (off < b.length);
  return out;
}

/** Split manifest JSON bytes into MANIFEST frames. */
export function manifestFrames(id, bytes) {
  const b = toBytes(bytes);
  const out = [];
  let off = 0;
  do {
    const n = Math.min(MAX_MANIFEST_DATA, b.length - off);
    out.push(encodeFrame({ type: FrameType.MANIFEST, id, total: b.length, offset: off, data: b.subarray(off, off + n) }));
    off += n;
  } while (off < b.length);
  return out;
}

// ---------------------------------------------------------------------------
// Fragment assembly

/**
 * Reassembles one MANIFEST or CHUNK from fragments that may arrive in any
 * order. Every fragment must state the same total; a fragment outside it
 * throws. Complete once every byte of [0, total) has arrived.
 */
export class FragmentBuffer {
  constructor(total, max = MAX_CHUNK_SIZE) {
    if (!Number.isInteger(total) || total < 0 || total > max) {
      throw new FrameError('bad_frame', `p2pcache: bad frame: length ${total} not in 0..${max}`);
    }
    this.total = total;
    this.bytes = new Uint8Array(total);
    this.received = 0;
    this.fragments = 0;
    this._ranges = []; // sorted, disjoint, non-adjacent [start, end)
  }

  /** Place one fragment; returns whether the whole is now complete. */
  add(offset, data, total = this.total) {
    const d = toBytes(data);
    if (total !== this.total) {
      throw new FrameError('bad_frame', `p2pcache: bad frame: fragment says length ${total}, earlier ones said ${this.total}`);
    }
    if (!Number.isInteger(offset) || offset < 0 || offset + d.length > this.total) {
      throw new FrameError('bad_frame', `p2pcache: bad frame: fragment ${offset}+${d.length} outside length ${this.total}`);
    }
    this.bytes.set(d, offset);
    this.fragments++;
    if (d.length > 0) this._cover(offset, offset + d.length);
    return this.complete;
  }

  get complete() {
    return this.fragments > 0 && this.received === this.total;
  }

  _cover(s, e) {
    const out = [];
    let placed = false;
    for (const [a, b] of this._ranges) {
      if (b < s) out.push([a, b]);
      else if (a > e) {
        if (!placed) { out.push([s, e]); placed = true; }
        out.push([a, b]);
      } else {
        s = Math.min(s, a);
        e = Math.max(e, b);
      }
    }
    if (!placed) out.push([s, e]);
    this._ranges = out;
    this.received = out.reduce((n, [a, b]) => n + (b - a), 0);
  }
}

// ---------------------------------------------------------------------------
// Manifest (PROTOCOL.md §3)

function badManifest(why) {
  return new P2PCacheError('bad_manifest', `p2pcache: bad manifest: ${why}`);
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
        text = tdFatal.decode(toBytes(input));
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
  if (m.contentType !== undefined && typeof m.contentType !== 'string') throw badManifest('contentType is not a string');
  if (!isHash(m.sha256)) throw badManifest('sha256 is not 64 lowercase hex digits');
  if (m.etag !== `"${m.sha256}"`) throw badManifest(`etag ${JSON.stringify(m.etag)} does not match sha256`);
  if (m.lastModified !== undefined && typeof m.lastModified !== 'string') throw badManifest('lastModified is not a string');
  if (!Array.isArray(m.chunks)) throw badManifest('chunks is not an array');
  const want = Math.ceil(m.size / m.chunkSize);
  if (m.chunks.length !== want) {
    throw badManifest(`${m.chunks.length} chunk hashes for size ${m.size} and chunk size ${m.chunkSize}, want ${want}`);
  }
  for (let i = 0; i < m.chunks.length; i++) {
    if (!isHash(m.chunks[i])) throw badManifest(`chunk ${i} hash is not 64 lowercase hex digits`);
  }
  const out = {
    v: 1,
    path: m.path,
    size: m.size,
    contentType: m.contentType ?? '',
    etag: m.etag,
    chunkSize: m.chunkSize,
    sha256: m.sha256,
    chunks: Object.freeze(m.chunks.slice()),
  };
  if (m.lastModified !== undefined) out.lastModified = m.lastModified;
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

// ---------------------------------------------------------------------------
// Byte-bounded LRU of verified chunks, keyed by hash

/**
 * A least-recently-used map whose values' total byteLength never exceeds
 * maxBytes. onEvict(key, value), if given, is called for every entry pushed
 * out to make room (not for delete() or clear()).
 */
export class ByteLRU {
  constructor(maxBytes, onEvict = null) {
    this.maxBytes = Math.max(0, Math.floor(Number(maxBytes) || 0));
    this.bytes = 0;
    this.evictions = 0;
    this._m = new Map();
    this._onEvict = typeof onEvict === 'function' ? onEvict : null;
  }

  get size() {
    return this._m.size;
  }

  has(key) {
    return this._m.has(key);
  }

  /** Value for key, marking it most recently used. */
  get(key) {
    const v = this._m.get(key);
    if (v !== undefined) {
      this._m.delete(key);
      this._m.set(key, v);
    }
    return v;
  }

  /** Value without touching recency. */
  peek(key) {
    return this._m.get(key);
  }

  /**
   * Store value (a typed array) under key, evicting least recently used
   * entries to stay within maxBytes. A value larger than maxBytes is not
   * stored. A present key is only touched: content is named by its hash.
   * Returns whether the key is now present.
   */
  set(key, value) {
    if (this._m.has(key)) {
      this.get(key);
      return true;
    }
    const n = value.byteLength;
    if (n > this.maxBytes) return false;
    while (this.bytes + n > this.maxBytes && this._m.size > 0) {
      const [k, v] = this._m.entries().next().value;
      this._m.delete(k);
      this.bytes -= v.byteLength;
      this.evictions++;
      if (this._onEvict) this._onEvict(k, v);
    }
    this._m.set(key, value);
    this.bytes += n;
    return true;
  }

  delete(key) {
    const v = this._m.get(key);
    if (v === undefined) return false;
    this._m.delete(key);
    this.bytes -= v.byteLength;
    return true;
  }

  clear() {
    this._m.clear();
    this.bytes = 0;
  }

  keys() {
    return this._m.keys();
  }
}

// ---------------------------------------------------------------------------
// Backoff and small helpers

/**
 * Delay before reconnect attempt n (0-based): base·2ⁿ capped at max, with
 * jitter in [half, full] of that.
 */
export function backoffDelay(n, { base = 250, max = 8000, random = Math.random } = {}) {
  const d = Math.min(max, base * 2 ** Math.min(n, 30));
  return Math.round(d / 2 + (random() * d) / 2);
}

const now = () => (globalThis.performance?.now ? globalThis.performance.now() : Date.now());

function abortError(signal) {
  return new P2PCacheError('aborted', 'p2pcache: fetch aborted', { cause: signal?.reason });
}

function sleep(ms, signal) {
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

// ---------------------------------------------------------------------------
// Verified transfer of one file's chunks

/** How many times a chunk that failed verification is fetched again before giving up. */
export const VERIFY_RETRIES = 1;

/**
 * Fetch every chunk of manifest m, verify each against its hash and the
 * whole against m.sha256, and return the file's bytes. Pure: the transport
 * is the getChunk callback. Bytes that fail verification are never placed
 * in the result nor passed to onChunk or localPut.
 *
 * opts:
 *   getChunk(index, hashHex, signal) → Promise<{ bytes: Uint8Array, source: string }>
 *   localGet(hashHex) → Uint8Array | undefined   (verified chunks held locally)
 *   localPut(hashHex, bytes)                     (called with verified chunks)
 *   onChunk({ index, length, source })           (after a chunk is verified and placed)
 *   onVerifyFailure({ index, expected, actual, attempt, source })  (index -1: whole file)
 *   maxInFlight (8), busyRetries (6), busyBaseMs (100), signal, hash (sha256Hex)
 *
 * Throws P2PCacheError 'verify_failed' when a chunk fails VERIFY_RETRIES+1
 * times or the whole file does not match; any error of getChunk otherwise
 * (after retrying 'busy' with backoff). On a throw, chunk requests still in
 * flight are aborted through their signal.
 */
export async function transferChunks(m, opts) {
  const {
    getChunk,
    localGet = () => undefined,
    localPut = () => {},
    onChunk = () => {},
    onVerifyFailure = () => {},
    maxInFlight = 8,
    busyRetries = 6,
    busyBaseMs = 100,
    signal,
    hash = sha256Hex,
  } = opts;
  const n = m.chunks.length;
  const out = new Uint8Array(m.size);
  const ctrl = new AbortController();
  const onOuterAbort = () => ctrl.abort(signal.reason);
  if (signal) {
    if (signal.aborted) throw abortError(signal);
    signal.addEventListener('abort', onOuterAbort, { once: true });
  }
  let next = 0;
  let failed = null;

  const one = async (i) => {
    const expected = m.chunks[i];
    const len = chunkLength(m, i);
    const off = chunkOffset(m, i);
    const local = localGet(expected);
    if (local && local.byteLength === len) {
      out.set(local, off);
      onChunk({ index: i, length: len, source: 'local' });
      return;
    }
    let busy = 0;
    for (let attempt = 0; ; ) {
      if (failed) throw failed;
      let got;
      try {
        got = await getChunk(i, expected, ctrl.signal);
      } catch (e) {
        if (e?.code === 'busy' && busy < busyRetries && !ctrl.signal.aborted) {
          await sleep(backoffDelay(busy++, { base: busyBaseMs, max: 4000 }), ctrl.signal);
          continue;
        }
        throw e;
      }
      const bytes = toBytes(got.bytes);
      const actual = bytes.length === len ? await hash(bytes) : `length ${bytes.length}, want ${len}`;
      if (actual === expected) {
        out.set(bytes, off);
        localPut(expected, bytes);
        onChunk({ index: i, length: len, source: got.source ?? 'relay' });
        return;
      }
      onVerifyFailure({ index: i, expected, actual, attempt, source: got.source ?? 'relay' });
      if (attempt >= VERIFY_RETRIES) {
        throw new P2PCacheError(
          'verify_failed',
          `p2pcache: chunk ${i} of ${m.path} failed verification ${attempt + 1} times`,
          { path: m.path },
        );
      }
      attempt++;
    }
  };

  const worker = async () => {
    while (!failed && next < n) {
      const i = next++;
      try {
        await one(i);
      } catch (e) {
        if (!failed) {
          failed = e;
          ctrl.abort(e);
        }
        throw failed;
      }
    }
  };

  try {
    const workers = [];
    for (let w = 0; w < Math.min(Math.max(1, maxInFlight), n); w++) workers.push(worker());
    const results = await Promise.allSettled(workers);
    if (failed) throw failed;
    const bad = results.find((r) => r.status === 'rejected');
    if (bad) throw bad.reason;
  } finally {
    signal?.removeEventListener('abort', onOuterAbort);
  }
  if (signal?.aborted) throw abortError(signal);
  const whole = await hash(out);
  if (whole !== m.sha256) {
    onVerifyFailure({ index: -1, expected: m.sha256, actual: whole, attempt: 0, source: 'file' });
    throw new P2PCacheError('verify_failed', `p2pcache: ${m.path}: whole-file SHA-256 does not match the manifest`, {
      path: m.path,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Client

export const DEFAULTS = Object.freeze({
  timeoutMs: 5000,
  serve: true,
  peerCacheBytes: 64 << 20,
  maxInFlight: 8,
  maxRequests: 24,
  requestTimeoutMs: 15000,
  retryWindowMs: 10000,
  pingIntervalMs: 1500,
  idleTimeoutMs: 8000,
  reconnect: true,
  backoffBaseMs: 250,
  backoffMaxMs: 8000,
});

/** Send-side flow control thresholds (bytes buffered in the channel). */
export const BUFFER_HIGH = 1 << 20;
export const BUFFER_LOW = 256 << 10;

/** Peer role: the most files whose chunks the client tracks and announces with HAVE (the relay's own bound is 4096). */
export const MAX_ANNOUNCED_FILES = 1024;
/** Peer role: chunks stored or evicted within this many ms go to the relay in one HAVE per file. */
export const HAVE_DELAY_MS = 250;

const TRANSPORTS = ['webrtc-tcp', 'websocket', 'http'];
const TERMINAL = new Set(['not_found', 'forbidden', 'bad_path', 'too_large', 'aborted', 'closed']);
const RETRY_ON_LINK = new Set(['disconnected', 'timeout']);

function defaultRelay() {
  try {
    const o = new URL(import.meta.url).origin;
    if (o && o !== 'null' && /^https?:/.test(o)) return o;
  } catch {
    // not loaded from a URL with an origin
  }
  return null;
}

function emptySources() {
  return { relay: 0, peer: 0, origin: 0, http: 0, local: 0 };
}

function codeForStatus(status) {
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
 * One outbound channel (data channel or WebSocket) with send-side flow
 * control: non-control frames wait while the channel buffers more than
 * BUFFER_HIGH bytes, and resume below BUFFER_LOW.
 */
class Link {
  constructor(kind, ch, session) {
    this.kind = kind; // 'dc' | 'ws'
    this.ch = ch;
    this.session = session;
    this.queue = []; // { bytes, rid }
    this._timer = null;
    this.open = true;
    this.transport = kind === 'dc' ? 'webrtc-tcp' : 'websocket';
  }

  _raw(bytes) {
    try {
      this.ch.send(bytes);
      return true;
    } catch (e) {
      this.session.client._log('warn', `send on ${this.kind} failed`, e);
      this.session.kill(`send failed on ${this.kind}`);
      return false;
    }
  }

  /** Send now if control (small frames: PING, PONG, CANCEL, requests) or the buffer is low. */
  send(bytes, { control = false, rid } = {}) {
    if (!this.open) return false;
    if (control || (this.queue.length === 0 && (this.ch.bufferedAmount ?? 0) < BUFFER_HIGH)) return this._raw(bytes);
    this.queue.push({ bytes, rid });
    this._schedule();
    return true;
  }

  /** Drop queued frames answering the relay's request rid (CANCEL). */
  cancel(rid) {
    this.queue = this.queue.filter((q) => q.rid !== rid);
  }

  flush() {
    this._timer = null;
    while (this.open && this.queue.length && (this.ch.bufferedAmount ?? 0) < BUFFER_HIGH) {
      if (!this._raw(this.queue.shift().bytes)) return;
    }
    if (this.open && this.queue.length) this._schedule();
  }

  _schedule() {
    // bufferedamountlow (data channel) usually fires first; the timer covers
    // WebSocket, which has no such event, and a missed event.
    if (!this._timer) this._timer = setTimeout(() => this.flush(), this.kind === 'dc' ? 100 : 20);
  }

  close() {
    this.open = false;
    this.queue = [];
    if (this._timer) clearTimeout(this._timer);
    this._timer = null;
  }
}

/**
 * One connection to the relay: the signaling WebSocket and, if it comes up,
 * the WebRTC data channel. The relay drops a peer when either closes, so
 * they live and die together.
 */
class Session {
  constructor(client, n) {
    this.client = client;
    this.n = n;
    this.ws = null;
    this.pc = null;
    this.dc = null;
    this.wsLink = null;
    this.dcLink = null;
    this.hello = null;
    this.dead = false;
    this.lastHeard = now();
    this._answerWaiter = null;
    this._listeners = [];
    this._t0 = now();
    /** Milestones of this connection, in ms since it began (stats().connect). */
    this.times = { ws: null, hello: null, offer: null, answer: null, ice: null, dtls: null, dataChannel: null };
  }

  mark(what) {
    if (this.times[what] === null) this.times[what] = Math.round((now() - this._t0) * 10) / 10;
  }

  link() {
    if (this.dead) return null;
    if (this.dcLink?.open) return this.dcLink;
    if (this.wsLink?.open && this.client._allowWSFrames) return this.wsLink;
    return null;
  }

  _on(target, type, fn) {
    const h = (ev) => {
      try {
        fn(ev);
      } catch (e) {
        this.client._log('error', `p2pcache: ${type} handler failed`, e);
      }
    };
    target.addEventListener(type, h);
    this._listeners.push([target, type, h]);
  }

  sendSignal(msg) {
    try {
      if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify({ v: 1, ...msg }));
    } catch (e) {
      this.client._log('warn', 'signal send failed', e);
    }
  }

  /** Open the WebSocket and wait for hello. Resolves true, or false on failure/timeout. */
  openWS(timeoutMs) {
    const c = this.client;
    return new Promise((resolve) => {
      let settled = false;
      const done = (ok, why) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!ok) {
          c._log('info', `websocket rung failed: ${why}`);
          this.kill(why);
        }
        resolve(ok);
      };
      const timer = setTimeout(() => done(false, `no hello within ${timeoutMs} ms`), timeoutMs);
      let ws;
      try {
        ws = new c._WS(c._wsURL);
      } catch (e) {
        return done(false, `WebSocket: ${e.message}`);
      }
      this.ws = ws;
      try {
        ws.binaryType = 'arraybuffer';
      } catch {
        // some implementations only take it after open
      }
      this._on(ws, 'open', () => this.mark('ws'));
      this._on(ws, 'message', (ev) => {
        this.lastHeard = now();
        const d = ev.data;
        if (typeof d === 'string') {
          const msg = this._parseSignal(d);
          if (!msg) return;
          if (msg.type === 'hello' && !this.hello) {
            this.mark('ws');
            this.mark('hello');
            this.hello = msg;
            this.wsLink = new Link('ws', ws, this);
            done(true);
            c._onSessionUp(this);
            return;
          }
          this._onSignal(msg);
        } else if (this.wsLink) {
          c._onMessage(d, this.wsLink);
        } else if (d instanceof ArrayBuffer || ArrayBuffer.isView(d)) {
          // a frame before hello: answer it on a temporary link
          c._onMessage(d, new Link('ws', ws, this));
        } else if (typeof Blob !== 'undefined' && d instanceof Blob) {
          d.arrayBuffer().then((b) => this.wsLink && c._onMessage(b, this.wsLink), () => {});
        }
      });
      this._on(ws, 'close', (ev) => {
        done(false, `websocket closed (${ev?.code ?? ''})`);
        this.kill(`websocket closed${ev?.code ? ' (' + ev.code + ')' : ''}`);
      });
      this._on(ws, 'error', () => {
        done(false, 'websocket error');
      });
    });
  }

  _parseSignal(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      this.client._log('warn', 'signal: not JSON');
      return null;
    }
    if (!msg || typeof msg !== 'object' || msg.v !== 1 || typeof msg.type !== 'string') {
      this.client._log('warn', 'signal: bad message', msg);
      return null;
    }
    return msg;
  }

  _onSignal(msg) {
    const c = this.client;
    switch (msg.type) {
      case 'answer':
        this.mark('answer');
        if (this._answerWaiter && typeof msg.sdp === 'string') this._answerWaiter(msg.sdp);
        break;
      case 'error': {
        const err = new P2PCacheError(String(msg.code || 'relay_error'), `p2pcache: relay refused: ${msg.code}: ${msg.message ?? ''}`);
        c._log('warn', err.message);
        c._emitError(err);
        if (this._answerWaiter) this._answerWaiter(null);
        break;
      }
      case 'bye':
        this.kill('relay said bye');
        break;
      default:
        c._log('debug', `signal: ignoring ${msg.type}`);
    }
  }

  /** The WebRTC rung: resolves true once the data channel is open. */
  async startWebRTC(timeoutMs) {
    const c = this.client;
    const PC = c._PC;
    if (!PC || this.dead) return false;
    let timer;
    const timeout = new Promise((r) => {
      timer = setTimeout(() => r('timeout'), timeoutMs);
    });
    let pc, dc;
    try {
      pc = new PC({ iceServers: [] });
      this.pc = pc;
      dc = pc.createDataChannel('p2pcache', { negotiated: true, id: 0, ordered: true });
      this.dc = dc;
      dc.binaryType = 'arraybuffer';
      dc.bufferedAmountLowThreshold = BUFFER_LOW;
      const opened = new Promise((resolve) => {
        this._on(dc, 'open', () => {
          this.mark('dataChannel');
          resolve('open');
        });
        this._on(dc, 'close', () => {
          resolve('closed');
          if (this.dcLink) this.kill('data channel closed');
        });
        this._on(pc, 'iceconnectionstatechange', () => {
          if (pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed') this.mark('ice');
        });
        this._on(pc, 'connectionstatechange', () => {
          const s = pc.connectionState;
          if (s === 'connected') this.mark('dtls');
          if (s === 'failed' || s === 'closed') {
            resolve(s);
            if (this.dcLink) this.kill(`peer connection ${s}`);
          }
        });
      });
      this._on(dc, 'message', (ev) => {
        this.lastHeard = now();
        if (this.dcLink) c._onMessage(ev.data, this.dcLink);
      });
      this._on(dc, 'bufferedamountlow', () => this.dcLink?.flush());
      const answer = new Promise((resolve) => {
        this._answerWaiter = resolve;
      });
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      if (this.dead) return false;
      // serve: false tells the relay not to ask this peer for chunks (PROTOCOL.md §1)
      this.sendSignal({ type: 'offer', sdp: pc.localDescription?.sdp ?? offer.sdp, ...(c._serve ? {} : { serve: false }) });
      this.mark('offer');
      const sdp = await Promise.race([answer, timeout]);
      if (sdp === 'timeout' || sdp === null) throw new Error(sdp === null ? 'relay refused the offer' : 'no answer');
      await pc.setRemoteDescription({ type: 'answer', sdp });
      const state = await Promise.race([opened, timeout]);
      if (state !== 'open') throw new Error(`data channel ${state}`);
      if (this.dead) return false;
      this.dcLink = new Link('dc', dc, this);
      return true;
    } catch (e) {
      c._log('info', `webrtc rung failed: ${e?.message ?? e}`);
      this._closePC();
      return false;
    } finally {
      clearTimeout(timer);
      this._answerWaiter = null;
    }
  }

  _closePC() {
    this.dcLink?.close();
    this.dcLink = null;
    try {
      this.dc?.close();
    } catch {
      // already closed
    }
    try {
      this.pc?.close();
    } catch {
      // already closed
    }
    this.dc = null;
    this.pc = null;
  }

  kill(reason) {
    if (this.dead) return;
    this.dead = true;
    this.client._log('info', `session ${this.n} ended: ${reason}`);
    this.wsLink?.close();
    if (this._answerWaiter) this._answerWaiter(null);
    this._closePC();
    if (this.ws) {
      try {
        if (this.ws.readyState === 1) this.ws.send(JSON.stringify({ v: 1, type: 'bye' }));
      } catch {
        // closing anyway
      }
      try {
        this.ws.close();
      } catch {
        // already closed
      }
    }
    for (const [t, type, h] of this._listeners) {
      try {
        t.removeEventListener(type, h);
      } catch {
        // ignore
      }
    }
    this._listeners = [];
    this.client._onSessionDead(this, reason);
  }
}

function mergeSignals(a, b) {
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

const EventTargetBase = globalThis.EventTarget ?? class {
  addEventListener() {}
  removeEventListener() {}
  dispatchEvent() { return true; }
};

/**
 * A connection to one relay. Create it with connect(). Events (EventTarget):
 * 'transport' (detail { transport, previous }), 'verifyfailure' (detail
 * { path, index, expected, actual, attempt, source }), 'error' (detail
 * { error }: non-fatal problems such as a relay refusal).
 *
 * Peer role (unless serve: false): verified chunks stay in a byte-bounded
 * LRU; the client tells the relay which chunks of which file it holds with
 * HAVE frames over the data channel (one per file, batched, again after every
 * reconnect, and again when evictions change what it holds) and answers the
 * relay's GET_CHUNK from that LRU.
 */
export class Client extends EventTargetBase {
  constructor(options = {}) {
    super();
    const o = { ...DEFAULTS, ...options };
    const relay = o.relay ?? defaultRelay();
    if (!relay) {
      throw new P2PCacheError('bad_option', 'p2pcache: no relay URL: pass { relay } (the module was not loaded from an http(s) origin)');
    }
    let u;
    try {
      u = new URL(relay);
    } catch {
      throw new P2PCacheError('bad_option', `p2pcache: relay ${JSON.stringify(relay)} is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new P2PCacheError('bad_option', `p2pcache: relay must be http(s), not ${u.protocol}`);
    }
    this.relay = u.origin + u.pathname.replace(/\/+$/, '');
    this._opts = o;
    this._token = o.token ?? null;
    const ws = new URL(this.relay + '/ws');
    ws.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    if (this._token) ws.searchParams.set('access_token', this._token);
    this._wsURL = ws.toString();
    const transports = o.transports ?? TRANSPORTS;
    this._allowRTC = transports.includes('webrtc-tcp') && o.RTCPeerConnection !== null;
    this._allowWSFrames = transports.includes('websocket');
    // WebRTC needs the WebSocket for signaling even when frames may not use it
    this._allowWS = this._allowWSFrames || this._allowRTC;
    this._WS = o.WebSocket ?? globalThis.WebSocket ?? null;
    this._PC = this._allowRTC ? o.RTCPeerConnection ?? globalThis.RTCPeerConnection ?? null : null;
    this._fetchImpl = o.fetch ?? globalThis.fetch?.bind(globalThis);
    this._timeoutMs = o.timeoutMs;
    this._rtcTimeoutMs = o.webrtcTimeoutMs ?? Math.min(o.timeoutMs, 4000);
    this._logFn = typeof o.log === 'function' ? o.log : o.log === true ? consoleLog : null;
    this._onErrorOpt = typeof o.onError === 'function' ? o.onError : null;

    this._serve = o.serve !== false;
    this._lru = new ByteLRU(o.peerCacheBytes, (h) => this._onChunkEvicted(h));
    this._files = new Map(); // whole-file sha256 → { path, sha256, chunks }, least recently used first
    this._chunkFiles = new Map(); // chunk hash → Set of whole-file sha256 listing it
    this._announced = new Map(); // whole-file sha256 → hex of the bitmap announced on this data channel
    this._haveDirty = new Set(); // whole-file sha256 whose HAVE may be out of date
    this._haveTimer = null;
    this._connectTimes = null;
    this._transport = 'http';
    this._session = null;
    this._sessionN = 0;
    this._connecting = null;
    this._failedAttempts = 0;
    this._backoffN = 0;
    this._rtcFailures = 0;
    this._recovering = false;
    this._reconnectTimer = null;
    this._pingTimer = null;
    this._closed = false;
    this._closeCtrl = new AbortController();
    this._pending = new Map(); // our request id → pending request
    this._pings = new Map(); // our ping id → sent at
    this._nextId = 0;
    this._linkWaiters = new Set();
    this._slotsUsed = 0;
    this._slotWaiters = [];
    this._urls = new Set();
    this._observers = new Set();
    this._rtt = null;
    this._stats = {
      files: 0,
      bytes: 0,
      bySource: emptySources(),
      verifyFailures: 0,
      reconnects: 0,
      served: { chunks: 0, bytes: 0, misses: 0, haveFrames: 0 },
    };
  }

  // -- logging and events --------------------------------------------------

  _log(level, msg, ...rest) {
    if (!this._logFn) return;
    try {
      this._logFn(level, msg, ...rest);
    } catch {
      // a logger must not break the client
    }
  }

  _emit(type, detail) {
    try {
      const Ev = globalThis.CustomEvent;
      if (Ev) this.dispatchEvent(new Ev(type, { detail }));
    } catch (e) {
      this._log('error', `p2pcache: ${type} listener threw`, e);
    }
  }

  _emitError(err) {
    this._emit('error', { error: err });
    if (this._onErrorOpt) {
      try {
        this._onErrorOpt(err);
      } catch {
        // user callback
      }
    }
  }

  _setTransport(t) {
    if (t === this._transport) return;
    const previous = this._transport;
    this._transport = t;
    this._rtt = null; // a new path: start measuring afresh
    this._log('info', `transport: ${previous} → ${t}`);
    this._emit('transport', { transport: t, previous });
  }

  // -- connection management -------------------------------------------------

  /** First connection: resolves (never rejects) within timeoutMs, whatever rung works. */
  async _start() {
    if (!this._allowWS || !this._WS) {
      this._setTransport('http');
      return;
    }
    const attempt = this._attempt();
    let t;
    await Promise.race([attempt, new Promise((r) => (t = setTimeout(r, this._timeoutMs)))]);
    clearTimeout(t);
  }

  _attempt() {
    if (this._connecting) return this._connecting;
    if (this._closed) return Promise.resolve(false);
    const run = async () => {
      const s = new Session(this, ++this._sessionN);
      this._session = s;
      this._connectTimes = s.times;
      const ok = await s.openWS(this._timeoutMs);
      if (!ok || this._closed || s.dead) {
        if (this._session === s) this._session = null;
        this._failedAttempts++;
        this._setTransport('http');
        this._resolveLinkWaiters();
        this._scheduleReconnect();
        return false;
      }
      if (this._PC && this._rtcFailures < 3) {
        const rtc = await s.startWebRTC(this._rtcTimeoutMs);
        if (rtc && !s.dead && this._session === s) {
          this._rtcFailures = 0;
          this._setTransport('webrtc-tcp');
          this._announceAll();
          this._resolveLinkWaiters();
        } else if (!s.dead) {
          this._rtcFailures++;
        }
      }
      return !s.dead;
    };
    this._connecting = run()
      .catch((e) => {
        this._log('error', 'connect attempt failed', e);
        return false;
      })
      .finally(() => {
        this._connecting = null;
      });
    return this._connecting;
  }

  _onSessionUp(s) {
    if (this._closed || s !== this._session) {
      s.kill('stale session');
      return;
    }
    if (this._recovering) this._stats.reconnects++;
    this._failedAttempts = 0;
    this._backoffN = 0;
    this._recovering = false;
    if (this._allowWSFrames) this._setTransport('websocket');
    this._startPinging();
    this._resolveLinkWaiters();
  }

  _onSessionDead(s, reason) {
    if (s !== this._session) return;
    this._session = null;
    const err = new P2PCacheError('disconnected', `p2pcache: connection to the relay lost: ${reason}`);
    for (const p of [...this._pending.values()]) if (p.session === s) p.finish(err);
    this._pings.clear();
    this._announced.clear(); // the relay forgets a peer's holdings when it leaves
    this._stopPinging();
    if (this._closed) return;
    this._setTransport('http');
    if (s.hello) {
      this._recovering = true;
      this._scheduleReconnect();
    }
  }

  _scheduleReconnect() {
    if (this._closed || !this._opts.reconnect || this._reconnectTimer) return;
    const d = backoffDelay(this._backoffN++, { base: this._opts.backoffBaseMs, max: this._opts.backoffMaxMs });
    this._log('debug', `reconnecting in ${d} ms`);
    this._reconnectTimer = setTimeout(() => {
      this._reconnectTimer = null;
      if (this._closed || this._session) return;
      // an attempt still winding down (its WebRTC rung) must not swallow this one
      const go = () => !this._closed && !this._session && this._attempt();
      if (this._connecting) this._connecting.then(go);
      else go();
    }, d);
  }

  _link() {
    return this._session?.link() ?? null;
  }

  _resolveLinkWaiters() {
    const ws = [...this._linkWaiters];
    this._linkWaiters.clear();
    for (const w of ws) w();
  }

  /**
   * A link to send frames on, waiting up to waitMs for one if a connection
   * attempt is under way or about to be; null when frames are unavailable
   * (use HTTP).
   */
  async _awaitLink(waitMs, signal, persist = false) {
    const deadline = now() + waitMs;
    for (;;) {
      if (this._closed) throw this._closedError();
      if (signal?.aborted) throw abortError(signal);
      const l = this._link();
      if (l) return l;
      const hopeful = this._connecting || this._recovering || this._reconnectTimer;
      const left = deadline - now();
      // a fresh fetch does not wait on a relay that keeps refusing (WS blocked: use HTTP);
      // one already under way (persist) waits out a restart
      if (!hopeful || left <= 0 || (this._failedAttempts >= 2 && !persist)) return null;
      await new Promise((resolve) => {
        const done = () => {
          clearTimeout(t);
          this._linkWaiters.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const t = setTimeout(done, Math.min(left, 1000));
        this._linkWaiters.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  _startPinging() {
    this._stopPinging();
    const tick = () => {
      try {
        const s = this._session;
        if (!s || s.dead) return;
        if (now() - s.lastHeard > this._opts.idleTimeoutMs) {
          s.kill(`nothing heard for ${this._opts.idleTimeoutMs} ms`);
          return;
        }
        const l = s.link();
        if (!l) return;
        const id = this._allocId();
        const t0 = now();
        const payload = new Uint8Array(8);
        new DataView(payload.buffer).setFloat64(0, t0);
        for (const [pid, at] of this._pings) if (t0 - at > 10000) this._pings.delete(pid);
        this._pings.set(id, t0);
        l.send(encodeFrame({ type: FrameType.PING, id, data: payload }), { control: true });
      } catch (e) {
        this._log('error', 'ping failed', e);
      }
    };
    this._pingTimer = setInterval(tick, this._opts.pingIntervalMs);
    tick();
  }

  _stopPinging() {
    if (this._pingTimer) clearInterval(this._pingTimer);
    this._pingTimer = null;
  }

  _allocId() {
    for (;;) {
      this._nextId = (this._nextId + 1) >>> 0;
      if (this._nextId !== 0 && !this._pending.has(this._nextId) && !this._pings.has(this._nextId)) return this._nextId;
    }
  }

  // -- inbound frames ---------------------------------------------------------

  _onMessage(data, link) {
    try {
      if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) return;
      let f;
      try {
        f = decodeFrame(data);
      } catch (e) {
        this._log('warn', e.message);
        if (e.id !== undefined && isRequestType(e.type)) {
          const code = e.code === 'unknown_type' ? ErrorCode.UNSUPPORTED : ErrorCode.BAD_REQUEST;
          link.send(encodeFrame({ type: FrameType.ERROR, id: e.id, code, message: e.message.slice(0, 200) }), { control: true });
        } else if (e.id !== undefined) {
          this._pending.get(e.id)?.fail(new P2PCacheError('protocol', e.message, { cause: e }));
        }
        return;
      }
      switch (f.type) {
        case FrameType.PING:
          link.send(encodeFrame({ type: FrameType.PONG, id: f.id, data: f.data }), { control: true });
          return;
        case FrameType.PONG:
          this._onPong(f);
          return;
        case FrameType.GET_CHUNK:
          this._serveChunk(f, link);
          return;
        case FrameType.GET_FILE:
        case FrameType.GET_MANIFEST:
          link.send(
            encodeFrame({ type: FrameType.ERROR, id: f.id, code: ErrorCode.UNSUPPORTED, message: 'peers serve chunks by hash only' }),
            { control: true },
          );
          return;
        case FrameType.CANCEL:
          link.cancel(f.id);
          return;
        case FrameType.HAVE:
          return; // only peers announce; nothing to answer
        default: {
          const p = this._pending.get(f.id);
          if (p) p.onFrame(f);
          // else: a late answer to a request we cancelled or timed out
        }
      }
    } catch (e) {
      this._log('error', 'frame handling failed', e);
    }
  }

  _onPong(f) {
    const t0 = this._pings.get(f.id);
    if (t0 === undefined) return;
    this._pings.delete(f.id);
    const sent = new DataView(f.data.buffer, f.data.byteOffset, 8).getFloat64(0);
    if (sent !== t0) return;
    const sample = Math.max(0, now() - t0);
    this._rtt = this._rtt === null ? sample : this._rtt * 0.7 + sample * 0.3;
  }

  /** Peer role: answer the relay's GET_CHUNK from the local LRU. */
  _serveChunk(f, link) {
    if (!this._serve) {
      link.send(encodeFrame({ type: FrameType.ERROR, id: f.id, code: ErrorCode.FORBIDDEN, message: 'this peer does not serve' }), { control: true });
      return;
    }
    const key = toHex(f.hash);
    const bytes = this._lru.get(key);
    if (!bytes) {
      this._stats.served.misses++;
      link.send(encodeFrame({ type: FrameType.ERROR, id: f.id, code: ErrorCode.UNKNOWN_CHUNK, message: key }), { control: true });
      return;
    }
    const maxData = Math.min(MAX_CHUNK_DATA, (this._session?.hello?.maxMessageSize || MAX_MESSAGE_SIZE) - HEADER_LEN - 12);
    for (const fr of chunkFrames(f.id, f.index, bytes, maxData)) link.send(fr, { rid: f.id });
    this._stats.served.chunks++;
    this._stats.served.bytes += bytes.length;
  }

  // -- peer role: HAVE announcements (PROTOCOL.md §2) ----------------------------

  /** Track which chunks of manifest m this client holds, to announce them (most recently used last). */
  _trackFile(m) {
    if (!this._serve || this._closed) return;
    const known = this._files.get(m.sha256);
    if (known) {
      this._files.delete(m.sha256);
      this._files.set(m.sha256, known);
      return;
    }
    this._files.set(m.sha256, { path: m.path, sha256: m.sha256, chunks: m.chunks });
    for (const h of m.chunks) {
      let set = this._chunkFiles.get(h);
      if (!set) this._chunkFiles.set(h, (set = new Set()));
      set.add(m.sha256);
    }
    while (this._files.size > MAX_ANNOUNCED_FILES) {
      const [oldest] = this._files.keys();
      this._untrackFile(oldest);
    }
  }

  /** Stop tracking a file, first withdrawing it (an all-zero HAVE) if the relay was told of it. */
  _untrackFile(sha) {
    const f = this._files.get(sha);
    if (!f) return;
    if (this._announced.has(sha)) this._sendHave(f, new Uint8Array(Math.ceil(f.chunks.length / 8)));
    this._announced.delete(sha);
    this._haveDirty.delete(sha);
    this._files.delete(sha);
    for (const h of f.chunks) {
      const set = this._chunkFiles.get(h);
      if (!set) continue;
      set.delete(sha);
      if (set.size === 0) this._chunkFiles.delete(h);
    }
  }

  /** Called with every verified chunk stored in the peer cache, and the manifest it belongs to. */
  _onChunkStored(_hashHex, m) {
    if (!this._serve || this._closed) return;
    this._trackFile(m);
    this._haveDirty.add(m.sha256);
    this._scheduleHaves();
  }

  /** Called by the LRU for every chunk it pushes out: the files listing it need a new HAVE. */
  _onChunkEvicted(hashHex) {
    const set = this._chunkFiles.get(hashHex);
    if (!set) return;
    for (const sha of set) this._haveDirty.add(sha);
    this._scheduleHaves();
  }

  _scheduleHaves() {
    if (this._haveTimer || this._closed) return;
    this._haveTimer = setTimeout(() => {
      this._haveTimer = null;
      this._flushHaves();
    }, HAVE_DELAY_MS);
  }

  /** HAVE goes on the data channel only: the relay asks peers for chunks over no other link. */
  _haveLink() {
    const s = this._session;
    return s && !s.dead && s.dcLink?.open ? s.dcLink : null;
  }

  /** Send one HAVE per file whose holdings changed since it was last announced. */
  _flushHaves() {
    if (this._haveTimer) clearTimeout(this._haveTimer);
    this._haveTimer = null;
    if (!this._serve || this._closed) return;
    const link = this._haveLink();
    const dirty = [...this._haveDirty];
    this._haveDirty.clear();
    for (const sha of dirty) {
      const f = this._files.get(sha);
      if (!f) continue;
      const bitmap = haveBitmap(f.chunks, (h) => this._lru.has(h));
      if (!bitmap.some((b) => b !== 0)) {
        this._untrackFile(sha); // nothing left of it: withdraw if announced, and forget it
        continue;
      }
      if (!link) continue; // announced in full when a data channel opens
      const key = toHex(bitmap);
      if (this._announced.get(sha) === key) continue;
      if (this._sendHave(f, bitmap, link)) this._announced.set(sha, key);
    }
  }

  _sendHave(f, bitmap, link = this._haveLink()) {
    if (!link) return false;
    let bytes;
    try {
      bytes = encodeFrame({ type: FrameType.HAVE, id: 0, hash: f.sha256, count: f.chunks.length, bitmap, path: f.path });
    } catch (e) {
      this._log('warn', `HAVE for ${f.path} not sent: ${e.message}`);
      return false;
    }
    if (bytes.length > MAX_MESSAGE_SIZE) {
      this._log('debug', `HAVE for ${f.path} not sent: ${f.chunks.length} chunks do not fit one frame`);
      return false;
    }
    if (!link.send(bytes)) return false;
    this._stats.served.haveFrames++;
    return true;
  }

  /** A new data channel: the relay knows nothing this client holds; announce every tracked file. */
  _announceAll() {
    this._announced.clear();
    for (const sha of this._files.keys()) this._haveDirty.add(sha);
    this._flushHaves();
  }

  // -- outbound requests --------------------------------------------------------

  /**
   * Send a request and resolve with the reassembled answer bytes (MANIFEST
   * or CHUNK). Rejects with the ERROR it got, 'timeout' (no progress for
   * requestTimeoutMs), 'disconnected', 'protocol', 'aborted' or 'closed'.
   */
  async _request(frame, expect, signal) {
    await this._acquireSlot(signal);
    try {
      return await this._requestNow(frame, expect, signal);
    } finally {
      this._releaseSlot();
    }
  }

  /** The relay answers ERROR busy past its per-peer limit; keep all fetches together under it. */
  _maxRequests() {
    const relayMax = this._session?.hello?.maxRequests;
    const mine = this._opts.maxRequests;
    return Number.isInteger(relayMax) && relayMax > 0 ? Math.max(1, Math.min(mine, relayMax - 2)) : mine;
  }

  _acquireSlot(signal) {
    if (this._slotsUsed < this._maxRequests()) {
      this._slotsUsed++;
      return Promise.resolve();
    }
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const w = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        this._slotWaiters = this._slotWaiters.filter((x) => x !== w);
        reject(abortError(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this._slotWaiters.push(w);
    });
  }

  _releaseSlot() {
    const w = this._slotWaiters.shift();
    if (w) w.resolve(); // the slot passes on
    else this._slotsUsed--;
  }

  _requestNow(frame, expect, signal) {
    const link = this._link();
    if (!link) return Promise.reject(new P2PCacheError('disconnected', 'p2pcache: no connection to the relay'));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const id = this._allocId();
    const client = this;
    return new Promise((resolve, reject) => {
      const p = {
        id,
        expect,
        index: frame.index,
        session: link.session,
        buf: null,
        timer: null,
        finish(err, val) {
          if (client._pending.get(id) !== p) return;
          client._pending.delete(id);
          clearTimeout(p.timer);
          signal?.removeEventListener('abort', p.onAbort);
          if (err) reject(err);
          else resolve(val);
        },
        cancel() {
          link.send(encodeFrame({ type: FrameType.CANCEL, id }), { control: true });
        },
        fail(err) {
          p.cancel();
          p.finish(err);
        },
        onAbort() {
          p.fail(abortError(signal));
        },
        arm() {
          clearTimeout(p.timer);
          p.timer = setTimeout(() => {
            p.fail(new P2PCacheError('timeout', `p2pcache: no answer from the relay for ${client._opts.requestTimeoutMs} ms`));
          }, client._opts.requestTimeoutMs);
        },
        onFrame(f) {
          if (f.type === FrameType.ERROR) {
            p.finish(remoteError(f.code, f.message, frame.path));
            return;
          }
          if (f.type !== expect || (expect === FrameType.CHUNK && f.index !== frame.index)) {
            p.fail(new P2PCacheError('protocol', `p2pcache: ${frameTypeName(f.type)} in answer to a ${frameTypeName(frame.type)}`));
            return;
          }
          try {
            if (!p.buf) p.buf = new FragmentBuffer(f.total, expect === FrameType.CHUNK ? MAX_CHUNK_SIZE : MAX_MANIFEST_LEN);
            if (p.buf.add(f.offset, f.data, f.total)) {
              p.finish(null, p.buf.bytes);
              return;
            }
          } catch (e) {
            p.fail(new P2PCacheError('protocol', e.message, { cause: e }));
            return;
          }
          p.arm();
        },
      };
      this._pending.set(id, p);
      p.arm();
      signal?.addEventListener('abort', p.onAbort, { once: true });
      link.send(encodeFrame({ ...frame, id }), { control: true });
    });
  }

  async _withBusyRetry(fn, signal) {
    for (let n = 0; ; n++) {
      try {
        return await fn();
      } catch (e) {
        if (e?.code !== 'busy' || n >= 6) throw e;
        await sleep(backoffDelay(n, { base: 100, max: 4000 }), signal);
      }
    }
  }

  async _framedManifest(path, signal) {
    const bytes = await this._withBusyRetry(
      () => this._request({ type: FrameType.GET_MANIFEST, path }, FrameType.MANIFEST, signal),
      signal,
    );
    return parseManifest(bytes, path);
  }

  /** Fetch one file over frames; fst carries per-fetch accounting across retries. */
  async _fetchFramed(path, fst, onProgress, signal) {
    for (let restart = 0; ; restart++) {
      const m = await this._framedManifest(path, signal);
      if (fst.manifest?.sha256 !== m.sha256) {
        fst.sources.clear();
        fst.loaded = 0;
      }
      fst.manifest = m;
      if (fst.transport !== 'webrtc-tcp') fst.transport = this._link()?.transport ?? fst.transport;
      this._trackFile(m);
      try {
        const bytes = await transferChunks(m, {
          getChunk: async (index, hash, sig) => ({
            bytes: await this._request({ type: FrameType.GET_CHUNK, index, hash, path }, FrameType.CHUNK, sig),
            source: 'relay',
          }),
          localGet: (h) => this._lru.get(h),
          localPut: (h, b) => {
            if (this._lru.set(h, b)) this._onChunkStored(h, m);
          },
          onChunk: ({ index, length, source }) => {
            if (!fst.sources.has(index)) {
              // a chunk fetched earlier in this same fetch counts under its first source
              fst.sources.set(index, source);
              this._stats.bySource[source] = (this._stats.bySource[source] ?? 0) + 1;
              fst.loaded += length;
            }
            this._progress(onProgress, { path, loaded: fst.loaded, total: m.size, index, source: fst.sources.get(index) });
          },
          onVerifyFailure: (info) => this._verifyFailure(path, fst, info),
          maxInFlight: this._opts.maxInFlight,
          signal,
        });
        if (this._files.has(m.sha256)) {
          this._haveDirty.add(m.sha256);
          this._flushHaves(); // the whole file is here: tell the relay now, not after HAVE_DELAY_MS
        }
        return { manifest: m, bytes };
      } catch (e) {
        if (e?.code === 'stale' && restart < 3) {
          this._log('info', `${path} changed; fetching its manifest again`);
          fst.retries++;
          continue;
        }
        throw e;
      }
    }
  }

  _verifyFailure(path, fst, info) {
    this._stats.verifyFailures++;
    fst.verifyFailures++;
    const detail = { path, ...info };
    this._log('warn', `verification failed: ${path} chunk ${info.index}`, detail);
    this._emit('verifyfailure', detail);
    if (this._onErrorOpt) {
      const err = new P2PCacheError('verify_failed', `p2pcache: ${path}: ${info.index < 0 ? 'file' : 'chunk ' + info.index} failed verification`, { path });
      err.detail = detail;
      try {
        this._onErrorOpt(err);
      } catch {
        // user callback
      }
    }
  }

  _progress(cb, ev) {
    if (!cb) return;
    try {
      cb(ev);
    } catch (e) {
      this._log('warn', 'onProgress threw', e);
    }
  }

  _httpURL(kind, path) {
    const u = new URL(`${this.relay}/${kind}/${encodePathForURL(path)}`);
    if (this._token) u.searchParams.set('access_token', this._token);
    return u.toString();
  }

  async _httpManifest(path, signal) {
    const res = await this._fetchImpl(this._httpURL('manifest', path), { signal });
    if (!res.ok) throw new P2PCacheError(codeForStatus(res.status), `p2pcache: HTTP ${res.status} for the manifest of ${path}`, { status: res.status });
    return parseManifest(await res.text(), path);
  }

  /** The HTTP rung: GET /files/<path>, verified against a manifest when one can be had. */
  async _fetchHttp(path, fst, onProgress, signal) {
    if (!this._fetchImpl) throw new P2PCacheError('network', 'p2pcache: no fetch() in this environment');
    fst.transport = 'http';
    const manifestP = fst.manifest ? Promise.resolve(fst.manifest) : this._httpManifest(path, signal).catch(() => null);
    let res;
    try {
      res = await this._fetchImpl(this._httpURL('files', path), { signal });
    } catch (e) {
      if (signal?.aborted) throw this._closed ? this._closedError() : abortError(signal);
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
          m = await this._httpManifest(path, signal).catch(() => null);
        }
        if (!m || actual !== m.sha256) {
          this._verifyFailure(path, fst, { index: -1, expected: m?.sha256 ?? '', actual, attempt: 0, source: 'http' });
          throw new P2PCacheError('verify_failed', `p2pcache: ${path}: bytes from HTTP do not match the manifest's SHA-256`, { path });
        }
      }
      fst.manifest = m;
    }
    const chunks = Math.max(1, Math.ceil(bytes.length / (m?.chunkSize ?? MAX_CHUNK_SIZE)));
    this._stats.bySource.http += chunks;
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
      this._progress(onProgress, { path, loaded: b.length, total: b.length, source: 'http' });
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
      this._progress(onProgress, { path, loaded, total: Math.max(total, loaded), source: 'http' });
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

  _closedError() {
    return new P2PCacheError('closed', 'p2pcache: client closed');
  }

  // -- public API ------------------------------------------------------------------

  /**
   * Fetch a file. Resolves with a standard Response (status 200) whose bytes
   * have been verified against the manifest, or rejects with a
   * P2PCacheError (see its `code`; not_found has status 404).
   * opts: { onProgress({ path, loaded, total, index?, source }), signal }
   */
  async fetch(path, opts = {}) {
    const clean = normalizePath(path);
    if (this._closed) throw this._closedError();
    const t0 = now();
    const signal = mergeSignals(this._closeCtrl.signal, opts.signal);
    const onProgress = typeof opts.onProgress === 'function' ? opts.onProgress : null;
    const fst = {
      path: clean,
      manifest: null,
      sources: new Map(),
      loaded: 0,
      verifyFailures: 0,
      retries: 0,
      transport: null,
      httpChunks: 0,
      verified: true,
      fallback: null,
    };
    const rethrow = (e) => {
      if (this._closed) throw this._closedError();
      if (opts.signal?.aborted) throw abortError(opts.signal);
      throw e;
    };
    // The ladder, per fetch: frames (data channel or WebSocket) while a link
    // is up; after a drop, wait up to timeoutMs for the reconnect and retry
    // (chunks already verified are kept); frames failing otherwise (bad
    // bytes twice, a protocol error, origin trouble) → HTTP for the whole
    // file. If HTTP cannot reach the relay either while the client is
    // reconnecting (a relay restart), keep waiting for it until
    // retryWindowMs after the trouble began.
    let result = null;
    let recoverUntil = 0;
    let framesDone = !this._allowWS;
    let wait = this._connecting || this._recovering ? this._timeoutMs : 0;
    const recovering = () => {
      if (!recoverUntil) recoverUntil = now() + this._opts.retryWindowMs;
      return now() < recoverUntil;
    };
    try {
      for (;;) {
        if (!framesDone) {
          const link = await this._awaitLink(wait, signal, recoverUntil > 0);
          if (link) {
            try {
              result = await this._fetchFramed(clean, fst, onProgress, signal);
              break;
            } catch (e) {
              if (this._closed || signal.aborted) rethrow(e);
              if (TERMINAL.has(e?.code)) throw e;
              if (RETRY_ON_LINK.has(e?.code) && fst.retries < 4 && recovering()) {
                fst.retries++;
                wait = Math.min(this._timeoutMs, recoverUntil - now());
                this._log('info', `${clean}: ${e.message}; retrying`);
                continue;
              }
              fst.fallback = e;
              framesDone = true;
              this._log('info', `${clean}: falling back to HTTP: ${e.message}`);
            }
          }
        }
        try {
          result = await this._fetchHttp(clean, fst, onProgress, signal);
          break;
        } catch (e) {
          if (this._closed || signal.aborted) rethrow(e);
          if (e.code === 'network' && !framesDone && (recoverUntil || this._recovering) && recovering()) {
            // the relay is unreachable altogether: likely restarting
            fst.retries++;
            wait = recoverUntil - now();
            this._log('info', `${clean}: relay unreachable; waiting for it to come back`);
            await this._awaitLink(Math.min(wait, 1000), signal, true);
            continue;
          }
          if (fst.fallback && e.code === 'network') e.message += ` (after: ${fst.fallback.message})`;
          throw e;
        }
      }
    } catch (e) {
      rethrow(e);
    }
    return this._respond(clean, fst, result, now() - t0);
  }

  _respond(path, fst, { manifest: m, bytes }, ms) {
    this._stats.files++;
    this._stats.bytes += bytes.length;
    const bySource = emptySources();
    for (const s of fst.sources.values()) bySource[s] = (bySource[s] ?? 0) + 1;
    bySource.http += fst.httpChunks;
    let source = 'relay';
    let most = -1;
    for (const [k, v] of Object.entries(bySource)) {
      if (v > most) {
        most = v;
        source = k;
      }
    }
    const contentType = m?.contentType || fst.contentType || 'application/octet-stream';
    const headers = {
      'content-type': contentType,
      'content-length': String(bytes.length),
      'x-p2pcache-source': source,
      'x-p2pcache-transport': fst.transport ?? 'http',
    };
    const etag = m?.etag ?? fst.etag;
    if (etag) headers.etag = etag;
    const lm = m?.lastModified ? new Date(m.lastModified) : null;
    if (lm && !isNaN(lm)) headers['last-modified'] = lm.toUTCString();
    else if (fst.lastModified) headers['last-modified'] = fst.lastModified;
    const info = Object.freeze({
      path,
      transport: fst.transport ?? 'http',
      source,
      ms: Math.round(ms * 10) / 10,
      bytes: bytes.length,
      chunks: Object.values(bySource).reduce((a, b) => a + b, 0),
      bySource: Object.freeze(bySource),
      verified: fst.verified,
      verifyFailures: fst.verifyFailures,
      retries: fst.retries,
      fallbackReason: fst.fallback?.message ?? null,
      sha256: m?.sha256 ?? null,
    });
    const blob = new Blob([bytes], { type: contentType });
    const res = new Response(blob, { status: 200, headers });
    try {
      Object.defineProperty(res, 'p2p', { value: info, enumerable: true });
    } catch {
      // a frozen Response: the headers still tell the source
    }
    return res;
  }

  /** Fetch a file and return an object URL for it, revoked by close() or revokeObjectURL(). */
  async objectURL(path, opts = {}) {
    const res = await this.fetch(path, opts);
    const blob = await res.blob();
    if (this._closed) throw this._closedError();
    const url = URL.createObjectURL(blob);
    this._urls.add(url);
    return url;
  }

  /** Revoke an object URL made by objectURL() or autoload(). */
  revokeObjectURL(url) {
    if (this._urls.delete(url)) {
      try {
        URL.revokeObjectURL(url);
      } catch {
        // ignore
      }
    }
  }

  /**
   * Load every element with a data-p2p-src attribute under root (default
   * document) through the client, setting its src to an object URL as soon as
   * the file is complete; elements added or changed later are picked up too
   * (MutationObserver). Each element gets data-p2p-state="loading|loaded|error"
   * and the events p2pprogress, p2pload (detail: res.p2p) and p2perror (detail: { error }).
   * Returns { ready: Promise (the elements present now settled), stop() }.
   */
  autoload(root = globalThis.document, opts = {}) {
    if (!root?.querySelectorAll) throw new P2PCacheError('bad_option', 'p2pcache: autoload needs a document or element');
    const attr = opts.attribute ?? 'data-p2p-src';
    const loaded = new WeakMap(); // element → path being or already loaded
    const fire = (el, type, detail) => {
      try {
        const Ev = globalThis.CustomEvent;
        if (Ev) el.dispatchEvent(new Ev(type, { detail, bubbles: true }));
      } catch (e) {
        this._log('warn', `${type} listener threw`, e);
      }
    };
    const load = (el) => {
      const path = el.getAttribute(attr);
      if (!path || loaded.get(el) === path || this._closed) return Promise.resolve();
      loaded.set(el, path);
      el.setAttribute('data-p2p-state', 'loading');
      return this.fetch(path, { onProgress: (ev) => fire(el, 'p2pprogress', ev) })
        .then(async (res) => {
          const blob = await res.blob();
          if (this._closed || loaded.get(el) !== path) return;
          const url = URL.createObjectURL(blob);
          this._urls.add(url);
          const old = el.getAttribute('src');
          el.setAttribute('src', url);
          if (old && this._urls.has(old)) this.revokeObjectURL(old);
          el.setAttribute('data-p2p-state', 'loaded');
          fire(el, 'p2pload', res.p2p);
        })
        .catch((error) => {
          if (loaded.get(el) !== path) return;
          el.setAttribute('data-p2p-state', 'error');
          this._log('warn', `autoload ${path}: ${error?.message}`);
          fire(el, 'p2perror', { error });
        });
    };
    const scan = (node) => {
      const out = [];
      if (node.nodeType === 1 && node.hasAttribute?.(attr)) out.push(load(node));
      for (const el of node.querySelectorAll?.(`[${attr}]`) ?? []) out.push(load(el));
      return out;
    };
    const ready = Promise.allSettled(scan(root)).then(() => undefined);
    let mo = null;
    if (opts.observe !== false && typeof globalThis.MutationObserver === 'function') {
      mo = new MutationObserver((records) => {
        try {
          for (const r of records) {
            if (r.type === 'attributes') load(r.target);
            else for (const n of r.addedNodes) if (n.nodeType === 1) scan(n);
          }
        } catch (e) {
          this._log('error', 'autoload observer failed', e);
        }
      });
      mo.observe(root.nodeType === 9 ? root.documentElement : root, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: [attr],
      });
      this._observers.add(mo);
    }
    return {
      ready,
      stop: () => {
        if (mo) {
          mo.disconnect();
          this._observers.delete(mo);
        }
      },
    };
  }

  /** A snapshot of the client's state and counters. */
  stats() {
    const s = this._stats;
    return {
      transport: this._transport,
      rttMs: this._rtt === null ? null : Math.round(this._rtt * 10) / 10,
      files: s.files,
      bytes: s.bytes,
      bySource: { ...s.bySource },
      verifyFailures: s.verifyFailures,
      peerId: this._session?.hello?.peerId ?? null,
      connected: !!this._link(),
      closed: this._closed,
      reconnects: s.reconnects,
      inFlight: this._pending.size,
      cache: { bytes: this._lru.bytes, chunks: this._lru.size, maxBytes: this._lru.maxBytes, evictions: this._lru.evictions },
      served: { ...s.served, announcedFiles: this._announced.size },
      connect: this._connectTimes ? { ...this._connectTimes } : null,
    };
  }

  /**
   * The RTCPeerConnection of the current connection (null on the WebSocket
   * and HTTP rungs), for diagnostics such as getStats(): which ICE candidate
   * pair carries the data channel. Do not close or renegotiate it.
   */
  get peerConnection() {
    return this._session?.pc ?? null;
  }

  /** Release everything: connections, timers, object URLs; pending fetches reject with code 'closed'. */
  close() {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = null;
    clearTimeout(this._haveTimer);
    this._haveTimer = null;
    this._stopPinging();
    const err = this._closedError();
    for (const p of [...this._pending.values()]) p.finish(err);
    for (const w of this._slotWaiters.splice(0)) w.reject(err);
    this._closeCtrl.abort(err);
    this._session?.kill('closed by the page');
    this._session = null;
    this._resolveLinkWaiters();
    for (const mo of this._observers) mo.disconnect();
    this._observers.clear();
    for (const u of this._urls) {
      try {
        URL.revokeObjectURL(u);
      } catch {
        // ignore
      }
    }
    this._urls.clear();
    this._lru.clear();
    this._files.clear();
    this._chunkFiles.clear();
    this._announced.clear();
    this._haveDirty.clear();
  }
}

function consoleLog(level, msg, ...rest) {
  const f = console[level === 'warn' || level === 'error' || level === 'info' ? level : 'debug'];
  f.call(console, `[p2pcache] ${msg}`, ...rest);
}

/**
 * Connect to a relay. Resolves with a Client within about timeoutMs, on
 * whichever rung works (stats().transport); it rejects only for bad options.
 *
 * options: relay (default: the origin this module was loaded from), token,
 * timeoutMs (5000), webrtcTimeoutMs (min(timeoutMs, 4000)), peerCacheBytes
 * (64 MiB), serve (true: announce held chunks with HAVE and serve them to the
 * relay; false opts out, in the offer too), maxInFlight (8 per fetch), maxRequests (24 in flight over all fetches;
 * the relay's default limit is 32), requestTimeoutMs (15000), pingIntervalMs (1500),
 * idleTimeoutMs (8000), retryWindowMs (10000: how long a fetch caught by a
 * lost connection waits for the relay to come back), reconnect (true), transports (['webrtc-tcp',
 * 'websocket', 'http'], to restrict the ladder), log (function(level, msg,
 * ...data) or true for the console), onError(err); for tests and non-browser
 * hosts: WebSocket, RTCPeerConnection (null: no WebRTC), fetch.
 */
export async function connect(options = {}) {
  const c = new Client(options);
  await c._start();
  return c;
}

export default connect;
