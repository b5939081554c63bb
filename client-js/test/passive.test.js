// Passive content types (src/passive.js), and the two helpers that make
// object URLs honouring them: objectURL() and autoload().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPassiveType, mimeEssence } from '../src/passive.js';
import { connect } from '../src/index.js';
import { FakeRelay, bytesOf } from '../test-support/fake-relay.js';
import { FakeDocument, FakeElement } from '../test-support/fake-dom.js';

test('passive types: raster images, audio, video and fonts; nothing that renders as a document', () => {
  for (const t of ['image/png', 'image/jpeg', 'IMAGE/JPEG; charset=x', ' image/webp ', 'image/avif', 'image/gif', 'image/x-icon', 'audio/mpeg', 'audio/ogg; codecs=opus', 'video/mp4', 'video/webm', 'font/woff2', 'font/ttf']) {
    assert.equal(isPassiveType(t), true, t);
  }
  for (const t of ['image/svg+xml', 'image/svg+xml; charset=utf-8', 'text/html', 'text/plain', 'application/octet-stream', 'application/javascript', 'text/javascript', 'application/xhtml+xml', 'application/pdf', 'application/xml', 'text/xml', 'video/foo+xml', 'image/x-unknown', 'font/svg+xml', '', null, undefined, 'image', 'image/', 'multipart/x-mixed-replace']) {
    assert.equal(isPassiveType(t), false, String(t));
  }
  assert.equal(mimeEssence('Image/PNG ; q=1'), 'image/png');
  assert.equal(mimeEssence('nonsense'), '');
});

function setup(opts = {}) {
  const relay = new FakeRelay();
  relay.addFile('a.png', bytesOf(3000, 1), { contentType: 'image/png' });
  relay.addFile('b.svg', bytesOf(2000, 2), { contentType: 'image/svg+xml' });
  relay.addFile('c.html', bytesOf(1000, 3), { contentType: 'text/html; charset=utf-8' });
  return {
    relay,
    opts: { relay: 'http://relay.test', WebSocket: relay.WebSocket, RTCPeerConnection: null, fetch: relay.fetch, timeoutMs: 300, token: 'tok', ...opts },
  };
}

test('objectURL: a blob: URL for passive types, the relay URL for active ones', async () => {
  const { opts } = setup();
  const c = await connect(opts);
  try {
    assert.match(await c.objectURL('a.png'), /^blob:/);
    assert.equal(await c.objectURL('/b.svg'), 'http://relay.test/files/b.svg?access_token=tok');
    assert.equal(await c.objectURL('c.html'), 'http://relay.test/files/c.html?access_token=tok');
  } finally {
    c.close();
  }
  const c2 = await connect({ ...opts, allowActiveTypes: true });
  try {
    assert.match(await c2.objectURL('b.svg'), /^blob:/, 'the page opted in');
  } finally {
    c2.close();
  }
});

test('autoload: passive files become object URLs, active ones the relay /files URL', async () => {
  const { opts } = setup();
  const png = new FakeElement('img', { 'data-p2p-src': '/a.png' });
  const svg = new FakeElement('img', { 'data-p2p-src': '/b.svg' });
  const frame = new FakeElement('iframe', { 'data-p2p-src': 'c.html' });
  const doc = new FakeDocument([png, svg, frame]);
  const c = await connect(opts);
  try {
    await c.autoload(doc, { observe: false }).ready;
    assert.match(png.getAttribute('src'), /^blob:/);
    assert.equal(svg.getAttribute('src'), 'http://relay.test/files/b.svg?access_token=tok');
    assert.equal(frame.getAttribute('src'), 'http://relay.test/files/c.html?access_token=tok');
    for (const el of [png, svg, frame]) assert.equal(el.getAttribute('data-p2p-state'), 'loaded');
  } finally {
    c.close();
  }
  const svg2 = new FakeElement('img', { 'data-p2p-src': '/b.svg' });
  const c2 = await connect({ ...opts, allowActiveTypes: true });
  try {
    await c2.autoload(new FakeDocument([svg2]), { observe: false }).ready;
    assert.match(svg2.getAttribute('src'), /^blob:/);
  } finally {
    c2.close();
  }
});
