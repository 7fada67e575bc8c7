/**
 * The initial desired state of a cluster, from a model repository: every model with the default
 * replica count (a model's `config.pbtxt` may override it with
 * `parameters { key: "replicas" value: { string_value: "3" } }`) and a memory estimate of about
 * 3× the size of the files of the versions its version policy selects (an ONNX Runtime session
 * measured 2.5–3× its file size at default settings with onnxruntime-node 1.30). The estimate only stands
 * until a worker measures the real figure.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelRepository, type VersionFolderNames, parameterNumber } from '../repository/index.js';
import type { ModelConfig } from '../repository/index.js';
import type { ModelDeployment } from './layout.js';

export const DEFAULT_MEMORY_FACTOR = 3;
const VERSION_FOLDER = /^[1-9][0-9]*$/;

export interface RepositoryDeploymentsOptions {
  readonly modelRepository: string;
  readonly defaultReplicas: number;
  /** Memory estimate = factor × model file bytes. Default 3. */
  readonly memoryFactor?: number;
  /** The model file name for a config; default its `default_model_filename` or `model.onnx`. */
  readonly modelFilename?: (config: ModelConfig) => string | undefined;
  /** Which folder names are versions (`--version-folder-names`); default `strict`. */
  readonly versionFolders?: VersionFolderNames | undefined;
}

export interface RepositoryDeployments {
  readonly deployments: ModelDeployment[];
  /** Problems worth a log line (a bad `replicas` parameter, an unreadable model), by model. */
  readonly warnings: { model: string; message: string }[];
}

export async function deploymentsFromRepository(options: RepositoryDeploymentsOptions): Promise<RepositoryDeployments> {
  const factor = options.memoryFactor ?? DEFAULT_MEMORY_FACTOR;
  const repository = new ModelRepository({
    root: options.modelRepository,
    modelFilename: options.modelFilename ?? ((config) => config.default_model_filename || 'model.onnx'),
    versionFolders: options.versionFolders,
  });
  const warnings: { model: string; message: string }[] = [];
  const deployments: ModelDeployment[] = [];
  for (const name of await repository.list()) {
    const aspired = await repository.read(name);
    const dir = join(options.modelRepository, name);
    let replicas = options.defaultReplicas;
    let versions: number[];
    let requires: string[] = [];
    if (aspired.ok) {
      requires = ensembleStepModels(aspired.config);
      versions = aspired.versions.map((v) => v.version);
      try {
        const override = parameterNumber(aspired.config, 'replicas');
        if (override !== undefined) {
          if (!Number.isInteger(override) || override < 0) throw new Error(`parameter 'replicas' must be a whole number ≥ 0, got ${override}`);
          replicas = override;
        }
      } catch (error) {
        warnings.push({ model: name, message: `${error instanceof Error ? error.message : String(error)}; using ${replicas} replicas` });
      }
    } else {
      // It will not load as it is, but it is still part of the desired state (and may be fixed).
      warnings.push({ model: name, message: aspired.reason });
      const all = (await readdir(dir).catch(() => [])).filter((n) => VERSION_FOLDER.test(n)).map(Number);
      versions = all.length > 0 ? [Math.max(...all)] : [];
    }
    const fileBytes = (await Promise.all(versions.map((v) => folderBytes(join(dir, String(v)))))).reduce((a, b) => a + b, 0);
    deployments.push({ name, replicas, memoryBytes: Math.round(fileBytes * factor), memoryMeasured: false, ...(requires.length > 0 ? { requires } : {}) });
  }
  return { deployments, warnings };
}

/** The step models of an ensemble's config (none for other models). */
function ensembleStepModels(config: ModelConfig): string[] {
  const steps = (config as ModelConfig & { ensemble_scheduling?: { step?: { model_name: string }[] } }).ensemble_scheduling?.step ?? [];
  return [...new Set(steps.map((s) => s.model_name).filter((m) => m !== ''))].sort();
}

/** Bytes of every file under a folder (a version folder may hold external-data files). */
async function folderBytes(dir: string, depth = 0): Promise<number> {
  if (depth > 4) return 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  let total = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await folderBytes(path, depth + 1);
    else total += (await stat(path).catch(() => undefined))?.size ?? 0;
  }
  return total;
}
