// p2pcache-sw.js: the service worker of the SDK's service-worker mode,
// bundled from this file by `go generate ./client-js` and served by the
// relay at GET /p2pcache-sw.js. A site copies it to its own origin (a
// service worker must be same-origin with the pages it controls) and calls
//
//   connect({ relay, serviceWorker: '/p2pcache-sw.js' })
//
// which registers it as /p2pcache-sw.js?relay=<relay> and answers its
// requests (bridge.js). The logic is router.js.

import { installRouter } from './router.js';

installRouter(self);
