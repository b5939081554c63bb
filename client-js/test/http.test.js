// The HTTP rung (src/http.js): URLs, status codes, and verification of the
// body against the manifest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpFallback, codeForStatus } from '../src/http.js';
import { FakeRelay, bytesOf } from '../test-support/fake-relay.js';

test('relay statuses map to the error codes of frames', () => {
  const want = { 400: 'bad_path', 401: 'forbidden', 403: 'forbidden', 404: 'not_found', 410: 'not_found', 413: 'too_large', 429: 'busy', 503: 'busy', 502: 'origin_error', 504: 'timeout', 500: 'http_error', 418: 'http_error' };
  for (const [status, code] of Object.entries(want)) assert.equal(codeForStatus(Number(status)), code, status);
});

function fst() {
  return { manifest: null, sources: new Map([[0, 'relay']]), verifyFailures: 0, httpChunks: 0, verified: true };
}

test('urls encode each segment and carry the token', () => {
  const h = new HttpFallback({ relay: 'https://r.example/base', token: 't k', fetch: null, isClosed: () => false, onVerifyFailure() {}, log() {} });
  assert.equal(h.url('files', 'a b/ü#.png'), 'https://r.example/base/files/a%20b/%C3%BC%23.png?access_token=t+k');
  assert.equal(new HttpFallback({ relay: 'http://r', token: null }).url('manifest', 'x'), 'http://r/manifest/x');
});

test('a body that matches its manifest is verified; one that does not is refused and reported', async () => {
  const relay = new FakeRelay();
  const bytes = bytesOf(3 * 65536 + 1, 5);
  relay.addFile('d/f.bin', bytes, { contentType: 'application/x-test' });
  const failures = [];
  const progress = [];
  const h = new HttpFallback({ relay: 'http://r', fetch: relay.fetch, isClosed: () => false, onVerifyFailure: (path, _fst, info) => failures.push([path, info.index, info.source]), log() {} });
  const s = fst();
  const { manifest, bytes: got } = await h.fetchFile('d/f.bin', s, (p) => progress.push(p), undefined);
  assert.deepEqual(got, bytes);
  assert.equal(manifest.size, bytes.length);
  assert.equal(s.transport, 'http');
  assert.equal(s.httpChunks, 4);
  assert.equal(s.verified, true);
  assert.equal(s.sources.size, 0, 'no chunk came over frames in the end');
  assert.equal(s.contentType, 'application/x-test');
  assert.equal(progress.at(-1).loaded, bytes.length);
  assert.deepEqual(relay.httpLog, ['/manifest/d/f.bin', '/files/d/f.bin']);
  relay.corruptHTTP = true;
  await assert.rejects(h.fetchFile('d/f.bin', fst(), null, undefined), (e) => e.code === 'verify_failed' && e.status === 502);
  assert.deepEqual(failures, [['d/f.bin', -1, 'http']]);
  relay.httpDown = true;
  await assert.rejects(h.fetchFile('d/f.bin', fst(), null, undefined), (e) => e.code === 'network');
  await assert.rejects(new HttpFallback({ relay: 'http://r', fetch: null }).fetchFile('x', fst()), (e) => e.code === 'network');
});
