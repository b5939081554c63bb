// p2pcache-sw.js: the service worker of the p2pcache SDK's service-worker mode.
// GENERATED from client-js/src/sw/ (entry src/sw/worker.js) by `go generate ./client-js`
// (esbuild); DO NOT EDIT. Copy it to your site's origin and call
// connect({ relay, serviceWorker: '/p2pcache-sw.js' }).

(() => {
  var __defProp = Object.defineProperty;
  var __name = (target, value) => __defProp(target, "name", { value, configurable: true });

  // src/bytes.js
  var strictUTF8 = new TextDecoder("utf-8", { fatal: true });
  var HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
  function utf8Length(s) {
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 128) n += 1;
      else if (c < 2048) n += 2;
      else if (c >= 55296 && c <= 56319 && (s.charCodeAt(i + 1) & 64512) === 56320) {
        n += 4;
        i++;
      } else n += 3;
    }
    return n;
  }
  __name(utf8Length, "utf8Length");

  // src/protocol.js
  var HEADER_LEN = 8;
  var MAX_MESSAGE_SIZE = 65536;
  var MAX_PATH_LEN = 1024;
  var MAX_MANIFEST_LEN = 16 << 20;
  var MAX_CHUNK_DATA = MAX_MESSAGE_SIZE - HEADER_LEN - 12;
  var MAX_MANIFEST_DATA = MAX_MESSAGE_SIZE - HEADER_LEN - 8;
  var FrameType = Object.freeze({
    GET_FILE: 1,
    GET_MANIFEST: 2,
    GET_CHUNK: 3,
    CANCEL: 4,
    PING: 5,
    PONG: 6,
    HAVE: 7,
    MANIFEST: 16,
    CHUNK: 17,
    ERROR: 18
  });
  var ChunkSource = Object.freeze({
    UNSPECIFIED: 0,
    // an older relay, or a peer answering the relay's GET_CHUNK
    RELAY_CACHE: 1,
    // the relay's own chunk cache
    PEER: 2,
    // pulled from another peer (browser) that announced it with HAVE
    ORIGIN: 3,
    // fetched from the origin for this request (a cache miss)
    RELAY: 4
    // another relay of the same mesh (cluster)
  });
  var FRAME_NAMES = Object.freeze(Object.fromEntries(Object.entries(FrameType).map(([k, v]) => [v, k])));
  var ErrorCode = Object.freeze({
    BAD_REQUEST: 1,
    NOT_FOUND: 2,
    ORIGIN_ERROR: 3,
    STALE: 4,
    TOO_LARGE: 5,
    BUSY: 6,
    FORBIDDEN: 7,
    INTERNAL: 8,
    CANCELLED: 9,
    UNSUPPORTED: 10,
    UNKNOWN_CHUNK: 11,
    BAD_PATH: 12
  });
  var ERROR_NAMES = Object.freeze({
    1: "bad_request",
    2: "not_found",
    3: "origin_error",
    4: "stale",
    5: "too_large",
    6: "busy",
    7: "forbidden",
    8: "internal",
    9: "cancelled",
    10: "unsupported",
    11: "unknown_chunk",
    12: "bad_path"
  });

  // src/errors.js
  var STATUS_OF = Object.freeze({
    bad_path: 400,
    bad_request: 400,
    not_found: 404,
    forbidden: 403,
    too_large: 413,
    origin_error: 502,
    internal: 500,
    busy: 503,
    verify_failed: 502,
    timeout: 504,
    unsupported: 501,
    bad_range: 416
  });
  var P2PCacheError = class extends Error {
    static {
      __name(this, "P2PCacheError");
    }
    constructor(code, message, extra = {}) {
      super(message, extra.cause !== void 0 ? { cause: extra.cause } : void 0);
      this.name = "P2PCacheError";
      this.code = code;
      this.status = extra.status ?? STATUS_OF[code] ?? 0;
      if (extra.remoteCode !== void 0) this.remoteCode = extra.remoteCode;
      if (extra.path !== void 0) this.path = extra.path;
    }
  };

  // src/paths.js
  function badPath(p, why) {
    return new P2PCacheError("bad_path", `p2pcache: bad path ${JSON.stringify(String(p))}: ${why}`, { path: String(p) });
  }
  __name(badPath, "badPath");
  var LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  function normalizePath(p) {
    if (typeof p !== "string") throw badPath(p, "not a string");
    let s = p.startsWith("/") ? p.slice(1) : p;
    if (s === "") throw badPath(p, "empty");
    if (s.startsWith("/")) throw badPath(p, "starts with //");
    if (LONE_SURROGATE.test(s)) throw badPath(p, "not valid Unicode");
    if (utf8Length(s) > MAX_PATH_LEN) throw badPath(p, `longer than ${MAX_PATH_LEN} bytes`);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 32 || c === 127) throw badPath(p, `control character 0x${c.toString(16).padStart(2, "0")}`);
      if (c === 92) throw badPath(p, "backslash");
      if (c === 37) throw badPath(p, "percent-escape (pass the decoded path)");
      if (c === 63 || c === 35) throw badPath(p, "query or fragment");
    }
    const segs = s.split("/");
    if (segs[0].includes(":")) throw badPath(p, "a scheme or host is not allowed, only a path");
    for (const seg of segs) {
      if (seg === "..") throw badPath(p, "'..' segments are not allowed");
      if (seg === ".") throw badPath(p, "'.' segments are not allowed");
      if (seg === "") throw badPath(p, "empty segment");
    }
    return s;
  }
  __name(normalizePath, "normalizePath");

  // src/sw/messages.js
  var FETCH = "p2pcache:fetch";
  var DIRECT_ACCEPT = "*/*;p2pcache=direct";
  var READY = "p2pcache:ready";
  var ROUTED_DESTINATIONS = /* @__PURE__ */ new Set(["image", "audio", "video", "track", "font", ""]);
  function relaysOf(scriptURL) {
    const out = [];
    try {
      for (const r of new URL(scriptURL).searchParams.getAll("relay")) {
        const u = new URL(r);
        if (u.protocol === "http:" || u.protocol === "https:") out.push(u.origin + u.pathname.replace(/\/+$/, ""));
      }
    } catch {
    }
    return out;
  }
  __name(relaysOf, "relaysOf");
  function routeOf(url, relays) {
    let u;
    try {
      u = new URL(url);
    } catch {
      return null;
    }
    for (const relay of relays) {
      const prefix = relay + "/files/";
      const here = u.origin + u.pathname;
      if (!here.startsWith(prefix)) continue;
      try {
        const path = normalizePath(here.slice(prefix.length).split("/").map(decodeURIComponent).join("/"));
        return { relay, path };
      } catch {
        return null;
      }
    }
    return null;
  }
  __name(routeOf, "routeOf");

  // src/sw/router.js
  var ACCEPT_TIMEOUT_MS = 3e3;
  var HEAD_TIMEOUT_MS = 15e3;
  var IDLE_TIMEOUT_MS = 15e3;
  function installRouter(scope, { acceptMs = ACCEPT_TIMEOUT_MS, headMs = HEAD_TIMEOUT_MS, idleMs = IDLE_TIMEOUT_MS } = {}) {
    const relays = relaysOf(scope.location?.href ?? "");
    const ready = /* @__PURE__ */ new Map();
    scope.addEventListener("install", (e) => e.waitUntil?.(scope.skipWaiting?.()));
    scope.addEventListener("activate", (e) => e.waitUntil?.(scope.clients.claim()));
    scope.addEventListener("message", (e) => {
      if (e.data?.type === READY && typeof e.data.relay === "string" && e.source?.id) {
        if (!ready.has(e.source.id)) ready.set(e.source.id, /* @__PURE__ */ new Set());
        ready.get(e.source.id).add(e.data.relay);
      }
    });
    async function windowsFor(event, relay) {
      const out = [];
      const seen = /* @__PURE__ */ new Set();
      const add = /* @__PURE__ */ __name((c) => {
        if (c && !seen.has(c.id) && (c.type === void 0 || c.type === "window")) {
          seen.add(c.id);
          out.push(c);
        }
      }, "add");
      if (event.clientId) add(await scope.clients.get(event.clientId));
      if (!out.length && event.resultingClientId) add(await scope.clients.get(event.resultingClientId));
      const all = await scope.clients.matchAll({ type: "window" });
      for (const c of all) if (ready.get(c.id)?.has(relay)) add(c);
      for (const id of [...ready.keys()]) if (!all.some((c) => c.id === id)) ready.delete(id);
      return out;
    }
    __name(windowsFor, "windowsFor");
    function ask(win, route, req, range) {
      return new Promise((resolve, reject) => {
        const { port1, port2 } = new MessageChannel();
        let state = "asked";
        let timer = null;
        let controller = null;
        let delivered = 0;
        let head = null;
        const arm = /* @__PURE__ */ __name((ms, why) => {
          clearTimeout(timer);
          timer = setTimeout(() => onFail(new Error(why)), ms);
        }, "arm");
        const finish = /* @__PURE__ */ __name(() => {
          clearTimeout(timer);
          state = "done";
          port1.onmessage = null;
          try {
            port1.close();
          } catch {
          }
        }, "finish");
        const onFail = /* @__PURE__ */ __name((err) => {
          if (state === "done") return;
          if (state !== "streaming") {
            try {
              port1.postMessage({ type: "cancel" });
            } catch {
            }
            finish();
            reject(err);
            return;
          }
          try {
            port1.postMessage({ type: "cancel" });
          } catch {
          }
          finish();
          continueFromNetwork(scope, req, head, delivered, range, controller);
        }, "onFail");
        port1.onmessage = (ev) => {
          const m = ev.data ?? {};
          if (state === "done") return;
          switch (m.type) {
            case "accept":
              if (state === "asked") {
                state = "accepted";
                arm(headMs, "no head from the window");
              }
              return;
            case "head": {
              if (state !== "asked" && state !== "accepted") return;
              state = "streaming";
              head = m;
              arm(idleMs, "the window fell silent");
              const body = new ReadableStream({
                start: /* @__PURE__ */ __name((c) => {
                  controller = c;
                }, "start"),
                cancel: /* @__PURE__ */ __name(() => {
                  try {
                    port1.postMessage({ type: "cancel" });
                  } catch {
                  }
                  finish();
                }, "cancel")
              });
              const headers = new Headers(m.headers ?? {});
              headers.set("x-content-type-options", "nosniff");
              headers.set("x-p2pcache-via", "service-worker");
              resolve(new Response(body, { status: m.status ?? 200, headers }));
              return;
            }
            case "chunk":
              if (state !== "streaming") return;
              arm(idleMs, "the window fell silent");
              try {
                const b = new Uint8Array(m.bytes);
                delivered += b.length;
                controller.enqueue(b);
              } catch {
              }
              return;
            case "end":
              if (state !== "streaming") return;
              finish();
              try {
                controller.close();
              } catch {
              }
              return;
            case "error":
              onFail(new Error(m.message ?? "the window failed"));
              return;
            default:
          }
        };
        arm(acceptMs, "no window accepted");
        win.postMessage({ type: FETCH, relay: route.relay, path: route.path, range }, [port2]);
      });
    }
    __name(ask, "ask");
    async function viaWindows(event, route) {
      const req = event.request;
      const range = req.headers.get("range");
      if (range && !/^bytes=\d*-\d*$/.test(range.trim())) throw new Error("not one range");
      for (const win of await windowsFor(event, route.relay)) {
        try {
          return await ask(win, route, req, range || null);
        } catch {
        }
      }
      throw new Error("no window answered");
    }
    __name(viaWindows, "viaWindows");
    function handle(event) {
      const req = event.request;
      if (req.method !== "GET" || !ROUTED_DESTINATIONS.has(req.destination ?? "")) return false;
      if (req.headers.get("accept")?.includes(DIRECT_ACCEPT)) return false;
      const route = routeOf(req.url, relays);
      if (!route) return false;
      event.respondWith(viaWindows(event, route).catch(() => scope.fetch(req)));
      return true;
    }
    __name(handle, "handle");
    scope.addEventListener("fetch", handle);
    return { handle, relays, ready };
  }
  __name(installRouter, "installRouter");
  async function continueFromNetwork(scope, req, head, delivered, range, controller) {
    try {
      const h = new Headers(head.headers ?? {});
      let start = delivered;
      let end = "";
      const cr = /^bytes (\d+)-(\d+)\/\d+$/.exec(h.get("content-range") ?? "");
      if (cr) {
        start = Number(cr[1]) + delivered;
        end = cr[2];
      }
      const headers = { range: `bytes=${start}-${end}` };
      const etag = h.get("etag");
      if (etag) headers["if-range"] = etag;
      const res = await scope.fetch(req.url, { headers, mode: "cors", credentials: "omit" });
      if (res.status !== 206) throw new Error(`network: HTTP ${res.status} for the rest`);
      const reader = res.body.getReader();
      for (; ; ) {
        const { done, value } = await reader.read();
        if (done) break;
        controller.enqueue(value);
      }
      controller.close();
    } catch (e) {
      try {
        controller.error(e);
      } catch {
      }
    }
  }
  __name(continueFromNetwork, "continueFromNetwork");

  // src/sw/worker.js
  installRouter(self);
})();
