// p2pcache.js: the browser SDK of the p2pcache relay, one ES module.
// GENERATED from client-js/src/ (entry src/index.js) by `go generate ./client-js`
// (esbuild); DO NOT EDIT. The documented source is src/; the API is p2pcache.d.ts.

var __defProp = Object.defineProperty;
var __name = (target, value) => __defProp(target, "name", { value, configurable: true });

// src/protocol.js
var WIRE_VERSION = 1;
var HEADER_LEN = 8;
var MAX_MESSAGE_SIZE = 65536;
var MAX_PATH_LEN = 1024;
var MAX_ERROR_MESSAGE_LEN = 1024;
var MAX_CHUNK_SIZE = 65536;
var MAX_MANIFEST_LEN = 16 << 20;
var PING_LEN = 8;
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
var CHUNK_SOURCE_MASK = 7;
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
function chunkSourceName(bits) {
  if (bits === ChunkSource.PEER) return "peer";
  if (bits === ChunkSource.ORIGIN) return "origin";
  if (bits === ChunkSource.RELAY) return "cluster";
  return "relay";
}
__name(chunkSourceName, "chunkSourceName");
var FRAME_NAMES = Object.freeze(Object.fromEntries(Object.entries(FrameType).map(([k, v]) => [v, k])));
function frameTypeName(t) {
  return FRAME_NAMES[t] ?? `TYPE_0x${(t >>> 0).toString(16).padStart(2, "0")}`;
}
__name(frameTypeName, "frameTypeName");
function isRequestType(t) {
  return t >= 1 && t <= 15;
}
__name(isRequestType, "isRequestType");
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
function errorName(code) {
  return ERROR_NAMES[code] ?? `code_${code}`;
}
__name(errorName, "errorName");

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
var FrameError = class extends P2PCacheError {
  static {
    __name(this, "FrameError");
  }
  constructor(code, message, type, id) {
    super(code, message);
    this.name = "FrameError";
    if (type !== void 0) this.type = type;
    if (id !== void 0) this.id = id;
  }
};
function remoteError(code, message, path) {
  const name = errorName(code);
  return new P2PCacheError(name, `relay: ${name}${message ? ": " + message : ""}${path ? ` (${path})` : ""}`, {
    remoteCode: code,
    path
  });
}
__name(remoteError, "remoteError");
function abortError(signal) {
  return new P2PCacheError("aborted", "p2pcache: fetch aborted", { cause: signal?.reason });
}
__name(abortError, "abortError");
function closedError() {
  return new P2PCacheError("closed", "p2pcache: client closed");
}
__name(closedError, "closedError");

// src/passive.js
var PASSIVE_IMAGES = /* @__PURE__ */ new Set([
  "image/avif",
  "image/bmp",
  "image/gif",
  "image/jpeg",
  "image/jpg",
  "image/pjpeg",
  "image/png",
  "image/apng",
  "image/webp",
  "image/jxl",
  "image/x-icon",
  "image/vnd.microsoft.icon",
  "image/heic",
  "image/heif",
  "image/tiff"
]);
var PASSIVE_FONTS = /* @__PURE__ */ new Set(["font/woff", "font/woff2", "font/ttf", "font/otf", "font/collection", "font/sfnt"]);
var TOKEN = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/;
function mimeEssence(contentType) {
  if (typeof contentType !== "string") return "";
  const e = contentType.split(";", 1)[0].trim().toLowerCase();
  return TOKEN.test(e) ? e : "";
}
__name(mimeEssence, "mimeEssence");
function isPassiveType(contentType) {
  const e = mimeEssence(contentType);
  if (!e || e.endsWith("+xml")) return false;
  if (PASSIVE_IMAGES.has(e) || PASSIVE_FONTS.has(e)) return true;
  return e.startsWith("audio/") || e.startsWith("video/");
}
__name(isPassiveType, "isPassiveType");

// src/responsive.js
var DECODABLE_IMAGE_TYPES = /* @__PURE__ */ new Set([
  "image/jpeg",
  "image/png",
  "image/gif",
  "image/webp",
  "image/avif",
  "image/apng",
  "image/bmp",
  "image/x-icon",
  "image/svg+xml"
]);
function parseSrcset(srcset) {
  const out = [];
  if (typeof srcset !== "string") return out;
  const s = srcset;
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /[\s,]/.test(s[i])) i++;
    if (i >= s.length) break;
    let j = i;
    while (j < s.length && !/\s/.test(s[j])) j++;
    let url = s.slice(i, j);
    let desc = "";
    if (url.endsWith(",")) {
      url = url.replace(/,+$/, "");
      i = j;
    } else {
      let k = j;
      while (k < s.length && s[k] !== ",") k++;
      desc = s.slice(j, k).trim();
      i = k + 1;
    }
    const parts = desc ? desc.split(/\s+/) : [];
    if (parts.length > 1 || !url) continue;
    const d = parts[0];
    const c = { url };
    if (!d) c.x = 1;
    else if (/^\d+w$/.test(d)) c.w = Number(d.slice(0, -1));
    else if (/^\d+(\.\d+)?x$/.test(d)) c.x = Number(d.slice(0, -1));
    else continue;
    out.push(c);
  }
  return out;
}
__name(parseSrcset, "parseSrcset");
function cssLength(s, win) {
  const m = /^(\d+(?:\.\d+)?)(px|vw|em|rem)$/.exec(s.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  if (m[2] === "px") return n;
  if (m[2] === "vw") return n * (win.innerWidth ?? 0) / 100;
  return n * 16;
}
__name(cssLength, "cssLength");
function evalSizes(sizes, win) {
  if (typeof sizes !== "string" || !sizes.trim()) return null;
  for (const entry of sizes.split(",")) {
    const e = entry.trim();
    const m = /^(\(.*\))\s+(\S+)$/.exec(e);
    if (m) {
      if (win.matchMedia?.(m[1])?.matches) {
        const px2 = cssLength(m[2], win);
        return Number.isNaN(px2) ? null : px2;
      }
      continue;
    }
    const px = cssLength(e, win);
    return Number.isNaN(px) ? null : px;
  }
  return null;
}
__name(evalSizes, "evalSizes");
function pickCandidate(candidates, sizes, el, win) {
  if (!candidates.length) return null;
  const dpr = win.devicePixelRatio || 1;
  const ws = candidates.filter((c) => c.w);
  if (ws.length) {
    const slot = evalSizes(sizes, win) ?? (el?.clientWidth || win.innerWidth || 0);
    const need = slot * dpr;
    const sorted2 = ws.sort((a, b) => a.w - b.w);
    return (sorted2.find((c) => c.w >= need) ?? sorted2.at(-1)).url;
  }
  const sorted = candidates.filter((c) => c.x).sort((a, b) => a.x - b.x);
  return (sorted.find((c) => c.x >= dpr) ?? sorted.at(-1))?.url ?? null;
}
__name(pickCandidate, "pickCandidate");
function selectPath(el, { attr = "data-p2p-src", win = globalThis, decodable = /* @__PURE__ */ __name((t) => DECODABLE_IMAGE_TYPES.has(t), "decodable") } = {}) {
  const sizesOf = /* @__PURE__ */ __name((x) => x?.getAttribute("data-p2p-sizes") ?? x?.getAttribute("sizes") ?? null, "sizesOf");
  const parent = el.parentElement;
  if (el.tagName === "IMG" && parent?.tagName === "PICTURE") {
    for (const source of parent.children) {
      if (source.tagName !== "SOURCE") continue;
      const srcset = source.getAttribute("data-p2p-srcset");
      if (!srcset) continue;
      const type = source.getAttribute("type");
      if (type && !decodable(type.trim().toLowerCase())) continue;
      const media = source.getAttribute("media");
      if (media && !win.matchMedia?.(media)?.matches) continue;
      const url = pickCandidate(parseSrcset(srcset), sizesOf(source) ?? sizesOf(el), el, win);
      if (url) return url;
    }
  }
  const own = el.getAttribute("data-p2p-srcset");
  if (own) {
    const url = pickCandidate(parseSrcset(own), sizesOf(el), el, win);
    if (url) return url;
  }
  return el.getAttribute(attr) || null;
}
__name(selectPath, "selectPath");

// src/autoload.js
var ObjectURLs = class {
  static {
    __name(this, "ObjectURLs");
  }
  constructor() {
    this._urls = /* @__PURE__ */ new Set();
  }
  /** An object URL for blob, owned until revoked. */
  create(blob) {
    const url = URL.createObjectURL(blob);
    this._urls.add(url);
    return url;
  }
  has(url) {
    return this._urls.has(url);
  }
  /** Revoke url if it is one of ours. */
  revoke(url) {
    if (this._urls.delete(url)) {
      try {
        URL.revokeObjectURL(url);
      } catch {
      }
    }
  }
  revokeAll() {
    for (const u of this._urls) {
      try {
        URL.revokeObjectURL(u);
      } catch {
      }
    }
    this._urls.clear();
  }
};
var WATCHED = ["data-p2p-srcset", "data-p2p-bg", "data-p2p-sizes", "sizes"];
var LAZY_ROOT_MARGIN = "200px";
function autoload(host, root, opts = {}) {
  if (!root?.querySelectorAll) throw new P2PCacheError("bad_option", "p2pcache: autoload needs a document or element");
  const { urls, log } = host;
  const attr = opts.attribute ?? "data-p2p-src";
  const win = opts.window ?? globalThis;
  const loaded = /* @__PURE__ */ new WeakMap();
  const selector = `[${attr}],[data-p2p-srcset],[data-p2p-bg]`;
  const fire = /* @__PURE__ */ __name((el, type, detail) => {
    try {
      const Ev = globalThis.CustomEvent;
      if (Ev) el.dispatchEvent(new Ev(type, { detail, bubbles: true }));
    } catch (e) {
      log("warn", `${type} listener threw`, e);
    }
  }, "fire");
  const target = /* @__PURE__ */ __name((el) => {
    if (el.tagName === "SOURCE") return null;
    const bg = el.getAttribute("data-p2p-bg");
    if (bg) return { path: bg, bg: true };
    const path = selectPath(el, { attr, win });
    return path ? { path, bg: false } : null;
  }, "target");
  const apply = /* @__PURE__ */ __name((el, t, url) => {
    if (t.bg) {
      el.style.backgroundImage = `url(${JSON.stringify(url)})`;
      return;
    }
    const old = el.getAttribute("src");
    el.setAttribute("src", url);
    if (old && old !== url && urls.has(old)) urls.revoke(old);
  }, "apply");
  const load = /* @__PURE__ */ __name(async (el) => {
    const t = target(el);
    if (!t || host.isClosed()) return;
    const key = `${t.bg ? "bg" : "src"} ${t.path}`;
    if (loaded.get(el) === key) return;
    loaded.set(el, key);
    el.setAttribute("data-p2p-state", "loading");
    const current = /* @__PURE__ */ __name(() => !host.isClosed() && loaded.get(el) === key, "current");
    try {
      const res = await host.fetch(t.path, { stream: true, onProgress: /* @__PURE__ */ __name((ev) => fire(el, "p2pprogress", ev), "onProgress") });
      let url;
      if (host.allowActiveTypes || isPassiveType(res.headers.get("content-type"))) {
        const blob = await res.blob();
        if (!current()) return;
        url = urls.create(blob);
      } else {
        res.body?.cancel().catch(() => {
        });
        url = await host.fileURL(t.path);
        if (!current()) return;
      }
      apply(el, t, url);
      el.setAttribute("data-p2p-state", "loaded");
      fire(el, "p2pload", await res.p2pDone.catch(() => null));
    } catch (error) {
      if (loaded.get(el) !== key) return;
      el.setAttribute("data-p2p-state", "error");
      log("warn", `autoload ${t.path}: ${error?.message}`);
      if (opts.fallback !== false && !host.isClosed() && error?.code !== "bad_path") {
        host.fileURL(t.path).then((u) => current() && apply(el, t, u), () => {
        });
      }
      fire(el, "p2perror", { error });
    }
  }, "load");
  let io = null;
  const waiting = /* @__PURE__ */ new WeakSet();
  const isLazy = /* @__PURE__ */ __name((el) => (el.getAttribute("loading") ?? el.getAttribute("data-p2p-loading")) === "lazy", "isLazy");
  const visit = /* @__PURE__ */ __name((el) => {
    if (isLazy(el) && typeof win.IntersectionObserver === "function") {
      if (waiting.has(el) || loaded.has(el)) return loaded.has(el) ? load(el) : void 0;
      io ??= new win.IntersectionObserver(
        (entries) => {
          for (const e of entries) {
            if (!e.isIntersecting && !(e.intersectionRatio > 0)) continue;
            io.unobserve(e.target);
            waiting.delete(e.target);
            load(e.target);
          }
        },
        { rootMargin: LAZY_ROOT_MARGIN }
      );
      waiting.add(el);
      el.setAttribute("data-p2p-state", "lazy");
      io.observe(el);
      return void 0;
    }
    return load(el);
  }, "visit");
  const scan = /* @__PURE__ */ __name((node) => {
    const out = [];
    const take = /* @__PURE__ */ __name((el) => {
      if (el.tagName === "SOURCE") {
        const img = [...el.parentElement?.children ?? []].find((c) => c.tagName === "IMG");
        if (img) out.push(visit(img));
        return;
      }
      out.push(visit(el));
    }, "take");
    if (node.nodeType === 1 && (node.hasAttribute?.(attr) || node.hasAttribute?.("data-p2p-srcset") || node.hasAttribute?.("data-p2p-bg"))) take(node);
    for (const el of node.querySelectorAll?.(selector) ?? []) take(el);
    return out;
  }, "scan");
  const ready = Promise.allSettled(scan(root)).then(() => void 0);
  let mo = null;
  if (opts.observe !== false && typeof win.MutationObserver === "function") {
    mo = new win.MutationObserver((records) => {
      try {
        for (const r of records) {
          if (r.type === "attributes") scan(r.target);
          else for (const n of r.addedNodes) if (n.nodeType === 1) scan(n);
        }
      } catch (e) {
        log("error", "autoload observer failed", e);
      }
    });
    mo.observe(root.nodeType === 9 ? root.documentElement : root, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: [attr, ...WATCHED]
    });
    host.observers.add(mo);
  }
  if (io) host.observers.add(io);
  return {
    ready,
    stop: /* @__PURE__ */ __name(() => {
      if (mo) {
        mo.disconnect();
        host.observers.delete(mo);
      }
      if (io) {
        io.disconnect();
        host.observers.delete(io);
      }
    }, "stop")
  };
}
__name(autoload, "autoload");

// src/bytes.js
function toBytes(input) {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError("expected an ArrayBuffer or a typed array");
}
__name(toBytes, "toBytes");
var strictUTF8 = new TextDecoder("utf-8", { fatal: true });
var HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
function toHex(bytes) {
  const b = toBytes(bytes);
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX[b[i]];
  return s;
}
__name(toHex, "toHex");
var HEX64 = /^[0-9a-f]{64}$/;
function isHash(s) {
  return typeof s === "string" && HEX64.test(s);
}
__name(isHash, "isHash");
function fromHex(hex) {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) {
    throw new TypeError("not lowercase hex");
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}
__name(fromHex, "fromHex");
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

