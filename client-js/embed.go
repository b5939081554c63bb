// Package clientjs embeds the browser SDK, its service worker and the demo
// page, so the relay binary serves them (GET /p2pcache.js,
// GET /p2pcache-sw.js, GET /p2pcache.d.ts, GET /) with no build step at
// run time.
//
// The SDK's source is the ES modules under src/, one concern each (frames,
// manifest, session, requests, holdings, HTTP fallback, ...; see
// README.md), with src/index.js as its public API. What the relay serves is
// p2pcache.js: src/index.js bundled into one readable ES module by esbuild,
// run as a Go tool (go.mod's tool directive), so building it needs Go and
// nothing else. The service worker of service-worker mode is a second,
// smaller bundle: src/sw/worker.js into p2pcache-sw.js, a classic script
// (a site copies it to its own origin and registers it):
//
//	go generate ./client-js   # or: make generate
//
// The bundles are committed; `make check-generate` fails when they are out
// of step with src/. src/ is not embedded: the relay serves the bundles
// only.
package clientjs

import "embed"

//go:generate go tool esbuild src/index.js --bundle --format=esm --target=es2022 --charset=utf8 --keep-names --legal-comments=inline --log-level=warning --outfile=p2pcache.js "--banner:js=// p2pcache.js: the browser SDK of the p2pcache relay, one ES module.\n// GENERATED from client-js/src/ (entry src/index.js) by `go generate ./client-js`\n// (esbuild); DO NOT EDIT. The documented source is src/; the API is p2pcache.d.ts.\n"
//go:generate go tool esbuild src/sw/worker.js --bundle --format=iife --target=es2022 --charset=utf8 --keep-names --legal-comments=inline --log-level=warning --outfile=p2pcache-sw.js "--banner:js=// p2pcache-sw.js: the service worker of the p2pcache SDK's service-worker mode.\n// GENERATED from client-js/src/sw/ (entry src/sw/worker.js) by `go generate ./client-js`\n// (esbuild); DO NOT EDIT. Copy it to your site's origin and call\n// connect({ relay, serviceWorker: '/p2pcache-sw.js' }).\n"

// FS holds p2pcache.js (the bundled SDK), p2pcache-sw.js (its service
// worker), the TypeScript declarations p2pcache.d.ts and the demo page
// under demo/.
//
//go:embed p2pcache.js p2pcache-sw.js p2pcache.d.ts demo
var FS embed.FS
