#!/usr/bin/env node
// The browser bench: what a user's tab gets. N headless tabs of Chromium
// and of Firefox ESR fetch the same workload from one relay three ways, in
// the same run, interleaved rep by rep (each rep starting with the next
// mode), after --warmup uncounted passes of each mode in the same tabs (a
// tab's first pass pays one-time costs, which would fall on whichever mode
// ran first):
//
//   webrtc  the SDK over its data channel on ICE-TCP (transport must be
//           webrtc-tcp), connected with peerCacheBytes 0, storeBytes 0 and
//           serve false: no tab cache, no store, every fetch crosses the
//           wire; every chunk verified by the SDK
//   http    plain fetch('/files/…', { cache: 'no-store' }) from the same tabs
//   https   the same against a second relay process serving HTTPS (a fresh
//           self-signed certificate, --tls-cert), same flags, same files
//
// Each tab fetches the files one after another (a fetch's time is the
// file's alone); the N tabs run at once. Reported per browser × N: the
// aggregate goodput (all tabs' bytes ÷ the wall time from the first tab's
// start to the last tab's end), the p50 and p95 of a fetch's time, the
// goodput of a single fetch of the workload's photo nearest 5 MB (median),
// the ratios WebRTC ÷ HTTP(S), and the relay process's CPU per MB in each
// phase (/proc/<pid>/stat, utime+stime). The relays' caches are warmed
// first, so every phase is served from the relay's memory.
//
// Fails loudly (exit 1) on any error: a fetch that fails, a transport other
// than webrtc-tcp, a verification failure the SDK counted, a body whose
// SHA-256 (hashed in the page after the timing) differs from the file's.
// No pass/fail on speed: it is a measurement.
//
// The network is the end-to-end tests' (e2e/netns.js): the relays run in a
// network namespace this process creates, the browsers outside; traffic
// goes only to loopback and to the namespace's /30. The tabs load their
// page straight from the relay's namespace address (no forwarder in the
// path), made a secure context by a browser switch/pref
// (--unsafely-treat-insecure-origin-as-secure, dom.securecontext.allowlist)
// so the SDK hashes with crypto.subtle as on a real https site; the run
// checks that it is. Needs root (namespaces), the relay binary
// (P2PCACHE_BIN, default bin/p2pcache), /usr/bin/chromium and/or
// /usr/bin/firefox-esr with client-js/node_modules, and openssl for HTTPS.
//
// Usage: node bench/browser.mjs [--files DIR] [--tabs 1,4]
//          [--browsers chromium,firefox] [--reps 2] [--warmup 1] [--https on|off]
//          [--json FILE] [--txt FILE] [--max-in-flight N]
// Each flag is also an environment variable BENCH_<NAME> (BENCH_TABS=1,4).
// --max-in-flight sets the SDK's chunks in flight per fetch (default 8).
// BENCH_THREADS=1 also prints, per phase, the browsers' busiest threads and
// their CPU per MB (where the browser's time goes).
// Without --files the relay's built-in demo origin is the workload (a few
// small images: not a realistic corpus; say --files for real photographs).

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir, cpus } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { browserMissing, launchBrowser } from '../e2e/browsers.js';
import { netns, netnsMissing } from '../e2e/netns.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const PHOTO_BYTES = 5e6;
/** BENCH_THREADS=1: print the browsers' busiest threads per phase (where their CPU goes). */
const THREADS = process.env.BENCH_THREADS === '1';
/** BENCH_PROFILE=1: print the Chromium tabs' JavaScript CPU profile per phase (top functions by self time). */
const PROFILE = process.env.BENCH_PROFILE === '1';

// -- options ------------------------------------------------------------------------

function usage(msg) {
  if (msg) console.error(`bench-browser: ${msg}`);
  console.error('usage: node bench/browser.mjs [--files DIR] [--tabs 1,4] [--browsers chromium,firefox] [--reps 2] [--warmup 1] [--https on|off] [--json FILE] [--txt FILE] [--max-in-flight N]');
  process.exit(2);
}

