// autoload() (src/autoload.js, src/responsive.js) on a small fake DOM:
// plain, lazy, srcset/sizes, <picture> and background elements, the
// fallback to the relay URL, and the srcset/sizes arithmetic itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../src/index.js';
import { evalSizes, parseSrcset, pickCandidate, selectPath } from '../src/responsive.js';
import { FakeRelay, bytesOf } from '../test-support/fake-relay.js';
import { FakeDocument, FakeElement, FakeIO, fakeMatchMedia } from '../test-support/fake-dom.js';

const win = (width = 1000, dpr = 1) => ({ innerWidth: width, devicePixelRatio: dpr, matchMedia: fakeMatchMedia(width), IntersectionObserver: FakeIO });
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

test('parseSrcset: widths, densities, bare URLs, commas in URLs', () => {
  assert.deepEqual(parseSrcset('a.jpg 480w, b.jpg 800w'), [{ url: 'a.jpg', w: 480 }, { url: 'b.jpg', w: 800 }]);
  assert.deepEqual(parseSrcset('a.jpg, b.jpg 2x,c.jpg 1.5x'), [{ url: 'a.jpg', x: 1 }, { url: 'b.jpg', x: 2 }, { url: 'c.jpg', x: 1.5 }]);
  assert.deepEqual(parseSrcset('/img/a,b.jpg 1x'), [{ url: '/img/a,b.jpg', x: 1 }]);
  assert.deepEqual(parseSrcset('a.jpg 2q, b.jpg 1x 2x, c.jpg 3x'), [{ url: 'c.jpg', x: 3 }], 'bad descriptors drop the candidate');
  assert.deepEqual(parseSrcset(''), []);
});

test('evalSizes and pickCandidate: the candidate a browser would take', () => {
  const w = win(1000, 2);
  assert.equal(evalSizes('(max-width: 600px) 100vw, 50vw', w), 500);
  assert.equal(evalSizes('(max-width: 600px) 100vw, 50vw', win(500)), 500);
  assert.equal(evalSizes('(min-width: 900px) 300px, 100vw', w), 300);
  assert.equal(evalSizes('calc(100vw - 2em)', w), null);
  const ws = parseSrcset('s.jpg 480w, m.jpg 800w, l.jpg 1200w, xl.jpg 2400w');
  assert.equal(pickCandidate(ws, '50vw', null, w), 'l.jpg', '500 css px × dpr 2 = 1000 device px: the 1200w one');
  assert.equal(pickCandidate(ws, '50vw', null, win(1000, 1)), 'm.jpg');
  assert.equal(pickCandidate(ws, '100vw', null, win(4000, 2)), 'xl.jpg', 'none wide enough: the widest');
  assert.equal(pickCandidate(ws, null, { clientWidth: 600 }, win(1000, 1)), 'm.jpg', 'no sizes: the element width');
  const xs = parseSrcset('a.jpg, b.jpg 2x, c.jpg 3x');
  assert.equal(pickCandidate(xs, null, null, win(1000, 1)), 'a.jpg');
  assert.equal(pickCandidate(xs, null, null, win(1000, 2)), 'b.jpg');
  assert.equal(pickCandidate(xs, null, null, win(1000, 4)), 'c.jpg');
});

test('selectPath: <picture> sources by type and media, then srcset, then data-p2p-src', () => {
  const img = new FakeElement('img', { 'data-p2p-src': '/fallback.jpg' });
  new FakeElement('picture', {}, [
    new FakeElement('source', { 'data-p2p-srcset': '/a.jxl', type: 'image/jxl' }),
    new FakeElement('source', { 'data-p2p-srcset': '/wide.avif', type: 'image/avif', media: '(min-width: 2000px)' }),
    new FakeElement('source', { 'data-p2p-srcset': '/n.webp 1x, /n2.webp 2x', type: 'image/webp' }),
    img,
  ]);
  assert.equal(selectPath(img, { win: win(1000, 2) }), '/n2.webp');
  assert.equal(selectPath(img, { win: win(2400, 1) }), '/wide.avif');
  const plain = new FakeElement('img', { 'data-p2p-src': '/p.jpg' });
  assert.equal(selectPath(plain, { win: win() }), '/p.jpg');
  const own = new FakeElement('img', { 'data-p2p-src': '/p.jpg', 'data-p2p-srcset': '/p-800.jpg 800w, /p-1600.jpg 1600w', sizes: '100vw' });
  assert.equal(selectPath(own, { win: win(1200, 1) }), '/p-1600.jpg');
});

