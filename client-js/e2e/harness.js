// Shared fixtures of the end-to-end tests: a real relay process, an HTTP
// origin that counts what it is asked for, and fresh headless browsers
// (Chromium and Firefox, browsers.js). Every fixture registers its own
// cleanup with the test context, so a failing test still kills its
// processes and removes its temporary files. Every test runs once per
// browser (eachBrowser).
//
// The network: Firefox ignores loopback ICE candidates, so the relay runs
// in a network namespace of its own (netns.js) and listens on a private
// /30 address; the origin listens on the host's end of that /30. Pages
// load the relay through a forwarder on 127.0.0.1 (shaper.js): a loopback
// origin is a secure context in both browsers (crypto.subtle, service
// workers) and the relay sees it as its own origin. ICE goes to the
// namespace address: straight to the relay, or through a shaping forwarder
// in the namespace when a test asks for a slower link ({ link: { rttMs,
// rateBps } }). Either way the selected candidate pair is the /30's first
// address to its second (fetch.test.js checks it).
// Without namespaces (not root) Chromium runs on loopback as before and
// Firefox is skipped.
//
// Needs P2PCACHE_BIN (the relay binary built with the p2pcache_faults tag,
// for --fault-corrupt-chunk; `make test-browser` builds bin/p2pcache-e2e and
// sets it), the browsers (browsers.js) and their drivers in node_modules.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, test } from 'node:test';
import { BROWSERS, browserMissing, launchBrowser as launch } from './browsers.js';
import { netns, netnsMissing } from './netns.js';
import { spawnForwarder, startForwarder } from './shaper.js';

export { BROWSERS, CHROMIUM, FIREFOX, CHROMIUM_ARGS } from './browsers.js';

/**
 * A fresh headless browser (opts.browser: 'chromium' or 'firefox'; see
 * browsers.js), launched once the relay's namespace is up.
 * Returns { context: { newPage }, page }.
 */
export function launchBrowser(t, opts = {}) {
  if (USE_NETNS) netns();
  return launch(t, opts);
}

export const BIN = process.env.P2PCACHE_BIN ?? new URL('../../bin/p2pcache-e2e', import.meta.url).pathname;
export const OUT_DIR = new URL('../../test-output/', import.meta.url).pathname;

export const sha256 = (b) => createHash('sha256').update(b).digest('hex');
export const wait = (ms) => new Promise((r) => setTimeout(r, ms));
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Whether the relay runs in a network namespace (E2E_NETNS=0 keeps it on loopback). */
export const USE_NETNS = process.env.E2E_NETNS !== '0' && !netnsMissing();

/** Why the suite cannot run in browser here, or null. Tests skip (locally) with this reason. */
export function missing(browser = 'chromium') {
  if (!existsSync(BIN)) return `relay binary ${BIN} missing (go build -tags p2pcache_faults -o bin/p2pcache-e2e ./server, or set P2PCACHE_BIN)`;
  const why = browserMissing(browser);
  if (why) return why;
  if (browser === 'firefox' && !USE_NETNS) {
    return `Firefox needs the relay off loopback: ${netnsMissing() ?? 'E2E_NETNS=0'}`;
  }
  return null;
}

/**
 * Register the test once per browser of the suite, named "name [browser]",
 * skipped where that browser cannot run: fn(t, browser).
 */
