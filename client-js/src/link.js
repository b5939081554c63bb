// Link: one outbound channel to the relay (the data channel or the
// WebSocket) with send-side flow control.

/** Send-side flow control thresholds (bytes buffered in the channel). */
export const BUFFER_HIGH = 1 << 20;
export const BUFFER_LOW = 256 << 10;

/**
 * One outbound channel (data channel or WebSocket) with send-side flow
 * control: non-control frames wait while the channel buffers more than
 * BUFFER_HIGH bytes, and resume below BUFFER_LOW.
 *
 * ch is anything with send(bytes) and bufferedAmount. owner tags the link
 * with the connection it belongs to (requests sent on it die with it);
 * onFail(reason) is called when a send throws: the channel is unusable.
 */
export class Link {
  constructor(kind, ch, { owner = null, log = () => {}, onFail = () => {} } = {}) {
    this.kind = kind; // 'dc' | 'ws'
    this.ch = ch;
    this.owner = owner;
    this.queue = []; // { bytes, rid }
    this._timer = null;
    this._log = log;
    this._onFail = onFail;
    this.open = true;
    this.transport = kind === 'dc' ? 'webrtc-tcp' : 'websocket';
  }

  _raw(bytes) {
    try {
      this.ch.send(bytes);
      return true;
    } catch (e) {
      this._log('warn', `send on ${this.kind} failed`, e);
      this._onFail(`send failed on ${this.kind}`);
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
