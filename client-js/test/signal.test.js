// Signaling messages (src/signal.js) beyond the shared vectors: the size
// limits (the vectors leave oversize input to each implementation), and the
// client ignoring a bad message from the relay instead of acting on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../src/index.js';
import { MAX_SDP_LEN, MAX_SIGNAL_SIZE, parseSignal } from 'p2pcache/wire';
import { FakeRelay } from '../test-support/fake-relay.js';

/** A bye padded with an unknown field to exactly n UTF-8 bytes (pad is a 1- or 2-byte character). */
function byeOf(n, pad = 'x') {
  const head = '{"v":1,"type":"bye","pad":"';
  const tail = '"}';
  const w = new TextEncoder().encode(pad).length;
  const room = n - head.length - tail.length;
  return head + pad.repeat(Math.floor(room / w)) + 'x'.repeat(room % w) + tail;
}

test('a message of exactly 64 KiB is read; one byte more is refused', () => {
  assert.equal(MAX_SIGNAL_SIZE, 65536);
  for (const pad of ['x', 'é']) {
    const ok = byeOf(MAX_SIGNAL_SIZE, pad);
    assert.equal(new TextEncoder().encode(ok).length, MAX_SIGNAL_SIZE);
    assert.equal(parseSignal(ok).type, 'bye');
    assert.throws(() => parseSignal(byeOf(MAX_SIGNAL_SIZE + 1, pad)), (e) => e.code === 'bad_signal' && /over 65536/.test(e.message));
  }
});

test('an SDP of exactly 32 KiB is read; one byte more is refused', () => {
  assert.equal(MAX_SDP_LEN, 32768);
  const sdp = (n) => 'v=0\r\n' + 'a'.repeat(n - 5);
  for (const type of ['offer', 'answer']) {
    assert.equal(parseSignal(JSON.stringify({ v: 1, type, sdp: sdp(MAX_SDP_LEN) })).sdp.length, MAX_SDP_LEN);
    assert.throws(() => parseSignal(JSON.stringify({ v: 1, type, sdp: sdp(MAX_SDP_LEN + 1) })), (e) => e.code === 'bad_signal' && /sdp is 32769 bytes/.test(e.message));
  }
  // bytes, not characters: 16385 two-byte characters are over
  assert.throws(() => parseSignal(JSON.stringify({ v: 1, type: 'offer', sdp: 'v=0' + 'é'.repeat(16383) })), (e) => e.code === 'bad_signal');
});

test('the parsed message keeps unknown fields (the client reads them from hello)', () => {
  const s = parseSignal('{"v":1,"type":"hello","peerId":"p","maxRequests":32,"future":{"x":1}}');
  assert.equal(s.maxRequests, 32);
  assert.deepEqual(s.future, { x: 1 });
  assert.throws(() => parseSignal(42), (e) => e.code === 'bad_signal');
});

test('the client ignores a bad signaling message from the relay and acts on good ones', async () => {
  const relay = new FakeRelay();
  const logs = [];
  const errors = [];
  const c = await connect({
    relay: 'http://relay.test:8080',
    WebSocket: relay.WebSocket,
    RTCPeerConnection: null,
    fetch: relay.fetch,
    timeoutMs: 500,
    reconnect: false,
    log: (level, msg) => logs.push([level, msg]),
  });
  c.addEventListener('error', (e) => errors.push(e.detail.error));
  try {
    assert.equal(c.stats().transport, 'websocket');
    const ws = relay.lastWS;
    const text = (t) => {
      const ev = new Event('message');
      ev.data = t;
      ws.dispatchEvent(ev);
    };
    text('{"v":1,"type":"error","code":"x","message":"' + 'm'.repeat(1025) + '"}'); // message over 1024 bytes
    text('{"v":1,"type":"bye"} trailing');
    text('{"v":2,"type":"bye"}');
    text('{"v":1,"type":"shout"}');
    assert.equal(errors.length, 0, 'the oversize error was not acted on');
    assert.equal(c.stats().connected, true, 'nor were the malformed byes');
    assert.equal(logs.filter(([level, msg]) => level === 'warn' && /bad signal/.test(msg)).length, 4);
    text('{"v":1,"type":"error","code":"busy_relay","message":"later"}');
    assert.equal(errors.length, 1);
    assert.equal(errors[0].code, 'busy_relay');
    text('{"v":1,"type":"bye","code":"shutting_down"}');
    assert.equal(c.stats().connected, false, 'a good bye ends the session');
  } finally {
    c.close();
  }
});
