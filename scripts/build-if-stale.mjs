#!/usr/bin/env node
// Compile TypeScript to dist/ only when a source changed since the last successful build, so that
// `npm start` on an unchanged tree starts the server at once instead of waiting for tsc (an
// incremental no-op tsc still takes seconds). Used by `npm start`, `npm run cluster` and `prepare`.
//
// The administration UI (ui/, built by Vite into dist/ui) has a stamp of its own: a change under ui/
// (or to the package files) rebuilds the bundle, a server-only change does not.
//
// "Changed" = any file or folder under the tsconfig's include roots, tsconfig.json, package.json or
// package-lock.json has an mtime newer than dist/.build-stamp (folders count, so a deleted or
// renamed file makes the build stale too), or the compiled CLI is missing. The stamp gets the time
// tsc *started*, so an edit made while tsc runs makes the next start compile again.
// Usage: node scripts/build-if-stale.mjs [--force]
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const stamp = join(root, 'dist', '.build-stamp');
const sourceRoots = ['src', 'test', 'bench'];
const sourceFiles = ['tsconfig.json', 'package.json', 'package-lock.json'];
const uiStamp = join(root, 'dist', '.ui-build-stamp');
const uiSources = ['ui', 'package.json', 'package-lock.json'];

/** The newest mtime (ms) of a file, or of a folder and everything under it (node_modules and dist excluded). */
function newestMtime(path) {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return 0;
  }
  let newest = stats.mtimeMs;
  if (stats.isDirectory()) {
    for (const entry of readdirSync(path)) {
      if (entry === 'node_modules' || entry === 'dist' || entry === 'results') continue;
      newest = Math.max(newest, newestMtime(join(path, entry)));
    }
  }
  return newest;
}

function isStale() {
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js')) || !existsSync(stamp)) return true;
  const built = statSync(stamp).mtimeMs;
  return [...sourceRoots, ...sourceFiles].some((name) => newestMtime(join(root, name)) > built);
}

function isUiStale() {
  if (!existsSync(join(root, 'dist', 'ui', 'index.html')) || !existsSync(uiStamp)) return true;
  const built = statSync(uiStamp).mtimeMs;
  return uiSources.some((name) => newestMtime(join(root, name)) > built);
}

const require = createRequire(import.meta.url);
const force = process.argv.includes('--force');

if (force || isStale()) {
  const started = new Date();
  const tsc = require.resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  closeSync(openSync(stamp, 'a'));
  utimesSync(stamp, started, started);
}

if (existsSync(join(root, 'ui', 'vite.config.ts')) && (force || isUiStale())) {
  let vite;
  try {
    vite = join(require.resolve('vite/package.json'), '..', 'bin', 'vite.js');
  } catch {
    // An install without dev dependencies: the package ships dist/ui prebuilt.
    if (!existsSync(join(root, 'dist', 'ui', 'index.html'))) console.warn('the administration UI is not built and Vite is not installed: /ui will say so (npm install, then npm run build)');
    vite = undefined;
  }
  if (vite) {
    const started = new Date();
    const result = spawnSync(process.execPath, [vite, 'build', '--config', join(root, 'ui', 'vite.config.ts')], { cwd: root, stdio: 'inherit' });
    if (result.status !== 0) process.exit(result.status ?? 1);
    closeSync(openSync(uiStamp, 'a'));
    utimesSync(uiStamp, started, started);
  }
}

// The bundled Inception v3 model's weights are generated from the nsfwjs npm package, not committed.
{
  const { isStale: inceptionStale, build: buildInception } = await import('./build-inception-v3.mjs');
  if (force || inceptionStale()) {
    try {
      const started = Date.now();
      buildInception();
      console.log(`models/inception_v3/1: generated from the nsfwjs package in ${Date.now() - started} ms`);
    } catch (error) {
      // An install without nsfwjs still serves the other models; inception_v3 is then UNAVAILABLE.
      console.warn(`models/inception_v3/1 not built: ${error.message}`);
    }
  }
}