// src/frames.js
var te = new TextEncoder();
function frameErr(code, msg, type, id) {
  const name = type !== void 0 ? frameTypeName(type) + ": " : "";
  return new FrameError(code, `p2pcache: bad frame: ${name}${msg}`, type, id);
}
__name(frameErr, "frameErr");
function u32ok(n) {
  return Number.isInteger(n) && n >= 0 && n <= 4294967295;
}
__name(u32ok, "u32ok");
function hashBytes(h, type) {
  if (typeof h === "string") {
    if (!isHash(h)) throw frameErr("bad_frame", "hash is not 64 lowercase hex digits", type);
    return fromHex(h);
  }
  const b = toBytes(h);
  if (b.length !== 32) throw frameErr("bad_frame", `hash is ${b.length} bytes, want 32`, type);
  return b;
}
__name(hashBytes, "hashBytes");
function encodeFrame(f) {
  const { type } = f;
  const id = f.id ?? 0;
  if (!u32ok(id)) throw frameErr("bad_frame", `id ${id} is not a u32`, type);
  let body;
  let fixed = 0;
  let path, hash, data, msg, bitmap;
  switch (type) {
    case FrameType.GET_FILE:
    case FrameType.GET_MANIFEST:
    case FrameType.GET_CHUNK: {
      path = te.encode(f.path ?? "");
      if (type !== FrameType.GET_CHUNK && path.length === 0) throw frameErr("bad_frame", "empty path", type);
      if (path.length > MAX_PATH_LEN) throw frameErr("bad_frame", `path longer than ${MAX_PATH_LEN} bytes`, type);
      if (type === FrameType.GET_CHUNK) {
        if (!u32ok(f.index)) throw frameErr("bad_frame", "index is not a u32", type);
        hash = hashBytes(f.hash, type);
        fixed = 36;
      }
      body = path;
      break;
    }
    case FrameType.HAVE: {
      path = te.encode(f.path ?? "");
      if (path.length === 0) throw frameErr("bad_frame", "empty path", type);
      if (path.length > MAX_PATH_LEN) throw frameErr("bad_frame", `path longer than ${MAX_PATH_LEN} bytes`, type);
      hash = hashBytes(f.hash, type);
      if (!u32ok(f.count)) throw frameErr("bad_frame", "count is not a u32", type);
      bitmap = toBytes(f.bitmap ?? new Uint8Array(0));
      checkBitmap(bitmap, f.count, type, id);
      fixed = 36 + bitmap.length;
      body = path;
      break;
    }
    case FrameType.CANCEL:
      body = new Uint8Array(0);
      break;
    case FrameType.PING:
    case FrameType.PONG:
      data = toBytes(f.data ?? new Uint8Array(0));
      if (data.length !== PING_LEN) throw frameErr("bad_frame", `payload is ${data.length} bytes, want ${PING_LEN}`, type);
      body = data;
      break;
    case FrameType.MANIFEST:
    case FrameType.CHUNK: {
      data = toBytes(f.data ?? new Uint8Array(0));
      const isChunk = type === FrameType.CHUNK;
      const maxTotal = isChunk ? MAX_CHUNK_SIZE : MAX_MANIFEST_LEN;
      const maxData = isChunk ? MAX_CHUNK_DATA : MAX_MANIFEST_DATA;
      if (isChunk && !u32ok(f.index)) throw frameErr("bad_frame", "index is not a u32", type);
      if (!u32ok(f.total) || f.total > maxTotal) throw frameErr("bad_frame", `length ${f.total} over ${maxTotal}`, type);
      if (!u32ok(f.offset)) throw frameErr("bad_frame", "offset is not a u32", type);
      if (data.length > maxData || f.offset + data.length > f.total) {
        throw frameErr("bad_frame", `fragment ${f.offset}+${data.length} outside length ${f.total}`, type);
      }
      if (isChunk && f.source !== void 0 && !(Number.isInteger(f.source) && f.source >= 0 && f.source <= CHUNK_SOURCE_MASK)) {
        throw frameErr("bad_frame", `source ${f.source} is not 0-${CHUNK_SOURCE_MASK}`, type);
      }
      fixed = isChunk ? 12 : 8;
      body = data;
      break;
    }
    case FrameType.ERROR:
      msg = te.encode(f.message ?? "");
      if (!Number.isInteger(f.code) || f.code < 0 || f.code > 65535) throw frameErr("bad_frame", "code is not a u16", type);
      if (msg.length > MAX_ERROR_MESSAGE_LEN) throw frameErr("bad_frame", `message over ${MAX_ERROR_MESSAGE_LEN} bytes`, type);
      fixed = 2;
      body = msg;
      break;
    default:
      throw frameErr("unknown_type", `type ${type} is unknown`, void 0, id);
  }
  const out = new Uint8Array(HEADER_LEN + fixed + body.length);
  const dv = new DataView(out.buffer);
  out[0] = WIRE_VERSION;
  out[1] = type;
  if (type === FrameType.CHUNK && f.source) out[2] = f.source;
  dv.setUint32(4, id);
  let o = HEADER_LEN;
  if (type === FrameType.GET_CHUNK) {
    dv.setUint32(o, f.index);
    out.set(hash, o + 4);
  } else if (type === FrameType.MANIFEST) {
    dv.setUint32(o, f.total);
    dv.setUint32(o + 4, f.offset);
  } else if (type === FrameType.CHUNK) {
    dv.setUint32(o, f.index);
    dv.setUint32(o + 4, f.total);
    dv.setUint32(o + 8, f.offset);
  } else if (type === FrameType.ERROR) {
    dv.setUint16(o, f.code);
  } else if (type === FrameType.HAVE) {
    out.set(hash, o);
    dv.setUint32(o + 32, f.count);
    out.set(bitmap, o + 36);
  }
  out.set(body, o + fixed);
  return out;
}
__name(encodeFrame, "encodeFrame");
function checkBitmap(bitmap, count, type, id) {
  const want = Math.ceil(count / 8);
  if (bitmap.length !== want) throw frameErr("bad_frame", `bitmap is ${bitmap.length} bytes for ${count} chunks`, type, id);
  const rest = count % 8;
  if (rest !== 0 && bitmap[want - 1] >> rest !== 0) throw frameErr("bad_frame", `bits set past chunk ${count}`, type, id);
}
__name(checkBitmap, "checkBitmap");
function haveBitmap(chunks, holds) {
  const out = new Uint8Array(Math.ceil(chunks.length / 8));
  for (let i = 0; i < chunks.length; i++) if (holds(chunks[i])) out[i >> 3] |= 1 << (i & 7);
  return out;
}
__name(haveBitmap, "haveBitmap");
function encodeChunkFrame(id, index, total, offset, data) {
  const out = new Uint8Array(HEADER_LEN + 12 + data.length);
  const dv = new DataView(out.buffer);
  out[0] = WIRE_VERSION;
  out[1] = FrameType.CHUNK;
  dv.setUint32(4, id);
  dv.setUint32(8, index);
  dv.setUint32(12, total);
  dv.setUint32(16, offset);
  out.set(data, 20);
  return out;
}
__name(encodeChunkFrame, "encodeChunkFrame");
function decodeUTF8(bytes, what, type, id) {
  try {
    return strictUTF8.decode(bytes);
  } catch {
    throw frameErr("bad_frame", `${what} is not UTF-8`, type, id);
  }
}
__name(decodeUTF8, "decodeUTF8");
function decodeFrame(input) {
  const b = toBytes(input);
  if (b.length < HEADER_LEN) throw frameErr("bad_frame", `${b.length} bytes, shorter than the ${HEADER_LEN}-byte header`);
  if (b.length > MAX_MESSAGE_SIZE) throw frameErr("bad_frame", `${b.length} bytes, over ${MAX_MESSAGE_SIZE}`);
  if (b[0] !== WIRE_VERSION) throw frameErr("bad_version", `version ${b[0]}, want ${WIRE_VERSION}`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const type = b[1];
  const id = dv.getUint32(4);
  const allowed = type === FrameType.CHUNK ? CHUNK_SOURCE_MASK : 0;
  if ((b[2] & ~allowed) !== 0 || b[3] !== 0) throw frameErr("bad_frame", "reserved flags set", type, id);
  const body = b.subarray(HEADER_LEN);
  const need = /* @__PURE__ */ __name((n) => {
    if (body.length < n) throw frameErr("bad_frame", `body is ${body.length} bytes, want at least ${n}`, type, id);
  }, "need");
  const f = { type, id };
  switch (type) {
    case FrameType.GET_FILE:
    case FrameType.GET_MANIFEST:
      if (body.length === 0) throw frameErr("bad_frame", "empty path", type, id);
      if (body.length > MAX_PATH_LEN) throw frameErr("bad_frame", `path longer than ${MAX_PATH_LEN} bytes`, type, id);
      f.path = decodeUTF8(body, "path", type, id);
      break;
    case FrameType.GET_CHUNK:
      need(36);
      if (body.length - 36 > MAX_PATH_LEN) throw frameErr("bad_frame", `path longer than ${MAX_PATH_LEN} bytes`, type, id);
      f.index = dv.getUint32(HEADER_LEN);
      f.hash = body.subarray(4, 36);
      f.path = decodeUTF8(body.subarray(36), "path", type, id);
      break;
    case FrameType.HAVE: {
      need(36);
      f.hash = body.subarray(0, 32);
      f.count = dv.getUint32(HEADER_LEN + 32);
      const n = Math.ceil(f.count / 8);
      if (body.length - 36 < n) {
        throw frameErr("bad_frame", `bitmap for ${f.count} chunks needs ${n} bytes, body has ${body.length - 36}`, type, id);
      }
      f.bitmap = body.subarray(36, 36 + n);
      const p = body.subarray(36 + n);
      if (p.length === 0) throw frameErr("bad_frame", "empty path", type, id);
      checkBitmap(f.bitmap, f.count, type, id);
      if (p.length > MAX_PATH_LEN) throw frameErr("bad_frame", `path longer than ${MAX_PATH_LEN} bytes`, type, id);
      f.path = decodeUTF8(p, "path", type, id);
      break;
    }
    case FrameType.CANCEL:
      if (body.length !== 0) throw frameErr("bad_frame", `CANCEL has a ${body.length}-byte body`, type, id);
      break;
    case FrameType.PING:
    case FrameType.PONG:
      if (body.length !== PING_LEN) throw frameErr("bad_frame", `payload is ${body.length} bytes, want ${PING_LEN}`, type, id);
      f.data = body;
      break;
    case FrameType.MANIFEST:
      need(8);
      f.total = dv.getUint32(HEADER_LEN);
      f.offset = dv.getUint32(HEADER_LEN + 4);
      f.data = body.subarray(8);
      if (f.total > MAX_MANIFEST_LEN) throw frameErr("bad_frame", `manifest length ${f.total} over ${MAX_MANIFEST_LEN}`, type, id);
      if (f.offset + f.data.length > f.total) {
        throw frameErr("bad_frame", `fragment ${f.offset}+${f.data.length} outside length ${f.total}`, type, id);
      }
      break;
    case FrameType.CHUNK:
      need(12);
      f.index = dv.getUint32(HEADER_LEN);
      f.total = dv.getUint32(HEADER_LEN + 4);
      f.offset = dv.getUint32(HEADER_LEN + 8);
      f.data = body.subarray(12);
      if (b[2] !== 0) f.source = b[2] & CHUNK_SOURCE_MASK;
      if (f.total > MAX_CHUNK_SIZE) throw frameErr("bad_frame", `chunk length ${f.total} over ${MAX_CHUNK_SIZE}`, type, id);
      if (f.offset + f.data.length > f.total) {
        throw frameErr("bad_frame", `fragment ${f.offset}+${f.data.length} outside length ${f.total}`, type, id);
      }
      break;
    case FrameType.ERROR:
      need(2);
      f.code = dv.getUint16(HEADER_LEN);
      if (body.length - 2 > MAX_ERROR_MESSAGE_LEN) throw frameErr("bad_frame", `message over ${MAX_ERROR_MESSAGE_LEN} bytes`, type, id);
      f.message = decodeUTF8(body.subarray(2), "message", type, id);
      break;
    default:
      throw frameErr("unknown_type", `type 0x${type.toString(16).padStart(2, "0")} is unknown`, type, id);
  }
  return f;
}
__name(decodeFrame, "decodeFrame");
function chunkFrames(id, index, bytes, maxData = MAX_CHUNK_DATA) {
  const b = toBytes(bytes);
  const step = Math.max(1, Math.min(maxData, MAX_CHUNK_DATA));
  const out = [];
  let off = 0;
  do {
    const n = Math.min(step, b.length - off);
    out.push(encodeChunkFrame(id, index, b.length, off, b.subarray(off, off + n)));
    off += n;
  } while (off < b.length);
  return out;
}
__name(chunkFrames, "chunkFrames");

// src/link.js
var BUFFER_HIGH = 1 << 20;
var BUFFER_LOW = 256 << 10;
var Link = class {
  static {
    __name(this, "Link");
  }
  constructor(kind, ch, { owner = null, log = /* @__PURE__ */ __name(() => {
  }, "log"), onFail = /* @__PURE__ */ __name(() => {
  }, "onFail") } = {}) {
    this.kind = kind;
    this.ch = ch;
    this.owner = owner;
    this.queue = [];
    this._timer = null;
    this._log = log;
    this._onFail = onFail;
    this.open = true;
    this.transport = kind === "dc" ? "webrtc-tcp" : "websocket";
  }
  _raw(bytes) {
    try {
      this.ch.send(bytes);
      return true;
    } catch (e) {
      this._log("warn", `send on ${this.kind} failed`, e);
      this._onFail(`send failed on ${this.kind}`);
      return false;
    }
  }
  /** Send now if control (small frames: PING, PONG, CANCEL, requests) or the buffer is low. */
  send(bytes, { control = false, rid } = {}) {
    if (!this.open) return false;
    if (control || this.queue.length === 0 && (this.ch.bufferedAmount ?? 0) < BUFFER_HIGH) return this._raw(bytes);
    this.queue.push({ bytes, rid });
    this._schedule();
    return true;
  }
  /** Drop queued frames answering the relay's request rid (CANCEL). */
  cancel(rid) {
    this.queue = this.queue.filter((q) => q.rid !== rid);
  }
  flush() {
    this._timer = null;
    while (this.open && this.queue.length && (this.ch.bufferedAmount ?? 0) < BUFFER_HIGH) {
      if (!this._raw(this.queue.shift().bytes)) return;
    }
    if (this.open && this.queue.length) this._schedule();
  }
  _schedule() {
    if (!this._timer) this._timer = setTimeout(() => this.flush(), this.kind === "dc" ? 100 : 20);
  }
  close() {
    this.open = false;
    this.queue = [];
    if (this._timer) clearTimeout(this._timer);
    this._timer = null;
  }
};

// src/signal.js
var SIGNAL_VERSION = 1;
var MAX_SIGNAL_SIZE = 64 << 10;
var MAX_SDP_LEN = 32 << 10;
var MAX_CANDIDATE_LEN = 512;
var MAX_SDP_MID_LEN = 32;
var SignalType = Object.freeze({
  HELLO: "hello",
  // relay → peer, first message: peer id and limits
  OFFER: "offer",
  // peer → relay: the peer's SDP offer
  ANSWER: "answer",
  // relay → peer: the relay's complete SDP answer
  CANDIDATE: "candidate",
  // peer → relay: a trickled ICE candidate
  ERROR: "error",
  // relay → peer: why the relay refused something
  BYE: "bye"
  // either way: closing
});
function badSignal(why) {
  return new P2PCacheError("bad_signal", `p2pcache: bad signal: ${why}`);
}
__name(badSignal, "badSignal");
var isInt = /* @__PURE__ */ __name((x) => Number.isInteger(x) && x >= -(2 ** 63) && x < 2 ** 63, "isInt");
var FIELDS = {
  v: isInt,
  type: /* @__PURE__ */ __name((x) => typeof x === "string", "type"),
  sdp: /* @__PURE__ */ __name((x) => typeof x === "string", "sdp"),
  serve: /* @__PURE__ */ __name((x) => typeof x === "boolean", "serve"),
  candidate: /* @__PURE__ */ __name((x) => typeof x === "object" && !Array.isArray(x), "candidate"),
  peerId: /* @__PURE__ */ __name((x) => typeof x === "string", "peerId"),
  chunkSize: isInt,
  maxMessageSize: isInt,
  code: /* @__PURE__ */ __name((x) => typeof x === "string", "code"),
  message: /* @__PURE__ */ __name((x) => typeof x === "string", "message")
};
var CANDIDATE_FIELDS = {
  candidate: /* @__PURE__ */ __name((x) => typeof x === "string", "candidate"),
  sdpMid: /* @__PURE__ */ __name((x) => typeof x === "string", "sdpMid"),
  sdpMLineIndex: /* @__PURE__ */ __name((x) => Number.isInteger(x) && x >= 0 && x <= 65535, "sdpMLineIndex")
};
function checkTypes(obj, fields, where) {
  for (const [k, ok] of Object.entries(fields)) {
    const x = obj[k];
    if (x !== void 0 && x !== null && !ok(x)) throw badSignal(`${where}${k} has the wrong type`);
  }
}
__name(checkTypes, "checkTypes");
function parseSignal(text) {
  if (typeof text !== "string") throw badSignal("not text");
  const size = utf8Length(text);
  if (size > MAX_SIGNAL_SIZE) throw badSignal(`${size} bytes, over ${MAX_SIGNAL_SIZE}`);
  let s;
  try {
    s = JSON.parse(text);
  } catch (e) {
    throw badSignal(`not JSON: ${e.message}`);
  }
  if (s === null) s = {};
  if (typeof s !== "object" || Array.isArray(s)) throw badSignal("not a JSON object");
  checkTypes(s, FIELDS, "");
  if (s.candidate) checkTypes(s.candidate, CANDIDATE_FIELDS, "candidate.");
  const v = s.v ?? 0;
  if (v !== SIGNAL_VERSION) throw badSignal(`version ${v}, want ${SIGNAL_VERSION}`);
  const type = s.type ?? "";
  const bad = /* @__PURE__ */ __name((why) => badSignal(`${JSON.stringify(type)}: ${why}`), "bad");
  switch (type) {
    case SignalType.OFFER:
    case SignalType.ANSWER: {
      const sdp = s.sdp ?? "";
      const n = utf8Length(sdp);
      if (n > MAX_SDP_LEN) throw bad(`sdp is ${n} bytes, over ${MAX_SDP_LEN}`);
      if (!sdp.startsWith("v=0")) throw bad("sdp does not start with v=0");
      break;
    }
    case SignalType.CANDIDATE: {
      const c = s.candidate;
      if (c) {
        const line = c.candidate ?? "";
        const n = utf8Length(line);
        if (n > MAX_CANDIDATE_LEN) throw bad(`candidate is ${n} bytes, over ${MAX_CANDIDATE_LEN}`);
        if (line !== "" && !line.startsWith("candidate:")) throw bad("candidate does not start with candidate:");
        if (typeof c.sdpMid === "string" && utf8Length(c.sdpMid) > MAX_SDP_MID_LEN) {
          throw bad(`sdpMid longer than ${MAX_SDP_MID_LEN} bytes`);
        }
      }
      break;
    }
    case SignalType.HELLO:
    case SignalType.BYE:
      break;
    case SignalType.ERROR:
      if (utf8Length(s.message ?? "") > MAX_ERROR_MESSAGE_LEN) throw bad(`message over ${MAX_ERROR_MESSAGE_LEN} bytes`);
      break;
    case "":
      throw badSignal("no type");
    default:
      throw badSignal(`unknown type ${JSON.stringify(type)}`);
  }
  return s;
}
__name(parseSignal, "parseSignal");

// src/timing.js
function backoffDelay(n, { base = 250, max = 8e3, random = Math.random } = {}) {
  const d = Math.min(max, base * 2 ** Math.min(n, 30));
  return Math.round(d / 2 + random() * d / 2);
}
__name(backoffDelay, "backoffDelay");
var now = /* @__PURE__ */ __name(() => globalThis.performance?.now ? globalThis.performance.now() : Date.now(), "now");
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = /* @__PURE__ */ __name(() => {
      clearTimeout(t);
      reject(abortError(signal));
    }, "onAbort");
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
__name(sleep, "sleep");
function mergeSignals(a, b) {
  if (!a) return b;
  if (!b) return a;
  if (typeof AbortSignal.any === "function") return AbortSignal.any([a, b]);
  const c = new AbortController();
  const on = /* @__PURE__ */ __name((s) => () => c.abort(s.reason), "on");
  if (a.aborted) c.abort(a.reason);
  else if (b.aborted) c.abort(b.reason);
  else {
    a.addEventListener("abort", on(a), { once: true });
    b.addEventListener("abort", on(b), { once: true });
  }
  return c.signal;
}
__name(mergeSignals, "mergeSignals");

// src/session.js
var Session = class {
  static {
    __name(this, "Session");
  }
  constructor({ n, WebSocket, wsURL, RTCPeerConnection = null, serve = true, wsFrames = true, log, onUp, onDead, onMessage, onRelayError }) {
    this.n = n;
    this._WS = WebSocket;
    this._wsURL = wsURL;
    this._PC = RTCPeerConnection;
    this._serve = serve;
    this._wsFrames = wsFrames;
    this._log = log;
    this._onUp = onUp;
    this._onDead = onDead;
    this._onMessage = onMessage;
    this._onRelayError = onRelayError;
    this.ws = null;
    this.pc = null;
    this.dc = null;
    this.wsLink = null;
    this.dcLink = null;
    this.hello = null;
    this.dead = false;
    this.endCode = null;
    this.lastHeard = now();
    this._answerWaiter = null;
    this._listeners = [];
    this._t0 = now();
    this.times = { ws: null, hello: null, offer: null, answer: null, ice: null, dtls: null, dataChannel: null };
  }
  mark(what) {
    if (this.times[what] === null) this.times[what] = Math.round((now() - this._t0) * 10) / 10;
  }
  /** The link frames go on now: the data channel, else the WebSocket if allowed; null when dead. */
  link() {
    if (this.dead) return null;
    if (this.dcLink?.open) return this.dcLink;
    if (this.wsLink?.open && this._wsFrames) return this.wsLink;
    return null;
  }
  /** The data channel's link if it is open (HAVE goes there only), else null. */
  dataChannelLink() {
    return !this.dead && this.dcLink?.open ? this.dcLink : null;
  }
  _newLink(kind, ch) {
    return new Link(kind, ch, { owner: this, log: this._log, onFail: /* @__PURE__ */ __name((why) => this.kill(why), "onFail") });
  }
  _on(target, type, fn) {
    const h = /* @__PURE__ */ __name((ev) => {
      try {
        fn(ev);
      } catch (e) {
        this._log("error", `p2pcache: ${type} handler failed`, e);
      }
    }, "h");
    target.addEventListener(type, h);
    this._listeners.push([target, type, h]);
  }
  sendSignal(msg) {
    try {
      if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify({ v: 1, ...msg }));
    } catch (e) {
      this._log("warn", "signal send failed", e);
    }
  }
  /** Open the WebSocket and wait for hello. Resolves true, or false on failure/timeout. */
  openWS(timeoutMs) {
    return new Promise((resolve) => {
      let settled = false;
      const done2 = /* @__PURE__ */ __name((ok, why) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!ok) {
          this._log("info", `websocket rung failed: ${why}`);
          this.kill(why);
        }
        resolve(ok);
      }, "done");
      const timer = setTimeout(() => done2(false, `no hello within ${timeoutMs} ms`), timeoutMs);
      let ws;
      try {
        ws = new this._WS(this._wsURL);
      } catch (e) {
        return done2(false, `WebSocket: ${e.message}`);
      }
      this.ws = ws;
      try {
        ws.binaryType = "arraybuffer";
      } catch {
      }
      this._on(ws, "open", () => this.mark("ws"));
      this._on(ws, "message", (ev) => {
        this.lastHeard = now();
        const d = ev.data;
        if (typeof d === "string") {
          const msg = this._parseSignal(d);
          if (!msg) return;
          if (msg.type === "hello" && !this.hello) {
            this.mark("ws");
            this.mark("hello");
            this.hello = msg;
            this.wsLink = this._newLink("ws", ws);
            done2(true);
            this._onUp(this);
            return;
          }
          this._onSignal(msg);
        } else if (this.wsLink) {
          this._onMessage(d, this.wsLink);
        } else if (d instanceof ArrayBuffer || ArrayBuffer.isView(d)) {
          this._onMessage(d, this._newLink("ws", ws));
        } else if (typeof Blob !== "undefined" && d instanceof Blob) {
          d.arrayBuffer().then((b) => this.wsLink && this._onMessage(b, this.wsLink), () => {
          });
        }
      });
      this._on(ws, "close", (ev) => {
        if (!this.endCode && typeof ev?.reason === "string" && /^[a-z_]{1,64}$/.test(ev.reason)) this.endCode = ev.reason;
        done2(false, `websocket closed (${ev?.code ?? ""})`);
        this.kill(`websocket closed${ev?.code ? " (" + ev.code + ")" : ""}`);
      });
      this._on(ws, "error", () => {
        done2(false, "websocket error");
      });
    });
  }
  /** A signaling message, validated (PROTOCOL.md §1); null (logged, ignored) if the relay sent a bad one. */
  _parseSignal(text) {
    try {
      return parseSignal(text);
    } catch (e) {
      this._log("warn", e.message);
      return null;
    }
  }
  _onSignal(msg) {
    switch (msg.type) {
      case "answer":
        this.mark("answer");
        if (this._answerWaiter && typeof msg.sdp === "string") this._answerWaiter(msg.sdp);
        break;
      case "error": {
        if (msg.code) this.endCode = String(msg.code);
        const err = new P2PCacheError(String(msg.code || "relay_error"), `p2pcache: relay refused: ${msg.code}: ${msg.message ?? ""}`);
        this._log("warn", err.message);
        this._onRelayError(err);
        if (this._answerWaiter) this._answerWaiter(null);
        break;
      }
      case "bye":
        if (msg.code) this.endCode = String(msg.code);
        this.kill(`relay said bye${msg.code ? " (" + msg.code + ")" : ""}`);
        break;
      default:
        this._log("debug", `signal: ignoring ${msg.type}`);
    }
  }
  /** The WebRTC rung: resolves true once the data channel is open. */
  async startWebRTC(timeoutMs) {
    const PC = this._PC;
    if (!PC || this.dead) return false;
    let timer;
    const timeout = new Promise((r) => {
      timer = setTimeout(() => r("timeout"), timeoutMs);
    });
    let pc, dc;
    try {
      pc = new PC({ iceServers: [] });
      this.pc = pc;
      dc = pc.createDataChannel("p2pcache", { negotiated: true, id: 0, ordered: true });
      this.dc = dc;
      dc.binaryType = "arraybuffer";
      dc.bufferedAmountLowThreshold = BUFFER_LOW;
      const opened = new Promise((resolve) => {
        this._on(dc, "open", () => {
          this.mark("dataChannel");
          resolve("open");
        });
        this._on(dc, "close", () => {
          resolve("closed");
          if (this.dcLink) this.kill("data channel closed");
        });
        this._on(pc, "iceconnectionstatechange", () => {
          if (pc.iceConnectionState === "connected" || pc.iceConnectionState === "completed") this.mark("ice");
        });
        this._on(pc, "connectionstatechange", () => {
          const s = pc.connectionState;
          if (s === "connected") this.mark("dtls");
          if (s === "failed" || s === "closed") {
            resolve(s);
            if (this.dcLink) this.kill(`peer connection ${s}`);
          }
        });
      });
      this._on(dc, "message", (ev) => {
        this.lastHeard = now();
        if (this.dcLink) this._onMessage(ev.data, this.dcLink);
      });
      this._on(dc, "bufferedamountlow", () => this.dcLink?.flush());
      const answer = new Promise((resolve) => {
        this._answerWaiter = resolve;
      });
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      if (this.dead) return false;
      this.sendSignal({ type: "offer", sdp: pc.localDescription?.sdp ?? offer.sdp, ...this._serve ? {} : { serve: false } });
      this.mark("offer");
      const sdp = await Promise.race([answer, timeout]);
      if (sdp === "timeout" || sdp === null) throw new Error(sdp === null ? "relay refused the offer" : "no answer");
      await pc.setRemoteDescription({ type: "answer", sdp });
      const state = await Promise.race([opened, timeout]);
      if (state !== "open") throw new Error(`data channel ${state}`);
      if (this.dead) return false;
      this.dcLink = this._newLink("dc", dc);
      return true;
    } catch (e) {
      this._log("info", `webrtc rung failed: ${e?.message ?? e}`);
      this._closePC();
      return false;
    } finally {
      clearTimeout(timer);
      this._answerWaiter = null;
    }
  }
  _closePC() {
    this.dcLink?.close();
    this.dcLink = null;
    try {
      this.dc?.close();
    } catch {
    }
    try {
      this.pc?.close();
    } catch {
    }
    this.dc = null;
    this.pc = null;
  }
  /** End the session (idempotent): say bye, close both channels, tell onDead. */
  kill(reason) {
    if (this.dead) return;
    this.dead = true;
    this._log("info", `session ${this.n} ended: ${reason}`);
    this.wsLink?.close();
    if (this._answerWaiter) this._answerWaiter(null);
    this._closePC();
    if (this.ws) {
      try {
        if (this.ws.readyState === 1) this.ws.send(JSON.stringify({ v: 1, type: "bye" }));
      } catch {
      }
      try {
        this.ws.close();
      } catch {
      }
    }
    for (const [t, type, h] of this._listeners) {
      try {
        t.removeEventListener(type, h);
      } catch {
      }
    }
    this._listeners = [];
    this._onDead(this, reason);
  }
};

