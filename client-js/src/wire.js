// p2pcache/wire: the SDK's internals — protocol constants, the frame,
// signal and manifest codecs, paths, SHA-256, the LRU and the verified
// transfer — for unit tests and tools. Not the public API (that is
// index.js) and not declared in p2pcache.d.ts; it may change with the SDK.

export {
  WIRE_VERSION,
  HEADER_LEN,
  MAX_MESSAGE_SIZE,
  MAX_PATH_LEN,
  MAX_ERROR_MESSAGE_LEN,
  MAX_CHUNK_SIZE,
  MAX_MANIFEST_LEN,
  PING_LEN,
  MAX_CHUNK_DATA,
  MAX_MANIFEST_DATA,
  FrameType,
  frameTypeName,
  isRequestType,
  ErrorCode,
  errorName,
  CHUNK_SOURCE_MASK,
  ChunkSource,
  chunkSourceName,
} from './protocol.js';
export { P2PCacheError, FrameError, remoteError } from './errors.js';
export { toHex, fromHex, isHash } from './bytes.js';
export { sha256Sync, sha256Hex, hasSubtle } from './sha256.js';
export { normalizePath, encodePathForURL } from './paths.js';
export { encodeFrame, decodeFrame, chunkFrames, manifestFrames, haveBitmap } from './frames.js';
export { FragmentBuffer } from './fragments.js';
export { parseManifest, chunkOffset, chunkLength } from './manifest.js';
export {
  parseSignal,
  SignalType,
  SIGNAL_VERSION,
  MAX_SIGNAL_SIZE,
  MAX_SDP_LEN,
  MAX_CANDIDATE_LEN,
  MAX_SDP_MID_LEN,
} from './signal.js';
export { ByteLRU } from './lru.js';
export { backoffDelay } from './timing.js';
export { transferChunks, VERIFY_RETRIES } from './transfer.js';
export { BUFFER_HIGH, BUFFER_LOW } from './link.js';
export { MAX_ANNOUNCED_FILES, HAVE_DELAY_MS } from './holdings.js';
export { DEFAULTS } from './client.js';
