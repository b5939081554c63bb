// Service-worker mode: the routing vocabulary (src/sw/messages.js), the
// worker's router (src/sw/router.js) on a stand-in worker scope, and the
// window side (src/sw/bridge.js) answering it with a real client against
// the fake relay, over real MessageChannels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../src/index.js';
import { FETCH, READY, relaysOf, routeOf, workerURL } from '../src/sw/messages.js';
import { installRouter } from '../src/sw/router.js';
import { installServiceWorker, serveWorkerRequest } from '../src/sw/bridge.js';
import { FakeRelay, bytesOf } from '../test-support/fake-relay.js';

const RELAY = 'http://relay.test';
const BYTES = bytesOf(5 * 65536 + 77, 71);
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

test('relaysOf, routeOf and workerURL', () => {
  assert.deepEqual(relaysOf('https://site.test/p2pcache-sw.js?relay=http%3A%2F%2Frelay.test&relay=https%3A%2F%2Fr2.test%2Fbase%2F'), ['http://relay.test', 'https://r2.test/base']);
  assert.deepEqual(relaysOf('https://site.test/sw.js?relay=ftp%3A%2F%2Fx'), []);
  const relays = ['http://relay.test', 'https://r2.test/base'];
  assert.deepEqual(routeOf('http://relay.test/files/img/a%20b.jpg?access_token=x', relays), { relay: 'http://relay.test', path: 'img/a b.jpg' });
  assert.deepEqual(routeOf('https://r2.test/base/files/x.png', relays), { relay: 'https://r2.test/base', path: 'x.png' });
  assert.equal(routeOf('http://relay.test/manifest/x.png', relays), null);
  assert.equal(routeOf('http://other.test/files/x.png', relays), null);
  assert.equal(routeOf('http://relay.test/files/a%5Cb', relays), null, 'a path the relay refuses goes to the network');
  assert.equal(workerURL('/p2pcache-sw.js', 'http://relay.test', 'https://site.test/page'), 'https://site.test/p2pcache-sw.js?relay=http%3A%2F%2Frelay.test');
});

/** A stand-in ServiceWorkerGlobalScope with one window per entry of windows. */
function scope(windows, network) {
  const listeners = {};
  const s = {
    location: { href: `https://site.test/p2pcache-sw.js?relay=${encodeURIComponent(RELAY)}` },
    addEventListener: (t, f) => (listeners[t] = f),
    clients: {
      claimed: false,
      get: async (id) => windows.find((w) => w.id === id),
      matchAll: async () => windows,
      claim: async () => {
        s.clients.claimed = true;
      },
    },
    skipped: false,
    skipWaiting: async () => {
      s.skipped = true;
    },
    fetches: [],
    fetch: async (req, init) => {
      s.fetches.push({ url: typeof req === 'string' ? req : req.url, init });
      return network(req, init);
    },
    listeners,
  };
  return s;
}

/** A window whose p2pcache client answers the worker (serveWorkerRequest). */
const windowOf = (id, client) => ({ id, type: 'window', postMessage: (msg, ports) => msg.type === FETCH && serveWorkerRequest(client, msg, ports[0]) });

function fetchEvent(url, { destination = 'image', range = null, clientId = 'w1', method = 'GET' } = {}) {
  const headers = new Headers(range ? { range } : {});
  const ev = { request: { url, method, destination, headers }, clientId, response: null, respondWith: (p) => (ev.response = p) };
  return ev;
}

async function setup() {
  const relay = new FakeRelay();
  relay.addFile('img/a.jpg', BYTES, { contentType: 'image/jpeg' });
  const client = await connect({ relay: RELAY, WebSocket: relay.WebSocket, RTCPeerConnection: relay.RTCPeerConnection, fetch: relay.fetch, timeoutMs: 300 });
  return { relay, client };
}

const network = (req) => new Response(`network:${typeof req === 'string' ? req : req.url}`, { status: 200 });

