// A TCP forwarder for the end-to-end tests, optionally shaping the link: a
// one-way delay on every byte in each direction, a connection set-up delay
// of one round trip (the TCP handshake the forwarder answers at once) and a
// rate limit per direction shared by all connections. Plain TCP, so it
// carries HTTP, WebSockets and ICE-TCP (RFC 4571 framing) alike.
//
// The harness uses it twice: in this process, from 127.0.0.1 to the
// relay's HTTP port in the namespace (pages are served from loopback, a
// secure context, so crypto.subtle and service workers work without
// flags); and, for shaped tests, as a process of its own inside the
// relay's namespace (spawnForwarder), from the namespace's address to the
// relay's ICE port on the namespace's loopback. The browsers then reach
// the shaped ICE port at the namespace address, as they reach an unshaped
// one: a connection from any other of this host's addresses is never
// answered (netns.js).

import { spawn } from 'node:child_process';
import { createServer, connect as tcpConnect } from 'node:net';
import { fileURLToPath } from 'node:url';

/** A byte pacer: pace(n) → the time (Date.now() ms) by which n more bytes have gone at rateBps. */
function pacer(rateBps) {
  let next = 0;
  const pace = (n) => {
    const t = Date.now();
    if (!rateBps) return t;
    next = Math.max(next, t) + (n * 1000) / rateBps;
    return next;
  };
  pace.active = !!rateBps;
  return pace;
}

/**
 * Copy src to dst, each piece delivered oneWayMs after it arrived (later
 * if the pace says so), in order. Back-pressure: src pauses while dst is
 * full.
 */
function pipeShaped(src, dst, oneWayMs, pace) {
  if (!oneWayMs && !pace.active) {
    src.pipe(dst);
    return;
  }
  let tail = Promise.resolve();
  let queued = 0;
  src.on('data', (buf) => {
    // due: sent at the link's rate, then oneWayMs on the way
    const due = pace(buf.length) + oneWayMs;
    queued += buf.length;
    if (queued > 4 << 20) src.pause();
    tail = tail.then(
      () =>
        new Promise((resolve) => {
          setTimeout(() => {
            queued -= buf.length;
            if (queued < 1 << 20) src.resume();
            if (!dst.destroyed) dst.write(buf);
            resolve();
          }, Math.max(0, due - Date.now()));
        }),
    );
  });
  src.on('end', () => {
    tail = tail.then(() => dst.end());
  });
}

/**
 * Listen on listenHost:listenPort (0: any free port) and forward every
 * connection to targetHost:targetPort. link: { rttMs, rateBps } (both 0 by
 * default: a plain forwarder). onRequest(line), if given, is called with
 * the request line of every HTTP/1.1 request clients send ("GET /files/a
 * HTTP/1.1"), so a test can count what reached the relay; onConnection(addr),
 * if given, with the source address of every connection accepted. Returns
 * { host, port, close() }; close() ends every connection.
 */
export async function startForwarder({ listenHost = '127.0.0.1', listenPort = 0, targetHost, targetPort, sourceHost = undefined, link = {}, onRequest = null, onConnection = null }) {
  const oneWay = (link.rttMs ?? 0) / 2;
  const up = pacer(link.rateBps ?? 0);
  const down = pacer(link.rateBps ?? 0);
  const sockets = new Set();
  const server = createServer((client) => {
    onConnection?.(client.remoteAddress);
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    if (onRequest) {
      // request lines: at the start of the stream or after a blank line; a WebSocket's
      // frames after its upgrade are binary and masked, never such a line
      let tail = '';
      client.on('data', (buf) => {
        const text = tail + buf.toString('latin1');
        for (const m of text.matchAll(/(?:^|\r\n)((?:GET|HEAD|POST|PUT|DELETE|OPTIONS) \S+ HTTP\/1\.[01])\r\n/g)) onRequest(m[1]);
        tail = text.slice(-2048);
        const last = tail.lastIndexOf('\r\n');
        if (last >= 0) tail = tail.slice(last);
      });
    }
    const go = () => {
      const upstream = tcpConnect({ host: targetHost, port: targetPort, localAddress: sourceHost });
      sockets.add(upstream);
      upstream.on('close', () => {
        sockets.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
      upstream.setNoDelay(true);
      client.setNoDelay(true);
      pipeShaped(client, upstream, oneWay, up);
      pipeShaped(upstream, client, oneWay, down);
      client.resume();
    };
    // the handshake's round trip, which the forwarder itself answered at once
    if (oneWay) setTimeout(go, 2 * oneWay);
    else go();
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, listenHost, resolve);
  });
  return {
    host: listenHost,
    port: server.address().port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * startForwarder in a process of its own inside namespace ns (netns.js),
 * with the same options but onRequest; the process prints each accepted
 * connection's source address. Returns { host, port, peers: [source
 * address, …], close() }; the process is tracked by the namespace (killed
 * on its cleanup) and ended by close().
 */
export async function spawnForwarder(ns, opts) {
  const [cmd, args] = ns.exec([process.execPath, fileURLToPath(import.meta.url), JSON.stringify(opts)]);
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const untrack = ns.track(proc.pid);
  const exited = new Promise((resolve) => proc.on('exit', () => resolve(untrack())));
  const peers = [];
  let err = '';
  proc.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout.setEncoding('utf8').on('data', (d) => {
      buf += d;
      for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) {
        const [what, value] = buf.slice(0, i).split(' ');
        if (what === 'listening') resolve(Number(value));
        if (what === 'from') peers.push(value);
      }
    });
    exited.then(() => reject(new Error(`forwarder in ${ns.name} exited before listening: ${err}`)));
  });
  return {
    host: opts.listenHost,
    port,
    peers,
    close: async () => {
      proc.stdin.end(); // the process ends when its stdin does
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

// The process spawnForwarder starts: forward until stdin closes.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const opts = JSON.parse(process.argv[2]);
  const fwd = await startForwarder({ ...opts, onConnection: (addr) => process.stdout.write(`from ${addr}\n`) });
  process.stdout.write(`listening ${fwd.port}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => fwd.close().then(() => process.exit(0)));
}