export function eachBrowser(name, opts, fn) {
  for (const browser of BROWSERS) {
    test(`${name} [${browser}]`, { ...opts, skip: opts.skip || missing(browser) || false }, (t) => fn(t, browser));
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

let nsPorts = 18000; // the namespace has its own ports: hand them out in order

/**
 * Start the relay binary and wait for /healthz. In the namespace it listens
 * on the namespace address (ports of its own), reached through a loopback
 * forwarder; otherwise on free loopback ports. opts: env, timeoutMs, link
 * ({ rttMs, rateBps }: shape both the HTTP/WebSocket path and ICE-TCP).
 * timeoutMs bounds the wait for /healthz (a relay with the built-in demo
 * origin paints its images first: seconds of CPU on a busy machine).
 * Returns { url, port, icePort, startMs, logs(), metrics(), metric(name, labels),
 * stop() }; stop() (and the forwarders' close) run on t.after as well. A
 * start that loses its loopback ports to a race is retried.
 */
export async function startRelay(t, args = [], { env = {}, timeoutMs = 30000, link = null } = {}) {
  if (USE_NETNS) {
    const ns = netns();
    const port = nsPorts++;
    const icePort = nsPorts++;
    const requests = [];
    const fwd = [await startForwarder({ targetHost: ns.nsIP, targetPort: port, link: link ?? {}, onRequest: (l) => requests.push(l) })];
    t.after(() => fwd[0].close());
    let iceListen = `${ns.nsIP}:${icePort}`;
    let ice = [];
    if (link) {
      // ICE through a shaping forwarder inside the namespace, on the namespace address and the
      // port the relay advertises; the relay listens behind it on the namespace's loopback. The
      // forwarder connects from the namespace address: Firefox fails a check whose mapped
      // address (where the relay saw it come from) is a loopback one.
      iceListen = `127.0.0.1:${icePort}`;
      fwd.push(await spawnForwarder(ns, { listenHost: ns.nsIP, listenPort: icePort, targetHost: '127.0.0.1', targetPort: icePort, sourceHost: ns.nsIP, link }));
      t.after(() => fwd[1].close());
      ice = ['--public-ip', ns.nsIP];
    }
    const where = { url: `http://127.0.0.1:${fwd[0].port}`, port: fwd[0].port, icePort, listen: `${ns.nsIP}:${port}`, iceListen, ns, extra: ice, requests };
    return startRelayOn(t, where, args, env, timeoutMs);
  }
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const icePort = await freePort();
    const where = { url: `http://127.0.0.1:${port}`, port, icePort, listen: `127.0.0.1:${port}`, iceListen: `127.0.0.1:${icePort}`, ns: null, extra: [], requests: null };
    try {
      return await startRelayOn(t, where, args, env, timeoutMs);
    } catch (e) {
      if (attempt >= 2 || !/address already in use/i.test(e.message)) throw e;
    }
  }
}

/**
 * Start the relay again on the addresses of a stopped one (a restart, as an
 * operator's deploy does it): same URL, same ICE port.
 */
export async function restartRelay(t, relay, args = [], { env = {}, timeoutMs = 30000 } = {}) {
  await relay.stop();
  return startRelayOn(t, relay.where, args, env, timeoutMs);
}

async function startRelayOn(t, where, args, env, timeoutMs) {
  const argv = ['--listen', where.listen, '--ice-listen', where.iceListen, ...where.extra, ...args];
  const [cmd, cmdArgs] = where.ns ? where.ns.exec([BIN, ...argv]) : [BIN, argv];
  const proc = spawn(cmd, cmdArgs, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const untrack = where.ns ? where.ns.track(proc.pid) : () => {};
  let out = '';
  const keep = (d) => {
    out += d;
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  proc.stdout.setEncoding('utf8').on('data', keep);
  proc.stderr.setEncoding('utf8').on('data', keep);
  let exited = null;
  const exit = new Promise((resolve) =>
    proc.on('exit', (code, sig) => {
      untrack();
      resolve((exited = { code, sig }));
    }),
  );
  const url = where.url;
  const relay = {
    url,
    port: where.port,
    icePort: where.icePort,
    where,
    proc,
    logs: () => out,
    /** HTTP request lines that reached the relay through its forwarder (namespace mode), e.g. "GET /files/a.jpg HTTP/1.1"; null on loopback. */
    requests: () => where.requests,
    async stop() {
      if (exited) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(t);
    },
    /** The /metrics text. */
    async metrics() {
      const res = await fetch(url + '/metrics');
      return res.text();
    },
    /** One sample of a Prometheus counter or gauge (0 when absent). */
    async metric(name, labels = {}) {
      return sampleOf(await relay.metrics(), name, labels);
    },
  };
  t.after(() => relay.stop());
  const started = Date.now();
  const deadline = started + timeoutMs;
  let attempts = 0;
  let last = null;
  for (;;) {
    if (exited) throw new Error(`relay exited (${exited.code ?? exited.sig}) before it was healthy:\n${out}`);
    attempts++;
    try {
      // bounded: the relay listens before it is ready (it paints the demo origin's images in
      // between), so a request can wait in its backlog; the deadline is checked between tries
      const res = await fetch(url + '/healthz', { signal: AbortSignal.timeout(Math.max(100, Math.min(2000, deadline - Date.now()))) });
      if (res.ok) break;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e.cause?.code ?? e.cause?.message ?? e.message; // not listening yet
    }
    if (Date.now() > deadline) {
      await relay.stop();
      throw new Error(`relay not healthy within ${timeoutMs} ms (${attempts} tries, the last: ${last}):\n${out}`);
    }
    await wait(50);
  }
  relay.startMs = Date.now() - started;
  return relay;
}

/**
 * A site on its own origin (127.0.0.1, another port than the relay's)
 * serving pages ({ '/path': html }) and the SDK as a site would copy it:
 * /p2pcache.js and /p2pcache-sw.js from client-js/. Returns { url, close() }.
 */
export async function startSite(t, pages) {
  const { readFile } = await import('node:fs/promises');
  const dir = new URL('../', import.meta.url);
  const files = {
    '/p2pcache.js': ['text/javascript', await readFile(new URL('p2pcache.js', dir))],
    '/p2pcache-sw.js': ['text/javascript', await readFile(new URL('p2pcache-sw.js', dir))],
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const page = pages[path];
    const f = files[path] ?? (page !== undefined ? ['text/html; charset=utf-8', page] : null);
    if (!f) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': f[0], 'cache-control': 'no-store' }).end(f[1]);
  });
  await new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const site = {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
  t.after(() => site.close());
  return site;
}

/** The value of name{labels} in Prometheus text exposition; 0 when absent. */
export function sampleOf(text, name, labels = {}) {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/**
 * The relay's p2pcache_chunks_served_total by source, under the SDK's
 * bySource names: relay (its own cache), origin, peer, cluster (another
 * relay of its mesh). What a browser counts from the CHUNK flags
 * (PROTOCOL.md §2) must agree with these.
 */
export async function servedBySource(relay) {
  const text = await relay.metrics();
  const n = (source) => sampleOf(text, 'p2pcache_chunks_served_total', { source });
  return { relay: n('cache'), origin: n('origin'), peer: n('peer'), cluster: n('relay') };
}

/** The frame sources of a bySource record (stats().bySource or res.p2p.bySource), the keys of servedBySource. */
export const frameSources = (by) => ({ relay: by.relay ?? 0, origin: by.origin ?? 0, peer: by.peer ?? 0, cluster: by.cluster ?? 0 });

/** after - before, key by key (servedBySource records). */
export const sourcesDelta = (after, before) => Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));

let demoCache = null;

/**
 * The built-in demo origin's files ({ 'index.json': {bytes, contentType},
 * 'images/…': … }), read once per test process from a throwaway relay.
 * They are real JPEG/PNG/WebP images, so the browser can decode them.
 */
export async function demoFiles(t) {
  if (demoCache) return demoCache;
  const relay = await startRelay(t, ['--log-level', 'warn']);
  try {
    const files = {};
    const get = async (path) => {
      const res = await fetch(`${relay.url}/files/${path}`);
      if (!res.ok) throw new Error(`demo origin: ${path}: HTTP ${res.status}`);
      files[path] = { bytes: new Uint8Array(await res.arrayBuffer()), contentType: res.headers.get('content-type') };
    };
    await get('index.json');
    const index = JSON.parse(new TextDecoder().decode(files['index.json'].bytes));
    for (const e of index) await get(e.path);
    demoCache = { files, index };
    return demoCache;
  } finally {
    await relay.stop();
  }
}

const LAST_MODIFIED = new Date('2026-01-01T00:00:00Z').toUTCString();

/**
 * An HTTP origin on 127.0.0.1 serving files ({ path: { bytes, contentType } })
 * with strong ETags, Last-Modified, max-age and single byte ranges (If-Range
 * honoured), as the relay's HTTP origin expects. It records every request:
 * count(path), rangeBytes(path) and requests[] ({ method, path, range }).
 */
export async function startOrigin(t, files) {
  const requests = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\//, '');
    const range = req.headers.range ?? null;
    const rec = { method: req.method, path, range, bytes: 0 };
    requests.push(rec);
    const f = files[path];
    if (!f) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const etag = `"${f.sha256 ?? (f.sha256 = sha256(f.bytes))}"`;
    const headers = {
      'content-type': f.contentType ?? 'application/octet-stream',
      etag,
      'last-modified': LAST_MODIFIED,
      'cache-control': 'public, max-age=3600',
      'accept-ranges': 'bytes',
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers).end();
      return;
    }
    let body = f.bytes;
    let status = 200;
    const ifRange = req.headers['if-range'];
    const m = range && /^bytes=(\d+)-(\d*)$/.exec(range);
    if (m && (!ifRange || ifRange === etag || ifRange === LAST_MODIFIED)) {
      const first = Number(m[1]);
      const last = m[2] === '' ? f.bytes.length - 1 : Math.min(Number(m[2]), f.bytes.length - 1);
      if (first > last) {
        res.writeHead(416, { 'content-range': `bytes */${f.bytes.length}` }).end();
        return;
      }
      body = f.bytes.subarray(first, last + 1);
      status = 206;
      headers['content-range'] = `bytes ${first}-${last}/${f.bytes.length}`;
    }
    headers['content-length'] = String(body.length);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    rec.bytes = body.length;
    res.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  });
  // the relay fetches from it: on the host's end of the namespace's /30, or loopback
  const host = USE_NETNS ? netns().hostIP : '127.0.0.1';
  await new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, host, resolve);
  });
  const origin = {
    url: `http://${host}:${server.address().port}`,
    requests,
    count: (path) => requests.filter((r) => r.path === path).length,
    rangeBytes: (path) => requests.filter((r) => r.path === path).reduce((n, r) => n + r.bytes, 0),
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
  t.after(() => origin.close());
  return origin;
}