// src/token.js
var TOKEN_EXPIRED = "token_expired";
function tokenSource(token) {
  if (token === void 0 || token === null || token === "") return async () => null;
  if (typeof token === "string") return async () => token;
  if (typeof token !== "function") {
    throw new P2PCacheError("bad_option", "p2pcache: token must be a string or a function returning one");
  }
  return async () => {
    let t;
    try {
      t = await token();
    } catch (e) {
      throw new P2PCacheError("forbidden", `p2pcache: the token function failed: ${e?.message ?? e}`, { cause: e });
    }
    if (t === void 0 || t === null || t === "") return null;
    if (typeof t !== "string") throw new P2PCacheError("forbidden", `p2pcache: the token function returned a ${typeof t}, not a string`);
    return t;
  };
}
__name(tokenSource, "tokenSource");
function staticToken(token) {
  return typeof token === "string" && token !== "" ? token : null;
}
__name(staticToken, "staticToken");

// src/connection.js
var TOKEN_RECONNECT_GAP_MS = 2e3;
var Connection = class {
  static {
    __name(this, "Connection");
  }
  constructor(o) {
    this._o = o;
    this._log = o.log;
    this.transport = "http";
    this.session = null;
    this.connectTimes = null;
    this.reconnects = 0;
    this._sessionN = 0;
    this._connecting = null;
    this._failedAttempts = 0;
    this._backoffN = 0;
    this._rtcFailures = 0;
    this._recovering = false;
    this._movedOn = false;
    this._lastTokenReconnect = -Infinity;
    this._reconnectTimer = null;
    this._pingTimer = null;
    this._closed = false;
    this._pings = /* @__PURE__ */ new Map();
    this._linkWaiters = /* @__PURE__ */ new Set();
    this._rtt = null;
  }
  /** Smoothed PING/PONG round trip on the current path, ms; null before the first. */
  get rtt() {
    return this._rtt;
  }
  /** The relay's hello on the current session, or null. */
  get hello() {
    return this.session?.hello ?? null;
  }
  /** An attempt is under way or the client lost its connection and is getting it back. */
  get hopeful() {
    return !!(this._connecting || this._recovering);
  }
  /** The client lost its connection and has not got it back yet. */
  get recovering() {
    return this._recovering;
  }
  /** Whether id is taken by a PING awaiting its PONG. */
  pingPending(id) {
    return this._pings.has(id);
  }
  _setTransport(t) {
    if (t === this.transport) return;
    const previous = this.transport;
    this.transport = t;
    this._rtt = null;
    this._log("info", `transport: ${previous} → ${t}`);
    this._o.onTransport(t, previous);
  }
  /**
   * First connection: resolves (never rejects) within timeoutMs, whatever
   * rung works. When the attempt fails and the client moves to another
   * relay at once, that relay's attempt gets the rest of the budget.
   */
  async start() {
    if (!this._o.useWS || !this._o.WebSocket) {
      this._setTransport("http");
      return;
    }
    const deadline = now() + this._o.timeoutMs;
    let attempt = this._attempt();
    for (; ; ) {
      let t;
      await Promise.race([attempt, new Promise((r) => t = setTimeout(r, Math.max(0, deadline - now())))]);
      clearTimeout(t);
      if (!this._movedOn || this._closed || this.session || now() >= deadline) return;
      this._movedOn = false;
      clearTimeout(this._reconnectTimer);
      this._reconnectTimer = null;
      attempt = this._connecting ?? this._attempt();
    }
  }
  _attempt() {
    if (this._connecting) return this._connecting;
    if (this._closed) return Promise.resolve(false);
    const o = this._o;
    const run = /* @__PURE__ */ __name(async () => {
      const failed = /* @__PURE__ */ __name(() => {
        this._failedAttempts++;
        this._setTransport("http");
        const moved = o.onAttemptFailed?.() ?? null;
        this._movedOn = !!moved?.immediate;
        this._resolveLinkWaiters();
        this._scheduleReconnect(this._movedOn);
        return false;
      }, "failed");
      let wsURL;
      try {
        wsURL = await o.wsURL();
      } catch (e) {
        this._log("warn", `connect: ${e?.message ?? e}`);
        o.onRelayError(e);
        return this._closed ? false : failed();
      }
      if (this._closed) return false;
      const s = new Session({
        n: ++this._sessionN,
        WebSocket: o.WebSocket,
        wsURL,
        RTCPeerConnection: o.RTCPeerConnection,
        serve: o.serve,
        wsFrames: o.wsFrames,
        log: this._log,
        onUp: /* @__PURE__ */ __name((x) => this._onSessionUp(x), "onUp"),
        onDead: /* @__PURE__ */ __name((x, reason) => this._onSessionDead(x, reason), "onDead"),
        onMessage: o.onMessage,
        onRelayError: o.onRelayError
      });
      this.session = s;
      this.connectTimes = s.times;
      const ok = await s.openWS(o.timeoutMs);
      if (!ok || this._closed || s.dead) {
        if (this.session === s) this.session = null;
        return failed();
      }
      if (o.RTCPeerConnection && this._rtcFailures < 3) {
        const rtc = await s.startWebRTC(o.rtcTimeoutMs);
        if (rtc && !s.dead && this.session === s) {
          this._rtcFailures = 0;
          this._setTransport("webrtc-tcp");
          o.onDataChannel();
          this._resolveLinkWaiters();
        } else if (!s.dead) {
          this._rtcFailures++;
        }
      }
      return !s.dead;
    }, "run");
    this._connecting = run().catch((e) => {
      this._log("error", "connect attempt failed", e);
      return false;
    }).finally(() => {
      this._connecting = null;
    });
    return this._connecting;
  }
  _onSessionUp(s) {
    if (this._closed || s !== this.session) {
      s.kill("stale session");
      return;
    }
    if (this._recovering) this.reconnects++;
    this._failedAttempts = 0;
    this._backoffN = 0;
    this._recovering = false;
    this._movedOn = false;
    this._o.onConnected?.();
    if (this._o.wsFrames) this._setTransport("websocket");
    this._startPinging();
    this._resolveLinkWaiters();
  }
  _onSessionDead(s, reason) {
    if (s !== this.session) return;
    this.session = null;
    this._o.onLost(s, new P2PCacheError("disconnected", `p2pcache: connection to the relay lost: ${reason}`));
    this._pings.clear();
    this._stopPinging();
    if (this._closed) return;
    this._setTransport("http");
    if (s.hello) {
      this._recovering = true;
      let immediate = false;
      if (s.endCode === TOKEN_EXPIRED && now() - this._lastTokenReconnect > TOKEN_RECONNECT_GAP_MS) {
        this._lastTokenReconnect = now();
        this._backoffN = 0;
        immediate = true;
      }
      this._scheduleReconnect(immediate);
    }
  }
  _scheduleReconnect(immediate = false) {
    const o = this._o;
    if (this._closed || !o.reconnect || this._reconnectTimer) return;
    const d = immediate ? 0 : backoffDelay(this._backoffN++, { base: o.backoffBaseMs, max: o.backoffMaxMs });
    this._log("debug", `reconnecting in ${d} ms`);
    this._reconnectTimer = setTimeout(() => {
      this._reconnectTimer = null;
      if (this._closed || this.session) return;
      const go = /* @__PURE__ */ __name(() => !this._closed && !this.session && this._attempt(), "go");
      if (this._connecting) this._connecting.then(go);
      else go();
    }, d);
  }
  /** The link frames go on now, or null. */
  link() {
    return this.session?.link() ?? null;
  }
  /** The open data channel's link (the only one HAVE may use), or null. */
  dataChannelLink() {
    return this.session?.dataChannelLink() ?? null;
  }
  _resolveLinkWaiters() {
    const ws = [...this._linkWaiters];
    this._linkWaiters.clear();
    for (const w of ws) w();
  }
  /**
   * A link to send frames on, waiting up to waitMs for one if a connection
   * attempt is under way or about to be; null when frames are unavailable
   * (use HTTP).
   */
  async awaitLink(waitMs, signal, persist = false) {
    const deadline = now() + waitMs;
    for (; ; ) {
      if (this._closed) throw closedError();
      if (signal?.aborted) throw abortError(signal);
      const l = this.link();
      if (l) return l;
      const hopeful = this._connecting || this._recovering || this._reconnectTimer;
      const left = deadline - now();
      if (!hopeful || left <= 0 || this._failedAttempts >= 2 && !persist) return null;
      await new Promise((resolve) => {
        const done2 = /* @__PURE__ */ __name(() => {
          clearTimeout(t);
          this._linkWaiters.delete(done2);
          signal?.removeEventListener("abort", done2);
          resolve();
        }, "done");
        const t = setTimeout(done2, Math.min(left, 1e3));
        this._linkWaiters.add(done2);
        signal?.addEventListener("abort", done2, { once: true });
      });
    }
  }
  _startPinging() {
    this._stopPinging();
    const o = this._o;
    const tick = /* @__PURE__ */ __name(() => {
      try {
        const s = this.session;
        if (!s || s.dead) return;
        if (now() - s.lastHeard > o.idleTimeoutMs) {
          s.kill(`nothing heard for ${o.idleTimeoutMs} ms`);
          return;
        }
        const l = s.link();
        if (!l) return;
        const id = o.allocId();
        const t0 = now();
        const payload = new Uint8Array(8);
        new DataView(payload.buffer).setFloat64(0, t0);
        for (const [pid, at] of this._pings) if (t0 - at > 1e4) this._pings.delete(pid);
        this._pings.set(id, t0);
        l.send(encodeFrame({ type: FrameType.PING, id, data: payload }), { control: true });
      } catch (e) {
        this._log("error", "ping failed", e);
      }
    }, "tick");
    this._pingTimer = setInterval(tick, o.pingIntervalMs);
    tick();
  }
  _stopPinging() {
    if (this._pingTimer) clearInterval(this._pingTimer);
    this._pingTimer = null;
  }
  /** A PONG: if it answers one of our PINGs, a round-trip sample. */
  onPong(f) {
    const t0 = this._pings.get(f.id);
    if (t0 === void 0) return;
    this._pings.delete(f.id);
    const sent = new DataView(f.data.buffer, f.data.byteOffset, 8).getFloat64(0);
    if (sent !== t0) return;
    const sample = Math.max(0, now() - t0);
    this._rtt = this._rtt === null ? sample : this._rtt * 0.7 + sample * 0.3;
  }
  /** Stop for good (idempotent): no reconnect, no pings, the session killed, link waiters woken. */
  close() {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = null;
    this._stopPinging();
    this.session?.kill("closed by the page");
    this.session = null;
    this._resolveLinkWaiters();
  }
};

// src/lru.js
var ByteLRU = class {
  static {
    __name(this, "ByteLRU");
  }
  constructor(maxBytes, onEvict = null) {
    this.maxBytes = Math.max(0, Math.floor(Number(maxBytes) || 0));
    this.bytes = 0;
    this.evictions = 0;
    this._m = /* @__PURE__ */ new Map();
    this._onEvict = typeof onEvict === "function" ? onEvict : null;
  }
  get size() {
    return this._m.size;
  }
  has(key) {
    return this._m.has(key);
  }
  /** Value for key, marking it most recently used. */
  get(key) {
    const v = this._m.get(key);
    if (v !== void 0) {
      this._m.delete(key);
      this._m.set(key, v);
    }
    return v;
  }
  /** Value without touching recency. */
  peek(key) {
    return this._m.get(key);
  }
  /**
   * Store value (a typed array) under key, evicting least recently used
   * entries to stay within maxBytes. A value larger than maxBytes is not
   * stored. A present key is only touched: content is named by its hash.
   * Returns whether the key is now present.
   */
  set(key, value) {
    if (this._m.has(key)) {
      this.get(key);
      return true;
    }
    const n = value.byteLength;
    if (n > this.maxBytes) return false;
    while (this.bytes + n > this.maxBytes && this._m.size > 0) {
      const [k, v] = this._m.entries().next().value;
      this._m.delete(k);
      this.bytes -= v.byteLength;
      this.evictions++;
      if (this._onEvict) this._onEvict(k, v);
    }
    this._m.set(key, value);
    this.bytes += n;
    return true;
  }
  delete(key) {
    const v = this._m.get(key);
    if (v === void 0) return false;
    this._m.delete(key);
    this.bytes -= v.byteLength;
    return true;
  }
  clear() {
    this._m.clear();
    this.bytes = 0;
  }
  keys() {
    return this._m.keys();
  }
};

