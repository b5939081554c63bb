// Service-worker mode in a real browser, with pages left unchanged: a page
// on its own origin has plain <img src="<relay>/files/…"> tags. Without
// the worker the images come over HTTP from the relay. With the worker
// installed (connect({ relay, serviceWorker })) the next load shows the
// same images with no /files request reaching the relay: the worker hands
// each request to the page's client, which fetches over WebRTC and
// streams the verified bytes back. The load after that is served from the
// persistent tab store: relay egress ≈ 0.
import assert from 'node:assert/strict';
import { demoFiles, eachBrowser, frameSources, launchBrowser, sha256, startOrigin, startRelay, startSite } from './harness.js';

const PATHS = ['images/ripples.jpg', 'images/stained-glass.webp', 'images/aurora.jpg', 'images/nebula.png'];

function page(relay) {
  const imgs = PATHS.map((p, i) => `<img id="i${i}" width="240" src="${relay.url}/files/${p}">`).join('\n');
  return `<!doctype html><meta charset="utf-8"><title>unchanged page</title>
<body>
${imgs}
<script type="module">
  import { connect } from '/p2pcache.js';
  window.t0 = performance.now();
  window.ready = (async () => {
    if (!new URLSearchParams(location.search).has('sw')) return null;
    window.client = await connect({ relay: ${JSON.stringify(relay.url)}, serviceWorker: '/p2pcache-sw.js' });
    return client.serviceWorker;
  })();
</script>`;
}

/**
 * Load url and wait until every image is complete; what the page saw, and
 * (hashes) the SHA-256 of each image as the page's fetch() gets it.
 */
async function load(pg, url, { hashes = true } = {}) {
  await pg.goto(url);
  await pg.waitForFunction(() => [...document.images].every((i) => i.complete), null, { timeout: 60_000 });
  return pg.evaluate(async (hashes) => {
    const sw = await window.ready;
    const imgs = [...document.images].map((i) => ({ src: i.src, w: i.naturalWidth }));
    const hex = async (src) => {
      const d = new Uint8Array(await crypto.subtle.digest('SHA-256', await (await fetch(src)).arrayBuffer()));
      return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
    };
    return {
      controlled: !!navigator.serviceWorker?.controller,
      sw: sw && { controlled: sw.controlled, error: sw.error },
      imgs,
      ms: Math.round(performance.now() - window.t0),
      stats: window.client?.stats() ?? null,
      // the bytes as the page's fetch() sees them (through the worker when it controls the page)
      shas: hashes ? await Promise.all(imgs.map((i) => hex(i.src))) : null,
    };
  }, hashes);
}

const filesRequests = (relay, from) => relay.requests().slice(from).filter((l) => /^GET \/files\//.test(l));

eachBrowser('plain <img> tags: the same images with and without the worker; with it, no /files request reaches the relay', { timeout: 180_000 }, async (t, engine) => {
  const { files } = await demoFiles(t);
  const origin = await startOrigin(t, files);
  const relay = await startRelay(t, ['--origin', origin.url, '--log-level', 'warn']);
  assert.ok(relay.requests(), 'needs the namespace forwarder to count requests');
  const site = await startSite(t, { '/page.html': page(relay) });
  const { page: pg } = await launchBrowser(t, { browser: engine });
  const want = PATHS.map((p) => sha256(files[p].bytes));

  // 1. Without the worker: plain HTTP from the relay.
  let mark = relay.requests().length;
  const plain = await load(pg, `${site.url}/page.html`);
  assert.ok(plain.imgs.every((i) => i.w > 0), 'every image decoded');
  assert.deepEqual(plain.shas, want);
  const plainFiles = filesRequests(relay, mark).length;
  assert.ok(plainFiles >= PATHS.length, `the images came over /files (${plainFiles} requests)`);

  // 2. Install the worker: it claims this page; images already loaded stay as they are.
  // (no hashing here: those fetches would go through the worker and fill the store)
  const install = await load(pg, `${site.url}/page.html?sw`, { hashes: false });
  assert.equal(install.sw.error, null);
  assert.equal(install.sw.controlled, true, 'the worker controls the page after connect()');

  // 3. The next load: controlled from the start, every image through the page's client.
  mark = relay.requests().length;
  const chunksBefore = await relay.metric('p2pcache_chunks_served_total', { source: 'cache' });
  const viaSW = await load(pg, `${site.url}/page.html?sw`);
  assert.equal(viaSW.controlled, true);
  assert.ok(viaSW.imgs.every((i) => i.w > 0), 'every image decoded');
  assert.deepEqual(viaSW.shas, want, 'the same bytes');
  assert.deepEqual(filesRequests(relay, mark), [], 'no /files request reached the relay');
  const s = viaSW.stats;
  const total = PATHS.reduce((n, p) => n + Math.ceil(files[p].bytes.length / 65536), 0);
  // the plain loads of step 1 filled the relay's cache: every chunk over frames from it
  assert.deepEqual(frameSources(s.bySource), { relay: total, origin: 0, peer: 0, cluster: 0 }, `over frames, from the relay's cache: ${JSON.stringify(s.bySource)}`);
  assert.equal(s.bySource.http + s.bySource.local, 0);
  assert.equal((await relay.metric('p2pcache_chunks_served_total', { source: 'cache' })) - chunksBefore, total);
  // the store's writes commit in the background: a page left at once would lose the last ones
  await pg.waitForFunction((n) => client.stats().store?.chunks >= n && client.stats().store.pending === 0, total, { timeout: 20_000 });

  // 4. Once more: the persistent store has them.
  mark = relay.requests().length;
  const chunksMid = await relay.metric('p2pcache_chunks_served_total');
  const stored = await load(pg, `${site.url}/page.html?sw`);
  assert.deepEqual(stored.shas, want);
  assert.deepEqual(filesRequests(relay, mark), []);
  const egress = (await relay.metric('p2pcache_chunks_served_total')) - chunksMid;
  assert.ok(stored.stats.bySource.local > 0, `from the store: ${JSON.stringify(stored.stats.bySource)}`);
  assert.equal(egress, 0, 'the relay served no chunk');
  console.log(
    `[e2e] ${engine} service worker: without it ${plainFiles} /files requests (${plain.ms} ms to all images); ` +
      `with it 0 (${viaSW.ms} ms, ${JSON.stringify(s.bySource)}); reload from the store: ` +
      `${stored.stats.bySource.local}/${total} chunks local (hit rate ${((100 * stored.stats.bySource.local) / total).toFixed(0)} %), relay egress ${egress} chunks (${stored.ms} ms)`,
  );
});