function setup() {
  const relay = new FakeRelay();
  for (const [p, n] of [['s.jpg', 1000], ['m.jpg', 2000], ['l.jpg', 3000], ['hero.jpg', 4000], ['lazy.jpg', 5000], ['n2.webp', 600]]) {
    relay.addFile(p, bytesOf(n, n), { contentType: p.endsWith('.webp') ? 'image/webp' : 'image/jpeg' });
  }
  relay.addFile('icon.svg', bytesOf(300, 3), { contentType: 'image/svg+xml' });
  return {
    relay,
    opts: { relay: 'http://relay.test', WebSocket: relay.WebSocket, RTCPeerConnection: null, fetch: relay.fetch, timeoutMs: 300 },
  };
}

test('autoload: plain, srcset, picture and background elements; lazy ones wait for the viewport', async () => {
  FakeIO.reset();
  const { relay, opts } = setup();
  const plain = new FakeElement('img', { 'data-p2p-src': '/s.jpg' });
  const sized = new FakeElement('img', { 'data-p2p-srcset': '/s.jpg 480w, /m.jpg 800w, /l.jpg 1200w', sizes: '(max-width: 600px) 100vw, 50vw' });
  const pimg = new FakeElement('img', { 'data-p2p-src': '/s.jpg' });
  const picture = new FakeElement('picture', {}, [new FakeElement('source', { 'data-p2p-srcset': '/n2.webp 2x', type: 'image/webp' }), pimg]);
  const hero = new FakeElement('div', { 'data-p2p-bg': '/hero.jpg' });
  const badge = new FakeElement('div', { 'data-p2p-bg': '/icon.svg' });
  const lazy = new FakeElement('img', { 'data-p2p-src': '/lazy.jpg', loading: 'lazy' });
  const loads = [];
  const doc = new FakeDocument([plain, sized, picture, hero, badge, lazy]);
  doc.addEventListener('p2pload', (e) => loads.push(e.detail));
  const c = await connect(opts);
  try {
    await c.autoload(doc, { observe: false, window: win(1000, 2) }).ready;
    assert.match(plain.getAttribute('src'), /^blob:/);
    assert.match(sized.getAttribute('src'), /^blob:/);
    assert.match(pimg.getAttribute('src'), /^blob:/);
    assert.match(hero.style.backgroundImage, /^url\("blob:/);
    assert.equal(badge.style.backgroundImage, 'url("http://relay.test/files/icon.svg")', 'an SVG background: the relay URL');
    const asked = relay.log.filter((f) => f.type === 2).map((f) => f.path).sort(); // GET_MANIFEST
    assert.deepEqual(asked, ['hero.jpg', 'icon.svg', 'l.jpg', 'n2.webp', 's.jpg'], '50vw × dpr 2 picked l.jpg; the picture its webp');
    assert.equal(lazy.getAttribute('data-p2p-state'), 'lazy');
    assert.equal(lazy.getAttribute('src'), null, 'not in view: not loaded');
    assert.equal(FakeIO.all[0].opts.rootMargin, '200px');
    FakeIO.show(lazy);
    for (let i = 0; i < 100 && lazy.getAttribute('data-p2p-state') !== 'loaded'; i++) await wait(5);
    assert.match(lazy.getAttribute('src'), /^blob:/);
    assert.ok(loads.length >= 6 && loads.every((d) => d === null || d.verified === true));
  } finally {
    c.close();
  }
});

test('autoload: a failed fetch falls back to the relay URL (or not, with fallback: false)', async () => {
  const { opts } = setup();
  const c = await connect(opts);
  try {
    const a = new FakeElement('img', { 'data-p2p-src': '/missing.jpg' });
    const errors = [];
    a.addEventListener('p2perror', (e) => errors.push(e.detail.error.code));
    await c.autoload(new FakeDocument([a]), { observe: false, window: win() }).ready;
    await wait(10);
    assert.equal(a.getAttribute('data-p2p-state'), 'error');
    assert.deepEqual(errors, ['not_found']);
    assert.equal(a.getAttribute('src'), 'http://relay.test/files/missing.jpg');
    const b = new FakeElement('img', { 'data-p2p-src': '/missing.jpg' });
    await c.autoload(new FakeDocument([b]), { observe: false, fallback: false, window: win() }).ready;
    await wait(10);
    assert.equal(b.getAttribute('src'), null);
  } finally {
    c.close();
  }
});