// src/holdings.js
var MAX_ANNOUNCED_FILES = 1024;
var HAVE_DELAY_MS = 250;
var Holdings = class {
  static {
    __name(this, "Holdings");
  }
  constructor({ serve, maxBytes, log, haveLink, maxMessageSize }) {
    this._serve = serve;
    this._log = log;
    this._haveLink = haveLink;
    this._maxMessageSize = maxMessageSize;
    this._lru = new ByteLRU(maxBytes, (h) => this._onChunkEvicted(h));
    this._files = /* @__PURE__ */ new Map();
    this._chunkFiles = /* @__PURE__ */ new Map();
    this._announced = /* @__PURE__ */ new Map();
    this._haveDirty = /* @__PURE__ */ new Set();
    this._haveTimer = null;
    this._closed = false;
    this._store = null;
    this.served = { chunks: 0, bytes: 0, misses: 0, haveFrames: 0 };
  }
  /**
   * Put the persistent store (a ChunkStore) behind the LRU: its files are
   * tracked (and announced once a data channel is open) and its chunks
   * served and reused. Its evictions withdraw what is no longer held.
   */
  attachStore(store) {
    if (!store || this._closed) return;
    this._store = store;
    for (const f of store.files()) {
      this.trackFile(f);
      this._haveDirty.add(f.sha256);
    }
    this._flushHaves();
  }
  /** The store's eviction callback: like an LRU eviction, unless memory still has it. */
  storeEvicted(hashHex) {
    if (!this._lru.has(hashHex)) this._onChunkEvicted(hashHex);
  }
  /** Whether a chunk is held in either tier. */
  holds(hashHex) {
    return this._lru.has(hashHex) || !!this._store?.has(hashHex);
  }
  /**
   * A verified chunk held locally (marking it recently used): from memory
   * at once, from the store as a promise (then kept in memory too);
   * undefined when neither has it.
   */
  get(hashHex) {
    const b = this._lru.get(hashHex);
    if (b !== void 0 || !this._store?.has(hashHex)) return b;
    return this._store.get(hashHex).then((v) => {
      if (v !== void 0 && !this._closed) this._lru.set(hashHex, v);
      return v;
    });
  }
  /**
   * Keep a verified chunk of manifest m (in memory and in the store);
   * announce it if it was stored. bytes may be a view of a fetch's result,
   * which the page then owns: what is kept is a copy of the chunk alone.
   */
  put(hashHex, bytes, m) {
    const st = this._store;
    if (!st && bytes.byteLength > this._lru.maxBytes) return;
    if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = bytes.slice();
    const inMemory = this._lru.set(hashHex, bytes);
    if (st) {
      st.putFile(m).then(() => st.put(hashHex, bytes)).catch((e) => this._log("warn", "store: put failed", e));
    }
    if (inMemory || st) this._onChunkStored(hashHex, m);
  }
  /** stats().store, or null without a store. */
  storeStats() {
    return this._store?.stats() ?? null;
  }
  /** stats().cache */
  cacheStats() {
    const l = this._lru;
    return { bytes: l.bytes, chunks: l.size, maxBytes: l.maxBytes, evictions: l.evictions };
  }
  /** stats().served */
  servedStats() {
    return { ...this.served, announcedFiles: this._announced.size };
  }
  /**
   * Track which chunks of manifest m this client holds, to announce them
   * (most recently used last). A path whose stored manifest differs (the
   * file changed) has the old one withdrawn and dropped from the store.
   */
  trackFile(m) {
    if (this._closed) return;
    const stored = this._store?.file(m.path);
    if (stored && stored.sha256 !== m.sha256) {
      this._untrackFile(stored.sha256);
      this._store.putFile(m).catch(() => {
      });
    }
    if (!this._serve) return;
    const known = this._files.get(m.sha256);
    if (known) {
      this._files.delete(m.sha256);
      this._files.set(m.sha256, known);
      return;
    }
    this._files.set(m.sha256, { path: m.path, sha256: m.sha256, chunks: m.chunks });
    for (const h of m.chunks) {
      let set = this._chunkFiles.get(h);
      if (!set) this._chunkFiles.set(h, set = /* @__PURE__ */ new Set());
      set.add(m.sha256);
    }
    while (this._files.size > MAX_ANNOUNCED_FILES) {
      const [oldest] = this._files.keys();
      this._untrackFile(oldest);
    }
  }
  /** The whole file m is here: tell the relay now, not after HAVE_DELAY_MS. */
  fileComplete(m) {
    if (!this._files.has(m.sha256)) return;
    this._haveDirty.add(m.sha256);
    this._flushHaves();
  }
  /** A new data channel: the relay knows nothing this client holds; announce every tracked file. */
  announceAll() {
    this._announced.clear();
    for (const sha of this._files.keys()) this._haveDirty.add(sha);
    this._flushHaves();
  }
  /** The connection is gone: the relay forgets a peer's holdings when it leaves. */
  connectionLost() {
    this._announced.clear();
  }
  /** Answer the relay's GET_CHUNK from the LRU or the store (or ERROR forbidden / unknown_chunk). */
  serveChunk(f, link) {
    if (!this._serve) {
      link.send(encodeFrame({ type: FrameType.ERROR, id: f.id, code: ErrorCode.FORBIDDEN, message: "this peer does not serve" }), { control: true });
      return;
    }
    const key = toHex(f.hash);
    const got = this.get(key);
    if (got instanceof Promise) {
      got.then(
        (bytes) => this._answer(f, link, key, bytes),
        () => this._answer(f, link, key, void 0)
      );
      return;
    }
    this._answer(f, link, key, got);
  }
  _answer(f, link, key, bytes) {
    if (this._closed) return;
    if (!bytes) {
      this.served.misses++;
      link.send(encodeFrame({ type: FrameType.ERROR, id: f.id, code: ErrorCode.UNKNOWN_CHUNK, message: key }), { control: true });
      return;
    }
    const maxData = Math.min(MAX_CHUNK_DATA, (this._maxMessageSize() || MAX_MESSAGE_SIZE) - HEADER_LEN - 12);
    for (const fr of chunkFrames(f.id, f.index, bytes, maxData)) link.send(fr, { rid: f.id });
    this.served.chunks++;
    this.served.bytes += bytes.length;
  }
  /** Forget everything (idempotent); nothing is announced afterwards. The store stays on disk. */
  close() {
    this._closed = true;
    this._store?.close();
    this._store = null;
    clearTimeout(this._haveTimer);
    this._haveTimer = null;
    this._lru.clear();
    this._files.clear();
    this._chunkFiles.clear();
    this._announced.clear();
    this._haveDirty.clear();
  }
  /** Stop tracking a file, first withdrawing it (an all-zero HAVE) if the relay was told of it. */
  _untrackFile(sha) {
    const f = this._files.get(sha);
    if (!f) return;
    if (this._announced.has(sha)) this._sendHave(f, new Uint8Array(Math.ceil(f.chunks.length / 8)));
    this._announced.delete(sha);
    this._haveDirty.delete(sha);
    this._files.delete(sha);
    for (const h of f.chunks) {
      const set = this._chunkFiles.get(h);
      if (!set) continue;
      set.delete(sha);
      if (set.size === 0) this._chunkFiles.delete(h);
    }
  }
  /** Called with every verified chunk stored in the peer cache, and the manifest it belongs to. */
  _onChunkStored(_hashHex, m) {
    if (!this._serve || this._closed) return;
    this.trackFile(m);
    this._haveDirty.add(m.sha256);
    this._scheduleHaves();
  }
  /** Called by the LRU for every chunk it pushes out: the files listing it need a new HAVE. */
  _onChunkEvicted(hashHex) {
    if (this._store?.has(hashHex)) return;
    const set = this._chunkFiles.get(hashHex);
    if (!set) return;
    for (const sha of set) this._haveDirty.add(sha);
    this._scheduleHaves();
  }
  _scheduleHaves() {
    if (this._haveTimer || this._closed) return;
    this._haveTimer = setTimeout(() => {
      this._haveTimer = null;
      this._flushHaves();
    }, HAVE_DELAY_MS);
  }
  /** Send one HAVE per file whose holdings changed since it was last announced. */
  _flushHaves() {
    if (this._haveTimer) clearTimeout(this._haveTimer);
    this._haveTimer = null;
    if (!this._serve || this._closed) return;
    const link = this._haveLink();
    const dirty = [...this._haveDirty];
    this._haveDirty.clear();
    for (const sha of dirty) {
      const f = this._files.get(sha);
      if (!f) continue;
      const bitmap = haveBitmap(f.chunks, (h) => this.holds(h));
      if (!bitmap.some((b) => b !== 0)) {
        this._untrackFile(sha);
        continue;
      }
      if (!link) continue;
      const key = toHex(bitmap);
      if (this._announced.get(sha) === key) continue;
      if (this._sendHave(f, bitmap, link)) this._announced.set(sha, key);
    }
  }
  _sendHave(f, bitmap, link = this._haveLink()) {
    if (!link) return false;
    let bytes;
    try {
      bytes = encodeFrame({ type: FrameType.HAVE, id: 0, hash: f.sha256, count: f.chunks.length, bitmap, path: f.path });
    } catch (e) {
      this._log("warn", `HAVE for ${f.path} not sent: ${e.message}`);
      return false;
    }
    if (bytes.length > MAX_MESSAGE_SIZE) {
      this._log("debug", `HAVE for ${f.path} not sent: ${f.chunks.length} chunks do not fit one frame`);
      return false;
    }
    if (!link.send(bytes)) return false;
    this.served.haveFrames++;
    return true;
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
function encodePathForURL(clean) {
  return clean.split("/").map(encodeURIComponent).join("/");
}
__name(encodePathForURL, "encodePathForURL");

// src/manifest.js
function badManifest(why) {
  return new P2PCacheError("bad_manifest", `p2pcache: bad manifest: ${why}`);
}
__name(badManifest, "badManifest");
var RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/;
function isRFC3339(s) {
  const t = typeof s === "string" && RFC3339.exec(s);
  if (!t) return false;
  const [year, month, day, hour, min, sec] = t.slice(1, 7).map(Number);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  const zh = t[7] === void 0 ? 0 : Number(t[7]);
  const zm = t[8] === void 0 ? 0 : Number(t[8]);
  return month >= 1 && month <= 12 && day >= 1 && day <= days && hour <= 23 && min <= 59 && sec <= 59 && zh <= 23 && zm <= 59;
}
__name(isRFC3339, "isRFC3339");
function parseManifest(input, expectedPath) {
  let m = input;
  if (typeof input === "string" || input instanceof ArrayBuffer || ArrayBuffer.isView(input)) {
    let text = input;
    if (typeof input !== "string") {
      try {
        text = strictUTF8.decode(toBytes(input));
      } catch {
        throw badManifest("not UTF-8");
      }
    }
    try {
      m = JSON.parse(text);
    } catch (e) {
      throw badManifest(`not JSON: ${e.message}`);
    }
  }
  if (m === null || typeof m !== "object" || Array.isArray(m)) throw badManifest("not a JSON object");
  if (m.v !== 1) throw badManifest(`version ${JSON.stringify(m.v)}, want 1`);
  if (typeof m.path !== "string") throw badManifest("no path");
  let clean;
  try {
    clean = normalizePath(m.path);
  } catch {
    clean = null;
  }
  if (clean !== m.path) throw badManifest(`path ${JSON.stringify(m.path)} is not clean`);
  if (expectedPath !== void 0 && m.path !== expectedPath) {
    throw badManifest(`manifest is for ${JSON.stringify(m.path)}, asked for ${JSON.stringify(expectedPath)}`);
  }
  if (!Number.isSafeInteger(m.size) || m.size < 0) throw badManifest(`size ${JSON.stringify(m.size)} is not a non-negative integer`);
  if (!Number.isInteger(m.chunkSize) || m.chunkSize < 1 || m.chunkSize > MAX_CHUNK_SIZE) {
    throw badManifest(`chunk size ${JSON.stringify(m.chunkSize)} not in 1..${MAX_CHUNK_SIZE}`);
  }
  if (m.contentType != null && typeof m.contentType !== "string") throw badManifest("contentType is not a string");
  if (!isHash(m.sha256)) throw badManifest("sha256 is not 64 lowercase hex digits");
  if (m.etag !== `"${m.sha256}"`) throw badManifest(`etag ${JSON.stringify(m.etag)} does not match sha256`);
  if (m.lastModified != null && !isRFC3339(m.lastModified)) {
    throw badManifest(`lastModified ${JSON.stringify(m.lastModified)} is not an RFC 3339 time`);
  }
  const chunks = m.chunks ?? [];
  if (!Array.isArray(chunks)) throw badManifest("chunks is not an array");
  const want = Math.ceil(m.size / m.chunkSize);
  if (chunks.length !== want) {
    throw badManifest(`${chunks.length} chunk hashes for size ${m.size} and chunk size ${m.chunkSize}, want ${want}`);
  }
  for (let i = 0; i < chunks.length; i++) {
    if (!isHash(chunks[i])) throw badManifest(`chunk ${i} hash is not 64 lowercase hex digits`);
  }
  const out = {
    v: 1,
    path: m.path,
    size: m.size,
    contentType: m.contentType ?? "",
    etag: m.etag,
    chunkSize: m.chunkSize,
    sha256: m.sha256,
    chunks: Object.freeze(chunks.slice())
  };
  if (m.lastModified != null) out.lastModified = m.lastModified;
  return Object.freeze(out);
}
__name(parseManifest, "parseManifest");
function chunkOffset(m, i) {
  return i * m.chunkSize;
}
__name(chunkOffset, "chunkOffset");
function chunkLength(m, i) {
  if (!Number.isInteger(i) || i < 0 || i >= m.chunks.length) return 0;
  return Math.min(m.chunkSize, m.size - i * m.chunkSize);
}
__name(chunkLength, "chunkLength");

// src/log.js
function consoleLog(level, msg, ...rest) {
  const f = console[level === "warn" || level === "error" || level === "info" ? level : "debug"];
  f.call(console, `[p2pcache] ${msg}`, ...rest);
}
__name(consoleLog, "consoleLog");
function makeLog(fn) {
  if (typeof fn !== "function") return () => {
  };
  return (level, msg, ...rest) => {
    try {
      fn(level, msg, ...rest);
    } catch {
    }
  };
}
__name(makeLog, "makeLog");
function progress(cb, ev, log) {
  if (!cb) return;
  try {
    cb(ev);
  } catch (e) {
    log("warn", "onProgress threw", e);
  }
}
__name(progress, "progress");

// src/sha256.js
var K256 = new Uint32Array([
  1116352408,
  1899447441,
  3049323471,
  3921009573,
  961987163,
  1508970993,
  2453635748,
  2870763221,
  3624381080,
  310598401,
  607225278,
  1426881987,
  1925078388,
  2162078206,
  2614888103,
  3248222580,
  3835390401,
  4022224774,
  264347078,
  604807628,
  770255983,
  1249150122,
  1555081692,
  1996064986,
  2554220882,
  2821834349,
  2952996808,
  3210313671,
  3336571891,
  3584528711,
  113926993,
  338241895,
  666307205,
  773529912,
  1294757372,
  1396182291,
  1695183700,
  1986661051,
  2177026350,
  2456956037,
  2730485921,
  2820302411,
  3259730800,
  3345764771,
  3516065817,
  3600352804,
  4094571909,
  275423344,
  430227734,
  506948616,
  659060556,
  883997877,
  958139571,
  1322822218,
  1537002063,
  1747873779,
  1955562222,
  2024104815,
  2227730452,
  2361852424,
  2428436474,
  2756734187,
  3204031479,
  3329325298
]);
function sha256Blocks(H, W, d, off, end) {
  let h0 = H[0], h1 = H[1], h2 = H[2], h3 = H[3], h4 = H[4], h5 = H[5], h6 = H[6], h7 = H[7];
  for (; off < end; off += 64) {
    for (let t = 0; t < 16; t++) {
      const o = off + t * 4;
      W[t] = d[o] << 24 | d[o + 1] << 16 | d[o + 2] << 8 | d[o + 3];
    }
    for (let t = 16; t < 64; t++) {
      const w15 = W[t - 15], w2 = W[t - 2];
      const s0 = (w15 >>> 7 | w15 << 25) ^ (w15 >>> 18 | w15 << 14) ^ w15 >>> 3;
      const s1 = (w2 >>> 17 | w2 << 15) ^ (w2 >>> 19 | w2 << 13) ^ w2 >>> 10;
      W[t] = W[t - 16] + s0 + W[t - 7] + s1 | 0;
    }
    let a = h0, b = h1, c = h2, e = h4, f = h5, g = h6, h = h7, dd = h3;
    for (let t = 0; t < 64; t++) {
      const S1 = (e >>> 6 | e << 26) ^ (e >>> 11 | e << 21) ^ (e >>> 25 | e << 7);
      const ch = e & f ^ ~e & g;
      const t1 = h + S1 + ch + K256[t] + W[t] | 0;
      const S0 = (a >>> 2 | a << 30) ^ (a >>> 13 | a << 19) ^ (a >>> 22 | a << 10);
      const maj = a & b ^ a & c ^ b & c;
      const t2 = S0 + maj | 0;
      h = g;
      g = f;
      f = e;
      e = dd + t1 | 0;
      dd = c;
      c = b;
      b = a;
      a = t1 + t2 | 0;
    }
    h0 = h0 + a | 0;
    h1 = h1 + b | 0;
    h2 = h2 + c | 0;
    h3 = h3 + dd | 0;
    h4 = h4 + e | 0;
    h5 = h5 + f | 0;
    h6 = h6 + g | 0;
    h7 = h7 + h | 0;
  }
  H[0] = h0;
  H[1] = h1;
  H[2] = h2;
  H[3] = h3;
  H[4] = h4;
  H[5] = h5;
  H[6] = h6;
  H[7] = h7;
}
__name(sha256Blocks, "sha256Blocks");
function sha256Sync(input) {
  const d = toBytes(input);
  const H = new Uint32Array([
    1779033703,
    3144134277,
    1013904242,
    2773480762,
    1359893119,
    2600822924,
    528734635,
    1541459225
  ]);
  const W = new Uint32Array(64);
  const full = d.length - d.length % 64;
  sha256Blocks(H, W, d, 0, full);
  const rest = d.length - full;
  const tail = new Uint8Array(rest < 56 ? 64 : 128);
  tail.set(d.subarray(full));
  tail[rest] = 128;
  const bits = d.length * 8;
  const dv = new DataView(tail.buffer);
  dv.setUint32(tail.length - 8, Math.floor(bits / 4294967296));
  dv.setUint32(tail.length - 4, bits >>> 0);
  sha256Blocks(H, W, tail, 0, tail.length);
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setUint32(i * 4, H[i]);
  return out;
}
__name(sha256Sync, "sha256Sync");
function hasSubtle() {
  return typeof globalThis.crypto?.subtle?.digest === "function";
}
__name(hasSubtle, "hasSubtle");
async function sha256Hex(input) {
  const d = toBytes(input);
  if (hasSubtle()) {
    try {
      return toHex(new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", d)));
    } catch {
    }
  }
  return toHex(sha256Sync(d));
}
__name(sha256Hex, "sha256Hex");

// src/sw/messages.js
var FETCH = "p2pcache:fetch";
var DIRECT_ACCEPT = "*/*;p2pcache=direct";
var READY = "p2pcache:ready";
function workerURL(scriptURL, relay, base) {
  const u = new URL(scriptURL, base);
  u.searchParams.set("relay", relay);
  return u.toString();
}
__name(workerURL, "workerURL");

// src/http.js
function codeForStatus(status) {
  switch (status) {
    case 400:
      return "bad_path";
    case 401:
    case 403:
      return "forbidden";
    case 404:
    case 410:
      return "not_found";
    case 413:
      return "too_large";
    case 429:
    case 503:
      return "busy";
    case 502:
      return "origin_error";
    case 504:
      return "timeout";
    default:
      return "http_error";
  }
}
__name(codeForStatus, "codeForStatus");
var HttpFallback = class {
  static {
    __name(this, "HttpFallback");
  }
  constructor({ relay, token = null, tokenSource: tokenSource2 = null, fetch, isClosed, onVerifyFailure, log }) {
    this.relay = relay;
    this._token = token;
    this._tokenSource = tokenSource2 ?? (async () => token);
    this._fetch = fetch;
    this._isClosed = isClosed;
    this._onVerifyFailure = onVerifyFailure;
    this._log = log;
  }
  /** The URL of /kind/path on the relay, with token (default: the string token) as access_token. */
  url(kind, path, token = this._token) {
    const u = new URL(`${this.relay}/${kind}/${encodePathForURL(path)}`);
    if (token) u.searchParams.set("access_token", token);
    return u.toString();
  }
  /** url() with a token from the token source (fresh if it is a function). */
  async freshURL(kind, path) {
    return this.url(kind, path, await this._tokenSource());
  }
  async manifest(path, signal) {
    const res = await this._fetch(await this.freshURL("manifest", path), { signal, headers: { accept: DIRECT_ACCEPT } });
    if (!res.ok) throw new P2PCacheError(codeForStatus(res.status), `p2pcache: HTTP ${res.status} for the manifest of ${path}`, { status: res.status });
    return parseManifest(await res.text(), path);
  }
  /**
   * Fetch one file (a clean path). fst is the fetch's accounting: its
   * manifest (if frames got one) is used instead of asking again, and on
   * success transport, httpChunks, verified, contentType, etag and
   * lastModified are set and sources cleared. Resolves { manifest, bytes }.
   */
  async fetchFile(path, fst, onProgress, signal) {
    if (!this._fetch) throw new P2PCacheError("network", "p2pcache: no fetch() in this environment");
    fst.transport = "http";
    const manifestP = fst.manifest ? Promise.resolve(fst.manifest) : this.manifest(path, signal).catch(() => null);
    let res;
    const url = await this.freshURL("files", path);
    try {
      res = await this._fetch(url, { signal, headers: { accept: DIRECT_ACCEPT } });
    } catch (e) {
      if (signal?.aborted) throw this._isClosed() ? closedError() : abortError(signal);
      throw new P2PCacheError("network", `p2pcache: ${path}: the relay could not be reached over HTTP: ${e?.message ?? e}`, { cause: e, path });
    }
    if (!res.ok) {
      manifestP.catch(() => {
      });
      throw new P2PCacheError(codeForStatus(res.status), `p2pcache: ${path}: HTTP ${res.status} from /files/`, { status: res.status, path });
    }
    const lenHeader = Number(res.headers.get("content-length"));
    const bytes = await this._readBody(res, path, Number.isFinite(lenHeader) && lenHeader > 0 ? lenHeader : fst.manifest?.size ?? 0, onProgress);
    let m = await manifestP;
    if (m) {
      let actual = await sha256Hex(bytes);
      if (actual !== m.sha256) {
        const etag = res.headers.get("etag");
        if (etag && etag !== m.etag) {
          m = await this.manifest(path, signal).catch(() => null);
        }
        if (!m || actual !== m.sha256) {
          this._onVerifyFailure(path, fst, { index: -1, expected: m?.sha256 ?? "", actual, attempt: 0, source: "http" });
          throw new P2PCacheError("verify_failed", `p2pcache: ${path}: bytes from HTTP do not match the manifest's SHA-256`, { path });
        }
      }
      fst.manifest = m;
    }
    const chunks = Math.max(1, Math.ceil(bytes.length / (m?.chunkSize ?? MAX_CHUNK_SIZE)));
    fst.sources.clear();
    fst.httpChunks = chunks;
    fst.verified = !!m;
    fst.contentType = res.headers.get("content-type");
    fst.etag = res.headers.get("etag");
    fst.lastModified = res.headers.get("last-modified");
    return { manifest: m, bytes };
  }
  /**
   * GET bytes [start, end) of path with a Range request (If-Range: etag, so
   * a file that changed comes whole and fails verification rather than
   * mixing versions). onData(buf, filled) is called as bytes arrive: buf
   * holds the range, its first `filled` bytes are in. A relay that answers
   * 200 (no ranges) is read up to the range's end. Resolves when the range
   * is complete or the body ended; rejects with a P2PCacheError.
   */
  async range(path, start, end, etag, signal, onData) {
    if (!this._fetch) throw new P2PCacheError("network", "p2pcache: no fetch() in this environment");
    const url = await this.freshURL("files", path);
    const headers = { range: `bytes=${start}-${end - 1}`, accept: DIRECT_ACCEPT };
    if (etag) headers["if-range"] = etag;
    let res;
    try {
      res = await this._fetch(url, { signal, headers });
    } catch (e) {
      if (signal?.aborted) throw this._isClosed() ? closedError() : abortError(signal);
      throw new P2PCacheError("network", `p2pcache: ${path}: the relay could not be reached over HTTP: ${e?.message ?? e}`, { cause: e, path });
    }
    if (res.status !== 206 && res.status !== 200) {
      res.body?.cancel?.().catch(() => {
      });
      throw new P2PCacheError(codeForStatus(res.status), `p2pcache: ${path}: HTTP ${res.status} from /files/ for a range`, { status: res.status, path });
    }
    const skip = res.status === 200 ? start : 0;
    const buf = new Uint8Array(end - start);
    let filled = 0;
    let seen = 0;
    const take = /* @__PURE__ */ __name((value) => {
      let v = value;
      if (seen < skip) {
        const drop = Math.min(skip - seen, v.length);
        seen += drop;
        v = v.subarray(drop);
      }
      const n = Math.min(v.length, buf.length - filled);
      buf.set(v.subarray(0, n), filled);
      filled += n;
      return filled >= buf.length;
    }, "take");
    try {
      if (!res.body?.getReader) {
        take(new Uint8Array(await res.arrayBuffer()));
        onData(buf, filled);
        return;
      }
      const reader = res.body.getReader();
      for (; ; ) {
        const { done: done2, value } = await reader.read();
        if (done2) break;
        const full = take(value);
        onData(buf, filled);
        if (full) {
          reader.cancel().catch(() => {
          });
          break;
        }
      }
    } catch (e) {
      if (signal?.aborted) throw this._isClosed() ? closedError() : abortError(signal);
      if (e instanceof P2PCacheError) throw e;
      throw new P2PCacheError("network", `p2pcache: ${path}: reading a range: ${e?.message ?? e}`, { cause: e, path });
    }
  }
  async _readBody(res, path, total, onProgress) {
    if (!res.body?.getReader) {
      const b = new Uint8Array(await res.arrayBuffer());
      progress(onProgress, { path, loaded: b.length, total: b.length, source: "http" }, this._log);
      return b;
    }
    const reader = res.body.getReader();
    const parts = [];
    let loaded = 0;
    for (; ; ) {
      const { done: done2, value } = await reader.read();
      if (done2) break;
      parts.push(value);
      loaded += value.length;
      progress(onProgress, { path, loaded, total: Math.max(total, loaded), source: "http" }, this._log);
    }
    if (parts.length === 1) return parts[0];
    const out = new Uint8Array(loaded);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
};

// src/inbound.js
function dispatchFrame(data, link, { requests, onPong, onGetChunk, log }) {
  try {
    if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) return;
    let f;
    try {
      f = decodeFrame(data);
    } catch (e) {
      log("warn", e.message);
      if (e.id !== void 0 && isRequestType(e.type)) {
        const code = e.code === "unknown_type" ? ErrorCode.UNSUPPORTED : ErrorCode.BAD_REQUEST;
        link.send(encodeFrame({ type: FrameType.ERROR, id: e.id, code, message: e.message.slice(0, 200) }), { control: true });
      } else if (e.id !== void 0) {
        requests.fail(e.id, new P2PCacheError("protocol", e.message, { cause: e }));
      }
      return;
    }
    switch (f.type) {
      case FrameType.PING:
        link.send(encodeFrame({ type: FrameType.PONG, id: f.id, data: f.data }), { control: true });
        return;
      case FrameType.PONG:
        onPong(f);
        return;
      case FrameType.GET_CHUNK:
        onGetChunk(f, link);
        return;
      case FrameType.GET_FILE:
      case FrameType.GET_MANIFEST:
        link.send(
          encodeFrame({ type: FrameType.ERROR, id: f.id, code: ErrorCode.UNSUPPORTED, message: "peers serve chunks by hash only" }),
          { control: true }
        );
        return;
      case FrameType.CANCEL:
        link.cancel(f.id);
        return;
      case FrameType.HAVE:
        return;
      // only peers announce; nothing to answer
      default:
        requests.onFrame(f);
    }
  } catch (e) {
    log("error", "frame handling failed", e);
  }
}
__name(dispatchFrame, "dispatchFrame");

// src/fragments.js
var FragmentBuffer = class {
  static {
    __name(this, "FragmentBuffer");
  }
  constructor(total, max = MAX_CHUNK_SIZE, into = null) {
    if (!Number.isInteger(total) || total < 0 || total > max) {
      throw new FrameError("bad_frame", `p2pcache: bad frame: length ${total} not in 0..${max}`);
    }
    this.total = total;
    this.bytes = into instanceof Uint8Array && into.length === total ? into : new Uint8Array(total);
    this.received = 0;
    this.fragments = 0;
    this._ranges = [];
  }
  /** Place one fragment; returns whether the whole is now complete. */
  add(offset, data, total = this.total) {
    const d = toBytes(data);
    if (total !== this.total) {
      throw new FrameError("bad_frame", `p2pcache: bad frame: fragment says length ${total}, earlier ones said ${this.total}`);
    }
    if (!Number.isInteger(offset) || offset < 0 || offset + d.length > this.total) {
      throw new FrameError("bad_frame", `p2pcache: bad frame: fragment ${offset}+${d.length} outside length ${this.total}`);
    }
    this.bytes.set(d, offset);
    this.fragments++;
    if (d.length > 0) this._cover(offset, offset + d.length);
    return this.complete;
  }
  get complete() {
    return this.fragments > 0 && this.received === this.total;
  }
  _cover(s, e) {
    const out = [];
    let placed = false;
    for (const [a, b] of this._ranges) {
      if (b < s) out.push([a, b]);
      else if (a > e) {
        if (!placed) {
          out.push([s, e]);
          placed = true;
        }
        out.push([a, b]);
      } else {
        s = Math.min(s, a);
        e = Math.max(e, b);
      }
    }
    if (!placed) out.push([s, e]);
    this._ranges = out;
    this.received = out.reduce((n, [a, b]) => n + (b - a), 0);
  }
};

// src/requests.js
var Requests = class {
  static {
    __name(this, "Requests");
  }
  constructor({ link, limit, timeoutMs, isReserved = /* @__PURE__ */ __name(() => false, "isReserved") }) {
    this._link = link;
    this._limit = limit;
    this._timeoutMs = timeoutMs;
    this._isReserved = isReserved;
    this._pending = /* @__PURE__ */ new Map();
    this._nextId = 0;
    this._slotsUsed = 0;
    this._slotWaiters = [];
  }
  /** Requests awaiting their answer. */
  get size() {
    return this._pending.size;
  }
  /** The next free non-zero u32 id. */
  allocId() {
    for (; ; ) {
      this._nextId = this._nextId + 1 >>> 0;
      if (this._nextId !== 0 && !this._pending.has(this._nextId) && !this._isReserved(this._nextId)) return this._nextId;
    }
  }
  /**
   * Send a request and resolve with the reassembled answer bytes (MANIFEST
   * or CHUNK). Rejects with the ERROR it got, 'timeout' (no progress for
   * timeoutMs), 'disconnected', 'protocol', 'aborted' or 'closed'. info,
   * if given, is filled in: source (a CHUNK's source bits, 0 when the relay
   * did not say) and transport (the link it went on: 'webrtc-tcp' or 'websocket').
   * into, if given, is where a CHUNK answer of exactly its length is
   * reassembled (the result is then into; see FragmentBuffer).
   */
  async request(frame, expect, signal, info = null, into = null) {
    await this._acquireSlot(signal);
    try {
      return await this._requestNow(frame, expect, signal, info, into);
    } finally {
      this._releaseSlot();
    }
  }
  /** An answer frame (MANIFEST, CHUNK, ERROR) for one of ours; a late one is dropped. */
  onFrame(f) {
    this._pending.get(f.id)?.onFrame(f);
  }
  /** Fail request id (a malformed answer to it): CANCEL it and reject. */
  fail(id, err) {
    this._pending.get(id)?.fail(err);
  }
  /** Reject every request sent on a link of owner (its connection died). */
  failOwner(owner, err) {
    for (const p of [...this._pending.values()]) if (p.owner === owner) p.finish(err);
  }
  /** Reject everything pending and every request waiting for a slot. */
  close(err) {
    for (const p of [...this._pending.values()]) p.finish(err);
    for (const w of this._slotWaiters.splice(0)) w.reject(err);
  }
  _acquireSlot(signal) {
    if (this._slotsUsed < this._limit()) {
      this._slotsUsed++;
      return Promise.resolve();
    }
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const w = {
        resolve: /* @__PURE__ */ __name(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        }, "resolve"),
        reject: /* @__PURE__ */ __name((e) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        }, "reject")
      };
      const onAbort = /* @__PURE__ */ __name(() => {
        this._slotWaiters = this._slotWaiters.filter((x) => x !== w);
        reject(abortError(signal));
      }, "onAbort");
      signal?.addEventListener("abort", onAbort, { once: true });
      this._slotWaiters.push(w);
    });
  }
  _releaseSlot() {
    const w = this._slotWaiters.shift();
    if (w) w.resolve();
    else this._slotsUsed--;
  }
  _requestNow(frame, expect, signal, info, into) {
    const link = this._link();
    if (!link) return Promise.reject(new P2PCacheError("disconnected", "p2pcache: no connection to the relay"));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (info) {
      info.transport = link.transport;
      info.source = 0;
    }
    const id = this.allocId();
    const pending = this._pending;
    const timeoutMs = this._timeoutMs;
    return new Promise((resolve, reject) => {
      const p = {
        id,
        expect,
        index: frame.index,
        owner: link.owner,
        buf: null,
        timer: null,
        finish(err, val) {
          if (pending.get(id) !== p) return;
          pending.delete(id);
          clearTimeout(p.timer);
          signal?.removeEventListener("abort", p.onAbort);
          if (err) reject(err);
          else resolve(val);
        },
        cancel() {
          link.send(encodeFrame({ type: FrameType.CANCEL, id }), { control: true });
        },
        fail(err) {
          p.cancel();
          p.finish(err);
        },
        onAbort() {
          p.fail(abortError(signal));
        },
        arm() {
          clearTimeout(p.timer);
          p.timer = setTimeout(() => {
            p.fail(new P2PCacheError("timeout", `p2pcache: no answer from the relay for ${timeoutMs} ms`));
          }, timeoutMs);
        },
        onFrame(f) {
          if (f.type === FrameType.ERROR) {
            p.finish(remoteError(f.code, f.message, frame.path));
            return;
          }
          if (f.type !== expect || expect === FrameType.CHUNK && f.index !== frame.index) {
            p.fail(new P2PCacheError("protocol", `p2pcache: ${frameTypeName(f.type)} in answer to a ${frameTypeName(frame.type)}`));
            return;
          }
          if (info && f.source) info.source = f.source;
          try {
            if (!p.buf) {
              p.buf = expect === FrameType.CHUNK ? new FragmentBuffer(f.total, MAX_CHUNK_SIZE, into) : new FragmentBuffer(f.total, MAX_MANIFEST_LEN);
            }
            if (p.buf.add(f.offset, f.data, f.total)) {
              p.finish(null, p.buf.bytes);
              return;
            }
          } catch (e) {
            p.fail(new P2PCacheError("protocol", e.message, { cause: e }));
            return;
          }
          p.arm();
        }
      };
      pending.set(id, p);
      p.arm();
      signal?.addEventListener("abort", p.onAbort, { once: true });
      link.send(encodeFrame({ ...frame, id }), { control: true });
    });
  }
};
async function withBusyRetry(fn, signal) {
  for (let n = 0; ; n++) {
    try {
      return await fn();
    } catch (e) {
      if (e?.code !== "busy" || n >= 6) throw e;
      await sleep(backoffDelay(n, { base: 100, max: 4e3 }), signal);
    }
  }
}
__name(withBusyRetry, "withBusyRetry");

