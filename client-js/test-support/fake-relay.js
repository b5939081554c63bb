// An in-process stand-in for the relay, speaking PROTOCOL.md v1 to the SDK
// through fake WebSocket, RTCPeerConnection and fetch implementations.

import { createHash } from 'node:crypto';
import {
  FrameType,
  ErrorCode,
  encodeFrame,
  decodeFrame,
  chunkFrames,
  manifestFrames,
  toHex,
} from 'p2pcache/wire';

export const sha = (b) => createHash('sha256').update(b).digest('hex');

/** Deterministic pseudo-random bytes. */
export function bytesOf(n, seed = 1) {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function makeManifest(path, bytes, { chunkSize = 65536, contentType = 'application/octet-stream' } = {}) {
  const chunks = [];
  for (let o = 0; o < bytes.length; o += chunkSize) chunks.push(sha(bytes.subarray(o, o + chunkSize)));
  const h = sha(bytes);
  return { v: 1, path, size: bytes.length, contentType, etag: `"${h}"`, chunkSize, sha256: h, chunks };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

export class FakeRelay {
  constructor() {
    this.files = new Map(); // path → { bytes, manifest }
    this.sockets = new Set();
    this.log = []; // decoded frames received from the client: { type, id, ... , via }
    this.signals = []; // signaling messages received
    this.refuseWS = false; // WebSocket fails to open
    this.silentWS = false; // WebSocket opens but never says hello
    this.rtc = 'works'; // 'works' | 'never' (DC never opens) | 'none' (no answer)
    this.httpDown = false;
    this.corrupt = new Map(); // `${path}#${index}` → times left to corrupt
    this.corruptHTTP = false;
    this.errors = new Map(); // `${type}:${path}` → list of error codes to answer next
    this.reverseFragments = true;
    this.chunkRequests = 0;
    this.peerAnswers = new Map(); // relay request id → resolve(frames)
    this.wsCount = 0;
    this.pingClient = false;
    this.pcs = [];
    this.tokens = null; // a Set of accepted access tokens (null: no auth)
    this.helloDelayMs = 0; // the WebSocket's hello comes this long after it opens
    this.httpDelayMs = 0; // every HTTP answer comes this long after the request
    this.httpNoRanges = false; // /files answers 200 with the whole file even to a Range
    this.sourceOf = null; // (path, index) → CHUNK source bits to send (null: 0, as an older relay)
    this.wsURLs = []; // the URL of every WebSocket opened
  }

  /** Whether url's access_token is accepted (always, without tokens). */
  tokenOK(url) {
    return !this.tokens || this.tokens.has(new URL(url).searchParams.get('access_token'));
  }

  /**
   * End a session as the relay does when its token expires: a signal (error
   * or bye with code token_expired), then a close with that reason; how:
   * 'error' | 'bye' | 'close' (the close reason only).
   */
  expireSession(sock, how = 'error') {
    if (how === 'error') sock._text({ v: 1, type: 'error', code: 'token_expired', message: 'token expired' });
    if (how === 'bye') sock._text({ v: 1, type: 'bye', code: 'token_expired', message: 'token expired' });
    sock.serverClose(1008, 'token_expired');
  }

  addFile(path, bytes, opts) {
    this.files.set(path, { bytes, manifest: makeManifest(path, bytes, opts) });
    return this.files.get(path).manifest;
  }

  /** Handle one frame from the client; reply(bytes) sends an answer on the same channel. */
  async handle(data, reply, via) {
    let f;
    try {
      f = decodeFrame(data);
    } catch (e) {
      this.log.push({ bad: e.message, via });
      return;
    }
    this.log.push({ ...f, via });
    const err = (code, message = '') => reply(encodeFrame({ type: FrameType.ERROR, id: f.id, code, message }));
    const scripted = (kind) => {
      const q = this.errors.get(`${kind}:${f.path}`);
      if (q && q.length) return q.shift();
      return 0;
    };
    switch (f.type) {
      case FrameType.PING:
        reply(encodeFrame({ type: FrameType.PONG, id: f.id, data: f.data }));
        return;
      case FrameType.GET_MANIFEST: {
        const c = scripted('manifest');
        if (c) return err(c, 'scripted');
        const file = this.files.get(f.path);
        if (!file) return err(ErrorCode.NOT_FOUND, f.path);
        const frames = manifestFrames(f.id, new TextEncoder().encode(JSON.stringify(file.manifest)));
        for (const fr of frames) reply(fr);
        return;
      }
      case FrameType.GET_CHUNK: {
        this.chunkRequests++;
        const c = scripted('chunk');
        if (c) return err(c, 'scripted');
        const file = this.files.get(f.path);
        if (!file) return err(ErrorCode.NOT_FOUND, f.path);
        const m = file.manifest;
        if (m.chunks[f.index] !== toHex(f.hash)) return err(ErrorCode.STALE, 'hash differs');
        let chunk = file.bytes.slice(f.index * m.chunkSize, (f.index + 1) * m.chunkSize);
        const key = `${f.path}#${f.index}`;
        const left = this.corrupt.get(key) ?? 0;
        if (left > 0) {
          this.corrupt.set(key, left - 1);
          chunk[0] ^= 0xff;
        }
        this.open = (this.open ?? 0) + 1;
        this.maxOpen = Math.max(this.maxOpen ?? 0, this.open);
        await new Promise((r) => setTimeout(r, this.chunkDelayMs ?? 0));
        this.open--;
        let frames = chunkFrames(f.id, f.index, chunk);
        const bits = this.sourceOf?.(f.path, f.index) ?? 0;
        if (bits) for (const fr of frames) fr[2] = bits; // the chunk-source flags (PROTOCOL.md §2)
        if (this.reverseFragments) frames = frames.reverse();
        for (const fr of frames) reply(fr);
        return;
      }
      case FrameType.CHUNK:
      case FrameType.ERROR:
      case FrameType.PONG: {
        const w = this.peerAnswers.get(f.id);
        if (w) w.push(f);
        return;
      }
      default:
    }
  }

  /** Ask the client (as the relay would, in the peer role) for a chunk by hash. */
  async askPeer(sock, id, index, hash, wait = 50) {
    const got = [];
    this.peerAnswers.set(id, got);
    sock.deliver(encodeFrame({ type: FrameType.GET_CHUNK, id, index, hash, path: '' }));
    await new Promise((r) => setTimeout(r, wait));
    this.peerAnswers.delete(id);
    return got;
  }

  /** Simulate a relay restart: every connection closes. */
  dropAll() {
    for (const s of [...this.sockets]) s.serverClose(1012);
  }

  get WebSocket() {
    const relay = this;
    return class FakeWebSocket extends EventTarget {
      constructor(url) {
        super();
        this.url = url;
        this.readyState = 0;
        this.bufferedAmount = 0;
        this.binaryType = 'blob';
        relay.wsCount++;
        relay.lastWS = this;
        relay.wsURLs.push(url);
        setTimeout(() => {
          if (relay.refuseWS || !relay.tokenOK(url)) {
            this.readyState = 3;
            this.dispatchEvent(new Event('error'));
            const ev = new Event('close');
            ev.code = 1006;
            this.dispatchEvent(ev);
            return;
          }
          this.readyState = 1;
          relay.sockets.add(this);
          this.dispatchEvent(new Event('open'));
          if (!relay.silentWS) {
            const hello = () => this.readyState === 1 && this._text({ v: 1, type: 'hello', peerId: 'p-test', chunkSize: 65536, maxMessageSize: 65536 });
            if (relay.helloDelayMs) setTimeout(hello, relay.helloDelayMs);
            else hello();
          }
        }, 1);
      }

      _text(obj) {
        const ev = new Event('message');
        ev.data = JSON.stringify(obj);
        this.dispatchEvent(ev);
      }

      deliver(bytes) {
        if (this.readyState !== 1) return;
        const ev = new Event('message');
        ev.data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
        this.dispatchEvent(ev);
      }

      send(data) {
        if (this.readyState !== 1) throw new Error('not open');
        if (typeof data === 'string') {
          const msg = JSON.parse(data);
          relay.signals.push(msg);
          if (msg.type === 'offer' && relay.rtc !== 'none') {
            setTimeout(() => this._text({ v: 1, type: 'answer', sdp: 'v=0\r\nanswer' }), 1);
          }
          return;
        }
        const copy = new Uint8Array(data.buffer ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data);
        relay.handle(copy, (b) => setTimeout(() => this.deliver(b), 0), 'ws');
      }

      close() {
        if (this.readyState >= 2) return;
        this.readyState = 3;
        relay.sockets.delete(this);
        setTimeout(() => {
          const ev = new Event('close');
          ev.code = 1000;
          this.dispatchEvent(ev);
        }, 0);
      }

      serverClose(code, reason = '') {
        if (this.readyState >= 2) return;
        this.readyState = 3;
        relay.sockets.delete(this);
        const ev = new Event('close');
        ev.code = code;
        ev.reason = reason;
        this.dispatchEvent(ev);
      }
    };
  }

  get RTCPeerConnection() {
    const relay = this;
    class FakeDC extends EventTarget {
      constructor(label, opts) {
        super();
        this.label = label;
        this.opts = opts;
        this.readyState = 'connecting';
        this.bufferedAmount = 0;
        this.bufferedAmountLowThreshold = 0;
        this.binaryType = 'blob';
      }

      deliver(bytes) {
        if (this.readyState !== 'open') return;
        const ev = new Event('message');
        ev.data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
        this.dispatchEvent(ev);
      }

      send(data) {
        if (this.readyState !== 'open') throw new Error('dc not open');
        const copy = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
        relay.handle(copy, (b) => setTimeout(() => this.deliver(b), 0), 'dc');
      }

      close() {
        if (this.readyState === 'closed') return;
        this.readyState = 'closed';
        setTimeout(() => this.dispatchEvent(new Event('close')), 0);
      }
    }
    return class FakePC extends EventTarget {
      constructor(config) {
        super();
        this.config = config;
        this.connectionState = 'new';
        this.iceConnectionState = 'new';
        this.localDescription = null;
        this.dcs = [];
        relay.pcs.push(this);
      }

      createDataChannel(label, opts) {
        const dc = new FakeDC(label, opts);
        this.dcs.push(dc);
        relay.lastDC = dc;
        return dc;
      }

      async createOffer() {
        return { type: 'offer', sdp: 'v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n' };
      }

      async setLocalDescription(d) {
        this.localDescription = d;
      }

      async setRemoteDescription(d) {
        this.remoteDescription = d;
        if (relay.rtc === 'works') {
          setTimeout(() => {
            if (this.connectionState === 'closed') return;
            this.iceConnectionState = 'connected';
            this.dispatchEvent(new Event('iceconnectionstatechange'));
            this.connectionState = 'connected';
            this.dispatchEvent(new Event('connectionstatechange'));
            for (const dc of this.dcs) {
              dc.readyState = 'open';
              dc.dispatchEvent(new Event('open'));
            }
          }, 2);
        }
      }

      close() {
        this.connectionState = 'closed';
        for (const dc of this.dcs) dc.close();
      }
    };
  }

  /** A fetch() serving /files/ and /manifest/. */
  get fetch() {
    const relay = this;
    return async (url, init = {}) => {
      if (init.signal?.aborted) throw new DOMException('aborted', 'AbortError');
      if (relay.httpDown) throw new TypeError('fetch failed');
      if (relay.httpDelayMs) await new Promise((r) => setTimeout(r, relay.httpDelayMs));
      const u = new URL(url);
      relay.httpLog = relay.httpLog ?? [];
      relay.httpLog.push(u.pathname + u.search);
      if (!relay.tokenOK(url)) return new Response('token', { status: 401 });
      const m = /^\/(files|manifest)\/(.+)$/.exec(u.pathname);
      const path = m && decodeURIComponent(m[2]);
      const file = path && relay.files.get(path);
      if (!file) return new Response('not found', { status: 404 });
      if (m[1] === 'manifest') {
        return new Response(JSON.stringify(file.manifest), { headers: { 'content-type': 'application/json' } });
      }
      let body = file.bytes.slice();
      if (relay.corruptHTTP && body.length) body[body.length - 1] ^= 1;
      const headers = {
        'content-type': file.manifest.contentType,
        etag: file.manifest.etag,
        'accept-ranges': 'bytes',
      };
      const h = new Headers(init.headers ?? {});
      const r = /^bytes=(\d+)-(\d+)$/.exec(h.get('range') ?? '');
      relay.httpRanges = relay.httpRanges ?? [];
      relay.httpRanges.push({ path, range: h.get('range'), ifRange: h.get('if-range') });
      if (r && !relay.httpNoRanges && (!h.get('if-range') || h.get('if-range') === file.manifest.etag)) {
        const a = Number(r[1]);
        const b = Math.min(Number(r[2]), body.length - 1);
        headers['content-range'] = `bytes ${a}-${b}/${body.length}`;
        body = body.slice(a, b + 1);
        headers['content-length'] = String(body.length);
        return new Response(body, { status: 206, headers });
      }
      headers['content-length'] = String(body.length);
      return new Response(body, { headers });
    };
  }
}
