#!/usr/bin/env node
// The whole test suite, as README and CI run it: system packages, lint, boundaries, format, type-check + build, tests.
// Usage: npm test [-- <file or folder filter> ...]   e.g. `npm test -- tensors` runs matching test files only.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureSystemPackages } from './system-packages.mjs';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function run(label, command, args, options = {}) {
  const started = Date.now();
  process.stdout.write(`\n== ${label}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.status !== 0) {
    console.error(`\n${label} failed (exit ${result.status ?? result.signal}).`);
    process.exit(result.status || 1);
  }
  process.stdout.write(`== ${label}: ok in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

/**
 * The compiled tests under `dir` whose TypeScript source still exists. tsc never deletes what it
 * compiled before, so a test moved or removed since the last build would otherwise run on from an
 * existing dist/; such leftovers are deleted here (a fresh clone has none).
 */
function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (entry.endsWith('.test.js')) {
      const source = join(root, relative(join(root, 'dist'), path)).replace(/\.js$/, '.ts');
      if (existsSync(source)) found.push(path);
      else {
        console.log(`(removing ${relative(root, path)}: its source ${relative(root, source)} is gone)`);
        rmSync(path);
      }
    }
  }
  return found;
}

ensureSystemPackages();
run('lint', 'npx', ['eslint', '.', '--max-warnings=0']);
// The folder boundaries (.dependency-cruiser.cjs; ARCHITECTURE.md): layers, no cycles, imports through index.ts.
run('boundaries', 'npx', ['depcruise', 'src', 'bench', '--config', '.dependency-cruiser.cjs', '--output-type', 'err']);
// The layout of the code (.prettierrc.json); `npx prettier --write .` fixes it.
run('format', 'npx', ['prettier', '--check', '.', '--log-level', 'warn']);
run('type-check and build', 'npx', ['tsc', '-p', 'tsconfig.json']);
// The bundled inception_v3's weights, generated from the nsfwjs package (a no-op when up to date).
run('models/inception_v3', process.execPath, ['scripts/build-inception-v3.mjs']);
// The administration UI's bundle (dist/ui): the browser tests (test/e2e/admin-ui*.test.ts) load it.
run('type-check and build the UI', 'npm', ['run', '--silent', 'build:ui']);

const all = [...findTests(join(root, 'dist/src')), ...findTests(join(root, 'dist/test'))].map((p) => relative(root, p)).sort();
const selected = filters.length ? all.filter((p) => filters.some((f) => p.includes(f))) : all;
if (selected.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
run(`tests (${selected.length} files)`, process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=300000', ...selected]);
