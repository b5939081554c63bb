// Type declarations for p2pcache.js, the bundle of src/index.js (hand-written;
// keep in step with src/index.js: test/dts.test.js pins the exports).
//
// This is the public API only. The SDK's internals (frame, signal and
// manifest codecs, paths, SHA-256, ...) are the package's "./wire" subpath
// (src/wire.js), for tests and tools, and are not declared here.

/** Which rung of the ladder carries fetches now. */
export type Transport = 'webrtc-tcp' | 'websocket' | 'http';

/**
 * Where a chunk's bytes came from. Over frames, as the relay states: relay
 * (its cache, or unstated), peer (another browser), origin (fetched for
 * this request), cluster (another relay of its mesh); http: the /files/
 * fallback; local: this tab's chunk cache and store.
 */
export type Source = 'relay' | 'peer' | 'origin' | 'cluster' | 'http' | 'local';

export type BySource = Record<Source, number>;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface ConnectOptions {
  /** Relay base URL, http(s). Default: the origin this module was loaded from. */
  relay?: string;
  /**
   * Candidate relays instead of relay (http(s) base URLs, at most 16 are
   * used): connect() times each (3 × GET /readyz, all at once, within
   * min(2000, timeoutMs) ms) and connects to the lowest RTT; relays that do
   * not answer rank last. When the chosen relay cannot be reached (at
   * connect, or after it went away and 2 reconnects to it failed) the
   * client moves to the next by RTT: a 'relay' event, and fetches under
   * way carry on there. The first relay listed is the
   * client's home (service worker routing, tab store). Not with relay.
   */
  relays?: string[];
  /**
   * Take the candidates from relay's cluster: GET <relay>/cluster lists
   * the relays of its mesh (http(s) URLs only, at most 16; 404 or no
   * answer: relay alone), then as relays. The access token goes to
   * whichever relay is chosen: discover only relays you trust.
   */
  discover?: boolean;
  /**
   * Access token, sent as the access_token query parameter on /ws, /files/
   * and /manifest/. Either a string, or a function returning one (or a
   * promise of one; null for none): it is called for every connect and
   * reconnect and for every HTTP request, so short-lived tokens stay fresh.
   * When the relay ends a session because its token expired (code
   * token_expired) the client reconnects at once, asking for a new token.
   * A function that throws fails the request with code 'forbidden'.
   */
  token?: string | (() => string | null | undefined | Promise<string | null | undefined>);
  /**
   * Let objectURL() and autoload() make blob: URLs for any content type.
   * Default false: only passive types (raster images other than SVG, audio,
   * video, fonts) become blob: URLs; any other file gets the relay's /files
   * URL, so it loads from the relay's origin under the relay's headers
   * rather than running in the page's origin.
   */
  allowActiveTypes?: boolean;
  /** Budget for connect() in ms (it resolves, on some rung, within about this). Default 5000. */
  timeoutMs?: number;
  /** Budget of the WebRTC rung. Default min(timeoutMs, 4000). */
  webrtcTimeoutMs?: number;
  /** Byte bound of the in-memory chunk cache (peer role and local repeat fetches). Default 64 MiB. */
  peerCacheBytes?: number;
  /**
   * Byte budget of the persistent tab store (IndexedDB, shared by the
   * site's tabs): verified chunks kept across page loads, least recently
   * used out first, served as source 'local' and announced to the relay
   * (HAVE) after reconnecting; a file whose manifest changed is dropped.
   * Default 128 MiB, at most a fifth of the origin's storage quota; 0 turns
   * it off.
   */
  storeBytes?: number;
  /**
   * Resolve connect() at once instead of waiting for the best rung: a fetch
   * then starts on whatever is ready (the WebSocket, else HTTP; see
   * linkWaitMs) and its later chunks move to WebRTC as soon as the data
   * channel opens. Default false (true with serviceWorker).
   */
  early?: boolean;
  /**
   * How long a fetch waits for the WebSocket while the connection is being
   * made before taking HTTP. Default 0 (the fastest rung that is ready),
   * 400 with serviceWorker (so a page's images stay off /files).
   */
  linkWaitMs?: number;
  /**
   * Service-worker mode: the URL of p2pcache-sw.js on the page's own origin
   * (copy it from the relay's /p2pcache-sw.js). connect() registers it,
   * waits until it controls the page (it claims the page on first load)
   * and answers its requests: from then on every GET the page makes for
   * <relay>/files/<path> (plain <img src>, srcset, CSS url(), fetch) goes
   * through this client, verified, with the network as the fallback.
   * Call connect() from the page's first module script, not later.
   */
  serviceWorker?: string;
  /**
   * Peer role. true: announce the chunks held in the chunk cache to the relay
   * (HAVE frames over the data channel) and serve them when the relay asks.
   * false: opt out (a metered network, say): the offer says serve: false, no
   * HAVE is sent and the relay's GET_CHUNK is refused. Default true.
   */
  serve?: boolean;
  /** GET_CHUNK requests in flight per fetch. Default 8. */
  maxInFlight?: number;
  /** Requests in flight over all fetches (the relay answers busy past its own limit, 32 by default). Default 24. */
  maxRequests?: number;
  /** A request with no answer for this long fails with code 'timeout'. Default 15000. */
  requestTimeoutMs?: number;
  /** How long a fetch caught by a lost connection keeps waiting for the relay to come back (restart) before failing. Default 10000. */
  retryWindowMs?: number;
  /** Interval of the client's RTT pings. Default 1500. */
  pingIntervalMs?: number;
  /** A connection with nothing heard for this long is dropped and re-made (the relay pings every second). Default 8000. */
  idleTimeoutMs?: number;
  /** Reconnect after the relay goes away (exponential backoff with jitter). Default true. */
  reconnect?: boolean;
  /** First reconnect delay. Default 250. */
  backoffBaseMs?: number;
  /** Longest reconnect delay. Default 8000. */
  backoffMaxMs?: number;
  /** Restrict the ladder, e.g. ['websocket', 'http'] or ['http']. Default all three. */
  transports?: Transport[];
  /** Logging: a function, or true for the console. Default: silent. */
  log?: boolean | ((level: LogLevel, message: string, ...data: unknown[]) => void);
  /** Called for non-fatal problems (verification failures, relay refusals). */
  onError?: (error: P2PCacheError) => void;
  /** Injected implementations (tests, non-browser hosts). RTCPeerConnection: null disables WebRTC. */
  WebSocket?: typeof WebSocket;
  RTCPeerConnection?: typeof RTCPeerConnection | null;
  fetch?: typeof fetch;
  /** Injected IndexedDB for the store (tests); null turns the store off. */
  indexedDB?: IDBFactory | null;
}

