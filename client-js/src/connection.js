// Connection: the life of the client's link to the relay — the first
// connect within its budget, the rungs (WebRTC, then WebSocket, else HTTP),
// reconnects with backoff after a drop, and PING/PONG for liveness and RTT.

import { P2PCacheError, abortError, closedError } from './errors.js';
import { encodeFrame } from './frames.js';
import { FrameType } from './protocol.js';
import { Session } from './session.js';
import { backoffDelay, now } from './timing.js';
import { TOKEN_EXPIRED } from './token.js';

/** After a token_expired end, the next attempt goes at once unless the previous one did too within this long. */
export const TOKEN_RECONNECT_GAP_MS = 2000;

/**
 * Owns at most one Session at a time and replaces it when it dies.
 *
 * options:
 *   WebSocket, RTCPeerConnection (null: no WebRTC), serve, wsFrames
 *     (frames may use the WebSocket), useWS (connect at all: frames or
 *     signaling for WebRTC), timeoutMs, rtcTimeoutMs, reconnect,
 *     backoffBaseMs, backoffMaxMs, pingIntervalMs, idleTimeoutMs
 *   wsURL()                    a promise of the /ws URL for the next attempt (a
 *                              fresh access token each time); a rejection fails
 *                              the attempt like a refused WebSocket
 *   log(level, msg, ...)
 *   allocId()                  a free request id (for PING)
 *   onTransport(t, previous)   the rung in use changed
 *   onDataChannel()            a data channel just opened
 *   onConnected()              a session is up (optional)
 *   onAttemptFailed()          an attempt failed; returns { immediate } when the
 *                              next attempt goes to another relay (optional; see
 *                              relays.js): at once when immediate
 *   onLost(session, err)       a session with requests on it went away
 *   onMessage(data, link)      a binary message arrived
 *   onRelayError(err)          the relay refused something
 */
export class Connection {
  constructor(o) {
    this._o = o;
    this._log = o.log;
    this.transport = 'http';
    this.session = null;
    /** Milestones of the latest attempt (Session.times). */
    this.connectTimes = null;
    this.reconnects = 0;
    this._sessionN = 0;
    this._connecting = null;
    this._failedAttempts = 0;
    this._backoffN = 0;
    this._rtcFailures = 0;
    this._recovering = false;
    this._movedOn = false; // the last attempt failed and the next goes to another relay at once
    this._lastTokenReconnect = -Infinity;
    this._reconnectTimer = null;
    this._pingTimer = null;
    this._closed = false;
    this._pings = new Map(); // our ping id → sent at
    this._linkWaiters = new Set();
    this._rtt = null;
  }

  /** Smoothed PING/PONG round trip on the current path, ms; null before the first. */
  get rtt() {
    return this._rtt;
  }

  /** The relay's hello on the current session, or null. */
  get hello() {
    return this.session?.hello ?? null;
  }

  /** An attempt is under way or the client lost its connection and is getting it back. */
  get hopeful() {
    return !!(this._connecting || this._recovering);
  }

  /** The client lost its connection and has not got it back yet. */
  get recovering() {
    return this._recovering;
  }

  /** Whether id is taken by a PING awaiting its PONG. */
  pingPending(id) {
    return this._pings.has(id);
  }

  _setTransport(t) {
    if (t === this.transport) return;
    const previous = this.transport;
    this.transport = t;
    this._rtt = null; // a new path: start measuring afresh
    this._log('info', `transport: ${previous} → ${t}`);
    this._o.onTransport(t, previous);
  }

  /**
   * First connection: resolves (never rejects) within timeoutMs, whatever
   * rung works. When the attempt fails and the client moves to another
   * relay at once, that relay's attempt gets the rest of the budget.
   */
  async start() {
    if (!this._o.useWS || !this._o.WebSocket) {
      this._setTransport('http');
      return;
    }
    const deadline = now() + this._o.timeoutMs;
    let attempt = this._attempt();
    for (;;) {
      let t;
      await Promise.race([attempt, new Promise((r) => (t = setTimeout(r, Math.max(0, deadline - now()))))]);
      clearTimeout(t);
      if (!this._movedOn || this._closed || this.session || now() >= deadline) return;
      this._movedOn = false;
      clearTimeout(this._reconnectTimer);
      this._reconnectTimer = null;
      attempt = this._connecting ?? this._attempt();
    }
  }

