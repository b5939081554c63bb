// Inbound frames: every binary message from the relay, on either link,
// decoded and handed to whoever it is for.

import { P2PCacheError } from './errors.js';
import { decodeFrame, encodeFrame } from './frames.js';
import { ErrorCode, FrameType, isRequestType } from './protocol.js';

/**
 * Handle one message (ArrayBuffer or typed array) that arrived on link.
 * The relay's requests are answered on the same link: PING with PONG,
 * GET_CHUNK by onGetChunk(f, link), whole files and manifests with
 * unsupported (a peer serves chunks by hash only); CANCEL drops what was
 * queued for that request. PONG goes to onPong(f), answers to
 * requests.onFrame(f). A malformed request is answered with ERROR; a
 * malformed answer fails its request through requests.fail(id, err).
 */
export function dispatchFrame(data, link, { requests, onPong, onGetChunk, log }) {
  try {
    if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) return;
    let f;
    try {
      f = decodeFrame(data);
    } catch (e) {
      log('warn', e.message);
      if (e.id !== undefined && isRequestType(e.type)) {
        const code = e.code === 'unknown_type' ? ErrorCode.UNSUPPORTED : ErrorCode.BAD_REQUEST;
        link.send(encodeFrame({ type: FrameType.ERROR, id: e.id, code, message: e.message.slice(0, 200) }), { control: true });
      } else if (e.id !== undefined) {
        requests.fail(e.id, new P2PCacheError('protocol', e.message, { cause: e }));
      }
      return;
    }
    switch (f.type) {
      case FrameType.PING:
        link.send(encodeFrame({ type: FrameType.PONG, id: f.id, data: f.data }), { control: true });
        return;
      case FrameType.PONG:
        onPong(f);
        return;
      case FrameType.GET_CHUNK:
        onGetChunk(f, link);
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
      default:
        requests.onFrame(f); // else: a late answer to a request we cancelled or timed out
    }
  } catch (e) {
    log('error', 'frame handling failed', e);
  }
}
