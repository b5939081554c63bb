// Package clientjs embeds the browser SDK and the demo page, so the relay
// binary serves them (GET /p2pcache.js, GET /) with no build step.
package clientjs

import "embed"

// FS holds p2pcache.js, its TypeScript declarations, the SDK's sibling
// modules and the demo page under demo/.
//
//go:embed *.js *.d.ts demo
var FS embed.FS