export interface ProgressEvent {
  path: string;
  /** Bytes verified so far (HTTP rung: bytes received so far). */
  loaded: number;
  total: number;
  /** Chunk index, over frames. */
  index?: number;
  source: Source;
}

export interface FetchOptions {
  /** Called after every verified chunk (HTTP rung: as bytes arrive). */
  onProgress?: (progress: ProgressEvent) => void;
  signal?: AbortSignal;
  /**
   * Resolve as soon as the manifest is known, with a body that streams each
   * chunk once it is verified, in order (a progressive image paints as it
   * arrives). A chunk failing verification is fetched again (the third
   * try over HTTP). res.p2pDone resolves with the FetchInfo.
   */
  stream?: boolean;
  /** A byte range: [start, endInclusive] or an HTTP Range header ('bytes=0-99'). Streams a 206 response. */
  range?: [number, number] | string;
}

/** Per-fetch details, on the Response as res.p2p. */
export interface FetchInfo {
  readonly path: string;
  readonly transport: Transport;
  /** The source of most chunks (also the x-p2pcache-source header). */
  readonly source: Source;
  readonly ms: number;
  readonly bytes: number;
  readonly chunks: number;
  readonly bySource: Readonly<BySource>;
  /** False only for an HTTP-fallback body for which no manifest could be had. */
  readonly verified: boolean;
  readonly verifyFailures: number;
  readonly retries: number;
  /** Why frames were abandoned for HTTP, if they were. */
  readonly fallbackReason: string | null;
  readonly sha256: string | null;
}

/**
 * A standard Response (status 200, content-type, content-length, etag,
 * last-modified when known, x-p2pcache-source, x-p2pcache-transport).
 */
