// A relay restart in a real browser: a fetch made while the relay is down
// waits for it (retryWindowMs), completes verified once it is back, and the
// client reconnects to WebRTC on its own.
import assert from 'node:assert/strict';
import { demoFiles, eachBrowser, openSDKPage, restartRelay, sha256, sharedBrowser, startOrigin, startRelay, wait } from './harness.js';

const browser = sharedBrowser();

eachBrowser('relay restart: a fetch pending while the relay is down completes after it returns', { timeout: 120_000 }, async (t, engine) => {
  const { files } = await demoFiles(t);
  const origin = await startOrigin(t, files);
  const args = ['--origin', origin.url, '--log-level', 'warn'];
  const relay = await startRelay(t, args);
  const page = await (await browser(engine)).newPage();
  await openSDKPage(page, relay);

  const first = await page.evaluate(async () => {
    window.client = await p2p.connect({ backoffBaseMs: 100, backoffMaxMs: 500, retryWindowMs: 20000 });
    const res = await client.fetch('/images/ripples.jpg');
    await res.blob();
    return client.stats().transport;
  });
  assert.equal(first, 'webrtc-tcp');

  await relay.stop(); // SIGTERM: the relay says bye and exits
  const downAt = Date.now();
  await page.evaluate(() => {
    window.pending = client.fetch('/images/aurora.jpg').then(async (res) => {
      const blob = await res.blob();
      const [sha, size] = await Promise.all([blob.arrayBuffer().then(e2e.hex), e2e.decode(blob)]);
      return { sha, ...size, info: res.p2p };
    });
  });
  await wait(1500); // down long enough for every rung to fail at least once
  await restartRelay(t, relay, args);
  const upAt = Date.now();

  const got = await page.evaluate(() => window.pending);
  assert.equal(got.sha, sha256(files['images/aurora.jpg'].bytes), 'the pending fetch got the origin bytes');
  assert.ok(got.width > 0, 'and they decode');
  assert.equal(got.info.verified, true);

  // Back on WebRTC, by itself.
  let stats;
  for (let i = 0; i < 100; i++) {
    stats = await page.evaluate(() => client.stats());
    if (stats.transport === 'webrtc-tcp') break;
    await wait(100);
  }
  assert.equal(stats.transport, 'webrtc-tcp', 'the client reconnected to WebRTC');
  assert.ok(stats.reconnects >= 1, `reconnects: ${stats.reconnects}`);
  await page.evaluate(() => client.close());
  console.log(`[e2e] relay restart: down ${upAt - downAt} ms; the pending fetch completed over ${got.info.transport}; reconnects ${stats.reconnects}`);
});
