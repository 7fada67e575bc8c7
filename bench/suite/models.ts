/**
 * The benchmark models, all generated (nothing is downloaded, nothing large is committed):
 * - `tiny`: Triton's "simple" add/sub on 4 floats (B1);
 * - `mlp`: an MLP 784-512-512-10 with seeded weights (B2, B3, B6);
 * - `resnet18`: a ResNet-18 with random weights, exported once by `bench/models/make_resnet.py`
 *   with Debian's torch + torchvision (B2, B3, B5, B6, B7);
 * - `identity_4mib`: an Identity on 1 Mi floats (B4).
 * Repositories for each benchmark are written under `bench/models/repos/`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addSubModel, identityModel, mlpModel } from '../../test/fixtures/onnx-models.js';
import type { SuiteContext } from './context.js';

export const MLP_SHAPE = { inputSize: 784, hidden: [512, 512], outputSize: 10, seed: 1 } as const;
export const RESNET_ITEM_SHAPE = [3, 224, 224] as const;
export const TENSOR_4MIB_ELEMENTS = 1024 * 1024;

/** Dynamic batching as the suite configures it for "batching on". */
export const BATCHING = 'max_batch_size: 64\ndynamic_batching { }\n';
/** "Batching off": the model still accepts a batch dim, but every request executes alone. */
export const NO_BATCHING = 'max_batch_size: 64\n';

export interface ModelFiles {
  readonly tiny: string;
  readonly mlp: string;
  readonly resnet18: string;
  readonly identity4MiB: string;
}

/** Writes the model files (ResNet-18 only if missing: it takes the export script ~10 s). */
export async function prepareModels(ctx: SuiteContext): Promise<ModelFiles> {
  await mkdir(ctx.modelsDir, { recursive: true });
  const files: ModelFiles = {
    tiny: join(ctx.modelsDir, 'tiny.onnx'),
    mlp: join(ctx.modelsDir, 'mlp-784-512-512-10.onnx'),
    resnet18: join(ctx.modelsDir, 'resnet18.onnx'),
    identity4MiB: join(ctx.modelsDir, 'identity-4mib.onnx'),
  };
  await writeFile(files.tiny, addSubModel('FP32', [4]));
  await writeFile(files.mlp, mlpModel({ ...MLP_SHAPE, hidden: [...MLP_SHAPE.hidden] }));
  await writeFile(files.identity4MiB, identityModel({ datatype: 'FP32', dims: [TENSOR_4MIB_ELEMENTS] }));
  if (!existsSync(files.resnet18)) {
    ctx.log('exporting ResNet-18 (random weights) with /usr/bin/python3 bench/models/make_resnet.py ...');
    try {
      execFileSync('/usr/bin/python3', [join(ctx.modelsDir, 'make_resnet.py'), files.resnet18], { stdio: 'inherit' });
    } catch (error) {
      throw new Error(
        `cannot export ResNet-18: ${error instanceof Error ? error.message : String(error)}\n` +
          'It needs Debian packages python3-torch and python3-torchvision: apt-get install -y --no-install-recommends python3-torch python3-torchvision',
      );
    }
  }
  return files;
}

export function fileMegabytes(path: string): number {
  return statSync(path).size / 1e6;
}

export interface RepoModel {
  readonly file: string;
  readonly config: string;
  /** Version folders to create (default [1]). */
  readonly versions?: readonly number[];
}

/** (Re)creates `bench/models/repos/<name>` holding the given models; returns its path. */
export async function writeRepository(ctx: SuiteContext, name: string, models: Readonly<Record<string, RepoModel>>): Promise<string> {
  const root = join(ctx.reposDir, name);
  await rm(root, { recursive: true, force: true });
  for (const [model, spec] of Object.entries(models)) {
    await mkdir(join(root, model), { recursive: true });
    await writeFile(join(root, model, 'config.pbtxt'), spec.config);
    for (const version of spec.versions ?? [1]) {
      await mkdir(join(root, model, String(version)), { recursive: true });
      await copyFile(spec.file, join(root, model, String(version), 'model.onnx'));
    }
  }
  return root;
}