export interface P2PResponse extends Response {
  /** The fetch's details (buffered responses; a streamed one has p2pDone only). */
  readonly p2p: FetchInfo;
  /** Resolves with the FetchInfo once the body is complete (at once for a buffered response); rejects with what ended a stream. */
  readonly p2pDone: Promise<FetchInfo>;
}

export interface Stats {
  transport: Transport;
  /** Smoothed round trip of PING/PONG on the current link; null on HTTP. */
  rttMs: number | null;
  /** Files fetched successfully. */
  files: number;
  /** Bytes of those files. */
  bytes: number;
  /**
   * Chunks by where they came from: relay, peer, origin and cluster as
   * the relay labels each CHUNK (an older relay labels none: all count as
   * relay; so do labels this SDK does not know), http for the /files rung,
   * local for this tab's cache and store.
   */
  bySource: BySource;
  /** Whether the relay labels chunk sources (PROTOCOL.md §2); false until it labelled one. */
  sourcesKnown: boolean;
  /** Chunks or files that failed verification (never handed to the page). */
  verifyFailures: number;
  peerId: string | null;
  connected: boolean;
  closed: boolean;
  reconnects: number;
  inFlight: number;
  cache: { bytes: number; chunks: number; maxBytes: number; evictions: number };
  /**
   * The persistent tab store; null when there is none (storeBytes 0, no
   * IndexedDB). pending: chunk writes not committed yet (a page that
   * navigates away before they commit loses those chunks, not the others).
   */
  store: { bytes: number; chunks: number; files: number; maxBytes: number; evictions: number; hits: number; misses: number; pending: number } | null;
  /**
   * Peer role: chunks served to the relay, bytes, requests for chunks not
   * held, HAVE frames sent, and files announced on the current data channel.
   */
  served: { chunks: number; bytes: number; misses: number; haveFrames: number; announcedFiles: number };
  /** Milestones of the latest connection attempt; null before the first. */
  connect: ConnectTimings | null;
  /** The relay in use and the candidates it was chosen from (one, unmeasured, without relays or discover). */
  relays: RelayStats;
}

export interface RelayCandidate {
  url: string;
  /** Measured round trip (the fastest /readyz after the first); null when unreachable (see error) or not measured (a single candidate). */
  rttMs: number | null;
  /** Why it could not be measured. */
  error?: string;
}

export interface RelayStats {
  /** The relay in use (client.relay). */
  chosen: string;
  /** Best first. */
  candidates: RelayCandidate[];
  /** Times the client moved to another relay because it could not reach the chosen one. */
  failovers: number;
}

export interface RelayEventDetail {
  /** The relay chosen now. */
  relay: string;
  /** The one before (null for the first choice, made during connect()). */
  previous: string | null;
  /** rtt: chosen by measurement at connect; failover: the previous one could not be reached. */
  reason: 'rtt' | 'failover';
  rttMs: number | null;
}

/**
 * Milestones of one connection, in ms since it began (the WebSocket was
 * created); null for a milestone not reached (yet, or at all: the WebRTC
 * ones on the WebSocket rung).
 */
export interface ConnectTimings {
  /** WebSocket open. */
  ws: number | null;
  /** The relay's hello arrived. */
  hello: number | null;
  /** The SDP offer was sent. */
  offer: number | null;
  /** The relay's answer arrived. */
  answer: number | null;
  /** ICE connected: the TCP connection to the relay's ICE port and its STUN checks. */
  ice: number | null;
  /** The peer connection is connected (DTLS handshake done). */
  dtls: number | null;
  /** The data channel opened (SCTP association up). */
  dataChannel: number | null;
}

export interface AutoloadOptions {
  /** Attribute holding the path. Default 'data-p2p-src'. */
  attribute?: string;
  /** Watch for elements added or changed later. Default true. */
  observe?: boolean;
  /** On a failed fetch, set the element to the relay's /files URL (what the page shows without the SDK). Default true. */
  fallback?: boolean;
}

export interface AutoloadHandle {
  /** Settles when the elements present at the call have loaded or failed. */
  ready: Promise<void>;
  stop(): void;
}

export interface VerifyFailureDetail {
  path: string;
  /** Chunk index; -1 for a whole file fetched over HTTP. */
  index: number;
  expected: string;
  actual: string;
  attempt: number;
  source: string;
}

