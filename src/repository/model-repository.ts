/**
 * Reads a Triton-layout model repository from disk:
 *
 *   <root>/<model>/config.pbtxt          (optional: completed from the model file when absent)
 *   <root>/<model>/<version>/model.onnx  (version folders: positive integers without leading zeros)
 *
 * and turns each model folder into an `AspiredModel` (config + the versions its version policy
 * selects). It never loads anything; the manager does.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { asCranberriesError } from '../core/errors.js';
import type { AspiredModel, AspiredVersion } from './aspired-model.js';
import { modelConfigFromJson, parseModelConfig } from './config-parser.js';
import type { ModelConfig } from './model-config.js';
import { selectVersions } from './version-policy.js';

export interface ModelRepositoryOptions {
  readonly root: string;
  /** The model file name for a config (its `default_model_filename` or its backend's default). */
  readonly modelFilename: (config: ModelConfig) => string | undefined;
}

const VERSION_FOLDER = /^[1-9][0-9]*$/;

export class ModelRepository {
  constructor(private readonly options: ModelRepositoryOptions) {}

  get root(): string {
    return this.options.root;
  }

  /** Names of the model folders (hidden folders and plain files are ignored). */
  async list(): Promise<string[]> {
    const entries = await readdir(this.options.root, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  }

  async exists(model: string): Promise<boolean> {
    if (!isSafeName(model)) return false;
    return stat(join(this.options.root, model)).then((s) => s.isDirectory(), () => false);
  }

  /** Reads one model folder. Problems become `{ ok: false, reason }`, never exceptions. */
  async read(model: string, configJsonOverride?: string): Promise<AspiredModel> {
    if (!(await this.exists(model))) return { ok: false, reason: `no model folder '${model.slice(0, 100)}' in the model repository ${this.options.root}` };
    return readModelFolder(join(this.options.root, model), model, this.options.modelFilename, configJsonOverride);
  }
}

/** Reads a model folder anywhere on disk (the repository's, or an override folder of the load API). */
export async function readModelFolder(
  dir: string,
  model: string,
  modelFilename: (config: ModelConfig) => string | undefined,
  configJsonOverride?: string,
): Promise<AspiredModel> {
  try {
    let config: ModelConfig;
    let configStamp: string;
    if (configJsonOverride !== undefined) {
      config = modelConfigFromJson(JSON.parse(configJsonOverride) as unknown, model);
      configStamp = `json:${configJsonOverride}`;
    } else {
      const text = await readFile(join(dir, 'config.pbtxt'), 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return '';
        throw error;
      });
      config = parseModelConfig(text, model);
      configStamp = `pbtxt:${text}`;
    }
    const filename = modelFilename(config);
    if (!filename) return { ok: false, reason: `no backend serves platform '${config.platform}' / backend '${config.backend}'` };

    const entries = await readdir(dir, { withFileTypes: true });
    const available = entries.filter((e) => e.isDirectory() && VERSION_FOLDER.test(e.name)).map((e) => Number(e.name));
    const selected = selectVersions(config.version_policy, available);
    if (selected.length === 0) {
      const reason = noVersionReason(dir, filename, entries, available);
      return { ok: true, config, configStamp, versions: [], noVersionReason: reason };
    }
    const versions = await Promise.all(
      selected.map(async (version): Promise<AspiredVersion> => {
        const modelPath = await resolveModelFile(join(dir, String(version), filename));
        const info = await stat(modelPath).catch(() => undefined);
        return { version, modelPath, stamp: info ? `${info.size}:${info.mtimeMs}` : 'missing' };
      }),
    );
    return { ok: true, config, configStamp, versions };
  } catch (error) {
    return { ok: false, reason: asCranberriesError(error).message };
  }
}

/** Why a model folder offers no version to load, naming what is there instead. */
function noVersionReason(dir: string, filename: string, entries: readonly Dirent[], available: readonly number[]): string {
  const where = join(basename(dirname(dir)), basename(dir));
  if (available.length > 0) return `the version policy selects none of the versions ${available.join(', ')}`;
  const folders = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  const misnamed = folders.slice(0, MAX_NAMED).map((name) => `'${name.length > 40 ? `${name.slice(0, 40)}…` : name}' ${versionNameProblem(name)}`);
  if (misnamed.length > 0) {
    const more = folders.length > MAX_NAMED ? ` (and ${folders.length - MAX_NAMED} more)` : '';
    return `no valid version folder in ${where}/: ${misnamed.join('; ')}${more}`;
  }
  if (entries.some((e) => e.name === filename)) return `no version folder: put ${filename} under ${where}/1/`;
  return `no version folder: put ${filename} under ${where}/<version>/ (e.g. ${where}/1/${filename})`;
}

const MAX_NAMED = 5;

/** What is wrong with a folder name as a version (versions are positive integers without leading zeros). */
function versionNameProblem(name: string): string {
  if (/^0+$/.test(name)) return 'is not a version: versions start at 1';
  if (/^0+[1-9][0-9]*$/.test(name)) return `is zero-padded: rename it to '${String(Number(name))}'`;
  return 'is not a version number (a positive integer such as 1)';
}

/** Triton allows `model.onnx` to be a folder holding `model.onnx` (models with external data). */
async function resolveModelFile(path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) return join(path, 'model.onnx');
  return path;
}

/** A model name is one path segment: no separators, no `..`. */
export function isSafeName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}
