/** Test support: the TF.js models of the nsfwjs npm package, read the way a loader reads them. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { runInThisContext } from 'node:vm';
import type { TfjsArtifacts } from '../index.js';

const require = createRequire(import.meta.url);

/** nsfwjs's files are UMD bundles: model.min.js exports the model.json object, each shard a base64 string. */
function evaluateUmd(path: string): unknown {
  const module = { exports: {} as unknown };
  // The package's own bundled data file, run as CommonJS in this realm (tfjs rejects objects made
  // in another vm context: their arrays are not iterable by this realm's Symbol.iterator).
  const body = runInThisContext(`(function (module, exports) {\n${readFileSync(path, 'utf8')}\n})`, { filename: path }) as (module: unknown, exports: unknown) => void;
  body(module, module.exports);
  return module.exports;
}

/** The artifacts of one of the models nsfwjs ships (`inception_v3`, `mobilenet_v2`, `mobilenet_v2_mid`). */
export function nsfwjsArtifacts(name: string): TfjsArtifacts {
  // The package entry is dist/cjs/index.js; the models sit in dist/models.
  const dir = join(dirname(require.resolve('nsfwjs')), '..', 'models', name);
  const modelJson = evaluateUmd(join(dir, 'model.min.js')) as {
    modelTopology: unknown;
    format?: string;
    signature?: unknown;
    weightsManifest: { paths: string[]; weights: TfjsArtifacts['weightSpecs'] }[];
  };
  const shards: Buffer[] = [];
  const weightSpecs: TfjsArtifacts['weightSpecs'][number][] = [];
  for (const group of modelJson.weightsManifest) {
    for (const path of group.paths) shards.push(Buffer.from(evaluateUmd(join(dir, `${path}.min.js`)) as string, 'base64'));
    weightSpecs.push(...group.weights);
  }
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  // Keras-converted files carry no `format`; they are layers models.
  return { modelTopology: modelJson.modelTopology, format: modelJson.format ?? 'layers-model', weightSpecs, weightData, signature: modelJson.signature };
}
