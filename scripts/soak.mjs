#!/usr/bin/env node
// `npm run soak -- --minutes N [flags]`: builds, then runs the soak and chaos run (bench/soak/main.ts)
// against a local cluster of real processes. Not part of `npm test` (its short version is
// test/e2e/soak.test.ts). `npm run soak -- --help` lists the flags.
import { spawnSync } from 'node:child_process';
import { SYSTEM_PACKAGES, ensureSystemPackages } from './system-packages.mjs';

const root = new URL('..', import.meta.url).pathname;
ensureSystemPackages({ zookeeper: SYSTEM_PACKAGES.zookeeper });
for (const [command, args] of [
  ['npx', ['tsc', '-p', 'tsconfig.json']],
  [process.execPath, ['dist/bench/soak/main.js', ...process.argv.slice(2)]],
]) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status || 1);
}
