// A chunk corrupted on the wire (the relay's --fault-corrupt-chunk, which
// alters what is sent and never what is cached) is caught by the SDK in a
// real browser: the page only ever sees the origin's bytes, and the failure
// is reported through stats(), res.p2p and the verifyfailure event.
import assert from 'node:assert/strict';
import { demoFiles, eachBrowser, openSDKPage, sha256, sharedBrowser, startOrigin, startRelay } from './harness.js';

const browser = sharedBrowser();
const PATH = 'images/nebula.png'; // 83 chunks

async function fetchWatched(page, path) {
  return page.evaluate(async (path) => {
    const client = await p2p.connect();
    const events = [];
    client.addEventListener('verifyfailure', (e) => events.push(e.detail));
    const res = await client.fetch('/' + path);
    const blob = await res.blob();
    const [sha, size] = await Promise.all([blob.arrayBuffer().then(e2e.hex), e2e.decode(blob)]);
    const out = { sha, ...size, info: res.p2p, events, stats: client.stats() };
    client.close();
    return out;
  }, path);
}

eachBrowser('a chunk corrupted once is fetched again; the page gets the origin bytes and the failure is reported', { timeout: 120_000 }, async (t, engine) => {
  const { files } = await demoFiles(t);
  const origin = await startOrigin(t, files);
  const relay = await startRelay(t, ['--origin', origin.url, '--fault-corrupt-chunk', `${PATH}#1`, '--log-level', 'warn']);
  const page = await (await browser(engine)).newPage();
  await openSDKPage(page, relay);
  const got = await fetchWatched(page, PATH);
  assert.equal(got.sha, sha256(files[PATH].bytes), 'the bytes are the origin file');
  assert.ok(got.width > 0, 'and decode');
  assert.equal(got.stats.transport, 'webrtc-tcp');
  assert.equal(got.stats.verifyFailures, 1, 'stats() counts the bad chunk');
  assert.equal(got.info.verifyFailures, 1, 'so does res.p2p');
  assert.equal(got.info.transport, 'webrtc-tcp', 'the second try over the data channel was good: no HTTP fallback');
  assert.equal(got.info.bySource.http, 0);
  assert.equal(got.events.length, 1, 'one verifyfailure event');
  const ev = got.events[0];
  assert.equal(ev.path, PATH);
  assert.equal(ev.index, 1);
  assert.equal(ev.attempt, 0);
  assert.equal(ev.expected, JSON.parse(await (await fetch(`${relay.url}/manifest/${PATH}`)).text()).chunks[1]);
  assert.notEqual(ev.actual, ev.expected);
});

eachBrowser('a chunk corrupted on every try over frames: the whole file comes over HTTP, verified', { timeout: 120_000 }, async (t, engine) => {
  const { files } = await demoFiles(t);
  const origin = await startOrigin(t, files);
  const relay = await startRelay(t, ['--origin', origin.url, '--fault-corrupt-chunk', `${PATH}#1*2`, '--log-level', 'warn']);
  const page = await (await browser(engine)).newPage();
  await openSDKPage(page, relay);
  const got = await fetchWatched(page, PATH);
  assert.equal(got.sha, sha256(files[PATH].bytes));
  assert.ok(got.width > 0);
  assert.equal(got.stats.verifyFailures, 2);
  assert.deepEqual(got.events.map((e) => [e.index, e.attempt]), [[1, 0], [1, 1]]);
  assert.equal(got.info.transport, 'http');
  assert.equal(got.info.verified, true);
  assert.match(got.info.fallbackReason, /failed verification 2 times/);
});