function parseOptions(argv) {
  const o = {
    files: process.env.BENCH_FILES ?? '',
    tabs: process.env.BENCH_TABS ?? '1,4',
    browsers: process.env.BENCH_BROWSERS ?? 'chromium,firefox',
    reps: process.env.BENCH_REPS ?? '2',
    warmup: process.env.BENCH_WARMUP ?? '1',
    https: process.env.BENCH_HTTPS ?? 'on',
    json: process.env.BENCH_JSON ?? join(REPO, 'bench/out/browser.json'),
    txt: process.env.BENCH_TXT ?? join(REPO, 'bench/out/browser.txt'),
    'max-in-flight': process.env.BENCH_MAX_IN_FLIGHT ?? '',
  };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !(m[1] in o)) usage(`unknown argument ${argv[i]}`);
    const v = m[2] ?? argv[++i];
    if (v === undefined) usage(`--${m[1]} needs a value`);
    o[m[1]] = v;
  }
  const ints = (s, what) => {
    const xs = String(s).split(',').map((x) => Number(x.trim()));
    if (!xs.length || xs.some((x) => !Number.isInteger(x) || x < 1)) usage(`--${what}: positive integers, comma list`);
    return xs;
  };
  const browsers = o.browsers.split(',').map((s) => s.trim()).filter(Boolean);
  if (!browsers.length || browsers.some((b) => b !== 'chromium' && b !== 'firefox')) usage('--browsers: chromium, firefox or both');
  if (!['on', 'off'].includes(o.https)) usage('--https: on or off');
  if (!/^\d+$/.test(String(o.warmup))) usage('--warmup: a whole number of passes (0: none)');
  return {
    files: o.files ? resolve(o.files) : null,
    tabs: ints(o.tabs, 'tabs'),
    browsers,
    reps: ints(o.reps, 'reps')[0],
    warmup: Number(o.warmup),
    https: o.https === 'on',
    json: o.json,
    txt: o.txt,
    maxInFlight: o['max-in-flight'] ? ints(o['max-in-flight'], 'max-in-flight')[0] : null,
  };
}

// -- small helpers ------------------------------------------------------------------------

const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
function quantile(xs, q) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
}
const round = (x, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

/** GET url (http or https, certificate not checked: the bench's own self-signed one): { status, body }. */
function get(url) {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { rejectUnauthorized: false, timeout: 30_000 }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

/** utime+stime of pid in ms (clock ticks of 10 ms on Linux), or null. */
function cpuMs(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // fields 14, 15 of stat(5)
  } catch {
    return null;
  }
}

/** The machine's CPU time so far, ms: { busy, total } over every core (/proc/stat). */
function machineMs() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: (total - f[3] - f[4]) * 10, total: total * 10 }; // idle, iowait
}

/** utime+stime (ms) of every process below root (this process's browsers and their helpers), except the pids in skip. */
function treeMs(root, skip) {
  const kids = new Map();
  const own = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      const pid = Number(d);
      const ppid = Number(f[1]);
      own.set(pid, (Number(f[11]) + Number(f[12])) * 10);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(pid);
    } catch {
      // gone meanwhile
    }
  }
  let ms = 0;
  const walk = (pid) => {
    for (const k of kids.get(pid) ?? []) {
      if (skip.has(k)) continue;
      ms += own.get(k) ?? 0;
      walk(k);
    }
  };
  walk(root);
  return ms;
}

/** Per thread of the processes below root (but skip): "process/thread" → utime+stime ms, summed by name. */
function threadsMs(root, skip) {
  const kids = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  const out = new Map();
  const walk = (pid) => {
    for (const k of kids.get(pid) ?? []) {
      if (skip.has(k)) continue;
      try {
        const pcomm = readFileSync(`/proc/${k}/comm`, 'utf8').trim();
        const type = /--type=([a-z-]+)/.exec(readFileSync(`/proc/${k}/cmdline`, 'utf8'))?.[1];
        for (const tid of readdirSync(`/proc/${k}/task`)) {
          const s = readFileSync(`/proc/${k}/task/${tid}/stat`, 'utf8');
          const tcomm = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
          const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
          const key = `${type ?? pcomm}/${tcomm}`;
          out.set(key, (out.get(key) ?? 0) + (Number(f[11]) + Number(f[12])) * 10);
        }
      } catch {
        // gone meanwhile
      }
      walk(k);
    }
  };
  walk(root);
  return out;
}

// -- the relays ------------------------------------------------------------------------

const relayPids = []; // not the browsers': skipped when the browsers' CPU is summed
const cleanups = [];
const t = { after: (f) => cleanups.push(f) };
async function cleanup() {
  for (const f of cleanups.splice(0).reverse()) await Promise.resolve().then(f).catch(() => {});
}