// src/transfer.js
var VERIFY_RETRIES = 1;
async function transferChunks(m, opts) {
  const {
    getChunk,
    localGet = /* @__PURE__ */ __name(() => void 0, "localGet"),
    localPut = /* @__PURE__ */ __name(() => {
    }, "localPut"),
    onChunk = /* @__PURE__ */ __name(() => {
    }, "onChunk"),
    onRelease = null,
    onVerifyFailure = /* @__PURE__ */ __name(() => {
    }, "onVerifyFailure"),
    maxInFlight = 8,
    verifyRetries = VERIFY_RETRIES,
    busyRetries = 6,
    busyBaseMs = 100,
    signal,
    hash = sha256Hex
  } = opts;
  const n = m.chunks.length;
  const first = Math.max(0, opts.first ?? 0);
  const last = Math.min(n - 1, opts.last ?? n - 1);
  const base = n === 0 ? 0 : chunkOffset(m, first);
  const end = n === 0 ? 0 : chunkOffset(m, last) + chunkLength(m, last);
  const out = new Uint8Array(end - base);
  const ctrl = new AbortController();
  const onOuterAbort = /* @__PURE__ */ __name(() => ctrl.abort(signal.reason), "onOuterAbort");
  if (signal) {
    if (signal.aborted) throw abortError(signal);
    signal.addEventListener("abort", onOuterAbort, { once: true });
  }
  let next = first;
  let failed = null;
  const done2 = new Uint8Array(Math.max(0, last - first + 1));
  let nextRelease = first;
  const release = /* @__PURE__ */ __name(() => {
    if (!onRelease) return;
    while (nextRelease <= last && done2[nextRelease - first]) {
      const off = chunkOffset(m, nextRelease) - base;
      onRelease(nextRelease, out.subarray(off, off + chunkLength(m, nextRelease)));
      nextRelease++;
    }
  }, "release");
  const into = /* @__PURE__ */ __name((i) => {
    const off = chunkOffset(m, i) - base;
    return out.subarray(off, off + chunkLength(m, i));
  }, "into");
  const place = /* @__PURE__ */ __name((i, bytes, len, source) => {
    const off = chunkOffset(m, i) - base;
    if (bytes.buffer !== out.buffer || bytes.byteOffset !== out.byteOffset + off) out.set(bytes, off);
    done2[i - first] = 1;
    onChunk({ index: i, length: len, source });
    release();
  }, "place");
  const one = /* @__PURE__ */ __name(async (i) => {
    const expected = m.chunks[i];
    const len = chunkLength(m, i);
    const local = await localGet(expected);
    if (local && local.byteLength === len) {
      place(i, local, len, "local");
      return;
    }
    let busy = 0;
    for (let attempt = 0; ; ) {
      if (failed) throw failed;
      let got;
      try {
        got = await getChunk(i, expected, ctrl.signal, attempt, into(i));
      } catch (e) {
        if (e?.code === "busy" && busy < busyRetries && !ctrl.signal.aborted) {
          await sleep(backoffDelay(busy++, { base: busyBaseMs, max: 4e3 }), ctrl.signal);
          continue;
        }
        throw e;
      }
      const bytes = toBytes(got.bytes);
      const actual = bytes.length === len ? await hash(bytes) : `length ${bytes.length}, want ${len}`;
      if (actual === expected) {
        if (failed) throw failed;
        localPut(expected, bytes, got.source ?? "relay");
        place(i, bytes, len, got.source ?? "relay");
        return;
      }
      onVerifyFailure({ index: i, expected, actual, attempt, source: got.source ?? "relay" });
      if (attempt >= verifyRetries) {
        throw new P2PCacheError(
          "verify_failed",
          `p2pcache: chunk ${i} of ${m.path} failed verification ${attempt + 1} times`,
          { path: m.path }
        );
      }
      attempt++;
    }
  }, "one");
  const worker = /* @__PURE__ */ __name(async () => {
    while (!failed && next <= last) {
      const i = next++;
      try {
        await one(i);
      } catch (e) {
        if (!failed) {
          failed = e;
          ctrl.abort(e);
        }
        throw failed;
      }
    }
  }, "worker");
  try {
    const workers = [];
    for (let w = 0; w < Math.min(Math.max(1, maxInFlight), last - first + 1); w++) workers.push(worker());
    const results = await Promise.allSettled(workers);
    if (failed) throw failed;
    const bad = results.find((r) => r.status === "rejected");
    if (bad) throw bad.reason;
  } finally {
    signal?.removeEventListener("abort", onOuterAbort);
  }
  if (signal?.aborted) throw abortError(signal);
  return out;
}
__name(transferChunks, "transferChunks");

