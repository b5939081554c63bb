import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteLRU } from 'p2pcache/wire';

const b = (n) => new Uint8Array(n);

test('the byte bound holds, evicting least recently used first', () => {
  const l = new ByteLRU(100);
  l.set('a', b(40));
  l.set('b', b(40));
  assert.equal(l.bytes, 80);
  l.get('a'); // a is now more recent than b
  l.set('c', b(40));
  assert.equal(l.bytes, 80);
  assert.ok(l.has('a'));
  assert.ok(!l.has('b'), 'b was least recently used');
  assert.ok(l.has('c'));
  assert.equal(l.evictions, 1);
  l.set('d', b(100));
  assert.deepEqual([...l.keys()], ['d']);
  assert.equal(l.bytes, 100);
});

test('a value over the budget is not stored and evicts nothing', () => {
  const l = new ByteLRU(10);
  l.set('a', b(5));
  assert.equal(l.set('big', b(11)), false);
  assert.ok(l.has('a'));
  assert.equal(l.bytes, 5);
});

test('re-adding a key only touches it; peek does not touch', () => {
  const l = new ByteLRU(30);
  l.set('a', b(10));
  l.set('b', b(10));
  l.set('a', b(10));
  assert.equal(l.bytes, 20);
  l.peek('b');
  l.set('c', b(10));
  l.set('d', b(10));
  assert.ok(!l.has('b'));
  assert.ok(l.has('a'));
});

test('random workload never exceeds the bound and bytes stay exact', () => {
  const l = new ByteLRU(1000);
  let seed = 5;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 5000; i++) {
    const k = 'k' + Math.floor(rnd() * 50);
    if (rnd() < 0.1) l.delete(k);
    else l.set(k, b(1 + Math.floor(rnd() * 300)));
    assert.ok(l.bytes <= 1000);
  }
  let sum = 0;
  for (const k of l.keys()) sum += l.peek(k).byteLength;
  assert.equal(sum, l.bytes);
});

test('a zero budget stores nothing', () => {
  const l = new ByteLRU(0);
  assert.equal(l.set('a', b(1)), false);
  assert.equal(l.size, 0);
});
