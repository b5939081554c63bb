import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as sdk from '../p2pcache.js';

test('p2pcache.d.ts declares exactly the runtime exports', () => {
  const dts = readFileSync(new URL('../p2pcache.d.ts', import.meta.url), 'utf8');
  const declared = new Set([...dts.matchAll(/^export declare (?:const|function|class) (\w+)/gm)].map((m) => m[1]));
  if (/^export default \w+;/m.test(dts)) declared.add('default');
  const runtime = new Set(Object.keys(sdk));
  assert.deepEqual([...runtime].filter((k) => !declared.has(k)).sort(), [], 'exported but not declared');
  assert.deepEqual([...declared].filter((k) => !runtime.has(k)).sort(), [], 'declared but not exported');
});

test('package.json points at the module and its types', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  assert.equal(pkg.name, 'p2pcache');
  assert.equal(pkg.type, 'module');
  assert.equal(pkg.exports['.'].default, './p2pcache.js');
  assert.equal(pkg.exports['.'].types, './p2pcache.d.ts');
  assert.equal(pkg.scripts.test, 'node --test test/');
});
