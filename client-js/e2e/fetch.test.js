// A browser against a real relay over WebRTC on ICE-TCP: the demo images
// arrive intact and decode, the data channel rides a TCP candidate pair, and
// a second browser is served from the relay's cache without the origin
// seeing a single new request. Each chunk's source as the browser counts
// it (the CHUNK flags) is the truth: the cold relay's chunks from the
// origin, the warm relay's from its cache, the same split as the relay's
// own p2pcache_chunks_served_total. Prints (never asserts) where the time went.
import assert from 'node:assert/strict';
import { demoFiles, eachBrowser, frameSources, launchBrowser, median, openSDKPage, servedBySource, sha256, sourcesDelta, startOrigin, startRelay } from './harness.js';


/**
 * In the page: connect, fetch and decode the first image alone (time to first
 * picture), then the rest in parallel. Every blob is hashed by the browser.
 */
async function loadGallery(page, paths) {
  return page.evaluate(async (paths) => {
    const one = async (client, path) => {
      const res = await client.fetch('/' + path);
      const blob = await res.blob();
      const [sha, size] = await Promise.all([blob.arrayBuffer().then(e2e.hex), e2e.decode(blob)]);
      return { path, sha, ...size, type: blob.type, info: res.p2p };
    };
    const t0 = performance.now();
    const client = await p2p.connect();
    const connectedMs = performance.now() - t0;
    window.client = client;
    const first = await one(client, paths[0]);
    const firstImageMs = performance.now() - t0;
    const rest = await Promise.all(paths.slice(1).map((p) => one(client, p)));
    return {
      connectedMs,
      firstImageMs,
      images: [first, ...rest],
      stats: client.stats(),
      pair: await e2e.selectedPair(client.peerConnection),
    };
  }, paths);
}

function checkImages(got, files) {
  for (const img of got.images) {
    const want = files[img.path];
    assert.equal(img.sha, sha256(want.bytes), `${img.path}: SHA-256 of the blob equals the origin file's`);
    assert.ok(img.width > 0 && img.height > 0, `${img.path} decodes (${img.width}×${img.height})`);
    assert.equal(img.type, want.contentType, `${img.path}: content type`);
    assert.equal(img.info.verified, true);
    assert.equal(img.info.sha256, sha256(want.bytes));
  }
}

