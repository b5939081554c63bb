// The demo gallery (GET /) in each browser against the built-in demo origin:
// every tile loads over WebRTC and shows its source and time; a screenshot
// goes to test-output/demo-<browser>.png for a human to look at.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { OUT_DIR, eachBrowser, launchBrowser, startRelay } from './harness.js';


eachBrowser('the demo gallery loads every image over WebRTC; screenshot in test-output/demo-<browser>.png', { timeout: 120_000 }, async (t, engine) => {
  const relay = await startRelay(t, ['--log-level', 'warn']);
  const index = await (await fetch(relay.url + '/files/index.json')).json();
  const { page } = await launchBrowser(t, { browser: engine, viewport: { width: 1360, height: 900 } });
  await page.goto(relay.url + '/');
  await page.waitForFunction(
    (n) => {
      const tiles = [...document.querySelectorAll('.tile')];
      return tiles.length === n && tiles.every((el) => el.dataset.state === 'loaded' || el.dataset.state === 'error');
    },
    index.length,
    { timeout: 60_000 },
  );
  // the live panel ticks once a second: wait for an RTT sample, then for the fade-ins to finish
  await page.waitForFunction(() => document.getElementById('rtt').textContent.endsWith('ms'), null, { timeout: 10_000 });
  // RTT samples taken during the transfer include the queue of chunks ahead
  // of each PONG; give the smoothed figure a few idle pings to settle (not asserted)
  await page
    .waitForFunction(() => parseFloat(document.getElementById('rtt').textContent) < 50, null, { timeout: 8_000, polling: 250 })
    .catch(() => {});
  await page.waitForTimeout(800);
  const state = await page.evaluate(() => ({
    transport: document.getElementById('tName').textContent,
    tiles: [...document.querySelectorAll('.tile')].map((el) => ({
      state: el.dataset.state,
      chip: el.querySelector('.chip').textContent,
      time: el.querySelector('.time').textContent,
      width: el.querySelector('img').naturalWidth,
    })),
  }));
  await mkdir(OUT_DIR, { recursive: true });
  await page.screenshot({ path: `${OUT_DIR}demo-${engine}.png`, fullPage: true });
  console.log(`[e2e] demo: ${state.tiles.map((x) => `${x.chip} ${x.time}`).join(' · ')}; screenshot ${OUT_DIR}demo-${engine}.png`);
  assert.equal(state.transport, 'WebRTC · ICE-TCP');
  for (const tile of state.tiles) {
    assert.equal(tile.state, 'loaded');
    assert.ok(tile.width > 0, 'the picture decoded');
    assert.match(tile.time, /\d+(\.\d+)? m?s$/);
    assert.ok(['relay', 'peer', 'origin', 'HTTP', 'this tab'].includes(tile.chip), tile.chip);
  }
  assert.deepEqual(page.problems.filter((p) => !/favicon/.test(p)), []);
});
