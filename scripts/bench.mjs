#!/usr/bin/env node
// `npm run bench`: installs what the benchmark models need (Debian packages, as root), builds, and
// runs the suite (bench/run.ts). Not part of `npm test`: benchmarks measure, tests decide.
import { spawnSync } from 'node:child_process';
import { BENCH_PACKAGES, ensureSystemPackages } from './system-packages.mjs';

const root = new URL('..', import.meta.url).pathname;
ensureSystemPackages(BENCH_PACKAGES);
for (const [command, args] of [
  ['npx', ['tsc', '-p', 'tsconfig.json']],
  [process.execPath, ['dist/bench/run.js', ...process.argv.slice(2)]],
]) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status || 1);
}
