// Wire frames (PROTOCOL.md §2): encode and decode one frame, and split a
// chunk or a manifest into the frames that carry it.

import { fromHex, isHash, strictUTF8, toBytes } from './bytes.js';
import { FrameError } from './errors.js';
import {
  CHUNK_SOURCE_MASK,
  FrameType,
  HEADER_LEN,
  MAX_CHUNK_DATA,
  MAX_CHUNK_SIZE,
  MAX_ERROR_MESSAGE_LEN,
  MAX_MANIFEST_DATA,
  MAX_MANIFEST_LEN,
  MAX_MESSAGE_SIZE,
  MAX_PATH_LEN,
  PING_LEN,
  WIRE_VERSION,
  frameTypeName,
} from './protocol.js';

const te = new TextEncoder();
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
 * CHUNK); source (CHUNK, optional: the chunk-source bits, 0-7); code,
 * message (ERROR). Throws a FrameError for anything that would not decode.
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
      if (isChunk && f.source !== undefined && !(Number.isInteger(f.source) && f.source >= 0 && f.source <= CHUNK_SOURCE_MASK)) {
        throw frameErr('bad_frame', `source ${f.source} is not 0-${CHUNK_SOURCE_MASK}`, type);
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
  if (type === FrameType.CHUNK && f.source) out[2] = f.source;
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
    return strictUTF8.decode(bytes);
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
  // CHUNK may carry its source in bits 0-2 of byte 2; every other flag bit is reserved
  const allowed = type === FrameType.CHUNK ? CHUNK_SOURCE_MASK : 0;
  if ((b[2] & ~allowed) !== 0 || b[3] !== 0) throw frameErr('bad_frame', 'reserved flags set', type, id);
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
      if (b[2] !== 0) f.source = b[2] & CHUNK_SOURCE_MASK; // absent when unspecified (0)
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
