import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath, encodePathForURL } from 'p2pcache/wire';

test('clean paths are normalized to the origin-relative form', () => {
  assert.equal(normalizePath('/images/cat.jpg'), 'images/cat.jpg');
  assert.equal(normalizePath('images/cat.jpg'), 'images/cat.jpg');
  assert.equal(normalizePath('index.json'), 'index.json');
  assert.equal(normalizePath('a/b:c/ü ñ.png'), 'a/b:c/ü ñ.png');
  assert.equal(normalizePath('/' + 'a'.repeat(1024)), 'a'.repeat(1024));
});

test("'..' and other unclean paths are refused with a clear error", () => {
  const cases = {
    '../etc/passwd': /'\.\.'/,
    '/images/../secret': /'\.\.'/,
    'a/..': /'\.\.'/,
    './a': /'\.'/,
    '': /empty/,
    '/': /empty/,
    '//evil.com/x': /\/\//,
    'a//b': /empty segment/,
    'a/': /empty segment/,
    'a\\b': /backslash/,
    'a%2e%2e/b': /percent/,
    'a?x=1': /query/,
    'a#frag': /query or fragment/,
    'a\nb': /control/,
    'a\x7fb': /control/,
    'http://evil.com/x': /scheme/,
    'javascript:alert(1)': /scheme/,
    ['a'.repeat(1025)]: /longer/,
    ['é'.repeat(513)]: /longer/,
    'a\ud800b': /Unicode/,
  };
  for (const [p, re] of Object.entries(cases)) {
    assert.throws(
      () => normalizePath(p),
      (e) => e.code === 'bad_path' && e.status === 400 && re.test(e.message),
      `path ${JSON.stringify(p)}`,
    );
  }
  assert.throws(() => normalizePath(42), (e) => e.code === 'bad_path');
});

test('paths are percent-encoded per segment in URLs', () => {
  assert.equal(encodePathForURL('a b/c#d?/é.jpg'.replace(/[#?]/g, '_')), 'a%20b/c_d_/%C3%A9.jpg');
  assert.equal(encodePathForURL('x/y:z'), 'x/y%3Az');
});
