// One port for everything (--ice-listen shared): Chromium loads the page,
// opens the signaling WebSocket and connects WebRTC over ICE-TCP, all on the
// relay's one TCP port; the relay tells the protocols apart by their first
// bytes. With TLS (a self-signed certificate; Chromium launched with
// --ignore-certificate-errors) the page is https://, the WebSocket wss://,
// and the data channel's selected ICE pair ends at the HTTPS port itself.
//
// The relay runs on loopback here, outside the harness's namespace (its
// forwarders speak plain HTTP), so Chromium only: Firefox ignores loopback
// ICE candidates. Local helpers start the relay with TLS and launch
// Chromium with the extra switch; the harness has no knob for either.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN, BROWSERS, CHROMIUM, CHROMIUM_ARGS, freePort, missing, openSDKPage } from './harness.js';

const IMAGE = 'images/aurora.jpg';

function whyMissing() {
  if (!BROWSERS.includes('chromium')) return 'E2E_BROWSERS leaves Chromium out';
  if (!existsSync('/usr/bin/openssl')) return 'openssl missing (apt-get install -y openssl)';
  return missing('chromium');
}

/** A self-signed certificate for 127.0.0.1 in a temporary directory: { cert, key }. */
async function selfSigned(t) {
  const dir = await mkdtemp(join(tmpdir(), 'p2pcache-oneport-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync('/usr/bin/openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=p2pcache-oneport', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { encoding: 'utf8' });
  assert.equal(r.status, 0, `openssl: ${r.stderr}`);
  return { cert, key };
}

/** The relay on one port of 127.0.0.1, ready when it logs so; stopped (SIGTERM) on t.after. */
async function startOnePortRelay(t, args) {
  const port = await freePort();
  const proc = spawn(BIN, ['--listen', `127.0.0.1:${port}`, '--ice-listen', 'shared', '--log-level', 'info', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve(code ?? sig)));
  t.after(async () => {
    proc.kill('SIGTERM');
    const k = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(k);
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay not ready in 20 s:\n${out}`)), 20_000);
    const onData = (d) => {
      out += d;
      if (out.includes('p2pcache relay ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout.setEncoding('utf8').on('data', onData);
    proc.stderr.setEncoding('utf8').on('data', onData);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`relay exited (${code}) before it was ready:\n${out}`));
    });
  });
  return { port, logs: () => out };
}

/** Headless Chromium as the harness launches it, plus extra switches. */
async function launchChromium(t, extraArgs) {
  const { chromium } = await import('playwright-core');
  const dir = await mkdtemp(join(tmpdir(), 'p2pcache-e2e-oneport-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
  t.after(async () => {
    await context.close().catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  return page;
}

/** In the page: connect, fetch and decode IMAGE, and read the selected ICE pair. */
async function fetchImage(page) {
  return page.evaluate(async (path) => {
    const client = await p2p.connect();
    const res = await client.fetch('/' + path);
    const blob = await res.blob();
    const size = await e2e.decode(blob);
    const out = {
      scheme: location.protocol,
      secure: window.isSecureContext,
      transport: client.stats().transport,
      verified: res.p2p.verified,
      bytes: blob.size,
      ...size,
      pair: await e2e.selectedPair(client.peerConnection),
    };
    client.close?.();
    return out;
  }, IMAGE);
}

for (const tls of [true, false]) {
  const name = tls ? 'TLS (https, wss, ICE-TCP on the HTTPS port)' : 'plain HTTP';
  test(`one port for everything, ${name} [chromium]`, { timeout: 120_000, skip: whyMissing() || false }, async (t) => {
    const args = [];
    if (tls) {
      const { cert, key } = await selfSigned(t);
      args.push('--tls-cert', cert, '--tls-key', key);
    }
    const relay = await startOnePortRelay(t, args);
    const url = `${tls ? 'https' : 'http'}://127.0.0.1:${relay.port}`;
    const page = await launchChromium(t, tls ? ['--ignore-certificate-errors'] : []);
    await openSDKPage(page, { url });
    const got = await fetchImage(page);
    console.log(`[e2e] one port (${name}): ${got.transport}, pair ${JSON.stringify(got.pair)}, ${got.bytes} bytes`);
    assert.equal(got.scheme, tls ? 'https:' : 'http:');
    assert.equal(got.transport, 'webrtc-tcp', `transport ${got.transport}; problems: ${page.problems.join('; ')}\n${relay.logs()}`);
    assert.equal(got.verified, true);
    assert.ok(got.width > 0 && got.height > 0, `${IMAGE} decodes`);
    assert.ok(got.pair, 'a selected candidate pair');
    assert.equal(got.pair.remote.protocol, 'tcp');
    assert.equal(got.pair.remote.port, relay.port, `the relay's side of the pair is the ${tls ? 'HTTPS' : 'HTTP'} port`);
    assert.deepEqual(page.problems, []);
  });
}
