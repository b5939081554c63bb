// p2pcache: the browser SDK of the p2pcache relay — its public API.
//
// It fetches static files from the relay over a WebRTC data channel carried
// by ICE-TCP, falls back to the same wire frames over the signaling
// WebSocket, then to plain HTTP, and verifies every byte against the file's
// manifest (SHA-256 per chunk and for the whole file) before handing it to
// the page. The wire and signaling contract is PROTOCOL.md (version 1).
//
//   import { connect } from 'https://relay.example/p2pcache.js';
//   const client = await connect({ token });
//   const res = await client.fetch('/images/cat.jpg', { onProgress });
//
// This file is the whole public surface (declared in p2pcache.d.ts); the
// relay serves it bundled as p2pcache.js. The codec and the other internals
// are in the sibling modules, re-exported for tests and tools by wire.js
// (the package's "./wire" subpath).

import { connect } from './client.js';

export { Client, VERSION, connect } from './client.js';
export { P2PCacheError } from './errors.js';
export default connect;