eachBrowser('WebRTC over ICE-TCP: images decode and match the origin; a second browser is served from the relay cache', { timeout: 180_000 }, async (t, engine) => {
  const { files, index } = await demoFiles(t);
  const origin = await startOrigin(t, files);
  const relay = await startRelay(t, ['--origin', origin.url, '--log-level', 'warn']);
  const paths = index.map((e) => e.path);
  const chunksOf = (p) => Math.ceil(files[p].bytes.length / 65536);
  const totalChunks = paths.reduce((n, p) => n + chunksOf(p), 0);
  const none = { relay: 0, origin: 0, peer: 0, cluster: 0 };
  const served0 = await servedBySource(relay);
  assert.deepEqual(served0, none, 'a cold relay has served nothing');

  // 1. The first browser: every image over the data channel, from the origin once.
  const a = await launchBrowser(t, { browser: engine });
  await openSDKPage(a.page, relay);
  const got = await loadGallery(a.page, paths);
  checkImages(got, files);
  assert.equal(got.stats.transport, 'webrtc-tcp', `connect milestones: ${JSON.stringify(got.stats.connect)}`);
  assert.ok(got.images.every((i) => i.info.transport === 'webrtc-tcp'));
  assert.ok(got.pair, 'the peer connection has a selected candidate pair');
  assert.equal(got.pair.state, 'succeeded');
  assert.equal(got.pair.local.protocol, 'tcp', 'local candidate is TCP');
  assert.equal(got.pair.remote.protocol, 'tcp', 'remote candidate is TCP');
  assert.equal(got.pair.remote.tcpType, 'passive');
  assert.equal(got.pair.remote.port, relay.icePort, "the relay's one ICE-TCP port");
  if (relay.where.ns) {
    // the /30's first address to its second (netns.js), never another of this host's addresses
    assert.equal(got.pair.remote.address, relay.where.ns.nsIP, "the relay's namespace address");
    if (engine === 'firefox') assert.equal(got.pair.local.address, relay.where.ns.hostIP, "Firefox's candidate on the veth");
    // Chromium shows no address of its own (an mDNS name, or none for a peer-reflexive candidate)
    else if (got.pair.local.address) assert.equal(got.pair.local.address, relay.where.ns.hostIP);
  }
  assert.equal(got.stats.verifyFailures, 0);
  // Firefox reads DTLS records as large as an ICE-TCP frame and gets SCTP
  // packets that fill one; Chromium (libwebrtc reads 2048 bytes) the
  // standard ones (relay/wire/sctp.go): the images above crossed either.
  const records = engine === 'firefox' ? 'large' : 'standard';
  assert.equal(await relay.metric('p2pcache_peer_connections_total', { records }), 1, `the ${engine} peer connection uses ${records} records`);
  assert.equal(await relay.metric('p2pcache_peer_connections_total', { records: records === 'large' ? 'standard' : 'large' }), 0);
  // the relay labels every CHUNK (PROTOCOL.md §2): a cold relay got each one from the origin
  assert.equal(got.stats.sourcesKnown, true, 'the relay states each chunk\'s source');
  for (const img of got.images) {
    assert.deepEqual(frameSources(img.info.bySource), { ...none, origin: chunksOf(img.path) }, `${img.path}: every chunk from the origin`);
  }
  assert.deepEqual(frameSources(got.stats.bySource), { ...none, origin: totalChunks }, 'stats().bySource: every chunk from the origin');
  assert.equal(got.stats.bySource.local + got.stats.bySource.http, 0);
  const served1 = await servedBySource(relay);
  assert.deepEqual(sourcesDelta(served1, served0), frameSources(got.stats.bySource), "the relay's own counts by source agree");
  const originAfterFirst = origin.requests.length;
  for (const p of paths) assert.ok(origin.count(p) >= 1, `${p} came from the origin once`);

  // 2. A second, fresh browser (own profile): the same images from the relay's cache.
  const cacheBefore = await relay.metric('p2pcache_chunks_served_total', { source: 'cache' });
  const originChunksBefore = await relay.metric('p2pcache_chunks_served_total', { source: 'origin' });
  const originFetchesBefore = await relay.metric('p2pcache_origin_fetches_total');
  const b = await launchBrowser(t, { browser: engine });
  await openSDKPage(b.page, relay);
  const again = await loadGallery(b.page, paths);
  checkImages(again, files);
  assert.equal(again.stats.transport, 'webrtc-tcp', `connect milestones: ${JSON.stringify(again.stats.connect)}`);
  assert.equal(origin.requests.length, originAfterFirst, 'the origin saw no new request');
  assert.equal(await relay.metric('p2pcache_origin_fetches_total'), originFetchesBefore);
  assert.equal(await relay.metric('p2pcache_chunks_served_total', { source: 'origin' }), originChunksBefore);
  assert.equal(await relay.metric('p2pcache_chunks_served_total', { source: 'cache' }) - cacheBefore, totalChunks, 'every chunk from the cache');
  assert.deepEqual(frameSources(again.stats.bySource), { ...none, relay: totalChunks }, 'stats().bySource counts them as the relay cache\'s');
  for (const img of again.images) assert.equal(img.info.source, 'relay', `${img.path}: labelled relay`);
  assert.equal(again.stats.bySource.local + again.stats.bySource.http, 0);
  assert.deepEqual(sourcesDelta(await servedBySource(relay), served1), frameSources(again.stats.bySource), "the relay's own counts by source agree");

  const c = got.stats.connect;
  console.log(
    `[e2e] first browser: connect() ${got.connectedMs.toFixed(0)} ms; connect() start → first image decoded ` +
      `(${paths[0]}, ${(files[paths[0]].bytes.length / 1e6).toFixed(2)} MB, origin fetch included) ${got.firstImageMs.toFixed(0)} ms`,
  );
  console.log(
    `[e2e] connect split (ms since the WebSocket was created): ws open ${c.ws}, hello ${c.hello}, offer sent ${c.offer}, ` +
      `answer ${c.answer}, ICE connected ${c.ice}, DTLS connected ${c.dtls}, data channel open ${c.dataChannel}`,
  );
  const c2 = again.stats.connect;
  console.log(
    `[e2e] second browser (relay cache): connect() ${again.connectedMs.toFixed(0)} ms (ws ${c2.ws}, answer ${c2.answer}, ICE ${c2.ice}, ` +
      `DTLS ${c2.dtls}, dc ${c2.dataChannel}); first image decoded ${again.firstImageMs.toFixed(0)} ms`,
  );
  console.log(`[e2e] ${engine} chunk sources: cold relay ${JSON.stringify(frameSources(got.stats.bySource))}, warm relay ${JSON.stringify(frameSources(again.stats.bySource))} (${totalChunks} chunks)`);
  console.log(`[e2e] ice pair: ${JSON.stringify(got.pair.local)} <-> ${JSON.stringify(got.pair.remote)}`);

  // Measurements only: the largest image over WebRTC vs plain HTTP in the same browser.
  const big = index.reduce((x, e) => (e.size > x.size ? e : x));
  const reps = 5;
  const m = await b.page.evaluate(
    async ({ path, reps }) => {
      // no chunk cache, no store: every repetition goes over the wire
      const rtc = await p2p.connect({ peerCacheBytes: 0, storeBytes: 0, serve: false });
      const viaHttp = await p2p.connect({ transports: ['http'] });
      const out = { webrtc: [], http: [], sdkHttp: [], transport: rtc.stats().transport };
      const time = async (fn) => {
        const t0 = performance.now();
        await fn();
        return performance.now() - t0;
      };
      for (let i = 0; i < reps; i++) {
        out.webrtc.push(await time(async () => (await rtc.fetch(path)).arrayBuffer()));
        out.http.push(await time(async () => (await fetch('/files/' + path, { cache: 'no-store' })).arrayBuffer()));
        out.sdkHttp.push(await time(async () => (await viaHttp.fetch(path)).arrayBuffer()));
      }
      rtc.close();
      viaHttp.close();
      return out;
    },
    { path: big.path, reps },
  );
  assert.equal(m.transport, 'webrtc-tcp');
  const mb = big.size / 1e6;
  const fmt = (xs) => `median ${median(xs).toFixed(0)} ms (${(mb / (median(xs) / 1000)).toFixed(1)} MB/s) [${xs.map((x) => x.toFixed(0)).join(', ')}]`;
  console.log(`[e2e] ${big.path} (${mb.toFixed(2)} MB) × ${reps}, relay cache warm:`);
  console.log(`[e2e]   WebRTC/ICE-TCP (SDK, verified):  ${fmt(m.webrtc)}`);
  console.log(`[e2e]   plain HTTP fetch(/files/):       ${fmt(m.http)}`);
  console.log(`[e2e]   HTTP rung (SDK, verified):       ${fmt(m.sdkHttp)}`);
  console.log(`[e2e]   WebRTC / plain HTTP time ratio:  ${(median(m.webrtc) / median(m.http)).toFixed(2)}`);
});
