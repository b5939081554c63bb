// The token option: a string or a (possibly async) function asked for every
// (re)connect and every HTTP request, and the immediate reconnect with a
// fresh token after the relay ends a session for token_expired.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../src/index.js';
import { tokenSource, staticToken, TOKEN_EXPIRED } from '../src/token.js';
import { TOKEN_RECONNECT_GAP_MS } from '../src/connection.js';
import { FakeRelay, bytesOf } from '../test-support/fake-relay.js';

const BIG = bytesOf(3 * 65536 + 7, 31);
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(cond, ms = 2000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await wait(2);
  }
}

/** A relay that accepts t1..tN as they are handed out, and a token function counting its calls. */
function setup(opts = {}) {
  const relay = new FakeRelay();
  relay.addFile('big.bin', BIG);
  relay.tokens = new Set();
  let n = 0;
  const token = async () => {
    const t = `t${++n}`;
    await wait(1);
    relay.tokens.add(t);
    return t;
  };
  const clientOpts = {
    relay: 'http://relay.test',
    WebSocket: relay.WebSocket,
    RTCPeerConnection: null,
    fetch: relay.fetch,
    timeoutMs: 500,
    token,
    ...opts,
  };
  return { relay, clientOpts, calls: () => n };
}

const tokenOf = (url) => new URL(url).searchParams.get('access_token');

test('tokenSource: strings, functions, promises and bad values', async () => {
  assert.equal(await tokenSource(undefined)(), null);
  assert.equal(await tokenSource('')(), null);
  assert.equal(await tokenSource('abc')(), 'abc');
  assert.equal(await tokenSource(() => 'f')(), 'f');
  assert.equal(await tokenSource(async () => 'g')(), 'g');
  assert.equal(await tokenSource(() => null)(), null);
  await assert.rejects(tokenSource(() => 42)(), (e) => e.code === 'forbidden');
  await assert.rejects(tokenSource(async () => { throw new Error('nope'); })(), (e) => e.code === 'forbidden' && /nope/.test(e.message));
  assert.throws(() => tokenSource(7), (e) => e.code === 'bad_option');
  assert.equal(staticToken('x'), 'x');
  assert.equal(staticToken(() => 'x'), null);
  assert.equal(TOKEN_EXPIRED, 'token_expired');
  await assert.rejects(connect({ relay: 'http://r', token: {} }), (e) => e.code === 'bad_option');
});

test('a token function is asked for every connect and every HTTP request', async () => {
  const { relay, clientOpts, calls } = setup();
  const c = await connect(clientOpts);
  try {
    assert.equal(c.stats().transport, 'websocket');
    assert.equal(calls(), 1);
    assert.equal(tokenOf(relay.wsURLs[0]), 't1');
    c._conn.session.kill('test: drop');
    await until(() => c.stats().connected);
    assert.equal(tokenOf(relay.wsURLs[1]), 't2', 'the reconnect carries a fresh token');
    const h = await connect({ ...clientOpts, transports: ['http'] });
    const before = calls();
    assert.deepEqual(new Uint8Array(await (await h.fetch('big.bin')).arrayBuffer()), BIG);
    assert.equal(calls() - before, 2, 'one token for /manifest, one for /files');
    const used = relay.httpLog.map((u) => new URL(u, 'http://x').searchParams.get('access_token'));
    assert.deepEqual(used.sort(), [`t${before + 1}`, `t${before + 2}`], 'each HTTP request its own token');
    h.close();
  } finally {
    c.close();
  }
});

for (const how of ['error', 'bye', 'close']) {
  test(`token_expired (${how}): the client reconnects at once with a fresh token, a fetch in flight completes`, async () => {
    // a slow backoff: only the token_expired path reconnects this fast
    const { relay, clientOpts } = setup({ backoffBaseMs: 5000, backoffMaxMs: 5000, requestTimeoutMs: 3000 });
    relay.chunkDelayMs = 20;
    const errors = [];
    const c = await connect({ ...clientOpts, onError: (e) => errors.push(e.code) });
    try {
      const p = c.fetch('big.bin');
      await until(() => relay.chunkRequests > 0);
      const t0 = Date.now();
      relay.expireSession(relay.lastWS, how);
      relay.tokens.delete('t1'); // the old token is no good any more
      await until(() => relay.wsURLs.length === 2 && c.stats().connected, 1500);
      assert.ok(Date.now() - t0 < 500, `reconnected in ${Date.now() - t0} ms, not after the 5 s backoff`);
      assert.equal(tokenOf(relay.wsURLs[1]), 't2');
      assert.deepEqual(new Uint8Array(await (await p).arrayBuffer()), BIG);
      if (how === 'error') assert.ok(errors.includes('token_expired'), 'the refusal is reported');
      assert.equal(c.stats().reconnects, 1);
    } finally {
      c.close();
    }
  });
}

test('a token that keeps expiring backs off after the first immediate reconnect', async () => {
  const { relay, clientOpts } = setup({ backoffBaseMs: 400, backoffMaxMs: 400 });
  const c = await connect(clientOpts);
  try {
    relay.expireSession(relay.lastWS, 'bye');
    await until(() => c.stats().connected && relay.wsURLs.length === 2, 1000);
    const t0 = Date.now();
    relay.expireSession(relay.lastWS, 'bye');
    await until(() => c.stats().connected && relay.wsURLs.length === 3, 2000);
    assert.ok(Date.now() - t0 >= 180, `the second reconnect within ${TOKEN_RECONNECT_GAP_MS} ms waited its backoff (${Date.now() - t0} ms)`);
  } finally {
    c.close();
  }
});

test('a token function that fails: connect resolves on http and fetch rejects forbidden', async () => {
  const { relay, clientOpts } = setup({ reconnect: false });
  const errors = [];
  const c = await connect({ ...clientOpts, token: () => { throw new Error('no session'); }, onError: (e) => errors.push(e.code) });
  try {
    assert.equal(c.stats().transport, 'http');
    assert.equal(relay.wsCount, 0, 'no WebSocket without a token');
    assert.ok(errors.includes('forbidden'));
    await assert.rejects(c.fetch('big.bin'), (e) => e.code === 'forbidden');
  } finally {
    c.close();
  }
});