/**
 * A browser shared by the tests of one file (launching one takes seconds):
 * launched on first use per browser name, closed by a file-level after
 * hook. Call it at the top level of the test file; each test still opens
 * its own page. Returns (browser) => Promise<{ newPage() }>.
 */
export function sharedBrowser() {
  const cleanups = [];
  after(async () => {
    for (const f of cleanups.reverse()) await f();
  });
  const launched = new Map();
  return (browser = 'chromium') => {
    if (!launched.has(browser)) {
      launched.set(
        browser,
        launchBrowser({ after: (f) => cleanups.push(f) }, { browser }).then(({ context, page }) => {
          let first = page;
          return {
            async newPage() {
              const p = first ?? (await context.newPage());
              first = null;
              return p;
            },
          };
        }),
      );
    }
    return launched.get(browser);
  };
}

/**
 * Open a blank same-origin document on the relay (its /healthz JSON) and
 * import the SDK the relay serves into window.p2p, so tests can drive it
 * with page.evaluate. The page helpers (window.e2e) hash and decode blobs
 * with the browser's own crypto and image decoder.
 */
export async function openSDKPage(page, relay) {
  await page.goto(relay.url + '/healthz');
  await page.evaluate(async () => {
    window.p2p = await import('/p2pcache.js');
    window.e2e = {
      async hex(buf) {
        const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
        return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
      },
      /** Decode a blob as an image: its natural size (0×0 if it would not decode). */
      async decode(blob) {
        const url = URL.createObjectURL(blob);
        try {
          const img = new Image();
          img.src = url;
          await img.decode();
          return { width: img.naturalWidth, height: img.naturalHeight };
        } catch {
          return { width: 0, height: 0 };
        } finally {
          URL.revokeObjectURL(url);
        }
      },
      /** The selected ICE candidate pair of an RTCPeerConnection, with both candidates. */
      async selectedPair(pc) {
        if (!pc) return null;
        // Chromium reports the selected pair as 'in-progress' while one of
        // its consent checks is outstanding; wait (≤ 3 s) for 'succeeded'.
        let stats;
        for (let deadline = Date.now() + 3000; ; ) {
          stats = await pc.getStats();
          const tr = [...stats.values()].find((s) => s.type === 'transport' && s.selectedCandidatePairId);
          const p = tr && stats.get(tr.selectedCandidatePairId);
          if (!p || p.state === 'succeeded' || Date.now() > deadline) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        const all = [...stats.values()];
        const tr = all.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
        const pair = tr
          ? stats.get(tr.selectedCandidatePairId)
          : all.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
        if (!pair) return null;
        const l = stats.get(pair.localCandidateId);
        const r = stats.get(pair.remoteCandidateId);
        return {
          state: pair.state,
          nominated: !!pair.nominated,
          local: l && { protocol: l.protocol, type: l.candidateType, tcpType: l.tcpType ?? null, address: l.address, port: l.port },
          remote: r && { protocol: r.protocol, type: r.candidateType, tcpType: r.tcpType ?? null, address: r.address, port: r.port },
        };
      },
    };
  });
}
