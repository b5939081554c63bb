// Package clientjs embeds the browser SDK and the demo page, so the relay
// binary serves them (GET /p2pcache.js, GET /p2pcache.d.ts, GET /) with no
// build step at run time.
//
// The SDK's source is the ES modules under src/, one concern each (frames,
// manifest, session, requests, holdings, HTTP fallback, ...; see
// README.md), with src/index.js as its public API. What the relay serves is
// p2pcache.js: src/index.js bundled into one readable ES module by esbuild,
// run as a Go tool (go.mod's tool directive), so building it needs Go and
// nothing else:
//
//	go generate ./client-js   # or: make generate
//
// The bundle is committed; `make check-generate` fails when it is out of
// step with src/. src/ is not embedded: the relay serves the bundle only.
package clientjs

import "embed"

//go:generate go tool esbuild src/index.js --bundle --format=esm --target=es2022 --charset=utf8 --keep-names --legal-comments=inline --log-level=warning --outfile=p2pcache.js "--banner:js=// p2pcache.js: the browser SDK of the p2pcache relay, one ES module.\n// GENERATED from client-js/src/ (entry src/index.js) by `go generate ./client-js`\n// (esbuild); DO NOT EDIT. The documented source is src/; the API is p2pcache.d.ts.\n"

// FS holds p2pcache.js (the bundled SDK), its TypeScript declarations
// p2pcache.d.ts and the demo page under demo/.
//
//go:embed p2pcache.js p2pcache.d.ts demo
var FS embed.FS
