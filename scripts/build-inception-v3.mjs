#!/usr/bin/env node
// Rebuilds the bundled Inception v3 classifier (models/inception_v3/1/) from the trained Keras model
// the `nsfwjs` npm package ships. The package holds it as browserify bundles under
// dist/models/inception_v3/: model.min.js exports the model.json object ({ modelTopology,
// weightsManifest }), each group1-shardNofM.min.js exports one weight shard as a base64 string.
// This writes the standard TF.js layout the tensorflowjs backend reads: model.json (format
// "layers-model", weight paths group1-shardNofM.bin) and the binary shards. No network: the files
// come from node_modules. The weights (22 MB) are generated, never committed (.gitignore).
//
// Usage: node scripts/build-inception-v3.mjs [--force] [--out <version folder>]
// Without --force it does nothing when the folder is up to date: its .source stamp names the same
// nsfwjs version and this script is not newer than the stamp.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const force = args.includes('--force');
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? args[outIndex + 1] : join(root, 'models', 'inception_v3', '1');
const stampName = '.source';

const require = createRequire(import.meta.url);

/** The installed nsfwjs's folder and version, or undefined when it is not installed. */
function nsfwjs() {
  let dir;
  try {
    // Its package.json is not in its "exports": find the folder from the entry point.
    dir = dirname(require.resolve('nsfwjs'));
  } catch {
    return undefined;
  }
  while (!existsSync(join(dir, 'package.json')) || JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name !== 'nsfwjs') {
    if (dirname(dir) === dir) return undefined;
    dir = dirname(dir);
  }
  return { dir, version: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version };
}

export function isStale(folder = out) {
  const source = nsfwjs();
  const stamp = join(folder, stampName);
  if (!existsSync(stamp) || !existsSync(join(folder, 'model.json'))) return true;
  if (source && readFileSync(stamp, 'utf8').trim() !== `nsfwjs@${source.version}`) return true;
  return statSync(new URL(import.meta.url)).mtimeMs > statSync(stamp).mtimeMs;
}

export function build(folder = out) {
  const source = nsfwjs();
  if (!source) throw new Error('the nsfwjs package is not installed (npm install): it holds the Inception v3 weights');
  const models = join(source.dir, 'dist', 'models', 'inception_v3');
  const json = require(join(models, 'model.min.js'));
  if (!json || typeof json.modelTopology !== 'object' || !Array.isArray(json.weightsManifest)) throw new Error(`${models}/model.min.js does not export a TF.js model.json`);
  const tmp = `${folder}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const manifest = json.weightsManifest.map((group) => ({
    ...group,
    paths: group.paths.map((path) => {
      // "group1-shard1of6" → the bundle group1-shard1of6.min.js → the binary group1-shard1of6.bin
      const encoded = require(join(models, `${path}.min.js`));
      if (typeof encoded !== 'string') throw new Error(`${path}.min.js does not export a base64 string`);
      writeFileSync(join(tmp, `${path}.bin`), Buffer.from(encoded, 'base64'));
      return `${path}.bin`;
    }),
  }));
  const modelJson = {
    format: 'layers-model',
    generatedBy: `keras ${json.modelTopology.keras_version ?? ''}`.trim(),
    convertedBy: `scripts/build-inception-v3.mjs from nsfwjs@${source.version}`,
    modelTopology: json.modelTopology,
    weightsManifest: manifest,
  };
  writeFileSync(join(tmp, 'model.json'), JSON.stringify(modelJson));
  writeFileSync(join(tmp, stampName), `nsfwjs@${source.version}\n`);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(dirname(folder), { recursive: true });
  renameSync(tmp, folder);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (force || isStale()) {
    const started = Date.now();
    build();
    console.log(`built ${out} from nsfwjs in ${Date.now() - started} ms`);
  }
}
