// A private network for the end-to-end tests: one Linux network namespace
// per test process, joined to this host by a veth pair with the two
// addresses of a /30 in 10.231.0.0/16 picked at random. The relay runs
// inside it (`ip netns exec`), the browsers outside.
//
// Why: Firefox ignores ICE candidates on loopback addresses (no pref changes
// that), so a relay that listens on 127.0.0.1 can never be reached over
// WebRTC from Firefox. Inside the namespace the relay listens on the /30's
// second address; the browsers reach it through the veth from the first.
//
// What the tests may reach, and nothing else: loopback and the two
// addresses of the /30. The namespace has exactly one route, the /30's link
// route (checked after setup: setup fails otherwise), and no IPv6 on the
// veth (no link-local addresses, no fe80::/64 route). So a packet the
// namespace would send anywhere else is dropped inside it: a browser that
// connects from another of this host's addresses (Firefox gathers its host
// candidates on every interface, browsers.js) sends its SYN into the
// namespace and never gets an answer; that candidate pair fails and the
// one from the /30's first address wins. The host gets only the /30's link
// route, plus one guard that outlives the namespaces: `unreachable
// 10.231.0.0/16` with a low preference (metric 4242). While a namespace is
// up its /30 link route is the better match; once it is gone, a packet still
// addressed to its /30 (a TCP retransmission, a FIN of a closing socket)
// meets the guard and is refused on the spot instead of following the
// default route off the machine. The guard is left in place (idempotent,
// one line, shared by every test process): removing it would reopen that
// path for the sockets the kernel is still closing.
//
// Cleanup on every exit path: the process's exit (a crash included) and
// SIGINT/SIGTERM/SIGHUP all kill what runs in the namespace, destroy this
// host's sockets to and from the /30 (`ss -K`: no socket outlives the veth
// to retransmit into the guard for minutes) and delete the namespace
// (which takes the veth pair with it). Not an after() hook: one registered
// from a test belongs to that test and would delete the namespace under
// the tests after it (and under a browser the file shares between them);
// one registered at the top level runs before the hooks the test file
// registers later, such as the one that closes that shared browser. At
// exit every test and hook of the file has run. Needs root (or
// CAP_NET_ADMIN) and iproute2; netnsMissing() says why it is unavailable,
// and the harness then keeps Chromium on loopback.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const PREFIX = '10.231';
/** The guard route of the whole test range (see above). */
export const GUARD = ['unreachable', `${PREFIX}.0.0/16`, 'metric', '4242'];

let current = null; // { name, hostIP, nsIP, subnet, hostIf, nsIf, pids: Set }
let probed = null;

/** Why no namespace can be made here, or null. */
export function netnsMissing() {
  if (probed !== null) return probed || null;
  try {
    if (process.getuid?.() !== 0) throw new Error('not root');
    execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' });
    probed = '';
  } catch (e) {
    probed = `no network namespaces (ip netns: ${e.message.split('\n')[0]})`;
  }
  return probed || null;
}

function ip(...args) {
  return execFileSync('ip', args, { stdio: 'pipe', encoding: 'utf8' });
}

/** Run argv inside namespace name; its stdout. */
function inNS(name, ...argv) {
  return execFileSync('ip', ['netns', 'exec', name, ...argv], { stdio: 'pipe', encoding: 'utf8' });
}

/** A /30 none of this host's interfaces uses: [hostIP, nsIP, subnet]. */
function pickSubnet() {
  const used = ip('-o', '-4', 'addr', 'show');
  for (let i = 0; i < 64; i++) {
    const b = randomBytes(2);
    const third = b[0];
    const base = (b[1] & 0xfc) % 252; // .0, .4, ..., .248
    const net = `${PREFIX}.${third}.`;
    if (!used.includes(`inet ${net}${base + 1}/`) && !used.includes(`inet ${net}${base + 2}/`)) {
      return [`${net}${base + 1}`, `${net}${base + 2}`, `${net}${base}/30`];
    }
  }
  throw new Error('netns: no free /30 in 10.231.0.0/16');
}