// src/ladder.js
var TERMINAL = /* @__PURE__ */ new Set(["not_found", "forbidden", "bad_path", "too_large", "aborted", "closed"]);
var RETRY_ON_LINK = /* @__PURE__ */ new Set(["disconnected", "timeout"]);
var STALE_RESTARTS = 3;
function newFetchState(path) {
  return {
    path,
    manifest: null,
    sources: /* @__PURE__ */ new Map(),
    // chunk index → source
    loaded: 0,
    verifyFailures: 0,
    retries: 0,
    transport: null,
    httpChunks: 0,
    verified: true,
    fallback: null
    // the error that made frames give way to HTTP
  };
}
__name(newFetchState, "newFetchState");
var Ladder = class {
  static {
    __name(this, "Ladder");
  }
  constructor(deps) {
    this._d = deps;
  }
  /** The manifest of path over frames (busy answers retried). */
  async manifestFramed(path, signal) {
    const bytes = await withBusyRetry(
      () => this._d.requests.request({ type: FrameType.GET_MANIFEST, path }, FrameType.MANIFEST, signal),
      signal
    );
    return parseManifest(bytes, path);
  }
  /**
   * One chunk over frames: { bytes, source, transport } with the source the
   * relay stated (CHUNK flags); reassembled in into when given (Requests.request).
   */
  async chunkFramed(path, index, hash, signal, into = null) {
    const info = {};
    const bytes = await this._d.requests.request({ type: FrameType.GET_CHUNK, index, hash, path }, FrameType.CHUNK, signal, info, into);
    if (info.source) this._d.stats.sourcesKnown = true;
    return { bytes, source: chunkSourceName(info.source), transport: info.transport };
  }
  /** Fetch one file over frames; fst carries per-fetch accounting across retries. */
  async _framed(path, fst, onProgress, signal) {
    const d = this._d;
    const holdings = d.holdings;
    for (let restart = 0; ; restart++) {
      const m = await this.manifestFramed(path, signal);
      if (fst.manifest?.sha256 !== m.sha256) {
        fst.sources.clear();
        fst.loaded = 0;
      }
      fst.manifest = m;
      if (fst.transport !== "webrtc-tcp") fst.transport = d.conn.link()?.transport ?? fst.transport;
      holdings.trackFile(m);
      try {
        const bytes = await transferChunks(m, {
          getChunk: /* @__PURE__ */ __name((index, hash, sig, _attempt, into) => this.chunkFramed(path, index, hash, sig, into), "getChunk"),
          localGet: /* @__PURE__ */ __name((h) => holdings.get(h), "localGet"),
          localPut: /* @__PURE__ */ __name((h, b) => holdings.put(h, b, m), "localPut"),
          onChunk: /* @__PURE__ */ __name(({ index, length, source }) => {
            if (!fst.sources.has(index)) {
              fst.sources.set(index, source);
              d.stats.bySource[source] = (d.stats.bySource[source] ?? 0) + 1;
              fst.loaded += length;
            }
            progress(onProgress, { path, loaded: fst.loaded, total: m.size, index, source: fst.sources.get(index) }, d.log);
          }, "onChunk"),
          onVerifyFailure: /* @__PURE__ */ __name((info) => d.onVerifyFailure(path, fst, info), "onVerifyFailure"),
          maxInFlight: d.maxInFlight,
          signal
        });
        holdings.fileComplete(m);
        return { manifest: m, bytes };
      } catch (e) {
        if (e?.code === "stale" && restart < STALE_RESTARTS) {
          d.log("info", `${path} changed; fetching its manifest again`);
          fst.retries++;
          continue;
        }
        throw e;
      }
    }
  }
  async _http(path, fst, onProgress, signal) {
    const result = await this._d.http.fetchFile(path, fst, onProgress, signal);
    this._d.stats.bySource.http += fst.httpChunks;
    return result;
  }
  /**
   * Fetch path (clean) by the ladder; resolves { manifest, bytes } with
   * fst (newFetchState) filled in. signal: the fetch's and the client's;
   * userSignal: the page's alone (its abort is reported as such).
   *
   * The ladder, per fetch: frames (data channel or WebSocket) while a link
   * is up; after a drop, wait up to timeoutMs for the reconnect and retry
   * (chunks already verified are kept); frames failing otherwise (bad
   * bytes twice, a protocol error, origin trouble) → HTTP for the whole
   * file. If HTTP cannot reach the relay either while the client is
   * reconnecting (a relay restart), keep waiting for it until
   * retryWindowMs after the trouble began.
   */
  async run(clean, fst, { onProgress, signal, userSignal }) {
    const d = this._d;
    const conn = d.conn;
    const rethrow = /* @__PURE__ */ __name((e) => {
      if (d.isClosed()) throw closedError();
      if (userSignal?.aborted) throw abortError(userSignal);
      throw e;
    }, "rethrow");
    let recoverUntil = 0;
    let framesDone = !d.allowWS;
    let wait = conn.hopeful ? d.timeoutMs : 0;
    const recovering = /* @__PURE__ */ __name(() => {
      if (!recoverUntil) recoverUntil = now() + d.retryWindowMs;
      return now() < recoverUntil;
    }, "recovering");
    try {
      for (; ; ) {
        if (!framesDone) {
          const link = await conn.awaitLink(wait, signal, recoverUntil > 0);
          if (link) {
            try {
              return await this._framed(clean, fst, onProgress, signal);
            } catch (e) {
              if (d.isClosed() || signal.aborted) rethrow(e);
              if (TERMINAL.has(e?.code)) throw e;
              if (RETRY_ON_LINK.has(e?.code) && fst.retries < 4 && recovering()) {
                fst.retries++;
                wait = Math.min(d.timeoutMs, recoverUntil - now());
                d.log("info", `${clean}: ${e.message}; retrying`);
                continue;
              }
              fst.fallback = e;
              framesDone = true;
              d.log("info", `${clean}: falling back to HTTP: ${e.message}`);
            }
          }
        }
        try {
          return await this._http(clean, fst, onProgress, signal);
        } catch (e) {
          if (d.isClosed() || signal.aborted) rethrow(e);
          if (e.code === "network" && !framesDone && (recoverUntil || conn.recovering) && recovering()) {
            fst.retries++;
            wait = recoverUntil - now();
            d.log("info", `${clean}: relay unreachable; waiting for it to come back`);
            await conn.awaitLink(Math.min(wait, 1e3), signal, true);
            continue;
          }
          if (fst.fallback && e.code === "network") e.message += ` (after: ${fst.fallback.message})`;
          throw e;
        }
      }
    } catch (e) {
      rethrow(e);
    }
  }
};

