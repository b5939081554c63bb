// Link (src/link.js): send-side flow control over one channel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Link } from '../src/link.js';
import { BUFFER_HIGH, BUFFER_LOW } from 'p2pcache/wire';

function channel() {
  return {
    sent: [],
    bufferedAmount: 0,
    fail: false,
    send(b) {
      if (this.fail) throw new Error('closed');
      this.sent.push(b);
    },
  };
}

const wait = (ms) => new Promise((r) => setTimeout(r, ms));
const bytes = (n) => new Uint8Array([n]);

test('below the high-water mark frames go at once', () => {
  assert.ok(BUFFER_LOW < BUFFER_HIGH);
  const ch = channel();
  const l = new Link('dc', ch);
  assert.equal(l.transport, 'webrtc-tcp');
  assert.equal(new Link('ws', ch).transport, 'websocket');
  assert.equal(l.send(bytes(1)), true);
  assert.deepEqual(ch.sent.map((b) => b[0]), [1]);
});

test('over it, data frames queue in order while control frames still go; the queue drains when the buffer falls', async () => {
  const ch = channel();
  const l = new Link('ws', ch);
  ch.bufferedAmount = BUFFER_HIGH;
  assert.equal(l.send(bytes(1), { rid: 7 }), true);
  assert.equal(l.send(bytes(2), { rid: 8 }), true);
  assert.equal(l.send(bytes(3), { control: true }), true);
  assert.deepEqual(ch.sent.map((b) => b[0]), [3]);
  await wait(40);
  assert.deepEqual(ch.sent.map((b) => b[0]), [3], 'still full: nothing more');
  ch.bufferedAmount = 0;
  await wait(40); // the WebSocket has no bufferedamountlow: a timer retries
  assert.deepEqual(ch.sent.map((b) => b[0]), [3, 1, 2]);
  l.close();
});

test('a data frame waits behind queued ones even when the buffer has room', () => {
  const ch = channel();
  const l = new Link('dc', ch);
  ch.bufferedAmount = BUFFER_HIGH;
  l.send(bytes(1));
  ch.bufferedAmount = 0;
  l.send(bytes(2));
  assert.equal(ch.sent.length, 0);
  l.flush(); // what bufferedamountlow calls
  assert.deepEqual(ch.sent.map((b) => b[0]), [1, 2]);
  l.close();
});

test('cancel drops the queued answer to one request only', () => {
  const ch = channel();
  const l = new Link('dc', ch);
  ch.bufferedAmount = BUFFER_HIGH;
  l.send(bytes(1), { rid: 5 });
  l.send(bytes(2), { rid: 6 });
  l.send(bytes(3), { rid: 5 });
  l.cancel(5);
  ch.bufferedAmount = 0;
  l.flush();
  assert.deepEqual(ch.sent.map((b) => b[0]), [2]);
  l.close();
});

test('a failed send reports the link unusable; a closed link sends nothing', () => {
  const ch = channel();
  const failed = [];
  const logs = [];
  const l = new Link('ws', ch, { owner: 'session-1', onFail: (why) => failed.push(why), log: (level) => logs.push(level) });
  assert.equal(l.owner, 'session-1');
  ch.fail = true;
  assert.equal(l.send(bytes(1)), false);
  assert.deepEqual(failed, ['send failed on ws']);
  assert.deepEqual(logs, ['warn']);
  ch.fail = false;
  ch.bufferedAmount = BUFFER_HIGH;
  l.send(bytes(2));
  l.close();
  assert.equal(l.open, false);
  assert.equal(l.queue.length, 0, 'close drops the queue');
  assert.equal(l.send(bytes(3), { control: true }), false);
  assert.equal(ch.sent.length, 0);
});
