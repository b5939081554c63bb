// The demo gallery (GET /) in each browser against the built-in demo origin:
// every tile loads over WebRTC and shows its source and time, and the
// panel's chunks by source are the relay's own counts. Then the page's
// worker-mode toggle (a reload with ?sw=1): the gallery is plain <img
// src="/files/…"> tags that the SDK's service worker hands to the page's
// client, and not one /files request reaches the relay. Screenshots of
// both go to test-output/demo-<browser>[-worker].png for a human to look at.
//
// Every wait has its own bound, and the bounds add up to less than the
// test's timeout: a stuck step fails with what the page showed at that
// moment (tile states, the live panel, the activity log, the relay's log)
// rather than with a bare "test timed out". The phases' times are printed.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { OUT_DIR, eachBrowser, frameSources, launchBrowser, sampleOf, servedBySource, sourcesDelta, startRelay, wait } from './harness.js';

/** What the demo page shows: the panel, every tile and the activity log (for a failure's message). */
function pageState(page) {
  return page
    .evaluate(() => {
      const text = (id) => document.getElementById(id)?.textContent ?? null;
      return {
        url: location.pathname + location.search,
        mode: document.getElementById('modeName')?.dataset.mode ?? null,
        transport: text('tName'),
        rtt: text('rtt'),
        files: text('files'),
        chunks: text('chunks'),
        legend: text('legend'),
        tiles: [...document.querySelectorAll('.tile')].map((el) => ({
          state: el.dataset.state,
          p2p: el.querySelector('img')?.getAttribute('data-p2p-state'),
          path: el.querySelector('img')?.getAttribute('data-p2p-src'),
          src: el.querySelector('img')?.getAttribute('src')?.slice(0, 80),
          pct: el.querySelector('.pct')?.textContent,
          complete: el.querySelector('img')?.complete,
          width: el.querySelector('img')?.naturalWidth,
        })),
        log: [...document.querySelectorAll('#log div')].map((d) => d.textContent).slice(0, 20),
      };
    })
    .catch((e) => `(page state unavailable: ${e.message})`);
}

/**
 * Run one step of the test with a bound of its own (ms); a step that
 * throws or overruns fails the test with the page's state and the
 * relay's log. Returns the step's value and records its time in phases.
 */