export interface ClientEventMap {
  transport: CustomEvent<{ transport: Transport; previous: Transport }>;
  /** The relay in use was chosen among several, or changed (failover). */
  relay: CustomEvent<RelayEventDetail>;
  verifyfailure: CustomEvent<VerifyFailureDetail>;
  error: CustomEvent<{ error: P2PCacheError }>;
}

export declare class Client extends EventTarget {
  constructor(options?: ConnectOptions);
  /** The relay base URL in use (with relays or discover: the one chosen, changed by a failover). */
  readonly relay: string;
  /**
   * The relay the client is named for: relay, or the first of relays. The
   * service worker routes <home>/files/ URLs and the tab store keeps files
   * under it (the relays of one cluster serve one origin, so they share
   * it); every chunk is still verified against the manifest of the relay
   * in use.
   */
  readonly home: string;
  /** Service-worker mode: how the registration went (null without serviceWorker). */
  readonly serviceWorker: { registration: ServiceWorkerRegistration | null; controlled: boolean; error: string | null } | null;
  /**
   * The RTCPeerConnection of the current connection, null on the WebSocket
   * and HTTP rungs. For diagnostics such as getStats() (which ICE candidate
   * pair carries the data channel); do not close or renegotiate it.
   */
  readonly peerConnection: RTCPeerConnection | null;
  /**
   * Fetch a file (path relative to the origin; a leading '/' is fine).
   * Resolves with a Response of verified bytes; rejects with a P2PCacheError
   * (code 'not_found' with status 404, 'bad_path', 'forbidden', 'too_large',
   * 'verify_failed', 'network', 'closed', 'aborted', ...).
   */
  fetch(path: string, options?: FetchOptions): Promise<P2PResponse>;
  /**
   * fetch() into a URL for an element's src: an object URL (revoked by
   * close() or revokeObjectURL()) for passive content types, or the relay's
   * /files URL for any other type unless allowActiveTypes.
   */
  objectURL(path: string, options?: FetchOptions): Promise<string>;
  revokeObjectURL(url: string): void;
  /**
   * Load every marked element under root through the client:
   * <img data-p2p-src>, <img data-p2p-srcset sizes> (the candidate a browser
   * would pick), <picture> with <source data-p2p-srcset type media>, and
   * data-p2p-bg (a CSS background); loading="lazy" waits for the viewport.
   * Sets data-p2p-state (lazy, loading, loaded, error) and fires
   * p2pprogress, p2pload (detail: FetchInfo) and p2perror (detail:
   * { error }) on the element.
   */
  autoload(root?: Document | Element, options?: AutoloadOptions): AutoloadHandle;
  stats(): Stats;
  /** Release everything; pending fetches reject with code 'closed'. */
  close(): void;
  addEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: (ev: ClientEventMap[K]) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: (ev: ClientEventMap[K]) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

/** Connect to a relay; resolves on whichever rung works within about timeoutMs. Rejects only for bad options. */
export declare function connect(options?: ConnectOptions): Promise<Client>;
export default connect;

export type ErrorCodeName =
  | 'bad_request'
  | 'not_found'
  | 'origin_error'
  | 'stale'
  | 'too_large'
  | 'busy'
  | 'forbidden'
  | 'internal'
  | 'cancelled'
  | 'unsupported'
  | 'unknown_chunk'
  | 'bad_path'
  | 'verify_failed'
  | 'timeout'
  | 'disconnected'
  | 'closed'
  | 'aborted'
  | 'network'
  | 'http_error'
  | 'protocol'
  | 'bad_frame'
  | 'unknown_type'
  | 'bad_version'
  | 'bad_manifest'
  | 'bad_signal'
  | 'bad_option'
  | 'bad_range';

export declare class P2PCacheError extends Error {
  constructor(code: string, message: string, extra?: { status?: number; remoteCode?: number; path?: string; cause?: unknown });
  readonly name: 'P2PCacheError' | 'FrameError';
  readonly code: ErrorCodeName | (string & {});
  /** HTTP-like status (404 for not_found, 400 bad_path, 403 forbidden, 413 too_large, 502 verify_failed/origin_error, ...), 0 if none. */
  readonly status: number;
  /** The ERROR frame's numeric code, when the relay sent one. */
  readonly remoteCode?: number;
  readonly path?: string;
}

/** The SDK version, e.g. '0.1.0'. */
export declare const VERSION: string;
