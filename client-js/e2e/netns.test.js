// The private network of the end-to-end tests (netns.js) reaches nothing
// but itself: the relay's namespace routes only its /30, this host keeps a
// guard that refuses the whole test range once a namespace is gone, and a
// connection into the namespace from any other of this host's addresses
// (Firefox tries one from each of its host candidates) is never answered,
// while one from the /30's own first address is.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { test } from 'node:test';
import { GUARD, netns, netnsMissing, routesOf, strayRoutes } from './netns.js';
import { spawnForwarder } from './shaper.js';

const skip = process.env.E2E_NETNS === '0' ? 'E2E_NETNS=0' : netnsMissing() || false;

test('the namespace routes only its /30; the host refuses the test range beyond its namespaces', { skip }, () => {
  const ns = netns();
  const { v4, v6 } = routesOf(ns);
  assert.equal(strayRoutes(ns), null);
  assert.deepEqual(v4, [`${ns.subnet} dev ${ns.nsIf} proto kernel scope link src ${ns.nsIP}`], 'one IPv4 route: the /30 link route');
  assert.ok(v6.every((r) => /\bdev lo\b/.test(r)), `no IPv6 route off loopback: ${JSON.stringify(v6)}`);
  const guard = execFileSync('ip', ['-4', 'route', 'show', 'exact', GUARD[1]], { encoding: 'utf8' });
  assert.match(guard, new RegExp(`^unreachable ${GUARD[1].replaceAll('.', '\\.')} metric ${GUARD[3]}\\b`, 'm'), 'the guard route');
  const via = execFileSync('ip', ['-4', 'route', 'get', ns.nsIP], { encoding: 'utf8' });
  assert.match(via, new RegExp(`dev ${ns.hostIf} src ${ns.hostIP.replaceAll('.', '\\.')}`), 'the host reaches the namespace through the veth');
});

/** Connect from localAddress to host:port: 'connected', or 'no answer' after ms. */
function tryConnect(host, port, localAddress, ms) {
  return new Promise((resolve) => {
    const s = connect({ host, port, localAddress });
    const timer = setTimeout(() => {
      s.destroy(); // closes the half-open socket: no further SYN
      resolve('no answer');
    }, ms);
    s.on('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve('connected');
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      resolve(`error ${e.code}`);
    });
  });
}

test("a connection into the namespace is answered from the /30's address only", { skip, timeout: 30_000 }, async (t) => {
  const ns = netns();
  const listener = await spawnForwarder(ns, { listenHost: ns.nsIP, listenPort: 0, targetHost: '127.0.0.1', targetPort: 9 });
  t.after(() => listener.close());

  assert.equal(await tryConnect(ns.nsIP, listener.port, ns.hostIP, 5000), 'connected');

  // this host's other addresses: the namespace has no route back to them
  const others = [...execFileSync('ip', ['-o', '-4', 'addr', 'show', 'scope', 'global'], { encoding: 'utf8' }).matchAll(/\binet (\d+\.\d+\.\d+\.\d+)\//g)]
    .map((m) => m[1])
    .filter((a) => !a.startsWith('10.231.'));
  if (others.length === 0) t.diagnostic('this host has no other global IPv4 address to try');
  for (const from of others) {
    assert.equal(await tryConnect(ns.nsIP, listener.port, from, 1500), 'no answer', `from ${from}`);
  }
  await new Promise((r) => setTimeout(r, 100)); // the listener's last lines
  assert.deepEqual([...new Set(listener.peers)], [ns.hostIP], 'the namespace accepted connections from the /30 only');
});