async function step(phases, name, ms, fn, { page = null, relay = null } = {}) {
  const t0 = Date.now();
  let timer;
  try {
    const v = await Promise.race([
      fn(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${name}: not done within ${ms} ms`)), ms))),
    ]);
    phases.push(`${name} ${Date.now() - t0} ms`);
    return v;
  } catch (e) {
    const state = page ? JSON.stringify(await pageState(page), null, 1) : '';
    const logs = relay ? relay.logs().slice(-4000) : '';
    const problems = page?.problems?.length ? `\npage problems:\n${page.problems.join('\n')}` : '';
    throw new Error(`demo ${name} failed after ${Date.now() - t0} ms (${phases.join(', ')}): ${e.message}\npage: ${state}${problems}\nrelay log tail:\n${logs}`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
}

/** Wait until the gallery has n tiles, each loaded or failed. */
function tilesSettled(phases, page, n, ctx) {
  return step(
    phases,
    'tiles',
    40_000,
    () =>
      page.waitForFunction(
        (n) => {
          const tiles = [...document.querySelectorAll('.tile')];
          return tiles.length === n && tiles.every((el) => el.dataset.state === 'loaded' || el.dataset.state === 'error');
        },
        n,
        { timeout: 40_000, polling: 100 },
      ),
    ctx,
  );
}

/** A full-page screenshot for a human; one that cannot be taken in time is reported, not a failure. */
async function screenshot(page, name) {
  await mkdir(OUT_DIR, { recursive: true });
  return page
    .screenshot({ path: `${OUT_DIR}${name}`, fullPage: true, timeout: 10_000 })
    .then(() => `screenshot ${OUT_DIR}${name}`, (e) => `no screenshot (${e.message.split('\n')[0]})`);
}

/** The panel's chunks by source, as the page shows them (#n-<source>). */
function legendOf(page) {
  return page.evaluate(() => Object.fromEntries(['relay', 'origin', 'peer', 'cluster', 'http', 'local'].map((k) => [k, Number(document.getElementById(`n-${k}`)?.textContent ?? 0)])));
}

/**
 * The panel's counts by source over frames are what the relay served since
 * before (p2pcache_chunks_served_total by source: the page is the relay's
 * only client), and none came over HTTP. The panel ticks once a second:
 * wait for it to show at least least chunks. Returns what it shows.
 */
async function checkLegend(phases, page, relay, before, least) {
  const served = sourcesDelta(await servedBySource(relay), before);
  const n = Math.max(least, Object.values(served).reduce((a, b) => a + b, 0));
  await step(phases, 'panel counts', 5_000, () => page.waitForFunction((n) => Number(document.getElementById('chunks').textContent) >= n, n, { timeout: 5_000, polling: 100 }), { page, relay });
  const shown = await legendOf(page);
  assert.deepEqual(frameSources(shown), served, `the panel's counts by source are the relay's: ${JSON.stringify(shown)}`);
  assert.equal(shown.http, 0, 'no chunk over HTTP');
  return shown;
}

const filesRequests = (relay, from) => relay.requests().slice(from).filter((l) => /^(GET|HEAD) \/files\//.test(l));

eachBrowser('the demo gallery over WebRTC, then in worker mode by its toggle with no /files request; screenshots in test-output/demo-<browser>*.png', { timeout: 250_000 }, async (t, engine) => {
  const phases = [];
  // bounded by startRelay itself (its error carries the relay's output)
  const relay = await startRelay(t, ['--log-level', 'warn']);
  phases.push(`relay start ${relay.startMs} ms`);
  assert.ok(relay.requests(), 'needs the namespace forwarder to count requests');
  const index = await step(phases, 'index.json', 10_000, async () => (await fetch(relay.url + '/files/index.json', { signal: AbortSignal.timeout(10_000) })).json(), { relay });
  const galleryChunks = index.reduce((n, e) => n + Math.ceil(e.size / 65536), 0);
  const { page } = await step(phases, 'browser launch', 25_000, () => launchBrowser(t, { browser: engine, viewport: { width: 1360, height: 900 } }), { relay });
  const ctx = { page, relay };

  // 1. Autoload mode (the default): data-p2p-src tiles over WebRTC.
  await step(phases, 'page load', 20_000, () => page.goto(relay.url + '/', { timeout: 20_000 }), ctx);
  await tilesSettled(phases, page, index.length, ctx);
  // the live panel ticks once a second: wait for an RTT sample, then for the fade-ins to finish
  await step(phases, 'rtt sample', 10_000, () => page.waitForFunction(() => document.getElementById('rtt').textContent.endsWith('ms'), null, { timeout: 10_000, polling: 250 }), ctx);
  // RTT samples taken during the transfer include the queue of chunks ahead
  // of each PONG; give the smoothed figure a few idle pings to settle (not asserted)
  await page
    .waitForFunction(() => parseFloat(document.getElementById('rtt').textContent) < 50, null, { timeout: 8_000, polling: 250 })
    .catch(() => {});
  await page.waitForTimeout(800);
  const state = await step(
    phases,
    'read tiles',
    10_000,
    () =>
      page.evaluate(() => ({
        transport: document.getElementById('tName').textContent,
        mode: document.getElementById('modeName').dataset.mode,
        tiles: [...document.querySelectorAll('.tile')].map((el) => ({
          state: el.dataset.state,
          chip: el.querySelector('.chip').textContent,
          time: el.querySelector('.time').textContent,
          width: el.querySelector('img').naturalWidth,
        })),
      })),
    ctx,
  );
  const shot = await screenshot(page, `demo-${engine}.png`);
  console.log(`[e2e] ${engine} demo: ${state.tiles.map((x) => `${x.chip} ${x.time}`).join(' · ')}; ${shot}`);
  assert.equal(state.transport, 'WebRTC · ICE-TCP');
  assert.equal(state.mode, 'autoload');
  for (const tile of state.tiles) {
    assert.equal(tile.state, 'loaded');
    assert.ok(tile.width > 0, 'the picture decoded');
    assert.match(tile.time, /\d+(\.\d+)? m?s$/);
    assert.ok(['relay', 'peer', 'origin', 'another relay', 'HTTP', 'this tab'].includes(tile.chip), tile.chip);
  }
  const none = { relay: 0, origin: 0, peer: 0, cluster: 0 };
  const shown = await checkLegend(phases, page, relay, none, galleryChunks);
  assert.equal(shown.local, 0, 'a fresh profile holds nothing');
  const served1 = await servedBySource(relay);

  // 2. Worker mode by the page's toggle (a reload with ?sw=1): plain <img src="/files/…"> tags
  // that the service worker hands to the page's client; not one reaches the relay.
  const filesMetric = async () => sampleOf(await relay.metrics(), 'p2pcache_http_requests_total', { endpoint: 'files' });
  const metricBefore = await filesMetric();
  assert.ok(metricBefore >= 1, 'the relay counts /files responses (p2pcache_http_requests_total): the test\'s own index.json');
  const mark = relay.requests().length;
  await page.evaluate(() => document.getElementById('sw').click());
  await step(
    phases,
    'toggle to worker mode',
    15_000,
    async () => {
      for (let deadline = Date.now() + 15_000; Date.now() < deadline; await wait(100)) {
        const up = await page
          .evaluate(() => location.search === '?sw=1' && document.readyState === 'complete' && !!document.getElementById('modeName')?.dataset.mode)
          .catch(() => false); // the old document is going away
        if (up) return;
      }
      throw new Error('the page did not come back as ?sw=1');
    },
    ctx,
  );
  await tilesSettled(phases, page, index.length, ctx);
  const worker = await page.evaluate(() => ({
    mode: document.getElementById('modeName').dataset.mode,
    checked: document.getElementById('sw').checked,
    controlled: !!navigator.serviceWorker?.controller,
    transport: document.getElementById('tName').textContent,
    tiles: [...document.querySelectorAll('.tile')].map((el) => ({
      state: el.dataset.state,
      chip: el.querySelector('.chip').textContent,
      src: el.querySelector('img').getAttribute('src'),
      width: el.querySelector('img').naturalWidth,
    })),
  }));
  const reached = filesRequests(relay, mark);
  const metricAfter = await filesMetric();
  assert.equal(worker.mode, 'worker', 'the page says worker mode is active');
  assert.equal(worker.checked, true, 'the toggle shows it');
  assert.equal(worker.controlled, true, 'the worker controls the page');
  for (const tile of worker.tiles) {
    assert.equal(tile.state, 'loaded');
    assert.ok(tile.width > 0, 'the picture decoded');
    assert.match(tile.src, /^\/files\//, 'a plain /files URL');
    assert.equal(tile.chip, 'worker');
  }
  assert.deepEqual(reached, [], 'no /files request reached the relay');
  assert.equal(metricAfter, metricBefore, 'and the relay answered none');
  // the same profile: the tab store of the first load has the images; frames bring the rest
  const shownSW = await checkLegend(phases, page, relay, served1, galleryChunks);
  const shot2 = await screenshot(page, `demo-${engine}-worker.png`);
  console.log(
    `[e2e] ${engine} demo chunks by source: autoload ${JSON.stringify(shown)}; worker mode ${JSON.stringify(shownSW)}, ` +
      `/files requests at the relay ${reached.length} (forwarder) ${metricAfter - metricBefore} (p2pcache_http_requests_total); ${shot2}`,
  );
  console.log(`[e2e] ${engine} demo phases: ${phases.join(', ')}`);
  assert.deepEqual(page.problems.filter((p) => !/favicon/.test(p)), []);
});