/** A self-signed ECDSA certificate for ip in a temporary directory: { cert, key }. */
async function selfSigned(ip) {
  const dir = await mkdtemp(join(tmpdir(), 'p2pcache-bench-browser-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=p2pcache-bench', '-addext', `subjectAltName=IP:${ip}`, '-keyout', key, '-out', cert,
  ], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl: ${r.error?.message ?? r.stderr}`);
  return { cert, key };
}

/**
 * The relay binary in the namespace on nsIP:port (ICE-TCP on port+1), the
 * workload's origin, a cache that holds all of it; ready once /healthz
 * answers. Returns { url, pid, logs() }.
 */
async function startRelay(bin, ns, port, { origin, tls = null }) {
  const argv = [
    bin, '--listen', `${ns.nsIP}:${port}`, '--ice-listen', `${ns.nsIP}:${port + 1}`,
    '--cache-size', '1GiB', '--log-level', 'warn',
    ...(origin ? ['--origin', origin] : []),
    ...(tls ? ['--tls-cert', tls.cert, '--tls-key', tls.key] : []),
  ];
  const [cmd, args] = ns.exec(argv);
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const untrack = ns.track(proc.pid);
  relayPids.push(proc.pid);
  let out = '';
  const keep = (d) => {
    out = (out + d).slice(-200_000);
  };
  proc.stdout.setEncoding('utf8').on('data', keep);
  proc.stderr.setEncoding('utf8').on('data', keep);
  let exited = null;
  const exit = new Promise((r) => proc.on('exit', (code, sig) => r((exited = code ?? sig), untrack())));
  t.after(async () => {
    if (exited !== null) return;
    proc.kill('SIGTERM');
    const k = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exit;
    clearTimeout(k);
  });
  const url = `${tls ? 'https' : 'http'}://${ns.nsIP}:${port}`;
  for (const deadline = Date.now() + 60_000; ; ) {
    if (exited !== null) throw new Error(`relay ${url} exited (${exited}):\n${out}`);
    try {
      if ((await get(url + '/healthz')).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`relay ${url} not healthy in 60 s:\n${out}`);
    await wait(100);
  }
  // `ip netns exec` execs the command in place: the pid is the relay's
  const comm = readFileSync(`/proc/${proc.pid}/comm`, 'utf8').trim();
  return { url, pid: basename(bin).startsWith(comm) ? proc.pid : null, logs: () => out };
}

/** The workload: [{ path, size, sha256 }] from DIR, or the demo origin's index.json. */
async function workload(dir, relayURL) {
  if (dir) {
    const files = readdirSync(dir)
      .filter((n) => !n.startsWith('.') && statSync(join(dir, n)).isFile())
      .sort()
      .map((n) => {
        const bytes = readFileSync(join(dir, n));
        return { path: n, size: bytes.length, sha256: sha256(bytes) };
      });
    if (!files.length) throw new Error(`--files ${dir}: no files`);
    return files;
  }
  const idx = await get(relayURL + '/files/index.json');
  if (idx.status !== 200) throw new Error(`demo origin: index.json: HTTP ${idx.status}`);
  const files = [];
  for (const e of JSON.parse(idx.body.toString('utf8'))) {
    const r = await get(`${relayURL}/files/${e.path}`);
    if (r.status !== 200) throw new Error(`demo origin: ${e.path}: HTTP ${r.status}`);
    files.push({ path: e.path, size: r.body.length, sha256: sha256(r.body) });
  }
  return files;
}

/** Every file once through relayURL (/files): its cache holds the workload; the bodies checked. */
async function warm(relayURL, files) {
  for (const f of files) {
    const r = await get(`${relayURL}/files/${f.path}`);
    if (r.status !== 200 || sha256(r.body) !== f.sha256) throw new Error(`warming ${relayURL}: ${f.path}: HTTP ${r.status}, ${r.body.length} bytes, not the file`);
  }
}

// -- the pages ------------------------------------------------------------------------

/** Open a tab on relay, import its SDK; with sdk, connect a client that keeps nothing. */
async function openTab(browser, relay, sdk, maxInFlight) {
  const page = await browser.context.newPage();
  await page.goto(relay.url + '/healthz');
  const info = await page.evaluate(async ({ sdk, maxInFlight }) => {
    const secure = window.isSecureContext && typeof crypto?.subtle?.digest === 'function';
    window.bench = { secure };
    if (!sdk) return { secure, transport: null, visibility: document.visibilityState };
    const p2p = await import('/p2pcache.js');
    const opts = { peerCacheBytes: 0, storeBytes: 0, serve: false };
    if (maxInFlight) opts.maxInFlight = maxInFlight;
    window.bench.client = await p2p.connect(opts);
    return { secure, transport: window.bench.client.stats().transport, visibility: document.visibilityState };
  }, { sdk, maxInFlight });
  if (!info.secure) throw new Error(`${relay.url}: the page is not a secure context (no crypto.subtle): the SDK would hash in JS`);
  if (sdk && info.transport !== 'webrtc-tcp') throw new Error(`${relay.url}: the SDK connected over ${info.transport}, not webrtc-tcp`);
  return { page, visibility: info.visibility };
}

/** In a tab: fetch every file in turn (mode webrtc: the SDK; else plain fetch), then hash the bodies. */
function pass(page, mode, files) {
  return page.evaluate(
    async ({ mode, paths }) => {
      const hex = (d) => Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
      const client = window.bench.client;
      const fetches = [];
      const bodies = [];
      const start = performance.timeOrigin + performance.now();
      for (const path of paths) {
        const s = performance.now();
        let buf;
        let transport = mode;
        let verified = null;
        if (mode === 'webrtc') {
          const res = await client.fetch('/' + path);
          buf = await res.arrayBuffer();
          transport = res.p2p?.transport;
          verified = res.p2p?.verified;
        } else {
          const res = await fetch('/files/' + path, { cache: 'no-store' });
          if (!res.ok) throw new Error(`/files/${path}: HTTP ${res.status}`);
          buf = await res.arrayBuffer();
        }
        fetches.push({ path, ms: performance.now() - s, bytes: buf.byteLength, transport, verified });
        bodies.push(buf);
      }
      const end = performance.timeOrigin + performance.now();
      // after the timing: the bytes as the page got them, hashed by the browser
      for (let i = 0; i < bodies.length; i++) fetches[i].sha256 = hex(await crypto.subtle.digest('SHA-256', bodies[i]));
      const st = mode === 'webrtc' ? client.stats() : null;
      return { start, end, fetches, transport: st?.transport ?? null, verifyFailures: st?.verifyFailures ?? 0 };
    },
    { mode, paths: files.map((f) => f.path) },
  );
}

/** BENCH_PROFILE: a CDP sampling profiler on a Chromium tab (null elsewhere). */
async function startProfile(page) {
  if (typeof page.context !== 'function' || typeof page.context().newCDPSession !== 'function') return null;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  return cdp;
}

/** BENCH_PROFILE: stop the profilers and print the top functions by self time, summed over the tabs. */
async function printProfile(mode, profilers) {
  const self = new Map();
  let total = 0;
  for (const cdp of profilers) {
    if (!cdp) continue;
    const { profile } = await cdp.send('Profiler.stop');
    await cdp.detach();
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const dt = profile.timeDeltas;
    for (let i = 0; i < profile.samples.length; i++) {
      const n = byId.get(profile.samples[i]);
      const f = n.callFrame;
      const key = `${f.functionName || '(anonymous)'} ${f.url ? basename(f.url) + ':' + (f.lineNumber + 1) : ''}`.trim();
      const us = dt[i + 1] ?? 0;
      total += us;
      self.set(key, (self.get(key) ?? 0) + us);
    }
  }
  if (!total) return;
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 18);
  process.stderr.write(`    ${mode} JS profile (self ms of ${(total / 1e3).toFixed(0)} ms sampled):\n`);
  for (const [k, us] of top) process.stderr.write(`      ${(us / 1e3).toFixed(1).padStart(8)}  ${k}\n`);
}

/** xs rotated left by r (the order of the modes in rep r). */
function rotate(xs, r) {
  const k = r % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

/** One phase: every tab runs a pass at once; the relay's CPU around it. Throws on any wrong byte or transport. */
async function phase(tabs, mode, files, relayPid, { warmup = false } = {}) {
  const bySha = new Map(files.map((f) => [f.path, f]));
  const skip = new Set(relayPids);
  const cpu0 = relayPid ? cpuMs(relayPid) : null;
  const m0 = machineMs();
  const b0 = treeMs(process.pid, skip);
  const threads = THREADS && !warmup;
  const th0 = threads ? threadsMs(process.pid, skip) : null;
  const profilers = PROFILE && !warmup ? await Promise.all(tabs.map((tab) => startProfile(tab.page))) : [];
  const runs = await Promise.all(tabs.map((tab) => pass(tab.page, mode, files)));
  if (profilers.length) await printProfile(mode, profilers);
  const th1 = threads ? threadsMs(process.pid, skip) : null;
  const b1 = treeMs(process.pid, skip);
  const m1 = machineMs();
  const cpu1 = relayPid ? cpuMs(relayPid) : null;
  const errors = [];
  for (const r of runs) {
    if (mode === 'webrtc') {
      if (r.transport !== 'webrtc-tcp') errors.push(`client transport ${r.transport}, not webrtc-tcp`);
      if (r.verifyFailures) errors.push(`${r.verifyFailures} verification failures`);
    }
    for (const f of r.fetches) {
      const want = bySha.get(f.path);
      if (f.bytes !== want.size || f.sha256 !== want.sha256) errors.push(`${mode} ${f.path}: ${f.bytes} bytes, SHA-256 ${f.sha256.slice(0, 12)}…, not the file's`);
      if (mode === 'webrtc' && f.transport !== 'webrtc-tcp') errors.push(`${f.path} came over ${f.transport}, not webrtc-tcp`);
      if (mode === 'webrtc' && f.verified !== true) errors.push(`${f.path}: res.p2p.verified ${f.verified}`);
    }
  }
  if (errors.length) throw new Error(`${mode}: ${errors.slice(0, 8).join('; ')}${errors.length > 8 ? ` (+${errors.length - 8})` : ''}`);
  const bytes = runs.reduce((n, r) => n + r.fetches.reduce((m, f) => m + f.bytes, 0), 0);
  if (threads) {
    const top = [...th1].map(([k, v]) => [k, v - (th0.get(k) ?? 0)]).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).slice(0, 10);
    process.stderr.write(`    ${mode} threads, CPU ms/MB: ${top.map(([k, v]) => `${k} ${(v / (bytes / 1e6)).toFixed(1)}`).join(', ')}\n`);
  }
  const wallMs = Math.max(...runs.map((r) => r.end)) - Math.min(...runs.map((r) => r.start));
  return {
    bytes,
    wallMs,
    fetches: runs.flatMap((r) => r.fetches.map(({ path, ms, bytes }) => ({ path, ms, bytes }))),
    cpuMs: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null,
    browserCpuMs: b1 - b0,
    machineBusy: (m1.busy - m0.busy) / Math.max(1, m1.total - m0.total),
  };
}

/** The reps of one phase folded: goodput over the summed wall time, quantiles over every fetch. */
function summarize(reps, photo) {
  const bytes = reps.reduce((n, r) => n + r.bytes, 0);
  const wallMs = reps.reduce((n, r) => n + r.wallMs, 0);
  const ms = reps.flatMap((r) => r.fetches.map((f) => f.ms));
  const photoMs = reps.flatMap((r) => r.fetches.filter((f) => f.path === photo.path).map((f) => f.ms));
  const cpu = reps.every((r) => r.cpuMs !== null) ? reps.reduce((n, r) => n + r.cpuMs, 0) : null;
  const browserCpu = reps.reduce((n, r) => n + r.browserCpuMs, 0);
  return {
    goodput_mb_per_s: round(bytes / 1e3 / wallMs, 2),
    goodput_mb_per_s_reps: reps.map((r) => round(r.bytes / 1e3 / r.wallMs, 2)),
    fetch_ms: { p50: round(quantile(ms, 0.5)), p95: round(quantile(ms, 0.95)), n: ms.length },
    photo_mb_per_s: round(photo.size / 1e3 / quantile(photoMs, 0.5), 2),
    relay_cpu_ms_per_mb: cpu === null ? null : round(cpu / (bytes / 1e6), 2),
    browser_cpu_ms_per_mb: round(browserCpu / (bytes / 1e6), 2),
    machine_busy_pct: round((100 * reps.reduce((n, r) => n + r.machineBusy * r.wallMs, 0)) / wallMs, 0),
    bytes,
    wall_ms: round(wallMs, 0),
  };
}

// -- the run ------------------------------------------------------------------------

async function run(o) {
  const bin = process.env.P2PCACHE_BIN ?? join(REPO, 'bin/p2pcache');
  if (!existsSync(bin)) throw new Error(`relay binary ${bin} missing (make build, or set P2PCACHE_BIN)`);
  const why = netnsMissing();
  if (why) throw new Error(`the browser bench needs a network namespace (Firefox ignores loopback ICE candidates): ${why}`);
  for (const b of o.browsers) {
    const m = browserMissing(b);
    if (m) throw new Error(m);
  }
  const ns = netns();
  const plain = await startRelay(bin, ns, 18000, { origin: o.files });
  const files = await workload(o.files, plain.url);
  let secure = null;
  if (o.https) secure = await startRelay(bin, ns, 18010, { origin: o.files, tls: await selfSigned(ns.nsIP) });
  await warm(plain.url, files);
  if (secure) await warm(secure.url, files);
  const total = files.reduce((n, f) => n + f.size, 0);
  const photo = files.reduce((x, f) => (Math.abs(f.size - PHOTO_BYTES) < Math.abs(x.size - PHOTO_BYTES) ? f : x));
  const modes = ['webrtc', 'http', ...(secure ? ['https'] : [])];
  const origin = new URL(plain.url).origin;
  console.log(
    `bench-browser: ${files.length} files, ${(total / 1e6).toFixed(1)} MB (${o.files ?? 'the built-in demo origin: not a real corpus, use --files'}); ` +
      `photo ${photo.path} ${(photo.size / 1e6).toFixed(2)} MB; tabs ${o.tabs.join(',')}; reps ${o.reps}; ${modes.join(' / ')}; relay ${plain.url}${secure ? ` and ${secure.url}` : ''}`,
  );
  const results = [];
  const versions = {};
  for (const name of o.browsers) {
    const browser = await launchBrowser(t, {
      browser: name,
      args: [`--unsafely-treat-insecure-origin-as-secure=${origin}`],
      prefs: { 'dom.securecontext.allowlist': ns.nsIP },
      insecureCerts: true,
    });
    versions[name] = await browser.page.evaluate(() => navigator.userAgent);
    for (const n of o.tabs) {
      const rtcTabs = [];
      const tlsTabs = [];
      for (let i = 0; i < n; i++) rtcTabs.push(await openTab(browser, plain, true, o.maxInFlight));
      if (secure) for (let i = 0; i < n; i++) tlsTabs.push(await openTab(browser, secure, false));
      const reps = Object.fromEntries(modes.map((m) => [m, []]));
      // warm-up, not counted: a tab's first pass pays one-time costs (the
      // JIT, the allocator mapping and faulting in fresh memory) that fell
      // on whichever mode ran first: 25.7 MB/s for plain HTTP first in a
      // fresh Chromium tab against 36.7 warm, and likewise for WebRTC
      for (let w = 0; w < o.warmup; w++) {
        for (const m of modes) await phase(m === 'https' ? tlsTabs : rtcTabs, m, files, null, { warmup: true });
      }
      for (let r = 0; r < o.reps; r++) {
        // each rep starts with another mode: whatever the phase before it
        // leaves (the browser's allocator, caches) falls on each in turn
        for (const m of rotate(modes, r)) {
          const tabs = m === 'https' ? tlsTabs : rtcTabs;
          reps[m].push(await phase(tabs, m, files, (m === 'https' ? secure : plain).pid));
          process.stderr.write(`  ${name} ×${n} rep ${r + 1} ${m}: ${(reps[m].at(-1).bytes / 1e3 / reps[m].at(-1).wallMs).toFixed(1)} MB/s\n`);
        }
      }
      const phases = Object.fromEntries(modes.map((m) => [m, summarize(reps[m], photo)]));
      const ratio = (a, b) => (a && b ? round(a / b, 2) : null);
      results.push({
        browser: name,
        tabs: n,
        visibility: [...new Set(rtcTabs.map((x) => x.visibility))].join(','),
        ...phases,
        webrtc_vs_http: ratio(phases.webrtc.goodput_mb_per_s, phases.http.goodput_mb_per_s),
        webrtc_vs_https: secure ? ratio(phases.webrtc.goodput_mb_per_s, phases.https.goodput_mb_per_s) : null,
        photo_webrtc_vs_http: ratio(phases.webrtc.photo_mb_per_s, phases.http.photo_mb_per_s),
      });
      for (const tab of [...rtcTabs, ...tlsTabs]) await tab.page.close().catch(() => {});
    }
  }
  return {
    meta: {
      date: new Date().toISOString(),
      files: o.files ?? 'demo origin',
      file_count: files.length,
      workload_mb: round(total / 1e6, 2),
      photo: { path: photo.path, mb: round(photo.size / 1e6, 2) },
      reps: o.reps,
      warmup: o.warmup,
      cpus: cpus().length,
      relay: `${bin} --cache-size 1GiB (warm: every file fetched once before the phases)`,
      sdk: { peerCacheBytes: 0, storeBytes: 0, serve: false, ...(o.maxInFlight ? { maxInFlight: o.maxInFlight } : {}) },
      browsers: versions,
      notes: 'MB = 10^6 bytes. goodput: all tabs\' bytes ÷ wall time (first start to last end), over all reps. Each tab fetches the files one at a time; N tabs at once. photo_mb_per_s: the median single fetch of the photo. webrtc_vs_http(s): goodput ratio. relay_cpu_ms_per_mb: the relay process\'s utime+stime per MB served in that phase (HTTPS: the TLS relay\'s); browser_cpu_ms_per_mb: the same for every process of the browsers (this process\'s descendants but the relays); machine_busy_pct: the whole machine\'s CPU busy in the phase (100 = every core).',
    },
    results,
  };
}

function table(report) {
  const m = report.meta;
  const lines = [
    `p2pcache browser bench — ${m.date}`,
    `workload: ${m.file_count} files, ${m.workload_mb} MB (${m.files}); photo ${m.photo.path} ${m.photo.mb} MB; ${m.reps} reps after ${m.warmup ?? 0} warm-up pass(es) of each mode; ${m.cpus} CPUs`,
    ...Object.entries(m.browsers).map(([b, ua]) => `${b}: ${ua}`),
    'MB/s: goodput of all tabs; photo MB/s: one fetch of the photo (median); relay/browser ms/MB: CPU (utime+stime) of the relay process / of the browser\'s processes per MB; busy %: the whole machine\'s CPU busy in the phase',
    '',
  ];
  const head = ['browser', 'tabs', 'mode', 'MB/s', 'reps MB/s', 'p50 ms', 'p95 ms', 'photo MB/s', 'relay ms/MB', 'browser ms/MB', 'busy %', '× HTTP', '× HTTPS'];
  const rows = [head];
  for (const r of report.results) {
    for (const mode of ['webrtc', 'http', 'https']) {
      const p = r[mode];
      if (!p) continue;
      const rel = (other) => (mode === 'webrtc' && r[other] ? String(round(p.goodput_mb_per_s / r[other].goodput_mb_per_s, 2)) : '');
      rows.push([r.browser, String(r.tabs), mode, String(p.goodput_mb_per_s), p.goodput_mb_per_s_reps.join(' '), String(p.fetch_ms.p50), String(p.fetch_ms.p95), String(p.photo_mb_per_s), String(p.relay_cpu_ms_per_mb ?? '–'), String(p.browser_cpu_ms_per_mb), String(p.machine_busy_pct), rel('http'), rel('https')]);
    }
  }
  const w = head.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  lines.push(...rows.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ').trimEnd()));
  lines.push('');
  for (const r of report.results) {
    lines.push(`${r.browser} ×${r.tabs}: WebRTC ${r.webrtc_vs_http} × HTTP${r.webrtc_vs_https !== null ? `, ${r.webrtc_vs_https} × HTTPS` : ''} (aggregate goodput); photo ${r.photo_webrtc_vs_http} × HTTP; tabs ${r.visibility}`);
  }
  return lines.join('\n') + '\n';
}

const opts = parseOptions(process.argv.slice(2));
let code = 0;
try {
  const report = await run(opts);
  const txt = table(report);
  process.stdout.write('\n' + txt);
  for (const [file, body] of [[opts.json, JSON.stringify(report, null, 2) + '\n'], [opts.txt, txt]]) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, body);
  }
  console.log(`bench-browser: wrote ${opts.json} and ${opts.txt}`);
} catch (e) {
  console.error(`bench-browser: FAILED: ${e.stack ?? e}`);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
