// package.json as published: every export and listed file exists, the
// license is the repository's (../LICENSE), and the package says where it
// comes from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));

/** Every path an exports map names (conditions and subpaths flattened). */
function exportTargets(x) {
  if (typeof x === 'string') return [x];
  return Object.values(x).flatMap(exportTargets);
}

test('package.json: exports, main, types and files point at files that exist', () => {
  const targets = [...exportTargets(pkg.exports), pkg.main, pkg.types];
  assert.ok(targets.length >= 6, targets.join(' '));
  for (const t of targets) {
    assert.match(t, /^\.\//, `${t}: exports are relative to the package`);
    assert.ok(existsSync(new URL(t, root)) && statSync(new URL(t, root)).isFile(), `${t} exists`);
  }
  for (const f of pkg.files) assert.ok(existsSync(new URL(f, root)), `files: ${f} exists`);
  // whatever exports name is published
  for (const t of targets) {
    const rel = t.slice(2);
    assert.ok(rel === 'package.json' || pkg.files.some((f) => rel === f || (f.endsWith('/') && rel.startsWith(f))), `${t} is in files`);
  }
});

test('package.json: license matches ../LICENSE; repository, homepage and bugs name the project', () => {
  const license = readFileSync(new URL('../LICENSE', root), 'utf8');
  assert.match(license, /^\s*Apache License\s+Version 2\.0, January 2004/);
  assert.equal(pkg.license, 'Apache-2.0');
  assert.equal(pkg.repository.type, 'git');
  assert.match(pkg.repository.url, /^(git\+)?https:\/\/github\.com\/p2pcache\/p2pcache(\.git)?$/);
  assert.equal(pkg.repository.directory, 'client-js');
  assert.ok(existsSync(new URL(`../${pkg.repository.directory}/package.json`, root)), 'directory is this package');
  assert.match(pkg.homepage, /^https:\/\/github\.com\/p2pcache\/p2pcache\b/);
  assert.match(pkg.bugs.url, /^https:\/\/github\.com\/p2pcache\/p2pcache\/issues$/);
});
