// The public API: p2pcache.d.ts, the bundle the relay serves (p2pcache.js)
// and its source (src/index.js) export exactly the same names, and those
// are the public ones only (the internals live in the ./wire subpath).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as bundle from '../p2pcache.js';
import * as source from '../src/index.js';
import * as wire from 'p2pcache/wire';

const PUBLIC = ['Client', 'P2PCacheError', 'VERSION', 'connect', 'default'];

function declared() {
  const dts = readFileSync(new URL('../p2pcache.d.ts', import.meta.url), 'utf8');
  const names = new Set([...dts.matchAll(/^export declare (?:const|function|class) (\w+)/gm)].map((m) => m[1]));
  if (/^export default \w+;/m.test(dts)) names.add('default');
  return [...names].sort();
}

test('p2pcache.d.ts declares exactly the public API', () => {
  assert.deepEqual(declared(), PUBLIC);
});

test('the bundle and src/index.js export exactly the public API', () => {
  assert.deepEqual(Object.keys(bundle).sort(), PUBLIC, 'p2pcache.js');
  assert.deepEqual(Object.keys(source).sort(), PUBLIC, 'src/index.js');
  assert.equal(bundle.default, bundle.connect);
  assert.equal(source.default, source.connect);
  assert.equal(bundle.VERSION, source.VERSION);
  assert.equal(bundle.Client.name, 'Client');
  assert.equal(bundle.P2PCacheError.name, 'P2PCacheError');
});

test('the ./wire subpath has the internals, not the client', () => {
  for (const k of ['encodeFrame', 'decodeFrame', 'parseManifest', 'parseSignal', 'normalizePath', 'sha256Hex', 'ByteLRU', 'transferChunks', 'FrameType', 'ErrorCode']) {
    assert.equal(typeof wire[k], k === 'FrameType' || k === 'ErrorCode' ? 'object' : 'function', k);
  }
  for (const k of ['Client', 'connect', 'default']) assert.equal(k in wire, false, k);
  assert.equal(wire.P2PCacheError, source.P2PCacheError, 'one error class across the sources');
});

test('package.json points at the bundle, its types and the wire subpath', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  assert.equal(pkg.name, 'p2pcache');
  assert.equal(pkg.type, 'module');
  assert.equal(pkg.exports['.'].default, './p2pcache.js');
  assert.equal(pkg.exports['.'].types, './p2pcache.d.ts');
  assert.equal(pkg.exports['./wire'], './src/wire.js');
  assert.equal(pkg.scripts.test, 'node --test test/');
});

test('the bundle says it is generated from src/', () => {
  const head = readFileSync(new URL('../p2pcache.js', import.meta.url), 'utf8').slice(0, 400);
  assert.match(head, /GENERATED from client-js\/src\/.*go generate \.\/client-js/s);
  assert.match(head, /DO NOT EDIT/);
});

/** The top-level member names of `export interface name { ... }` in the d.ts. */
function interfaceMembers(name) {
  const dts = readFileSync(new URL('../p2pcache.d.ts', import.meta.url), 'utf8');
  const start = dts.indexOf(`export interface ${name} {`);
  assert.ok(start >= 0, `interface ${name}`);
  const names = [];
  let depth = 0;
  for (const line of dts.slice(dts.indexOf('{', start) + 1).split('\n')) {
    if (depth === 0 && /^}/.test(line)) break;
    const m = depth === 0 ? /^  (?:readonly )?(\w+)\??:/.exec(line) : null;
    if (m) names.push(m[1]);
    depth += (line.match(/{/g) ?? []).length - (line.match(/}/g) ?? []).length;
  }
  return names.sort();
}

test('p2pcache.d.ts: Stats, RelayStats and Source are what the client reports', async () => {
  const c = new source.Client({ relays: ['http://a.test', 'http://b.test'], WebSocket: null, RTCPeerConnection: null, fetch: async () => new Response(''), indexedDB: null });
  try {
    const s = c.stats();
    assert.deepEqual(Object.keys(s).sort(), interfaceMembers('Stats'));
    assert.deepEqual(Object.keys(s.relays).sort(), interfaceMembers('RelayStats'));
    const dts = readFileSync(new URL('../p2pcache.d.ts', import.meta.url), 'utf8');
    const sources = /^export type Source = (.+);$/m.exec(dts)[1].split('|').map((x) => x.trim().replace(/'/g, ''));
    assert.deepEqual(Object.keys(s.bySource).sort(), sources.sort());
    for (const k of ['relay', 'relays', 'discover']) assert.ok(interfaceMembers('ConnectOptions').includes(k), k);
    for (const k of ['relay', 'transport', 'verifyfailure', 'error']) assert.ok(interfaceMembers('ClientEventMap').includes(k), k);
    assert.equal(c.home, 'http://a.test');
    assert.equal(c.relay, 'http://a.test');
  } finally {
    c.close();
  }
});
