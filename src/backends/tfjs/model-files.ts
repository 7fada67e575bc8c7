/**
 * Reads a TF.js model folder (`<version>/model.json` and the weight shards its manifest names) into
 * the artifacts tfjs builds a model from. This is the "file IO handler": tfjs has no file:// loader
 * outside tfjs-node. Sizes are checked before anything large is allocated, and every failure names
 * the file in the version folder (never the server's absolute path).
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { invalidArgument } from '../../core/index.js';
import type { TfjsArtifacts } from '../tfjs-to-onnx/index.js';
import type { TfjsModelKind } from './worker-messages.js';

/** model.json larger than this is refused (Inception v3's is 0.1 MB; a topology is text, not weights). */
export const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;
/** Sum of the weight shards a model may have (tfjs keeps one contiguous ArrayBuffer, < 2 GiB). */
export const MAX_WEIGHT_BYTES = 2 * 1024 * 1024 * 1024 - 1;

export interface TfjsModelFiles {
  readonly kind: TfjsModelKind;
  readonly artifacts: TfjsArtifacts;
  /** model.json's other fields tfjs reads (trainingConfig, modelInitializer, generatedBy...). */
  readonly extra: Record<string, unknown>;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype?: string } | undefined;
}

const BYTES_PER_ELEMENT: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, uint8: 1, int8: 1, uint16: 2, int16: 2, float16: 2, complex64: 8 };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Bytes a weight takes in the shards, or undefined where that cannot be known (strings). */
function weightBytes(spec: WeightSpec): number | undefined {
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const size = BYTES_PER_ELEMENT[dtype];
  if (size === undefined) return undefined;
  return spec.shape.reduce((a, b) => a * b, 1) * size;
}

/** Graph or layers model: model.json's `format`, else the shape of its topology. */
export function modelKind(json: Record<string, unknown>, file: string): TfjsModelKind {
  if (json['format'] === 'graph-model') return 'graph';
  if (json['format'] === 'layers-model') return 'layers';
  const topology = json['modelTopology'];
  if (isRecord(topology) && Array.isArray(topology['node'])) return 'graph';
  if (isRecord(topology) && (isRecord(topology['model_config']) || typeof topology['class_name'] === 'string')) return 'layers';
  throw invalidArgument(`${file}: not a TF.js model.json (no "format" of graph-model or layers-model, and the modelTopology is neither a graph nor a Keras model)`);
}

export async function readTfjsModel(modelPath: string): Promise<TfjsModelFiles> {
  const versionDir = dirname(modelPath);
  const shown = `${basename(versionDir)}/${basename(modelPath)}`;
  const size = (await stat(modelPath)).size;
  if (size > MAX_MODEL_JSON_BYTES) throw invalidArgument(`${shown} is ${size} bytes; a TF.js model.json may have at most ${MAX_MODEL_JSON_BYTES}`);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(modelPath, 'utf8'));
  } catch (error) {
    throw invalidArgument(`${shown} is not valid JSON: ${(error as Error).message.slice(0, 200)}`);
  }
  if (!isRecord(json)) throw invalidArgument(`${shown} is not a JSON object`);
  const kind = modelKind(json, shown);
  const manifest = json['weightsManifest'] ?? [];
  if (!Array.isArray(manifest)) throw invalidArgument(`${shown}: weightsManifest is not a list`);
  const weightSpecs: WeightSpec[] = [];
  const shardPaths: string[] = [];
  for (const group of manifest as unknown[]) {
    if (!isRecord(group) || !Array.isArray(group['paths']) || !Array.isArray(group['weights'])) throw invalidArgument(`${shown}: each weightsManifest entry needs "paths" and "weights" lists`);
    for (const path of group['paths'] as unknown[]) {
      if (typeof path !== 'string') throw invalidArgument(`${shown}: a weight path is not a string`);
      const full = join(versionDir, path);
      // A shard must lie inside the version folder: model.json cannot name other files of the server.
      const inside = relative(versionDir, full);
      if (inside === '' || inside.startsWith('..') || inside.split(sep).includes('..')) throw invalidArgument(`${shown}: weight path '${path.slice(0, 100)}' leaves the version folder`);
      shardPaths.push(full);
    }
    for (const w of group['weights'] as unknown[]) {
      if (
        !isRecord(w) ||
        typeof w['name'] !== 'string' ||
        typeof w['dtype'] !== 'string' ||
        !Array.isArray(w['shape']) ||
        !(w['shape'] as unknown[]).every((d) => Number.isInteger(d) && (d as number) >= 0)
      ) {
        throw invalidArgument(`${shown}: a weight spec needs a name, a dtype and a shape of non-negative integers`);
      }
      weightSpecs.push(w as unknown as WeightSpec);
    }
  }
  const sizes: number[] = [];
  for (const path of shardPaths) {
    const rel = `${basename(versionDir)}/${relative(versionDir, path)}`;
    try {
      sizes.push((await stat(path)).size);
    } catch {
      throw invalidArgument(`weight shard ${rel} (named by ${shown}) not found`);
    }
  }
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total > MAX_WEIGHT_BYTES) throw invalidArgument(`${shown}: the weight shards hold ${total} bytes; at most ${MAX_WEIGHT_BYTES} are supported`);
  const expected = weightSpecs.map(weightBytes);
  if (expected.every((n) => n !== undefined)) {
    const want = expected.reduce((a, b) => a + b, 0);
    if (want !== total) throw invalidArgument(`${shown}: the weight specs need ${want} bytes but the ${shardPaths.length} weight shard(s) hold ${total}`);
  }
  const weightData = new ArrayBuffer(total);
  const bytes = new Uint8Array(weightData);
  let offset = 0;
  for (const path of shardPaths) {
    const shard = await readFile(path);
    bytes.set(shard.subarray(0, total - offset), offset);
    offset += shard.length;
  }
  const { modelTopology, format, signature, userDefinedMetadata, weightsManifest: _manifest, ...extra } = json;
  void _manifest;
  const artifacts: TfjsArtifacts = { modelTopology, weightSpecs, weightData };
  if (typeof format === 'string') artifacts.format = format;
  if (signature !== undefined) artifacts.signature = signature;
  if (userDefinedMetadata !== undefined) artifacts.userDefinedMetadata = userDefinedMetadata;
  return { kind, artifacts, extra };
}