  _attempt() {
    if (this._connecting) return this._connecting;
    if (this._closed) return Promise.resolve(false);
    const o = this._o;
    const run = async () => {
      const failed = () => {
        this._failedAttempts++;
        this._setTransport('http');
        // another relay next (relays.js): at once unless every one has failed
        const moved = o.onAttemptFailed?.() ?? null;
        this._movedOn = !!moved?.immediate;
        this._resolveLinkWaiters();
        this._scheduleReconnect(this._movedOn);
        return false;
      };
      let wsURL;
      try {
        wsURL = await o.wsURL();
      } catch (e) {
        // no token for this attempt: it fails like a refused WebSocket
        this._log('warn', `connect: ${e?.message ?? e}`);
        o.onRelayError(e);
        return this._closed ? false : failed();
      }
      if (this._closed) return false;
      const s = new Session({
        n: ++this._sessionN,
        WebSocket: o.WebSocket,
        wsURL,
        RTCPeerConnection: o.RTCPeerConnection,
        serve: o.serve,
        wsFrames: o.wsFrames,
        log: this._log,
        onUp: (x) => this._onSessionUp(x),
        onDead: (x, reason) => this._onSessionDead(x, reason),
        onMessage: o.onMessage,
        onRelayError: o.onRelayError,
      });
      this.session = s;
      this.connectTimes = s.times;
      const ok = await s.openWS(o.timeoutMs);
      if (!ok || this._closed || s.dead) {
        if (this.session === s) this.session = null;
        return failed();
      }
      if (o.RTCPeerConnection && this._rtcFailures < 3) {
        const rtc = await s.startWebRTC(o.rtcTimeoutMs);
        if (rtc && !s.dead && this.session === s) {
          this._rtcFailures = 0;
          this._setTransport('webrtc-tcp');
          o.onDataChannel();
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
    if (this._closed || s !== this.session) {
      s.kill('stale session');
      return;
    }
    if (this._recovering) this.reconnects++;
    this._failedAttempts = 0;
    this._backoffN = 0;
    this._recovering = false;
    this._movedOn = false;
    this._o.onConnected?.();
    if (this._o.wsFrames) this._setTransport('websocket');
    this._startPinging();
    this._resolveLinkWaiters();
  }

  _onSessionDead(s, reason) {
    if (s !== this.session) return;
    this.session = null;
    this._o.onLost(s, new P2PCacheError('disconnected', `p2pcache: connection to the relay lost: ${reason}`));
    this._pings.clear();
    this._stopPinging();
    if (this._closed) return;
    this._setTransport('http');
    if (s.hello) {
      this._recovering = true;
      // the token ran out, nothing is wrong with the relay: come back at once
      // with a fresh one (once per TOKEN_RECONNECT_GAP_MS, so a token that
      // keeps expiring backs off like any other failure)
      let immediate = false;
      if (s.endCode === TOKEN_EXPIRED && now() - this._lastTokenReconnect > TOKEN_RECONNECT_GAP_MS) {
        this._lastTokenReconnect = now();
        this._backoffN = 0;
        immediate = true;
      }
      this._scheduleReconnect(immediate);
    }
  }

  _scheduleReconnect(immediate = false) {
    const o = this._o;
    if (this._closed || !o.reconnect || this._reconnectTimer) return;
    const d = immediate ? 0 : backoffDelay(this._backoffN++, { base: o.backoffBaseMs, max: o.backoffMaxMs });
    this._log('debug', `reconnecting in ${d} ms`);
    this._reconnectTimer = setTimeout(() => {
      this._reconnectTimer = null;
      if (this._closed || this.session) return;
      // an attempt still winding down (its WebRTC rung) must not swallow this one
      const go = () => !this._closed && !this.session && this._attempt();
      if (this._connecting) this._connecting.then(go);
      else go();
    }, d);
  }

  /** The link frames go on now, or null. */
  link() {
    return this.session?.link() ?? null;
  }

  /** The open data channel's link (the only one HAVE may use), or null. */
  dataChannelLink() {
    return this.session?.dataChannelLink() ?? null;
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
  async awaitLink(waitMs, signal, persist = false) {
    const deadline = now() + waitMs;
    for (;;) {
      if (this._closed) throw closedError();
      if (signal?.aborted) throw abortError(signal);
      const l = this.link();
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
    const o = this._o;
    const tick = () => {
      try {
        const s = this.session;
        if (!s || s.dead) return;
        if (now() - s.lastHeard > o.idleTimeoutMs) {
          s.kill(`nothing heard for ${o.idleTimeoutMs} ms`);
          return;
        }
        const l = s.link();
        if (!l) return;
        const id = o.allocId();
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
    this._pingTimer = setInterval(tick, o.pingIntervalMs);
    tick();
  }

  _stopPinging() {
    if (this._pingTimer) clearInterval(this._pingTimer);
    this._pingTimer = null;
  }

  /** A PONG: if it answers one of our PINGs, a round-trip sample. */
  onPong(f) {
    const t0 = this._pings.get(f.id);
    if (t0 === undefined) return;
    this._pings.delete(f.id);
    const sent = new DataView(f.data.buffer, f.data.byteOffset, 8).getFloat64(0);
    if (sent !== t0) return;
    const sample = Math.max(0, now() - t0);
    this._rtt = this._rtt === null ? sample : this._rtt * 0.7 + sample * 0.3;
  }

  /** Stop for good (idempotent): no reconnect, no pings, the session killed, link waiters woken. */
  close() {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = null;
    this._stopPinging();
    this.session?.kill('closed by the page');
    this.session = null;
    this._resolveLinkWaiters();
  }
}
