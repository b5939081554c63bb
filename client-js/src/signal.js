// Signaling messages (PROTOCOL.md §1): JSON text over the WebSocket, each
// with "v": 1 and a "type". parseSignal is the SDK's side of the relay's
// wire.ParseSignal: the same limits, the same refusals.

import { utf8Length } from './bytes.js';
import { P2PCacheError } from './errors.js';
import { MAX_ERROR_MESSAGE_LEN } from './protocol.js';

/** The "v" of every signaling message. */
export const SIGNAL_VERSION = 1;
/** Largest signaling message, in UTF-8 bytes. */
export const MAX_SIGNAL_SIZE = 64 << 10;
/** Largest SDP (offer or answer). */
export const MAX_SDP_LEN = 32 << 10;
/** Largest ICE candidate line. */
export const MAX_CANDIDATE_LEN = 512;
/** Largest sdpMid of a candidate. */
export const MAX_SDP_MID_LEN = 32;

export const SignalType = Object.freeze({
  HELLO: 'hello', // relay → peer, first message: peer id and limits
  OFFER: 'offer', // peer → relay: the peer's SDP offer
  ANSWER: 'answer', // relay → peer: the relay's complete SDP answer
  CANDIDATE: 'candidate', // peer → relay: a trickled ICE candidate
  ERROR: 'error', // relay → peer: why the relay refused something
  BYE: 'bye', // either way: closing
});

function badSignal(why) {
  return new P2PCacheError('bad_signal', `p2pcache: bad signal: ${why}`);
}

const isInt = (x) => Number.isInteger(x) && x >= -(2 ** 63) && x < 2 ** 63;

// The JSON type of each known field (null always allowed: it means absent).
// A field of another type is refused, as a typed decoder would.
const FIELDS = {
  v: isInt,
  type: (x) => typeof x === 'string',
  sdp: (x) => typeof x === 'string',
  serve: (x) => typeof x === 'boolean',
  candidate: (x) => typeof x === 'object' && !Array.isArray(x),
  peerId: (x) => typeof x === 'string',
  chunkSize: isInt,
  maxMessageSize: isInt,
  code: (x) => typeof x === 'string',
  message: (x) => typeof x === 'string',
};

const CANDIDATE_FIELDS = {
  candidate: (x) => typeof x === 'string',
  sdpMid: (x) => typeof x === 'string',
  sdpMLineIndex: (x) => Number.isInteger(x) && x >= 0 && x <= 0xffff,
};

function checkTypes(obj, fields, where) {
  for (const [k, ok] of Object.entries(fields)) {
    const x = obj[k];
    if (x !== undefined && x !== null && !ok(x)) throw badSignal(`${where}${k} has the wrong type`);
  }
}

/**
 * Parse and validate one signaling message (the text of a WebSocket
 * message). Returns the parsed object, unknown fields included (they are
 * ignored, a newer relay may add some). Throws a P2PCacheError with code
 * 'bad_signal' for anything the protocol refuses: not one JSON object,
 * another version, an unknown type, a field of the wrong JSON type,
 * oversize fields, an SDP not starting with v=0 or a candidate not starting
 * with "candidate:".
 */
export function parseSignal(text) {
  if (typeof text !== 'string') throw badSignal('not text');
  const size = utf8Length(text);
  if (size > MAX_SIGNAL_SIZE) throw badSignal(`${size} bytes, over ${MAX_SIGNAL_SIZE}`);
  let s;
  try {
    s = JSON.parse(text); // refuses trailing data too
  } catch (e) {
    throw badSignal(`not JSON: ${e.message}`);
  }
  if (s === null) s = {};
  if (typeof s !== 'object' || Array.isArray(s)) throw badSignal('not a JSON object');
  checkTypes(s, FIELDS, '');
  if (s.candidate) checkTypes(s.candidate, CANDIDATE_FIELDS, 'candidate.');
  const v = s.v ?? 0;
  if (v !== SIGNAL_VERSION) throw badSignal(`version ${v}, want ${SIGNAL_VERSION}`);
  const type = s.type ?? '';
  const bad = (why) => badSignal(`${JSON.stringify(type)}: ${why}`);
  switch (type) {
    case SignalType.OFFER:
    case SignalType.ANSWER: {
      const sdp = s.sdp ?? '';
      const n = utf8Length(sdp);
      if (n > MAX_SDP_LEN) throw bad(`sdp is ${n} bytes, over ${MAX_SDP_LEN}`);
      if (!sdp.startsWith('v=0')) throw bad('sdp does not start with v=0');
      break;
    }
    case SignalType.CANDIDATE: {
      const c = s.candidate;
      if (c) {
        const line = c.candidate ?? '';
        const n = utf8Length(line);
        if (n > MAX_CANDIDATE_LEN) throw bad(`candidate is ${n} bytes, over ${MAX_CANDIDATE_LEN}`);
        if (line !== '' && !line.startsWith('candidate:')) throw bad('candidate does not start with candidate:');
        if (typeof c.sdpMid === 'string' && utf8Length(c.sdpMid) > MAX_SDP_MID_LEN) {
          throw bad(`sdpMid longer than ${MAX_SDP_MID_LEN} bytes`);
        }
      }
      break;
    }
    case SignalType.HELLO:
    case SignalType.BYE:
      break;
    case SignalType.ERROR:
      if (utf8Length(s.message ?? '') > MAX_ERROR_MESSAGE_LEN) throw bad(`message over ${MAX_ERROR_MESSAGE_LEN} bytes`);
      break;
    case '':
      throw badSignal('no type');
    default:
      throw badSignal(`unknown type ${JSON.stringify(type)}`);
  }
  return s;
}
