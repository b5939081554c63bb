// Protocol constants and codes: the numbers of PROTOCOL.md (version 1) §2
// that both ends must agree on, and their names.

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

/**
 * CHUNK frames: bits 0-2 of the header's first flags byte (byte 2) say
 * where the relay got the chunk (PROTOCOL.md §2, "Chunk source"). Every
 * other flag bit, and every flag bit of other frame types, is reserved and
 * must be zero. A relay that predates this sends 0 (unspecified).
 */
export const CHUNK_SOURCE_MASK = 0x07;

export const ChunkSource = Object.freeze({
  UNSPECIFIED: 0, // an older relay, or a peer answering the relay's GET_CHUNK
  RELAY_CACHE: 1, // the relay's own chunk cache
  PEER: 2, // pulled from another peer (browser) that announced it with HAVE
  ORIGIN: 3, // fetched from the origin for this request (a cache miss)
  RELAY: 4, // another relay of the same mesh (cluster)
});

/**
 * The stats().bySource key for a CHUNK frame's source bits: 'peer',
 * 'origin', 'cluster' (another relay of the mesh), or 'relay' (its cache,
 * unspecified, and the reserved values 5-7: a newer relay's source this
 * SDK does not know, counted as unspecified rather than refused).
 */
export function chunkSourceName(bits) {
  if (bits === ChunkSource.PEER) return 'peer';
  if (bits === ChunkSource.ORIGIN) return 'origin';
  if (bits === ChunkSource.RELAY) return 'cluster';
  return 'relay';
}

const FRAME_NAMES = Object.freeze(Object.fromEntries(Object.entries(FrameType).map(([k, v]) => [v, k])));

/** frameTypeName(0x11) === 'CHUNK'. */
export function frameTypeName(t) {
  return FRAME_NAMES[t] ?? `TYPE_0x${(t >>> 0).toString(16).padStart(2, '0')}`;
}

/** Request types (0x01–0x0f) are answered by the receiver; answers (0x10–) are not. */
export function isRequestType(t) {
  return t >= 0x01 && t <= 0x0f;
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
