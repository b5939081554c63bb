// Relay choice by RTT in a real browser: two relays of one origin, one
// behind a link with 80 ms more round trip (the forwarders shape its HTTP
// path and its ICE-TCP port alike, harness.js). connect({ relays: [slow,
// fast] }) measures both and connects to the fast one; when the fast
// relay's process dies, the client moves to the slow one by itself and a
// fetch made meanwhile completes there, verified. Prints the RTTs measured
// and how long the failover took.
import assert from 'node:assert/strict';
import { demoFiles, eachBrowser, launchBrowser, sha256, startOrigin, startRelay, startSite, wait } from './harness.js';

const EXTRA_RTT_MS = 80;
const FIRST = 'images/ripples.jpg';
const DURING = 'images/aurora.jpg'; // fetched while the fast relay is gone
const AFTER = 'images/nebula.png'; // fetched once the client is on the slow relay

const PAGE = `<!doctype html><meta charset="utf-8"><title>relays</title>
<script type="module">
  import { connect } from '/p2pcache.js';
  window.p2p = { connect };
  window.events = [];
  window.hex = async (buf) => {
    const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
    return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
  };
</script>`;

eachBrowser('relay choice: the lowest-RTT relay is chosen; the client fails over when it dies', { timeout: 150_000 }, async (t, engine) => {
  const { files } = await demoFiles(t);
  const origin = await startOrigin(t, files);
  const args = ['--origin', origin.url, '--log-level', 'warn'];
  const fast = await startRelay(t, args);
  const slow = await startRelay(t, args, { link: { rttMs: EXTRA_RTT_MS } });
  const site = await startSite(t, { '/r.html': PAGE });
  const { page } = await launchBrowser(t, { browser: engine });
  await page.goto(`${site.url}/r.html`);
  await page.waitForFunction(() => !!window.p2p, null, { timeout: 10_000 });

  // 1. Both measured; the fast one chosen, and the images come from it over WebRTC.
  const first = await page.evaluate(
    async ({ relays, path }) => {
      const t0 = performance.now();
      window.client = await p2p.connect({ relays, backoffBaseMs: 100, backoffMaxMs: 500, retryWindowMs: 30_000 });
      const connectedMs = performance.now() - t0;
      client.addEventListener('relay', (e) => events.push({ ...e.detail, at: performance.now() }));
      const res = await client.fetch('/' + path);
      const sha = await hex(await res.arrayBuffer());
      return { connectedMs, sha, info: res.p2p, stats: client.stats(), relay: client.relay };
    },
    { relays: [slow.url, fast.url], path: FIRST },
  );
  const r = first.stats.relays;
  console.log(
    `[e2e] ${engine} relay choice: ${r.candidates.map((c) => `${c.url === fast.url ? 'fast' : 'slow'} ${c.rttMs} ms${c.error ? ` (${c.error})` : ''}`).join(', ')}; ` +
      `chose ${r.chosen === fast.url ? 'fast' : 'slow'}; connect() ${first.connectedMs.toFixed(0)} ms`,
  );
  assert.equal(r.chosen, fast.url, 'the lower-RTT relay is chosen');
  assert.equal(first.relay, fast.url);
  assert.deepEqual(r.candidates.map((c) => c.url), [fast.url, slow.url], 'candidates best first');
  const [rf, rs] = r.candidates.map((c) => c.rttMs);
  assert.ok(rf !== null && rs !== null, 'both measured');
  assert.ok(rs >= EXTRA_RTT_MS - 10, `the slow relay's RTT shows its ${EXTRA_RTT_MS} ms link (${rs} ms)`);
  assert.ok(rf < rs, `fast ${rf} ms, slow ${rs} ms`);
  assert.equal(r.failovers, 0);
  assert.equal(first.sha, sha256(files[FIRST].bytes));
  assert.equal(first.stats.transport, 'webrtc-tcp');
  assert.equal(first.info.transport, 'webrtc-tcp');
  // the relays' view: the browser is on the fast one only
  assert.equal(await fast.metric('p2pcache_data_channels_open'), 1);
  assert.equal(await slow.metric('p2pcache_peers_connected'), 0);
  assert.ok((await fast.metric('p2pcache_chunks_served_total')) > 0);
  assert.equal(await slow.metric('p2pcache_chunks_served_total'), 0);

  // 2. The fast relay's process dies (no goodbye); a fetch made now completes on the slow one
  // (over whichever rung is up there first: its HTTP rung, or frames once connected).
  const slowMark = slow.requests().length;
  const killedAt = Date.now();
  fast.proc.kill('SIGKILL');
  await fast.stop(); // waits for the exit
  const during = await page.evaluate(async (path) => {
    const t0 = performance.now();
    const res = await client.fetch('/' + path);
    const sha = await hex(await res.arrayBuffer());
    return { sha, info: res.p2p, ms: performance.now() - t0 };
  }, DURING);
  const fetchedAt = Date.now();
  assert.equal(during.sha, sha256(files[DURING].bytes), 'the fetch made during the failover got the origin bytes');
  assert.equal(during.info.verified, true);
  const slowHTTP = slow.requests().slice(slowMark).filter((l) => l.includes(DURING));
  if (during.info.transport === 'http') assert.ok(slowHTTP.length > 0, `the slow relay's HTTP rung served it: ${JSON.stringify(slowHTTP)}`);

  // 3. On the slow relay, over WebRTC again.
  let stats;
  for (let deadline = Date.now() + 30_000; Date.now() < deadline; await wait(100)) {
    stats = await page.evaluate(() => client.stats());
    if (stats.relays.chosen === slow.url && stats.transport === 'webrtc-tcp') break;
  }
  const onSlowAt = Date.now();
  const events = await page.evaluate(() => events);
  console.log(
    `[e2e] ${engine} failover: fetch made after the kill done in ${(fetchedAt - killedAt)} ms over ${during.info.transport}; ` +
      `on the slow relay over ${stats.transport} ${onSlowAt - killedAt} ms after the kill; failovers ${stats.relays.failovers}; ` +
      `events ${JSON.stringify(events.map((e) => ({ reason: e.reason, to: e.relay === slow.url ? 'slow' : e.relay === fast.url ? 'fast' : e.relay })))}`,
  );
  assert.equal(stats.relays.chosen, slow.url, 'the client moved to the slow relay');
  assert.equal(stats.transport, 'webrtc-tcp', 'over WebRTC');
  assert.ok(stats.relays.failovers >= 1, `failovers: ${stats.relays.failovers}`);
  assert.ok(events.some((e) => e.reason === 'failover' && e.relay === slow.url && e.previous === fast.url), "a 'relay' event for the failover");

  // 4. The next fetch: over WebRTC from the slow relay.
  const servedBefore = await slow.metric('p2pcache_chunks_served_total');
  const after = await page.evaluate(async (path) => {
    const res = await client.fetch('/' + path);
    return { sha: await hex(await res.arrayBuffer()), info: res.p2p };
  }, AFTER);
  assert.equal(after.sha, sha256(files[AFTER].bytes));
  assert.equal(after.info.transport, 'webrtc-tcp');
  assert.equal((await slow.metric('p2pcache_chunks_served_total')) - servedBefore, after.info.chunks, 'every chunk from the slow relay');
  assert.equal(await slow.metric('p2pcache_data_channels_open'), 1, "on the slow relay's data channel");
  await page.evaluate(() => client.close());
});
