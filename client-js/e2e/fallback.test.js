// The ladder in a real browser: with the ICE-TCP port unreachable the images
// come over the signaling WebSocket; with the WebSocket refused too, over
// plain HTTP. Either way every byte is verified and every image decodes.
import assert from 'node:assert/strict';
import { demoFiles, eachBrowser, frameSources, openSDKPage, servedBySource, sha256, sharedBrowser, startOrigin, startRelay } from './harness.js';

const browser = sharedBrowser();
// small to large; nebula (5.4 MB) is left to the other tests
const PATHS = ['images/ripples.jpg', 'images/stained-glass.webp', 'images/aurora.jpg'];

async function fetchAll(page, paths, options = {}) {
  return page.evaluate(async ({ paths, options }) => {
    const t0 = performance.now();
    const client = await p2p.connect(options);
    const connectedMs = performance.now() - t0;
    const transports = [];
    client.addEventListener('transport', (e) => transports.push(e.detail.transport));
    const images = [];
    for (const path of paths) {
      const res = await client.fetch('/' + path);
      const blob = await res.blob();
      const [sha, size] = await Promise.all([blob.arrayBuffer().then(e2e.hex), e2e.decode(blob)]);
      images.push({ path, sha, ...size, info: res.p2p });
    }
    const out = { connectedMs, images, transports, stats: client.stats(), hasPC: client.peerConnection !== null };
    client.close();
    return out;
  }, { paths, options });
}

function checkImages(got, files) {
  for (const img of got.images) {
    assert.equal(img.sha, sha256(files[img.path].bytes), `${img.path}: SHA-256 equals the origin file's`);
    assert.ok(img.width > 0, `${img.path} decodes`);
    assert.equal(img.info.verified, true);
  }
}

eachBrowser('ICE-TCP port unreachable: images come over the WebSocket', { timeout: 120_000 }, async (t, engine) => {
  const { files } = await demoFiles(t);
  const origin = await startOrigin(t, files);
  // The relay listens for ICE on 127.0.0.1 but advertises 127.0.0.9 in its
  // candidates: nothing listens there, so the browser's TCP connect is refused.
  const relay = await startRelay(t, ['--origin', origin.url, '--public-ip', '127.0.0.9', '--log-level', 'warn']);
  const page = await (await browser(engine)).newPage();
  await openSDKPage(page, relay);
  const got = await fetchAll(page, PATHS);
  checkImages(got, files);
  assert.equal(got.stats.transport, 'websocket');
  assert.ok(got.images.every((i) => i.info.transport === 'websocket'));
  // a cold relay: every chunk from the origin (CHUNK flags), the relay's own count
  for (const img of got.images) {
    const n = Math.ceil(files[img.path].bytes.length / 65536);
    assert.deepEqual(frameSources(img.info.bySource), { relay: 0, origin: n, peer: 0, cluster: 0 }, `${img.path}: every chunk from the origin`);
    assert.equal(img.info.source, 'origin');
  }
  assert.deepEqual(await servedBySource(relay), frameSources(got.stats.bySource), "the relay's counts by source agree");
  assert.equal(got.hasPC, false, 'the failed peer connection was closed');
  assert.equal(got.stats.connect.answer !== null, true, 'the relay answered the offer');
  assert.equal(got.stats.connect.dataChannel, null, 'but no data channel opened');
  assert.equal(await relay.metric('p2pcache_data_channels_open'), 0);
  console.log(`[e2e] ICE unreachable: connect() resolved on the websocket rung in ${got.connectedMs.toFixed(0)} ms`);
});

eachBrowser('WebSocket refused as well: images come over HTTP', { timeout: 120_000 }, async (t, engine) => {
  const { files } = await demoFiles(t);
  const origin = await startOrigin(t, files);
  // The relay's own origin may always open /ws, so the SDK is pointed at the
  // relay as http://localhost:PORT from a page on http://127.0.0.1:PORT: a
  // cross-origin page, and not on the allowlist, so /ws is refused (403).
  // /files/ and /manifest/ allow any origin (CORS).
  const relay = await startRelay(t, [
    '--origin', origin.url,
    '--allowed-origins', 'https://nowhere.example',
    '--log-level', 'warn',
  ]);
  const page = await (await browser(engine)).newPage();
  await openSDKPage(page, relay);
  const got = await fetchAll(page, PATHS, { relay: `http://localhost:${relay.port}` });
  checkImages(got, files);
  assert.equal(got.stats.transport, 'http');
  assert.equal(got.stats.connected, false);
  assert.ok(got.images.every((i) => i.info.transport === 'http' && i.info.source === 'http'));
  assert.equal(got.stats.connect.hello, null, 'the relay never said hello');
  assert.ok((await relay.metric('p2pcache_edge_rejected_total', { reason: 'origin' })) >= 1, 'the relay refused the WebSocket for its Origin');
  console.log(`[e2e] WebSocket refused: connect() resolved on the http rung in ${got.connectedMs.toFixed(0)} ms`);
});
