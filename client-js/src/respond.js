// The Responses a fetch resolves with: status 200, the file's headers
// (content-type, content-length, etag, last-modified, x-p2pcache-source,
// x-p2pcache-transport) and the fetch's details as res.p2p (FetchInfo).

import { countSources, mainSource } from './sources.js';

/** Attach info to res as p2p and p2pDone (resolved: the body is complete) where the Response allows. */
function attach(res, info) {
  try {
    Object.defineProperty(res, 'p2p', { value: info, enumerable: true });
    Object.defineProperty(res, 'p2pDone', { value: Promise.resolve(info), enumerable: true });
  } catch {
    // a frozen Response: the headers still tell the source
  }
  return res;
}

/**
 * The body of a Response holding bytes, without a copy: a stream of one
 * chunk, bytes itself. Chromium then copies them once, for the consumer
 * that reads them: res.arrayBuffer() 6-7 ms per MB, res.blob() 6 (5 MB,
 * headless Chromium 156 on the bench machine). A Blob body (before) costs
 * arrayBuffer() 21-33 ms per MB there, the bytes shipped to the browser
 * process's blob store and back; new Response(bytes) copies them first
 * (15, blob() 12). Firefox ESR 153 reads a stream body more slowly (16-18
 * per MB, against 8-9 for a Blob or bytes). Nothing else holds bytes (the
 * fetch's own buffer: the chunks the SDK keeps are copies), so the reader
 * may have it.
 */
function bodyOf(bytes) {
  return new ReadableStream({
    start(c) {
      if (bytes.length) c.enqueue(bytes);
      c.close();
    },
  });
}

/** last-modified for a manifest's lastModified (ISO), else fallback (an HTTP header value) or null. */
function lastModified(m, fallback) {
  const lm = m?.lastModified ? new Date(m.lastModified) : null;
  if (lm && !isNaN(lm)) return lm.toUTCString();
  return fallback ?? null;
}

/** A buffered Response for a streamed fetch's result (info: its FetchInfo, made by the Streamer). */
export function streamedResponse(m, bytes, info) {
  const headers = {
    'content-type': m.contentType || 'application/octet-stream',
    'content-length': String(bytes.length),
    'x-p2pcache-source': info.source,
    'x-p2pcache-transport': info.transport,
  };
  if (m.etag) headers.etag = m.etag;
  const lm = lastModified(m, null);
  if (lm) headers['last-modified'] = lm;
  return attach(new Response(bodyOf(bytes), { status: 200, headers }), info);
}

/**
 * The Response of a fetch by the ladder (ladder.js): fst its accounting,
 * { manifest, bytes } its result, ms how long it took.
 */
export function ladderResponse(path, fst, { manifest: m, bytes }, ms) {
  const bySource = countSources(fst.sources.values(), fst.httpChunks);
  const source = mainSource(bySource);
  const contentType = m?.contentType || fst.contentType || 'application/octet-stream';
  const headers = {
    'content-type': contentType,
    'content-length': String(bytes.length),
    'x-p2pcache-source': source,
    'x-p2pcache-transport': fst.transport ?? 'http',
  };
  const etag = m?.etag ?? fst.etag;
  if (etag) headers.etag = etag;
  const lm = lastModified(m, fst.lastModified);
  if (lm) headers['last-modified'] = lm;
  const info = Object.freeze({
    path,
    transport: fst.transport ?? 'http',
    source,
    ms: Math.round(ms * 10) / 10,
    bytes: bytes.length,
    chunks: Object.values(bySource).reduce((a, b) => a + b, 0),
    bySource: Object.freeze(bySource),
    verified: fst.verified,
    verifyFailures: fst.verifyFailures,
    retries: fst.retries,
    fallbackReason: fst.fallback?.message ?? null,
    sha256: m?.sha256 ?? null,
  });
  return attach(new Response(bodyOf(bytes), { status: 200, headers }), info);
}
