// Shared fixtures of the Chromium end-to-end tests: a real relay process, an
// HTTP origin that counts what it is asked for, and fresh headless Chromium
// profiles. Every fixture registers its own cleanup with the test context, so
// a failing test still kills its processes and removes its temporary files.
//
// Needs P2PCACHE_BIN (the relay binary; `make test-browser` builds and sets
// it), /usr/bin/chromium (or CHROMIUM) and playwright-core in node_modules.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

export const BIN = process.env.P2PCACHE_BIN ?? new URL('../../bin/p2pcache', import.meta.url).pathname;
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const OUT_DIR = new URL('../../test-output/', import.meta.url).pathname;

export const sha256 = (b) => createHash('sha256').update(b).digest('hex');
export const wait = (ms) => new Promise((r) => setTimeout(r, ms));
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Why the suite cannot run here, or null. Tests skip (locally) with this reason. */
export function missing() {
  if (!existsSync(BIN)) return `relay binary ${BIN} missing (make build, or set P2PCACHE_BIN)`;
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} missing (apt-get install -y chromium)`;
  if (!existsSync(new URL('../node_modules/playwright-core/package.json', import.meta.url))) {
    return 'playwright-core missing (cd client-js && npm ci)';
  }
  return null;
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

/**
 * Start the relay binary on free loopback ports and wait for /healthz.
 * Returns { url, port, icePort, logs(), metrics(), metric(name, labels), stop() };
 * stop() runs on t.after as well. A start that loses its ports to a race is retried.
 */
export async function startRelay(t, args = [], { env = {}, timeoutMs = 20000 } = {}) {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const icePort = await freePort();
    try {
      return await startRelayOn(t, port, icePort, args, env, timeoutMs);
    } catch (e) {
      if (attempt >= 2 || !/address already in use/i.test(e.message)) throw e;
    }
  }
}

/**
 * Start the relay again on the ports of a stopped one (a restart, as an
 * operator's deploy does it): same URL, same ICE port.
 */
export async function restartRelay(t, relay, args = [], { env = {}, timeoutMs = 20000 } = {}) {
  await relay.stop();
  return startRelayOn(t, relay.port, relay.icePort, args, env, timeoutMs);
}

async function startRelayOn(t, port, icePort, args, env, timeoutMs) {
  const argv = ['--listen', `127.0.0.1:${port}`, '--ice-listen', `127.0.0.1:${icePort}`, ...args];
  const proc = spawn(BIN, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  const keep = (d) => {
    out += d;
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  proc.stdout.setEncoding('utf8').on('data', keep);
  proc.stderr.setEncoding('utf8').on('data', keep);
  let exited = null;
  const exit = new Promise((resolve) => proc.on('exit', (code, sig) => resolve((exited = { code, sig }))));
  const url = `http://127.0.0.1:${port}`;
  const relay = {
    url,
    port,
    icePort,
    proc,
    logs: () => out,
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
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`relay exited (${exited.code ?? exited.sig}) before it was healthy:\n${out}`);
    try {
      const res = await fetch(url + '/healthz');
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await relay.stop();
      throw new Error(`relay not healthy within ${timeoutMs} ms:\n${out}`);
    }
    await wait(50);
  }
  return relay;
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
  await new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const origin = {
    url: `http://127.0.0.1:${server.address().port}`,
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

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A fresh headless Chromium with its own new profile directory (a separate
 * browser: no cache, storage or connections shared with any other). Closed
 * and its profile removed on t.after. Returns { context, page }.
 */
export async function launchBrowser(t, { viewport = { width: 1280, height: 900 } } = {}) {
  const { chromium } = await import('playwright-core');
  const dir = await mkdtemp(join(tmpdir(), 'p2pcache-e2e-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport,
    });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  t.after(async () => {
    await context.close().catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  });
  const page = watch(context.pages()[0] ?? (await context.newPage()));
  return { context, page };
}

/** Collect a page's uncaught errors and console errors in page.problems (printed by tests that fail). */
function watch(page) {
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || process.env.E2E_VERBOSE) problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.problems = problems;
  return page;
}

/**
 * A browser shared by the tests of one file (launching Chromium takes
 * seconds): launched on first use, closed by a file-level after hook. Call
 * it at the top level of the test file; each test still opens its own page.
 * Returns () => Promise<{ context, newPage() }>.
 */
export function sharedBrowser() {
  const cleanups = [];
  after(async () => {
    for (const f of cleanups.reverse()) await f();
  });
  let launched = null;
  return () => {
    launched ??= launchBrowser({ after: (f) => cleanups.push(f) }).then(({ context, page }) => {
      let first = page;
      return {
        context,
        async newPage() {
          const p = first ?? watch(await context.newPage());
          first = null;
          return p;
        },
      };
    });
    return launched;
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
        const stats = await pc.getStats();
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
