// Browser peer-sourcing: a file one browser holds serves another. The relay
// runs with a cache smaller than the file, so when the second browser asks
// for it most chunks are gone from the relay; the relay pulls them from the
// first browser (which announced them with HAVE) instead of the origin.
// Each browser's count of chunks by source (the CHUNK flags) is the
// relay's own split (p2pcache_chunks_served_total by source), chunk for chunk.
import assert from 'node:assert/strict';
import { demoFiles, eachBrowser, frameSources, launchBrowser, openSDKPage, servedBySource, sha256, sourcesDelta, startOrigin, startRelay, wait } from './harness.js';

const PATH = 'images/nebula.png'; // 5.4 MB, 83 chunks

async function fetchIn(page, path) {
  return page.evaluate(async (path) => {
    window.client ??= await p2p.connect();
    const res = await client.fetch('/' + path);
    const blob = await res.blob();
    const [sha, size] = await Promise.all([blob.arrayBuffer().then(e2e.hex), e2e.decode(blob)]);
    return { sha, ...size, info: res.p2p, stats: client.stats() };
  }, path);
}

eachBrowser('chunks held by one browser serve another when the relay has evicted them', { timeout: 180_000 }, async (t, engine) => {
  const { files } = await demoFiles(t);
  const file = files[PATH].bytes;
  const nChunks = Math.ceil(file.length / 65536);
  const origin = await startOrigin(t, files);
  // A cache of 1 MiB keeps 16 of the 83 chunks. A generous least peer timeout
  // keeps a busy 2-core machine from sending tries to the origin early.
  const relay = await startRelay(t, ['--origin', origin.url, '--cache-size', '1MiB', '--peer-timeout-min', '2s', '--log-level', 'warn']);

  // Browser A fetches the file and announces it.
  const served0 = await servedBySource(relay);
  const a = await launchBrowser(t, { browser: engine });
  await openSDKPage(a.page, relay);
  const gotA = await fetchIn(a.page, PATH);
  assert.equal(gotA.sha, sha256(file));
  assert.equal(gotA.stats.transport, 'webrtc-tcp');
  assert.equal(gotA.stats.cache.chunks, nChunks, 'A holds every chunk');
  // a cold relay: every chunk of A's from the origin (those its manifest build kept included)
  assert.equal(gotA.stats.sourcesKnown, true, 'the relay states each chunk\'s source');
  const bsA = frameSources(gotA.info.bySource);
  assert.deepEqual(bsA, { relay: 0, origin: nChunks, peer: 0, cluster: 0 }, 'A: every chunk from the origin');
  const served1 = await servedBySource(relay);
  assert.deepEqual(sourcesDelta(served1, served0), bsA, "A's split by source is the relay's");
  const deadline = Date.now() + 10_000;
  while ((await relay.metric('p2pcache_holder_index_entries')) < nChunks) {
    assert.ok(Date.now() < deadline, 'the relay indexed A\'s HAVE in time');
    await wait(50);
  }
  const announced = await a.page.evaluate(() => client.stats().served);
  assert.equal(announced.announcedFiles, 1);
  assert.ok(announced.haveFrames >= 1);

  const before = {
    peerChunks: await relay.metric('p2pcache_chunks_served_total', { source: 'peer' }),
    peerOK: await relay.metric('p2pcache_peer_fetches_total', { result: 'ok' }),
    originBytes: origin.rangeBytes(PATH),
    originRequests: origin.count(PATH),
  };

  // Browser B, a separate browser with its own profile, fetches the same file.
  const b = await launchBrowser(t, { browser: engine });
  await openSDKPage(b.page, relay);
  const gotB = await fetchIn(b.page, PATH);
  assert.equal(gotB.sha, sha256(file), "B's bytes are the origin file");
  assert.ok(gotB.width > 0, 'and decode');
  assert.equal(gotB.info.verifyFailures, 0);
  const bs = frameSources(gotB.info.bySource);
  assert.equal(bs.relay + bs.peer + bs.origin, nChunks, 'B got every chunk over frames');
  assert.equal(gotB.info.bySource.http + gotB.info.bySource.local, 0);

  const after = {
    peerChunks: await relay.metric('p2pcache_chunks_served_total', { source: 'peer' }),
    peerOK: await relay.metric('p2pcache_peer_fetches_total', { result: 'ok' }),
    originBytes: origin.rangeBytes(PATH),
    originRequests: origin.count(PATH),
  };
  const servedByA = (await a.page.evaluate(() => client.stats().served)).chunks;
  const fromPeer = after.peerChunks - before.peerChunks;
  const originBytes = after.originBytes - before.originBytes;
  const peerFetches = await relay.metrics().then((m) =>
    m.split('\n').filter((l) => l.startsWith('p2pcache_peer_fetches_total')).join(', '),
  );
  console.log(
    `[e2e] peer-sourcing: of ${nChunks} chunks B got, ${fromPeer} came from browser A (A served ${servedByA}); ` +
      `origin: ${after.originRequests - before.originRequests} requests, ${(originBytes / 1e6).toFixed(2)} of ${(file.length / 1e6).toFixed(2)} MB; ` +
      `${peerFetches}; B took ${gotB.info.ms} ms; A's sources ${JSON.stringify(bsA)}, B's ${JSON.stringify(bs)}`,
  );
  assert.ok(fromPeer > 0, 'the relay served chunks it pulled from a peer');
  assert.ok(after.peerOK > before.peerOK);
  assert.ok(servedByA >= fromPeer, "A's SDK answered the relay's GET_CHUNKs");
  assert.ok(originBytes < file.length, 'the origin was not asked for the whole file again');
  // the relay labels CHUNK sources (PROTOCOL.md §2): B's counts are the relay's own, source by source
  assert.equal(gotB.stats.sourcesKnown, true);
  assert.equal(bs.peer, fromPeer, 'B counts the chunks pulled from A as peer');
  assert.deepEqual(sourcesDelta(await servedBySource(relay), served1), bs, "B's split by source is the relay's");
});
