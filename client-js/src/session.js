// Session: one connection to the relay — the signaling WebSocket (which
// doubles as the fallback rung for frames) and, if it comes up, the WebRTC
// data channel on ICE-TCP (PROTOCOL.md §1).

import { P2PCacheError } from './errors.js';
import { BUFFER_LOW, Link } from './link.js';
import { parseSignal } from './signal.js';
import { now } from './timing.js';

/**
 * One connection to the relay: the signaling WebSocket and, if it comes up,
 * the WebRTC data channel. The relay drops a peer when either closes, so
 * they live and die together.
 *
 * Everything it needs comes in through its constructor:
 *   n                          sequence number, for logs
 *   WebSocket, wsURL           how to reach the relay's /ws
 *   RTCPeerConnection          for the WebRTC rung (startWebRTC)
 *   serve                      false: the offer declines the peer role
 *   wsFrames                   whether frames may use the WebSocket
 *   log(level, msg, ...)
 *   onUp(session)              hello arrived: the WebSocket rung is up
 *   onDead(session, reason)    the session ended (once)
 *   onMessage(data, link)      a binary message on either channel
 *   onRelayError(err)          the relay refused something (signal "error")
 */
export class Session {
  constructor({ n, WebSocket, wsURL, RTCPeerConnection = null, serve = true, wsFrames = true, log, onUp, onDead, onMessage, onRelayError }) {
    this.n = n;
    this._WS = WebSocket;
    this._wsURL = wsURL;
    this._PC = RTCPeerConnection;
    this._serve = serve;
    this._wsFrames = wsFrames;
    this._log = log;
    this._onUp = onUp;
    this._onDead = onDead;
    this._onMessage = onMessage;
    this._onRelayError = onRelayError;
    this.ws = null;
    this.pc = null;
    this.dc = null;
    this.wsLink = null;
    this.dcLink = null;
    this.hello = null;
    this.dead = false;
    /** Why the relay ended the session, when it said (the code of its error or bye signal, or the close reason), else null. */
    this.endCode = null;
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

  /** The link frames go on now: the data channel, else the WebSocket if allowed; null when dead. */
  link() {
    if (this.dead) return null;
    if (this.dcLink?.open) return this.dcLink;
    if (this.wsLink?.open && this._wsFrames) return this.wsLink;
    return null;
  }

  /** The data channel's link if it is open (HAVE goes there only), else null. */
  dataChannelLink() {
    return !this.dead && this.dcLink?.open ? this.dcLink : null;
  }

  _newLink(kind, ch) {
    return new Link(kind, ch, { owner: this, log: this._log, onFail: (why) => this.kill(why) });
  }

  _on(target, type, fn) {
    const h = (ev) => {
      try {
        fn(ev);
      } catch (e) {
        this._log('error', `p2pcache: ${type} handler failed`, e);
      }
    };
    target.addEventListener(type, h);
    this._listeners.push([target, type, h]);
  }

  sendSignal(msg) {
    try {
      if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify({ v: 1, ...msg }));
    } catch (e) {
      this._log('warn', 'signal send failed', e);
    }
  }

  /** Open the WebSocket and wait for hello. Resolves true, or false on failure/timeout. */
  openWS(timeoutMs) {
    return new Promise((resolve) => {
      let settled = false;
      const done = (ok, why) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!ok) {
          this._log('info', `websocket rung failed: ${why}`);
          this.kill(why);
        }
        resolve(ok);
      };
      const timer = setTimeout(() => done(false, `no hello within ${timeoutMs} ms`), timeoutMs);
      let ws;
      try {
        ws = new this._WS(this._wsURL);
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
            this.wsLink = this._newLink('ws', ws);
            done(true);
            this._onUp(this);
            return;
          }
          this._onSignal(msg);
        } else if (this.wsLink) {
          this._onMessage(d, this.wsLink);
        } else if (d instanceof ArrayBuffer || ArrayBuffer.isView(d)) {
          // a frame before hello: answer it on a temporary link
          this._onMessage(d, this._newLink('ws', ws));
        } else if (typeof Blob !== 'undefined' && d instanceof Blob) {
          d.arrayBuffer().then((b) => this.wsLink && this._onMessage(b, this.wsLink), () => {});
        }
      });
      this._on(ws, 'close', (ev) => {
        if (!this.endCode && typeof ev?.reason === 'string' && /^[a-z_]{1,64}$/.test(ev.reason)) this.endCode = ev.reason;
        done(false, `websocket closed (${ev?.code ?? ''})`);
        this.kill(`websocket closed${ev?.code ? ' (' + ev.code + ')' : ''}`);
      });
      this._on(ws, 'error', () => {
        done(false, 'websocket error');
      });
    });
  }

  /** A signaling message, validated (PROTOCOL.md §1); null (logged, ignored) if the relay sent a bad one. */
  _parseSignal(text) {
    try {
      return parseSignal(text);
    } catch (e) {
      this._log('warn', e.message);
      return null;
    }
  }

  _onSignal(msg) {
    switch (msg.type) {
      case 'answer':
        this.mark('answer');
        if (this._answerWaiter && typeof msg.sdp === 'string') this._answerWaiter(msg.sdp);
        break;
      case 'error': {
        // the relay closes after most refusals; remember why (token_expired: reconnect at once)
        if (msg.code) this.endCode = String(msg.code);
        const err = new P2PCacheError(String(msg.code || 'relay_error'), `p2pcache: relay refused: ${msg.code}: ${msg.message ?? ''}`);
        this._log('warn', err.message);
        this._onRelayError(err);
        if (this._answerWaiter) this._answerWaiter(null);
        break;
      }
      case 'bye':
        if (msg.code) this.endCode = String(msg.code);
        this.kill(`relay said bye${msg.code ? ' (' + msg.code + ')' : ''}`);
        break;
      default:
        this._log('debug', `signal: ignoring ${msg.type}`);
    }
  }

  /** The WebRTC rung: resolves true once the data channel is open. */
  async startWebRTC(timeoutMs) {
    const PC = this._PC;
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
        if (this.dcLink) this._onMessage(ev.data, this.dcLink);
      });
      this._on(dc, 'bufferedamountlow', () => this.dcLink?.flush());
      const answer = new Promise((resolve) => {
        this._answerWaiter = resolve;
      });
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      if (this.dead) return false;
      // serve: false tells the relay not to ask this peer for chunks (PROTOCOL.md §1)
      this.sendSignal({ type: 'offer', sdp: pc.localDescription?.sdp ?? offer.sdp, ...(this._serve ? {} : { serve: false }) });
      this.mark('offer');
      const sdp = await Promise.race([answer, timeout]);
      if (sdp === 'timeout' || sdp === null) throw new Error(sdp === null ? 'relay refused the offer' : 'no answer');
      await pc.setRemoteDescription({ type: 'answer', sdp });
      const state = await Promise.race([opened, timeout]);
      if (state !== 'open') throw new Error(`data channel ${state}`);
      if (this.dead) return false;
      this.dcLink = this._newLink('dc', dc);
      return true;
    } catch (e) {
      this._log('info', `webrtc rung failed: ${e?.message ?? e}`);
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

  /** End the session (idempotent): say bye, close both channels, tell onDead. */
  kill(reason) {
    if (this.dead) return;
    this.dead = true;
    this._log('info', `session ${this.n} ended: ${reason}`);
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
    this._onDead(this, reason);
  }
}