test('the worker routes /files GETs through the window: verified bytes, nosniff, no network', async () => {
  const { client } = await setup();
  try {
    const s = scope([windowOf('w1', client)], network);
    const { handle } = installRouter(s);
    const ev = fetchEvent(`${RELAY}/files/img/a.jpg`);
    assert.equal(handle(ev), true);
    const res = await ev.response;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-p2pcache-via'), 'service-worker');
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), BYTES);
    assert.equal(s.fetches.length, 0);
    // range: 206 and the slice
    const r = fetchEvent(`${RELAY}/files/img/a.jpg`, { range: 'bytes=70000-70009' });
    handle(r);
    const part = await r.response;
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 70000-70009/${BYTES.length}`);
    assert.deepEqual(new Uint8Array(await part.arrayBuffer()), BYTES.slice(70000, 70010));
  } finally {
    client.close();
  }
});

test('the worker leaves alone what it must not answer', () => {
  const s = scope([], network);
  const { handle } = installRouter(s);
  for (const ev of [
    fetchEvent(`${RELAY}/files/x.html`, { destination: 'document' }),
    fetchEvent(`${RELAY}/files/x.js`, { destination: 'script' }),
    fetchEvent(`${RELAY}/files/x.css`, { destination: 'style' }),
    fetchEvent(`${RELAY}/files/x.jpg`, { method: 'POST' }),
    fetchEvent('http://elsewhere.test/files/x.jpg'),
    fetchEvent(`${RELAY}/ws`),
  ]) {
    assert.equal(handle(ev), false, `${ev.request.destination} ${ev.request.url}`);
    assert.equal(ev.response, null);
  }
});

test('install skips waiting; activate claims the open pages; ready windows are remembered', async () => {
  const s = scope([], network);
  const { ready } = installRouter(s);
  let waited = null;
  s.listeners.install({ waitUntil: (p) => (waited = p) });
  await waited;
  assert.equal(s.skipped, true);
  s.listeners.activate({ waitUntil: (p) => (waited = p) });
  await waited;
  assert.equal(s.clients.claimed, true);
  s.listeners.message({ data: { type: READY, relay: RELAY }, source: { id: 'w9' } });
  assert.deepEqual([...ready.get('w9')], [RELAY]);
});

test('no window accepts in time, or the file is not there: the network answers', async () => {
  const { client } = await setup();
  try {
    const silent = { id: 'w1', type: 'window', postMessage() {} };
    const s = scope([silent], network);
    const { handle } = installRouter(s, { acceptMs: 30 });
    const ev = fetchEvent(`${RELAY}/files/img/a.jpg`);
    handle(ev);
    assert.equal(await (await ev.response).text(), `network:${RELAY}/files/img/a.jpg`);
    const s2 = scope([windowOf('w1', client)], network);
    const r2 = installRouter(s2);
    const missing = fetchEvent(`${RELAY}/files/nope.jpg`);
    r2.handle(missing);
    assert.equal(await (await missing.response).text(), `network:${RELAY}/files/nope.jpg`);
  } finally {
    client.close();
  }
});

test('a window that fails mid-body: the rest comes from the network by range', async () => {
  // a window that sends the head and the first 1000 bytes, then fails
  const flaky = {
    id: 'w1',
    type: 'window',
    postMessage: (msg, [port]) => {
      port.postMessage({ type: 'accept' });
      port.postMessage({ type: 'head', status: 200, headers: { 'content-type': 'image/jpeg', 'content-length': String(BYTES.length), etag: '"e1"' } });
      const first = BYTES.slice(0, 1000);
      port.postMessage({ type: 'chunk', bytes: first.buffer }, [first.buffer]);
      port.postMessage({ type: 'error', message: 'navigated away' });
      port.close();
    },
  };
  const s = scope([flaky], (req, init) => {
    const m = /^bytes=(\d+)-$/.exec(init?.headers?.range ?? '');
    assert.ok(m, 'a range for the rest');
    assert.equal(init.headers['if-range'], '"e1"');
    return new Response(BYTES.slice(Number(m[1])), { status: 206 });
  });
  const { handle } = installRouter(s);
  const ev = fetchEvent(`${RELAY}/files/img/a.jpg`);
  handle(ev);
  const res = await ev.response;
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), BYTES);
  assert.equal(s.fetches.length, 1);
  assert.equal(s.fetches[0].init.headers.range, 'bytes=1000-');
});

test('installServiceWorker registers ?relay=, waits for control, says ready and answers', async () => {
  const { client } = await setup();
  const container = new EventTarget();
  container.controller = null;
  const posted = [];
  container.register = async (url) => {
    container.registered = url;
    setTimeout(() => {
      container.controller = { postMessage: (m) => posted.push(m) };
      container.dispatchEvent(new Event('controllerchange'));
    }, 5);
    return { scope: 'https://site.test/' };
  };
  try {
    const sw = await installServiceWorker(client, '/p2pcache-sw.js', { container, base: 'https://site.test/app/', timeoutMs: 1000 });
    assert.equal(container.registered, `https://site.test/p2pcache-sw.js?relay=${encodeURIComponent(RELAY)}`);
    assert.equal(sw.controlled, true);
    assert.deepEqual(posted.at(-1), { type: READY, relay: RELAY });
    // a request from the worker, as a message event with a port
    const { port1, port2 } = new MessageChannel();
    const got = [];
    const ended = new Promise((resolve) => {
      port1.onmessage = (ev) => {
        got.push(ev.data.type);
        if (ev.data.type === 'end' || ev.data.type === 'error') resolve();
      };
    });
    const ev = new Event('message');
    ev.data = { type: FETCH, relay: RELAY, path: 'img/a.jpg' };
    ev.ports = [port2];
    container.dispatchEvent(ev);
    await ended;
    port1.close();
    assert.equal(got[0], 'accept');
    assert.equal(got[1], 'head');
    assert.equal(got.at(-1), 'end');
    assert.equal(got.filter((t) => t === 'chunk').length, 6);
    sw.stop();
    // no container (an insecure origin): nothing to do
    assert.equal((await installServiceWorker(client, '/sw.js', { container: null })).controlled, false);
  } finally {
    client.close();
  }
});