// src/relays.js
var PROBES = 3;
var PROBE_BUDGET_MS = 2e3;
var MAX_RELAYS = 16;
var FAILOVER_AFTER = 2;
function relayBase(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    throw new P2PCacheError("bad_option", `p2pcache: relay ${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new P2PCacheError("bad_option", `p2pcache: relay must be http(s), not ${u.protocol}`);
  }
  return u.origin + u.pathname.replace(/\/+$/, "");
}
__name(relayBase, "relayBase");
function baseOrNull(url) {
  try {
    return typeof url === "string" ? relayBase(url) : null;
  } catch {
    return null;
  }
}
__name(baseOrNull, "baseOrNull");
function parseCluster(json, relay, max = MAX_RELAYS) {
  const out = [relay];
  const members = json && typeof json === "object" && Array.isArray(json.relays) ? json.relays : [];
  for (const m of members) {
    if (out.length >= max) break;
    if (!m || typeof m !== "object") continue;
    if (m.self === true || typeof json.self === "string" && m.id === json.self) continue;
    const url = baseOrNull(m.url);
    if (url && !out.includes(url)) out.push(url);
  }
  return out;
}
__name(parseCluster, "parseCluster");
async function discoverRelays(relay, { fetch, max = MAX_RELAYS, timeoutMs = PROBE_BUDGET_MS, log = /* @__PURE__ */ __name(() => {
}, "log") } = {}) {
  if (!fetch) return [relay];
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(new Error("no answer in time")), timeoutMs);
  try {
    const res = await fetch(`${relay}/cluster`, { cache: "no-store", signal: ctrl.signal });
    if (res.status === 404) return [relay];
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const urls = parseCluster(await res.json(), relay, max);
    log("info", `cluster of ${relay}: ${urls.length} relay(s)`);
    return urls;
  } catch (e) {
    log("warn", `${relay}/cluster: ${ctrl.signal.aborted ? "no answer in time" : e?.message ?? e}; using that relay alone`);
    return [relay];
  } finally {
    clearTimeout(timer);
  }
}
__name(discoverRelays, "discoverRelays");
function rttOf(samples) {
  if (samples.length === 0) return null;
  const ms = samples.length > 1 ? Math.min(...samples.slice(1)) : samples[0];
  return Math.round(ms * 10) / 10;
}
__name(rttOf, "rttOf");
async function probe(url, samples, { fetch, probes, signal }) {
  let legacy = false;
  for (let i = 0; i < probes; i++) {
    const t0 = now();
    let res;
    if (legacy) {
      res = await fetch(`${url}/healthz`, { cache: "no-store", mode: "no-cors", signal });
    } else {
      try {
        res = await fetch(`${url}/readyz`, { cache: "no-store", mode: "cors", signal });
      } catch (e) {
        if (i > 0 || signal?.aborted || e?.name !== "TypeError") throw e;
        legacy = true;
        i--;
        continue;
      }
    }
    const ms = now() - t0;
    try {
      res.body?.cancel?.()?.catch?.(() => {
      });
    } catch {
    }
    if (res.type !== "opaque" && !res.ok) throw new Error(`HTTP ${res.status}`);
    samples.push(ms);
  }
}
__name(probe, "probe");
async function measureRelays(urls, { fetch, probes = PROBES, budgetMs = PROBE_BUDGET_MS, log = /* @__PURE__ */ __name(() => {
}, "log") } = {}) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(new Error("no answer in time")), budgetMs);
  try {
    const results = await Promise.all(
      urls.map(async (url) => {
        const samples = [];
        let error;
        try {
          if (!fetch) throw new Error("no fetch() in this environment");
          await probe(url, samples, { fetch, probes, signal: ctrl.signal });
        } catch (e) {
          error = ctrl.signal.aborted ? "no answer in time" : String(e?.message ?? e);
        }
        const rttMs = rttOf(samples);
        if (rttMs === null) {
          log("info", `relay ${url}: unreachable: ${error}`);
          return { url, rttMs, error };
        }
        return { url, rttMs };
      })
    );
    return rankCandidates(results);
  } finally {
    clearTimeout(timer);
  }
}
__name(measureRelays, "measureRelays");
function rankCandidates(cands) {
  return cands.map((c, i) => ({ c, i })).sort((a, b) => {
    const x = a.c.rttMs;
    const y = b.c.rttMs;
    if (x === null || y === null) return (x === null) - (y === null) || a.i - b.i;
    return x - y || a.i - b.i;
  }).map(({ c }) => c);
}
__name(rankCandidates, "rankCandidates");
var RelayChoice = class {
  static {
    __name(this, "RelayChoice");
  }
  constructor(urls) {
    this._cands = urls.map((url) => ({ url, rttMs: null }));
    this._i = 0;
    this.failovers = 0;
    this._fails = 0;
    this._wasUp = false;
    this._failed = /* @__PURE__ */ new Set();
  }
  /** The relay in use. */
  get chosen() {
    return this._cands[this._i].url;
  }
  get size() {
    return this._cands.length;
  }
  /** Take measured candidates ([{ url, rttMs, error? }], best first) and choose the first. */
  rank(measured) {
    this._cands = measured.map((c) => ({ ...c }));
    this._i = 0;
  }
  /** The chosen relay is up: it counts as good again, and so do the others. */
  connected() {
    this._fails = 0;
    this._wasUp = true;
    this._failed.clear();
  }
  /**
   * An attempt to connect to the chosen relay failed. Returns null to stay,
   * or { relay, previous, immediate } when the client should move:
   * immediate unless every candidate has failed since the last connection
   * (then it starts again from the best, after the usual backoff).
   */
  attemptFailed() {
    this._fails++;
    if (this._cands.length < 2 || this._fails < (this._wasUp ? FAILOVER_AFTER : 1)) return null;
    this._failed.add(this.chosen);
    let next = this._cands.findIndex((c) => !this._failed.has(c.url));
    let immediate = true;
    if (next < 0) {
      this._failed.clear();
      next = 0;
      immediate = false;
    }
    if (next === this._i) return null;
    const previous = this.chosen;
    this._i = next;
    this._fails = 0;
    this._wasUp = false;
    this.failovers++;
    return { relay: this.chosen, previous, immediate };
  }
  /** For stats(): { chosen, candidates: [{ url, rttMs, error? }] best first, failovers }. */
  stats() {
    return { chosen: this.chosen, candidates: this._cands.map((c) => ({ ...c })), failovers: this.failovers };
  }
};

// src/store.js
var DEFAULT_STORE_BYTES = 128 << 20;
var QUOTA_SHARE = 0.2;
var TOUCH_FLUSH_MS = 2e3;
var DB_NAME = "p2pcache-store";
var DB_VERSION = 1;
function req(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
__name(req, "req");
function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(tx.error ?? new Error("transaction aborted"));
  });
}
__name(done, "done");
var fileKey = /* @__PURE__ */ __name((relay, path) => `${relay} ${path}`, "fileKey");
var ChunkStore = class _ChunkStore {
  static {
    __name(this, "ChunkStore");
  }
  /**
   * Open (or create) the store. options: indexedDB (default
   * globalThis.indexedDB), maxBytes (DEFAULT_STORE_BYTES; clamped to
   * QUOTA_SHARE of navigator.storage.estimate()'s quota when known),
   * relay (the relay's base URL: files are kept per relay), onEvict(hash)
   * (a chunk left the store), log, name (the database name; tests).
   * Resolves null when there is no IndexedDB or it cannot be opened.
   */
  static async open({ indexedDB = globalThis.indexedDB, maxBytes = DEFAULT_STORE_BYTES, relay = "", onEvict = null, log = /* @__PURE__ */ __name(() => {
  }, "log"), name = DB_NAME, storage = globalThis.navigator?.storage } = {}) {
    if (!indexedDB || !(maxBytes > 0)) return null;
    let budget = Math.floor(maxBytes);
    try {
      const est = await storage?.estimate?.();
      if (est?.quota > 0) budget = Math.min(budget, Math.floor(est.quota * QUOTA_SHARE));
    } catch {
    }
    try {
      const open = indexedDB.open(name, DB_VERSION);
      open.onupgradeneeded = () => {
        const db2 = open.result;
        for (const s2 of ["chunks", "lru", "files"]) if (!db2.objectStoreNames.contains(s2)) db2.createObjectStore(s2);
      };
      open.onblocked = () => log("warn", "store: the database upgrade is blocked by another tab");
      const db = await req(open);
      const s = new _ChunkStore(db, { maxBytes: budget, relay, onEvict, log });
      await s._load();
      return s;
    } catch (e) {
      log("warn", `store: off: ${e?.message ?? e}`);
      return null;
    }
  }
  constructor(db, { maxBytes, relay, onEvict, log }) {
    this._db = db;
    this.maxBytes = maxBytes;
    this._relay = relay;
    this._onEvict = typeof onEvict === "function" ? onEvict : null;
    this._log = log;
    this._index = /* @__PURE__ */ new Map();
    this._files = /* @__PURE__ */ new Map();
    this._refs = /* @__PURE__ */ new Map();
    this.bytes = 0;
    this.evictions = 0;
    this.hits = 0;
    this.misses = 0;
    this.pending = 0;
    this._touched = /* @__PURE__ */ new Set();
    this._touchTimer = null;
    this._clock = 0;
    this._broken = false;
    this._closed = false;
    db.onversionchange = () => this.close();
  }
  async _load() {
    const tx = this._db.transaction(["lru", "files"], "readonly");
    const lru = tx.objectStore("lru");
    const [keys, vals, files] = await Promise.all([
      req(lru.getAllKeys()),
      req(lru.getAll()),
      req(tx.objectStore("files").getAll())
    ]);
    const entries = keys.map((k, i) => [k, vals[i]]).filter(([, v]) => v && v.size >= 0);
    entries.sort((a, b) => a[1].used - b[1].used);
    for (const [k, v] of entries) {
      this._index.set(k, { size: v.size, used: v.used });
      this.bytes += v.size;
      this._clock = Math.max(this._clock, v.used);
    }
    for (const f of files.sort((a, b) => (a.used ?? 0) - (b.used ?? 0))) {
      if (f?.relay !== this._relay || typeof f.path !== "string") continue;
      this._files.set(f.path, f);
      this._ref(f, 1);
    }
    if (this.bytes > this.maxBytes) await this._evict(0);
  }
  _ref(f, d) {
    for (const h of new Set(f.chunks)) {
      const n = (this._refs.get(h) ?? 0) + d;
      if (n > 0) this._refs.set(h, n);
      else this._refs.delete(h);
    }
  }
  /** Whether a chunk is (as far as this tab knows) in the store. */
  has(hash) {
    return !this._broken && this._index.has(hash);
  }
  /** Chunks indexed. */
  get size() {
    return this._index.size;
  }
  /** The stored files of this relay, least recently used first: [{ path, sha256, chunks, ... }]. */
  files() {
    return [...this._files.values()];
  }
  /** The stored file record of path, or undefined. */
  file(path) {
    return this._files.get(path);
  }
  /** A chunk's bytes, or undefined (a miss); marks it recently used. */
  async get(hash) {
    if (!this.has(hash)) {
      this.misses++;
      return void 0;
    }
    let v;
    try {
      v = await req(this._db.transaction("chunks", "readonly").objectStore("chunks").get(hash));
    } catch (e) {
      this._fail(e);
      return void 0;
    }
    if (!(v instanceof Uint8Array)) {
      this.misses++;
      this._forget(hash);
      return void 0;
    }
    this.hits++;
    this._touch(hash);
    return v;
  }
  _stamp() {
    this._clock = Math.max(Date.now(), this._clock + 1);
    return this._clock;
  }
  _touch(hash) {
    const e = this._index.get(hash);
    if (!e) return;
    e.used = this._stamp();
    this._index.delete(hash);
    this._index.set(hash, e);
    this._touched.add(hash);
    if (!this._touchTimer && !this._closed) {
      this._touchTimer = setTimeout(() => {
        this._touchTimer = null;
        this._flushTouches();
      }, TOUCH_FLUSH_MS);
    }
  }
  async _flushTouches() {
    const hs = [...this._touched].filter((h) => this._index.has(h));
    this._touched.clear();
    if (!hs.length || this._broken) return;
    try {
      const tx = this._db.transaction("lru", "readwrite");
      const lru = tx.objectStore("lru");
      for (const h of hs) lru.put({ ...this._index.get(h) }, h);
      await done(tx);
    } catch (e) {
      this._fail(e);
    }
  }
  /** Keep a verified chunk (a no-op for one already held, but a touch). Resolves whether it is stored. */
  async put(hash, bytes) {
    if (this._broken || this._closed) return false;
    if (this._index.has(hash)) {
      this._touch(hash);
      return true;
    }
    const size = bytes.byteLength;
    if (size > this.maxBytes) return false;
    const entry = { size, used: this._stamp() };
    this._index.set(hash, entry);
    this.bytes += size;
    this.pending++;
    try {
      await this._evict(0, hash);
      const tx = this._db.transaction(["chunks", "lru"], "readwrite");
      tx.objectStore("chunks").put(bytes.slice(), hash);
      tx.objectStore("lru").put(entry, hash);
      await done(tx);
      return true;
    } catch (e) {
      this._forget(hash);
      this._fail(e);
      return false;
    } finally {
      this.pending--;
    }
  }
  /** Evict least recently used chunks (never `keep`) until need more bytes fit the budget. */
  async _evict(need, keep = null) {
    const out = [];
    for (const [h, e] of this._index) {
      if (this.bytes + need <= this.maxBytes) break;
      if (h === keep) continue;
      out.push(h);
      this.bytes -= e.size;
    }
    if (!out.length) return;
    for (const h of out) this._index.delete(h);
    this.evictions += out.length;
    await this._delete(out);
    for (const h of out) this._onEvict?.(h);
    this._dropEmptyFiles();
  }
  async _delete(hashes) {
    try {
      const tx = this._db.transaction(["chunks", "lru"], "readwrite");
      for (const h of hashes) {
        tx.objectStore("chunks").delete(h);
        tx.objectStore("lru").delete(h);
      }
      await done(tx);
    } catch (e) {
      this._fail(e);
    }
  }
  _forget(hash) {
    const e = this._index.get(hash);
    if (!e) return;
    this._index.delete(hash);
    this.bytes -= e.size;
  }
  /** Files none of whose chunks are left are forgotten. */
  _dropEmptyFiles() {
    for (const f of [...this._files.values()]) {
      if (!f.chunks.some((h) => this._index.has(h))) this.dropFile(f.path, { keepChunks: true });
    }
  }
  /**
   * Remember manifest m as a stored file (its chunks as they get stored).
   * A different manifest stored for the same path is dropped first, with
   * the chunks no other file lists. Resolves whether the path's manifest
   * changed.
   */
  async putFile(m) {
    if (this._broken || this._closed) return false;
    const old = this._files.get(m.path);
    if (old?.sha256 === m.sha256) {
      old.used = this._stamp();
      return false;
    }
    const rec = {
      relay: this._relay,
      path: m.path,
      sha256: m.sha256,
      chunks: m.chunks,
      size: m.size,
      chunkSize: m.chunkSize,
      contentType: m.contentType ?? "",
      etag: m.etag ?? "",
      lastModified: m.lastModified ?? "",
      used: this._stamp()
    };
    this._ref(rec, 1);
    this._files.set(m.path, rec);
    if (old) await this._dropRecord(old);
    try {
      const tx = this._db.transaction("files", "readwrite");
      tx.objectStore("files").put(rec, fileKey(this._relay, m.path));
      await done(tx);
    } catch (e) {
      this._fail(e);
    }
    return !!old;
  }
  /**
   * Forget path's stored file and delete its chunks that no other stored
   * file lists (unless keepChunks).
   */
  async dropFile(path, { keepChunks = false } = {}) {
    const f = this._files.get(path);
    if (!f) return;
    this._files.delete(path);
    await this._dropRecord(f, { keepChunks, deleteRecord: true });
  }
  /** Release record f's chunk references and delete the chunks no stored file lists any more. */
  async _dropRecord(f, { keepChunks = false, deleteRecord = false } = {}) {
    this._ref(f, -1);
    const orphans = keepChunks ? [] : [...new Set(f.chunks)].filter((h) => !this._refs.has(h) && this._index.has(h));
    for (const h of orphans) this._forget(h);
    try {
      const tx = this._db.transaction(["files", "chunks", "lru"], "readwrite");
      if (deleteRecord) tx.objectStore("files").delete(fileKey(this._relay, f.path));
      for (const h of orphans) {
        tx.objectStore("chunks").delete(h);
        tx.objectStore("lru").delete(h);
      }
      await done(tx);
    } catch (e) {
      this._fail(e);
    }
    for (const h of orphans) this._onEvict?.(h);
  }
  /** stats().store */
  stats() {
    return { bytes: this.bytes, chunks: this._index.size, files: this._files.size, maxBytes: this.maxBytes, evictions: this.evictions, hits: this.hits, misses: this.misses, pending: this.pending };
  }
  _fail(e) {
    if (this._broken) return;
    this._broken = true;
    this._log("warn", `store: off after an error: ${e?.message ?? e}`);
  }
  /** Write back pending touches and close the database (idempotent). */
  close() {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this._touchTimer);
    this._touchTimer = null;
    const db = this._db;
    this._flushTouches().finally(() => {
      try {
        db.close();
      } catch {
      }
    });
  }
};

// src/options.js
var DEFAULTS = Object.freeze({
  timeoutMs: 5e3,
  serve: true,
  peerCacheBytes: 64 << 20,
  storeBytes: DEFAULT_STORE_BYTES,
  maxInFlight: 8,
  maxRequests: 24,
  requestTimeoutMs: 15e3,
  retryWindowMs: 1e4,
  pingIntervalMs: 1500,
  idleTimeoutMs: 8e3,
  reconnect: true,
  backoffBaseMs: 250,
  backoffMaxMs: 8e3
});
var TRANSPORTS = Object.freeze(["webrtc-tcp", "websocket", "http"]);
function defaultRelay() {
  try {
    const o = new URL(import.meta.url).origin;
    if (o && o !== "null" && /^https?:/.test(o)) return o;
  } catch {
  }
  return null;
}
__name(defaultRelay, "defaultRelay");
function relayOptions(o) {
  if (o.relays !== void 0) {
    if (o.relay !== void 0) throw new P2PCacheError("bad_option", "p2pcache: pass relay or relays, not both");
    if (o.discover) throw new P2PCacheError("bad_option", "p2pcache: discover takes one relay (relay), not a list");
    if (!Array.isArray(o.relays) || o.relays.length === 0) {
      throw new P2PCacheError("bad_option", "p2pcache: relays must be a non-empty array of relay URLs");
    }
    const urls = [];
    for (const r of o.relays) {
      const u = relayBase(r);
      if (!urls.includes(u) && urls.length < MAX_RELAYS) urls.push(u);
    }
    return { home: urls[0], urls, discover: false };
  }
  const relay = o.relay ?? defaultRelay();
  if (!relay) {
    throw new P2PCacheError("bad_option", "p2pcache: no relay URL: pass { relay } (the module was not loaded from an http(s) origin)");
  }
  const home = relayBase(relay);
  return { home, urls: [home], discover: o.discover === true };
}
__name(relayOptions, "relayOptions");

// src/sources.js
var SOURCES = Object.freeze(["relay", "peer", "origin", "cluster", "http", "local"]);
function emptySources() {
  return Object.fromEntries(SOURCES.map((k) => [k, 0]));
}
__name(emptySources, "emptySources");
function countSources(sources, httpChunks = 0) {
  const by = emptySources();
  for (const s of sources) by[s] = (by[s] ?? 0) + 1;
  by.http += httpChunks;
  return by;
}
__name(countSources, "countSources");
function mainSource(bySource) {
  let source = "relay";
  let most = -1;
  for (const [k, v] of Object.entries(bySource)) {
    if (v > most) {
      most = v;
      source = k;
    }
  }
  return source;
}
__name(mainSource, "mainSource");

// src/respond.js
function attach(res, info) {
  try {
    Object.defineProperty(res, "p2p", { value: info, enumerable: true });
    Object.defineProperty(res, "p2pDone", { value: Promise.resolve(info), enumerable: true });
  } catch {
  }
  return res;
}
__name(attach, "attach");
function bodyOf(bytes) {
  return new ReadableStream({
    start(c) {
      if (bytes.length) c.enqueue(bytes);
      c.close();
    }
  });
}
__name(bodyOf, "bodyOf");
function lastModified(m, fallback) {
  const lm = m?.lastModified ? new Date(m.lastModified) : null;
  if (lm && !isNaN(lm)) return lm.toUTCString();
  return fallback ?? null;
}
__name(lastModified, "lastModified");
function streamedResponse(m, bytes, info) {
  const headers = {
    "content-type": m.contentType || "application/octet-stream",
    "content-length": String(bytes.length),
    "x-p2pcache-source": info.source,
    "x-p2pcache-transport": info.transport
  };
  if (m.etag) headers.etag = m.etag;
  const lm = lastModified(m, null);
  if (lm) headers["last-modified"] = lm;
  return attach(new Response(bodyOf(bytes), { status: 200, headers }), info);
}
__name(streamedResponse, "streamedResponse");
function ladderResponse(path, fst, { manifest: m, bytes }, ms) {
  const bySource = countSources(fst.sources.values(), fst.httpChunks);
  const source = mainSource(bySource);
  const contentType = m?.contentType || fst.contentType || "application/octet-stream";
  const headers = {
    "content-type": contentType,
    "content-length": String(bytes.length),
    "x-p2pcache-source": source,
    "x-p2pcache-transport": fst.transport ?? "http"
  };
  const etag = m?.etag ?? fst.etag;
  if (etag) headers.etag = etag;
  const lm = lastModified(m, fst.lastModified);
  if (lm) headers["last-modified"] = lm;
  const info = Object.freeze({
    path,
    transport: fst.transport ?? "http",
    source,
    ms: Math.round(ms * 10) / 10,
    bytes: bytes.length,
    chunks: Object.values(bySource).reduce((a, b) => a + b, 0),
    bySource: Object.freeze(bySource),
    verified: fst.verified,
    verifyFailures: fst.verifyFailures,
    retries: fst.retries,
    fallbackReason: fst.fallback?.message ?? null,
    sha256: m?.sha256 ?? null
  });
  return attach(new Response(bodyOf(bytes), { status: 200, headers }), info);
}
__name(ladderResponse, "ladderResponse");

// src/stream.js
var HTTP_SPAN_CHUNKS = 8;
var LINK_WAIT_MS = 400;
var TERMINAL2 = /* @__PURE__ */ new Set(["not_found", "forbidden", "bad_path", "too_large", "aborted", "closed"]);
var LINK_LOST = /* @__PURE__ */ new Set(["disconnected", "timeout"]);
function parseRange(header, size) {
  if (typeof header !== "string" || header === "") return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || m[1] === "" && m[2] === "") return null;
  let start;
  let end;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0) return "unsatisfiable";
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== "" && Number(m[2]) < start) return null;
  }
  if (start >= size) return "unsatisfiable";
  return [start, end];
}
__name(parseRange, "parseRange");
var HttpSpans = class {
  static {
    __name(this, "HttpSpans");
  }
  constructor({ http, m, last, signal, count }) {
    this._http = http;
    this._m = m;
    this._last = last;
    this._signal = signal;
    this._count = count;
    this._pending = /* @__PURE__ */ new Map();
  }
  get(i) {
    if (!this._pending.has(i)) this._start(i);
    const p = this._pending.get(i);
    this._pending.delete(i);
    return p;
  }
  _start(i) {
    const m = this._m;
    let j = i;
    const want = Math.max(1, this._count(i));
    while (j < this._last && j + 1 - i < want && !this._pending.has(j + 1)) j++;
    const defer = [];
    for (let k2 = i; k2 <= j; k2++) {
      let d;
      const p = new Promise((resolve, reject) => d = { resolve, reject });
      p.catch(() => {
      });
      defer.push(d);
      this._pending.set(k2, p);
    }
    const start = chunkOffset(m, i);
    const end = chunkOffset(m, j) + chunkLength(m, j);
    let k = 0;
    this._http.range(m.path, start, end, m.etag, this._signal, (buf, filled) => {
      while (k < defer.length) {
        const off = chunkOffset(m, i + k) - start;
        const len = chunkLength(m, i + k);
        if (filled < off + len) break;
        defer[k++].resolve(buf.slice(off, off + len));
      }
    }).then(
      () => {
        const err = new P2PCacheError("protocol", `p2pcache: ${m.path}: HTTP range ${start}-${end - 1} ended short`);
        while (k < defer.length) defer[k++].reject(err);
      },
      (e) => {
        while (k < defer.length) defer[k++].reject(e);
      }
    );
  }
};
var Streamer = class {
  static {
    __name(this, "Streamer");
  }
  constructor(deps) {
    this._d = deps;
  }
  /**
   * Start fetching path (clean). Resolves, once the manifest is known, with
   * { response, done }: response is a Response (200, or 206 for a range)
   * whose body streams verified bytes; done resolves with
   * { manifest, bytes, info } when the body is complete (bytes: the span
   * fetched) and rejects with the error that ended it. opts: signal,
   * onProgress, range ([start, endInclusive] or an HTTP Range header
   * string), buffered (the caller reads done's bytes, not the body: the
   * body gets no copy of them and ends empty when done resolves).
   */
  async open(path, opts = {}) {
    const d = this._d;
    if (d.isClosed()) throw closedError();
    const t0 = now();
    await d.ready?.();
    const ctrl = new AbortController();
    const signal = mergeSignals(mergeSignals(d.closeSignal, opts.signal), ctrl.signal);
    const fst = {
      path,
      manifest: null,
      sources: /* @__PURE__ */ new Map(),
      loaded: 0,
      verifyFailures: 0,
      retries: 0,
      transport: null,
      framesBroken: false,
      fallback: null
    };
    const fail = /* @__PURE__ */ __name((e) => {
      if (d.isClosed()) return closedError();
      if (opts.signal?.aborted) return abortError(opts.signal);
      return e;
    }, "fail");
    let m;
    try {
      m = await this._manifest(path, signal, fst);
    } catch (e) {
      throw fail(e);
    }
    let range = opts.range ?? null;
    if (typeof range === "string") range = parseRange(range, m.size);
    if (range === "unsatisfiable" || range && !(range[0] >= 0 && range[1] >= range[0] && range[1] < m.size)) {
      throw new P2PCacheError("bad_range", `p2pcache: ${path}: range not satisfiable in ${m.size} bytes`, { status: 416, path });
    }
    const n = m.chunks.length;
    const first = range ? Math.floor(range[0] / m.chunkSize) : 0;
    const last = range ? Math.floor(range[1] / m.chunkSize) : n - 1;
    const lo = range ? range[0] : 0;
    const hi = range ? range[1] + 1 : m.size;
    let controller;
    const body = new ReadableStream({
      start: /* @__PURE__ */ __name((c) => {
        controller = c;
      }, "start"),
      cancel: /* @__PURE__ */ __name((reason) => ctrl.abort(reason ?? new P2PCacheError("aborted", "p2pcache: body cancelled")), "cancel")
    });
    const headers = {
      "content-type": m.contentType || "application/octet-stream",
      "content-length": String(hi - lo),
      "x-p2pcache-transport": fst.transport ?? "http",
      "accept-ranges": "bytes"
    };
    if (m.etag) headers.etag = m.etag;
    const lm = m.lastModified ? new Date(m.lastModified) : null;
    if (lm && !isNaN(lm)) headers["last-modified"] = lm.toUTCString();
    if (range) headers["content-range"] = `bytes ${lo}-${hi - 1}/${m.size}`;
    const response = new Response(body, { status: range ? 206 : 200, headers });
    const spans = new HttpSpans({
      http: d.http,
      m,
      last,
      signal,
      count: /* @__PURE__ */ __name(() => d.link() ? 1 : HTTP_SPAN_CHUNKS, "count")
    });
    d.holdings.trackFile(m);
    const done2 = transferChunks(m, {
      first,
      last,
      getChunk: /* @__PURE__ */ __name((i, hash, sig, attempt, into) => this._chunk(fst, spans, path, i, hash, sig, attempt, into), "getChunk"),
      localGet: /* @__PURE__ */ __name((h) => d.holdings.get(h), "localGet"),
      localPut: /* @__PURE__ */ __name((h, b) => d.holdings.put(h, b, m), "localPut"),
      onChunk: /* @__PURE__ */ __name(({ index, length, source }) => {
        if (!fst.sources.has(index)) {
          fst.sources.set(index, source);
          d.stats.bySource[source] = (d.stats.bySource[source] ?? 0) + 1;
          fst.loaded += length;
        }
        progress(opts.onProgress, { path, loaded: fst.loaded, total: hi - lo, index, source: fst.sources.get(index) }, d.log);
      }, "onChunk"),
      onRelease: opts.buffered ? null : (i, bytes) => {
        const off = chunkOffset(m, i);
        const a = Math.max(lo, off) - off;
        const b = Math.min(hi, off + bytes.length) - off;
        try {
          controller.enqueue(bytes.slice(a, b));
        } catch {
        }
      },
      onVerifyFailure: /* @__PURE__ */ __name((info) => d.onVerifyFailure(path, fst, info), "onVerifyFailure"),
      maxInFlight: d.maxInFlight,
      verifyRetries: 2,
      // the third try goes over HTTP (see _chunk)
      signal
    }).then(
      (bytes) => {
        if (first === 0 && last === n - 1) d.holdings.fileComplete(m);
        d.stats.files++;
        d.stats.bytes += hi - lo;
        try {
          controller.close();
        } catch {
        }
        return { manifest: m, bytes, info: this._info(path, fst, m, hi - lo, now() - t0) };
      },
      (e) => {
        const err = fail(e);
        try {
          controller.error(err);
        } catch {
        }
        throw err;
      }
    );
    done2.catch(() => {
    });
    try {
      Object.defineProperty(response, "p2pDone", { value: done2.then((r) => r.info), enumerable: true });
      response.p2pDone.catch(() => {
      });
    } catch {
    }
    return { response, done: done2, manifest: m };
  }
  async _manifest(path, signal, fst) {
    const d = this._d;
    const link = d.link() ?? (d.linkWaitMs > 0 ? await d.awaitLink(d.linkWaitMs, signal) : null);
    if (link) {
      fst.transport = link.transport;
      try {
        return await d.manifestFramed(path, signal);
      } catch (e) {
        if (d.isClosed() || signal.aborted || TERMINAL2.has(e?.code)) throw e;
        d.log("info", `${path}: manifest over HTTP: ${e.message}`);
        if (!LINK_LOST.has(e?.code)) {
          fst.framesBroken = true;
          fst.fallback = e;
        }
      }
    }
    fst.transport = "http";
    return d.http.manifest(path, signal);
  }
  /** One chunk by the per-chunk ladder: frames if a link is up (and they have not failed for this file), else HTTP. */
  async _chunk(fst, spans, path, i, hash, signal, attempt, into) {
    const d = this._d;
    if (attempt < 2 && !fst.framesBroken && d.link()) {
      try {
        const got = await d.chunkFramed(path, i, hash, signal, into);
        if (got.transport === "webrtc-tcp" || !fst.transport || fst.transport === "http") fst.transport = got.transport ?? fst.transport;
        return got;
      } catch (e) {
        if (d.isClosed() || signal.aborted || TERMINAL2.has(e?.code) || e?.code === "busy" || e?.code === "stale") throw e;
        if (!LINK_LOST.has(e?.code)) {
          fst.framesBroken = true;
          fst.fallback ??= e;
          d.log("info", `${path}: the rest over HTTP: ${e.message}`);
        }
      }
    }
    return { bytes: await spans.get(i), source: "http" };
  }
  _info(path, fst, m, bytes, ms) {
    const bySource = countSources(fst.sources.values());
    const source = mainSource(bySource);
    const transport = bySource.http === fst.sources.size && fst.sources.size > 0 ? "http" : fst.transport ?? "http";
    return Object.freeze({
      path,
      transport,
      source,
      ms: Math.round(ms * 10) / 10,
      bytes,
      chunks: fst.sources.size,
      bySource: Object.freeze(bySource),
      verified: true,
      verifyFailures: fst.verifyFailures,
      retries: fst.retries,
      fallbackReason: fst.fallback?.message ?? null,
      sha256: m.sha256
    });
  }
};

// src/sw/bridge.js
async function serveWorkerRequest(client, msg, port) {
  const post = /* @__PURE__ */ __name((m, transfer) => {
    try {
      port.postMessage(m, transfer);
    } catch {
    }
  }, "post");
  if (msg.relay !== client.home || typeof msg.path !== "string") {
    post({ type: "error", message: "not a request for this client", code: "unsupported" });
    return;
  }
  const ctrl = new AbortController();
  port.onmessage = (ev) => {
    if (ev.data?.type === "cancel") ctrl.abort(abortError(ctrl.signal));
  };
  post({ type: "accept" });
  try {
    const res = await client.fetch(msg.path, { stream: true, range: msg.range || void 0, signal: ctrl.signal });
    const headers = {};
    res.headers.forEach((v, k) => {
      headers[k] = v;
    });
    post({ type: "head", status: res.status, headers });
    const reader = res.body.getReader();
    for (; ; ) {
      const { done: done2, value } = await reader.read();
      if (done2) break;
      if (ctrl.signal.aborted) {
        reader.cancel().catch(() => {
        });
        return;
      }
      const copy = value.slice();
      post({ type: "chunk", bytes: copy.buffer }, [copy.buffer]);
    }
    post({ type: "end" });
  } catch (e) {
    if (!ctrl.signal.aborted) post({ type: "error", message: String(e?.message ?? e), code: e?.code ?? "error" });
  } finally {
    port.onmessage = null;
    try {
      port.close();
    } catch {
    }
  }
}
__name(serveWorkerRequest, "serveWorkerRequest");
function answerWorker(client, container = globalThis.navigator?.serviceWorker) {
  if (!container) return { stop() {
  } };
  const onMessage = /* @__PURE__ */ __name((ev) => {
    if (ev.data?.type === FETCH && ev.ports?.[0]) serveWorkerRequest(client, ev.data, ev.ports[0]);
  }, "onMessage");
  const sayReady = /* @__PURE__ */ __name(() => {
    try {
      container.controller?.postMessage({ type: READY, relay: client.home });
    } catch {
    }
  }, "sayReady");
  container.addEventListener("message", onMessage);
  container.addEventListener("controllerchange", sayReady);
  container.startMessages?.();
  sayReady();
  return {
    stop() {
      container.removeEventListener("message", onMessage);
      container.removeEventListener("controllerchange", sayReady);
    }
  };
}
__name(answerWorker, "answerWorker");
async function registerWorker(client, scriptURL, { container = globalThis.navigator?.serviceWorker, base = globalThis.location?.href, timeoutMs = 5e3, log = /* @__PURE__ */ __name(() => {
}, "log") } = {}) {
  if (!container) return { registration: null, controlled: false, error: "no service workers here (an insecure origin?)" };
  let registration = null;
  try {
    registration = await container.register(workerURL(scriptURL, client.home, base));
    if (!container.controller) {
      let t;
      await Promise.race([
        new Promise((r) => container.addEventListener("controllerchange", r, { once: true })),
        new Promise((r) => t = setTimeout(r, timeoutMs))
      ]);
      clearTimeout(t);
    }
  } catch (e) {
    log("warn", `service worker: ${e?.message ?? e}`);
    return { registration, controlled: !!container.controller, error: String(e?.message ?? e) };
  }
  try {
    container.controller?.postMessage({ type: READY, relay: client.home });
  } catch {
  }
  return { registration, controlled: !!container.controller, error: null };
}
__name(registerWorker, "registerWorker");

// src/client.js
var VERSION = "0.1.0";
var STORE_OPEN_WAIT_MS = 1e3;
var EventTargetBase = globalThis.EventTarget ?? class {
  addEventListener() {
  }
  removeEventListener() {
  }
  dispatchEvent() {
    return true;
  }
};
var Client = class extends EventTargetBase {
  static {
    __name(this, "Client");
  }
  constructor(options = {}) {
    super();
    const o = { ...DEFAULTS, ...options };
    const { home, urls, discover } = relayOptions(o);
    this.home = home;
    this._relays = new RelayChoice(urls);
    this._discover = discover;
    this._choice = Promise.resolve();
    this._opts = o;
    const fetchImpl = o.fetch ?? globalThis.fetch?.bind(globalThis);
    this._fetchImpl = fetchImpl;
    const token = tokenSource(o.token);
    this._token = token;
    const wsURL = /* @__PURE__ */ __name(async () => {
      const ws = new URL(this.relay + "/ws");
      ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";
      const t = await token();
      if (t) ws.searchParams.set("access_token", t);
      return ws.toString();
    }, "wsURL");
    const transports = o.transports ?? TRANSPORTS;
    const allowRTC = transports.includes("webrtc-tcp") && o.RTCPeerConnection !== null;
    const wsFrames = transports.includes("websocket");
    this._allowWS = wsFrames || allowRTC;
    this._timeoutMs = o.timeoutMs;
    this._early = o.early ?? !!o.serviceWorker;
    this._log = makeLog(o.log === true ? consoleLog : o.log);
    this._onErrorOpt = typeof o.onError === "function" ? o.onError : null;
    this._closed = false;
    this._closeCtrl = new AbortController();
    this._urls = new ObjectURLs();
    this._observers = /* @__PURE__ */ new Set();
    this._cleanups = [];
    this.serviceWorker = null;
    this._stats = { files: 0, bytes: 0, bySource: emptySources(), verifyFailures: 0, sourcesKnown: false };
    this._conn = new Connection({
      WebSocket: o.WebSocket ?? globalThis.WebSocket ?? null,
      RTCPeerConnection: allowRTC ? o.RTCPeerConnection ?? globalThis.RTCPeerConnection ?? null : null,
      wsURL,
      serve: o.serve !== false,
      wsFrames,
      useWS: this._allowWS,
      timeoutMs: o.timeoutMs,
      rtcTimeoutMs: o.webrtcTimeoutMs ?? Math.min(o.timeoutMs, 4e3),
      reconnect: o.reconnect,
      backoffBaseMs: o.backoffBaseMs,
      backoffMaxMs: o.backoffMaxMs,
      pingIntervalMs: o.pingIntervalMs,
      idleTimeoutMs: o.idleTimeoutMs,
      log: this._log,
      allocId: /* @__PURE__ */ __name(() => this._requests.allocId(), "allocId"),
      onTransport: /* @__PURE__ */ __name((transport, previous) => this._emit("transport", { transport, previous }), "onTransport"),
      onDataChannel: /* @__PURE__ */ __name(() => this._holdings.announceAll(), "onDataChannel"),
      onConnected: /* @__PURE__ */ __name(() => this._relays.connected(), "onConnected"),
      onAttemptFailed: /* @__PURE__ */ __name(() => this._attemptFailed(), "onAttemptFailed"),
      onLost: /* @__PURE__ */ __name((session, err) => {
        this._requests.failOwner(session, err);
        this._holdings.connectionLost();
      }, "onLost"),
      onMessage: /* @__PURE__ */ __name((data, link) => dispatchFrame(data, link, {
        requests: this._requests,
        onPong: /* @__PURE__ */ __name((f) => this._conn.onPong(f), "onPong"),
        onGetChunk: /* @__PURE__ */ __name((f, l) => this._holdings.serveChunk(f, l), "onGetChunk"),
        log: this._log
      }), "onMessage"),
      onRelayError: /* @__PURE__ */ __name((err) => this._emitError(err), "onRelayError")
    });
    this._requests = new Requests({
      link: /* @__PURE__ */ __name(() => this._conn.link(), "link"),
      limit: /* @__PURE__ */ __name(() => this._maxRequests(), "limit"),
      timeoutMs: o.requestTimeoutMs,
      isReserved: /* @__PURE__ */ __name((id) => this._conn.pingPending(id), "isReserved")
    });
    this._holdings = new Holdings({
      serve: o.serve !== false,
      maxBytes: o.peerCacheBytes,
      log: this._log,
      haveLink: /* @__PURE__ */ __name(() => this._conn.dataChannelLink(), "haveLink"),
      maxMessageSize: /* @__PURE__ */ __name(() => this._conn.hello?.maxMessageSize, "maxMessageSize")
    });
    this._storeReady = ChunkStore.open({
      indexedDB: o.indexedDB === void 0 ? globalThis.indexedDB : o.indexedDB,
      maxBytes: o.storeBytes,
      relay: this.home,
      onEvict: /* @__PURE__ */ __name((h) => this._holdings.storeEvicted(h), "onEvict"),
      log: this._log
    }).then(
      (store) => {
        if (store && this._closed) store.close();
        else if (store) this._holdings.attachStore(store);
      },
      () => {
      }
    );
    this._storeWait = new Promise((resolve) => {
      const t = setTimeout(resolve, STORE_OPEN_WAIT_MS);
      this._storeReady.then(() => {
        clearTimeout(t);
        resolve();
      });
    });
    this._http = new HttpFallback({
      relay: this.relay,
      token: staticToken(o.token),
      tokenSource: token,
      fetch: fetchImpl,
      isClosed: /* @__PURE__ */ __name(() => this._closed, "isClosed"),
      onVerifyFailure: /* @__PURE__ */ __name((path, fst, info) => this._verifyFailure(path, fst, info), "onVerifyFailure"),
      log: this._log
    });
    this._ladder = new Ladder({
      conn: this._conn,
      requests: this._requests,
      holdings: this._holdings,
      http: this._http,
      stats: this._stats,
      allowWS: this._allowWS,
      timeoutMs: o.timeoutMs,
      retryWindowMs: o.retryWindowMs,
      maxInFlight: o.maxInFlight,
      isClosed: /* @__PURE__ */ __name(() => this._closed, "isClosed"),
      log: this._log,
      onVerifyFailure: /* @__PURE__ */ __name((path, fst, info) => this._verifyFailure(path, fst, info), "onVerifyFailure")
    });
    this._streamer = new Streamer({
      // the store, and the relay to use
      ready: /* @__PURE__ */ __name(() => Promise.all([this._storeWait, this._choice]), "ready"),
      link: /* @__PURE__ */ __name(() => this._conn.link(), "link"),
      awaitLink: /* @__PURE__ */ __name((ms, signal) => this._allowWS && this._conn.hopeful ? this._conn.awaitLink(ms, signal) : null, "awaitLink"),
      linkWaitMs: o.linkWaitMs ?? (o.serviceWorker ? LINK_WAIT_MS : 0),
      manifestFramed: /* @__PURE__ */ __name((path, signal) => this._ladder.manifestFramed(path, signal), "manifestFramed"),
      chunkFramed: /* @__PURE__ */ __name((path, i, hash, signal, into) => this._ladder.chunkFramed(path, i, hash, signal, into), "chunkFramed"),
      http: this._http,
      holdings: this._holdings,
      stats: this._stats,
      onVerifyFailure: /* @__PURE__ */ __name((path, fst, info) => this._verifyFailure(path, fst, info), "onVerifyFailure"),
      isClosed: /* @__PURE__ */ __name(() => this._closed, "isClosed"),
      closeSignal: this._closeCtrl.signal,
      maxInFlight: o.maxInFlight,
      log: this._log
    });
  }
  /** The relay in use: the one chosen among several (relays, discover), else relay. */
  get relay() {
    return this._relays.chosen;
  }
  // -- relay choice -----------------------------------------------------------------
  /**
   * Choose the relay: discover home's cluster (discover), then measure
   * the candidates and take the lowest RTT (relays.js). Nothing to do for
   * one relay. Never rejects.
   */
  async _chooseRelay() {
    try {
      const budgetMs = Math.min(PROBE_BUDGET_MS, this._timeoutMs);
      let urls = this._relays.stats().candidates.map((c) => c.url);
      if (this._discover) {
        urls = await discoverRelays(this.home, { fetch: this._fetchImpl, timeoutMs: budgetMs, log: this._log });
      }
      if (urls.length < 2 || this._closed) return;
      const measured = await measureRelays(urls, { fetch: this._fetchImpl, budgetMs, log: this._log });
      if (this._closed) return;
      this._relays.rank(measured);
      this._relayChanged(null, "rtt");
    } catch (e) {
      this._log("error", "relay choice failed", e);
    }
  }
  /** A connection attempt failed: the choice may move to another relay (null: stay). */
  _attemptFailed() {
    const move = this._relays.attemptFailed();
    if (move) this._relayChanged(move.previous, "failover");
    return move;
  }
  _relayChanged(previous, reason) {
    const relay = this.relay;
    this._http.relay = relay;
    const rttMs = this._relays.stats().candidates.find((c) => c.url === relay)?.rttMs ?? null;
    this._log("info", `relay: ${relay} (${reason}${rttMs === null ? "" : `, ${rttMs} ms`}${previous ? `, was ${previous}` : ""})`);
    this._emit("relay", { relay, previous, reason, rttMs });
  }
  // -- events -------------------------------------------------------------------
  _emit(type, detail) {
    try {
      const Ev = globalThis.CustomEvent;
      if (Ev) this.dispatchEvent(new Ev(type, { detail }));
    } catch (e) {
      this._log("error", `p2pcache: ${type} listener threw`, e);
    }
  }
  _emitError(err) {
    this._emit("error", { error: err });
    if (this._onErrorOpt) {
      try {
        this._onErrorOpt(err);
      } catch {
      }
    }
  }
  _verifyFailure(path, fst, info) {
    this._stats.verifyFailures++;
    fst.verifyFailures++;
    const detail = { path, ...info };
    this._log("warn", `verification failed: ${path} chunk ${info.index}`, detail);
    this._emit("verifyfailure", detail);
    if (this._onErrorOpt) {
      const err = new P2PCacheError("verify_failed", `p2pcache: ${path}: ${info.index < 0 ? "file" : "chunk " + info.index} failed verification`, { path });
      err.detail = detail;
      try {
        this._onErrorOpt(err);
      } catch {
      }
    }
  }
  /** The relay answers ERROR busy past its per-peer limit; keep all fetches together under it. */
  _maxRequests() {
    const relayMax = this._conn.hello?.maxRequests;
    const mine = this._opts.maxRequests;
    return Number.isInteger(relayMax) && relayMax > 0 ? Math.max(1, Math.min(mine, relayMax - 2)) : mine;
  }
  // -- public API ------------------------------------------------------------------
  /**
   * Fetch a file. Resolves with a standard Response (status 200) whose bytes
   * have been verified against the manifest, or rejects with a
   * P2PCacheError (see its `code`; not_found has status 404).
   * opts: { onProgress({ path, loaded, total, index?, source }), signal,
   * stream, range }
   */
  async fetch(path, opts = {}) {
    const clean = normalizePath(path);
    if (this._closed) throw closedError();
    if (opts.stream || opts.range || this._early) return this._fetchStreamed(clean, opts);
    const t0 = now();
    const fst = newFetchState(clean);
    const result = await this._ladder.run(clean, fst, {
      onProgress: typeof opts.onProgress === "function" ? opts.onProgress : null,
      signal: mergeSignals(this._closeCtrl.signal, opts.signal),
      userSignal: opts.signal
    });
    this._stats.files++;
    this._stats.bytes += result.bytes.length;
    return ladderResponse(clean, fst, result, now() - t0);
  }
  /**
   * The streamed path (stream, range or early): resolves at the manifest
   * with a streaming Response; without opts.stream (early mode), once the
   * whole body is verified, as a buffered Response like the ladder's (the
   * Streamer counted it in stats).
   */
  async _fetchStreamed(clean, opts) {
    const buffered = !opts.stream && !opts.range;
    const { response, done: done2 } = await this._streamer.open(clean, buffered ? { ...opts, buffered } : opts);
    if (!buffered) return response;
    const { manifest, bytes, info } = await done2;
    return streamedResponse(manifest, bytes, info);
  }
  /**
   * Fetch a file and return a URL for it to use as an element's src: an
   * object URL (revoked by close() or revokeObjectURL()) when its content
   * type is passive (passive.js: raster images, audio, video, fonts) or the
   * client has allowActiveTypes; otherwise the relay's /files URL, which
   * the browser loads from the relay's origin under its headers.
   */
  async objectURL(path, opts = {}) {
    const res = await this.fetch(path, opts);
    if (!this._opts.allowActiveTypes && !isPassiveType(res.headers.get("content-type"))) {
      res.body?.cancel?.().catch(() => {
      });
      return this._http.freshURL("files", normalizePath(path));
    }
    const blob = await res.blob();
    if (this._closed) throw closedError();
    return this._urls.create(blob);
  }
  /** Revoke an object URL made by objectURL() or autoload(). */
  revokeObjectURL(url) {
    this._urls.revoke(url);
  }
  /**
   * Load every element with a data-p2p-src attribute under root (default
   * document) through the client, setting its src to an object URL as soon as
   * the file is complete; elements added or changed later are picked up too
   * (MutationObserver). Each element gets data-p2p-state="loading|loaded|error"
   * and the events p2pprogress, p2pload (detail: res.p2p) and p2perror (detail: { error }).
   * Returns { ready: Promise (the elements present now settled), stop() }.
   */
  autoload(root = globalThis.document, opts = {}) {
    const host = {
      fetch: /* @__PURE__ */ __name((path, o) => this.fetch(path, o), "fetch"),
      isClosed: /* @__PURE__ */ __name(() => this._closed, "isClosed"),
      urls: this._urls,
      observers: this._observers,
      log: this._log,
      allowActiveTypes: this._opts.allowActiveTypes === true,
      fileURL: /* @__PURE__ */ __name((path) => this._http.freshURL("files", normalizePath(path)), "fileURL")
    };
    return autoload(host, root, opts);
  }
  /** A snapshot of the client's state and counters. */
  stats() {
    const s = this._stats;
    const conn = this._conn;
    const rtt = conn.rtt;
    return {
      transport: conn.transport,
      rttMs: rtt === null ? null : Math.round(rtt * 10) / 10,
      files: s.files,
      bytes: s.bytes,
      bySource: { ...s.bySource },
      sourcesKnown: s.sourcesKnown,
      verifyFailures: s.verifyFailures,
      peerId: conn.hello?.peerId ?? null,
      connected: !!conn.link(),
      closed: this._closed,
      reconnects: conn.reconnects,
      inFlight: this._requests.size,
      cache: this._holdings.cacheStats(),
      store: this._holdings.storeStats(),
      served: this._holdings.servedStats(),
      connect: conn.connectTimes ? { ...conn.connectTimes } : null,
      relays: this._relays.stats()
    };
  }
  /**
   * The RTCPeerConnection of the current connection (null on the WebSocket
   * and HTTP rungs), for diagnostics such as getStats(): which ICE candidate
   * pair carries the data channel. Do not close or renegotiate it.
   */
  get peerConnection() {
    return this._conn.session?.pc ?? null;
  }
  /** Release everything: connections, timers, object URLs; pending fetches reject with code 'closed'. */
  close() {
    if (this._closed) return;
    this._closed = true;
    const err = closedError();
    this._requests.close(err);
    this._closeCtrl.abort(err);
    this._conn.close();
    for (const mo of this._observers) mo.disconnect();
    this._observers.clear();
    this._urls.revokeAll();
    this._holdings.close();
    for (const f of this._cleanups.splice(0)) {
      try {
        f();
      } catch {
      }
    }
  }
};
async function connect(options = {}) {
  const c = new Client(options);
  if (options.serviceWorker) c._cleanups.push(answerWorker(c).stop);
  c._choice = c._chooseRelay();
  const started = c._choice.then(() => c._conn.start());
  await c._storeWait;
  const early = options.early ?? !!options.serviceWorker;
  if (options.serviceWorker) {
    const sw = await registerWorker(c, options.serviceWorker, { timeoutMs: c._timeoutMs, log: c._log });
    c.serviceWorker = Object.freeze(sw);
  }
  if (early) started.catch(() => {
  });
  else await started;
  return c;
}
__name(connect, "connect");

// src/index.js
var index_default = connect;
export {
  Client,
  P2PCacheError,
  VERSION,
  connect,
  index_default as default
};