/** This host's TCP sockets to or from subnet, destroyed (ss -K). */
function killSockets(subnet) {
  try {
    execFileSync('ss', ['-K', '-t', '-n', `dst ${subnet} or src ${subnet}`], { stdio: 'pipe' });
  } catch {
    // ss reports the sockets it cannot destroy (TIME-WAIT ones, which send nothing)
  }
}

/**
 * The namespace's routes, one line each: { v4: [...], v6: [...] } from its
 * main table (the table `ip route` shows).
 */
export function routesOf(ns) {
  const lines = (s) => s.split('\n').map((l) => l.trim()).filter(Boolean);
  return {
    v4: lines(inNS(ns.name, 'ip', '-4', 'route', 'show', 'table', 'main')),
    v6: lines(inNS(ns.name, 'ip', '-6', 'route', 'show', 'table', 'main')),
  };
}

/**
 * Why ns's routes are not just its /30's link route (and IPv6 loopback),
 * or null: the check run after setup.
 */
export function strayRoutes(ns) {
  const { v4, v6 } = routesOf(ns);
  const link = new RegExp(`^${ns.subnet.replaceAll('.', '\\.')} dev ${ns.nsIf} proto kernel scope link src ${ns.nsIP.replaceAll('.', '\\.')}$`);
  const bad = [...v4.filter((r) => !link.test(r)), ...v6.filter((r) => !/\bdev lo\b/.test(r))];
  if (bad.length || v4.length !== 1) return `routes in ${ns.name} other than its /30 link route: ${JSON.stringify({ v4, v6 })}`;
  return null;
}

function destroy() {
  const ns = current;
  if (!ns) return;
  current = null;
  for (const pid of ns.pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  killSockets(ns.subnet);
  try {
    ip('netns', 'del', ns.name);
  } catch {
    // already gone
  }
  try {
    ip('link', 'del', ns.hostIf); // gone with the namespace unless a process kept it alive
  } catch {
    // already gone
  }
  killSockets(ns.subnet); // any a dying process closed meanwhile
}

let hooked = false;
function hookExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', destroy);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      destroy();
      process.kill(process.pid, sig);
    });
  }
}

/** IPv6 off on interface dev (in namespace name, or this host's when null): no link-local address, no route. */
function noIPv6(name, dev) {
  // /proc/sys/net is the writer's own namespace's; a kernel without IPv6 has no such file, and no IPv6 to turn off
  const file = `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
  const argv = ['sh', '-c', `if [ -e ${file} ]; then echo 1 > ${file}; fi`];
  if (name) inNS(name, ...argv);
  else execFileSync(argv[0], argv.slice(1), { stdio: 'pipe' });
}

/**
 * The process's namespace, made on first use: { name, hostIP, nsIP,
 * subnet, hostIf, nsIf, exec(argv) → ['ip', ['netns', 'exec', name,
 * ...argv]], track(pid) }. track() registers a process started in it,
 * killed on cleanup; it returns the function that unregisters it.
 */
export function netns() {
  if (current) return current;
  const why = netnsMissing();
  if (why) throw new Error(why);
  hookExit();
  const tag = randomBytes(4).toString('hex');
  const name = `p2pc-${tag}`;
  const hostIf = `p2pc${tag.slice(0, 6)}h`;
  const nsIf = `p2pc${tag.slice(0, 6)}n`;
  const [hostIP, nsIP, subnet] = pickSubnet();
  current = { name, hostIP, nsIP, subnet, hostIf, nsIf, pids: new Set() };
  try {
    ip('route', 'replace', ...GUARD);
    ip('netns', 'add', name);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', name);
    noIPv6(null, hostIf);
    noIPv6(name, nsIf);
    ip('addr', 'add', `${hostIP}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    inNS(name, 'ip', 'addr', 'add', `${nsIP}/30`, 'dev', nsIf);
    inNS(name, 'ip', 'link', 'set', nsIf, 'up');
    inNS(name, 'ip', 'link', 'set', 'lo', 'up');
    const stray = strayRoutes(current);
    if (stray) throw new Error(stray);
  } catch (e) {
    destroy();
    throw new Error(`netns: setting up ${name}: ${e.message}`);
  }
  current.exec = (argv) => ['ip', ['netns', 'exec', name, ...argv]];
  current.track = (pid) => {
    current?.pids.add(pid);
    return () => current?.pids.delete(pid);
  };
  return current;
}
