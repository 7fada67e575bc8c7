/**
 * Reads a Triton-layout model repository from disk:
 *
 *   <root>/<model>/config.pbtxt          (optional: completed from the model file when absent)
 *   <root>/<model>/<version>/model.onnx  (version folders: positive integers without leading zeros)
 *
 * TF Serving's layout takes any all-digit folder name as a version (its tests serve `00000123` as
 * version 123): with `versionFolders: 'digits'` (models listed by a TF Serving model config file,
 * or a repository opened with `--version-folder-names digits`) zero-padded names are versions too,
 * and two folders naming the same number (`7` and `007`) make the model unavailable with both
 * names in the reason, since either could be meant.
 *
 * and turns each model folder into an `AspiredModel` (config + the versions its version policy
 * selects). It never loads anything; the manager does.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { asCranberriesError } from '../core/index.js';
import type { AspiredModel, AspiredVersion } from './aspired-model.js';
import { modelConfigFromJson, parseModelConfig } from './config-parser.js';
import { checkFolderInside, OutsideBoundaryError, realBoundary, resolveInside } from './contained-path.js';
import { fileErrorReason } from './file-errors.js';
import type { ModelConfig } from './model-config.js';
import { isValidModelName, modelNameProblem } from './model-names.js';
import { selectVersions } from './version-policy.js';

export interface ModelRepositoryOptions {
  readonly root: string;
  /** The model file name for a config (its `default_model_filename` or its backend's default). */
  readonly modelFilename: (config: ModelConfig) => string | undefined;
  /**
   * Told why a folder is not served as it is: a folder name that is no valid model name (the folder
   * is ignored), or a link leading outside the repository (the model or version is UNAVAILABLE).
   * Called on every scan that meets it; callers that log should log each reason once.
   */
  readonly onRefused?: ((name: string, reason: string) => void) | undefined;
  /** Which folder names are versions: `strict` (default) `1`, `2`, …; `digits` any all-digit name (TF Serving's rule). */
  readonly versionFolders?: VersionFolderNames | undefined;
}

/** `strict`: positive integers without leading zeros; `digits`: any all-digit name ≥ 1 (`00000123` = 123). */
export type VersionFolderNames = 'strict' | 'digits';

/** Where a model folder's files may resolve to, and who hears about refusals (see `contained-path.ts`). */
export interface FolderScope {
  /** Default: the model folder itself. */
  readonly boundary?: string | undefined;
  readonly onRefused?: ((reason: string) => void) | undefined;
  /** Which folder names are versions (default `strict`). */
  readonly versionFolders?: VersionFolderNames | undefined;
}

const VERSION_FOLDER = /^[1-9][0-9]*$/;
const DIGITS_VERSION_FOLDER = /^[0-9]+$/;

/**
 * The version folders among `names`, version → folder name; a string when two names give the same
 * version (the refusal, naming both).
 */
export function versionFolders(names: readonly string[], rule: VersionFolderNames = 'strict'): Map<number, string> | string {
  const found = new Map<number, string>();
  for (const name of [...names].sort()) {
    if (!(rule === 'digits' ? DIGITS_VERSION_FOLDER : VERSION_FOLDER).test(name)) continue;
    const version = Number(name);
    if (version < 1 || !Number.isSafeInteger(version)) continue;
    const other = found.get(version);
    if (other !== undefined) return `version folders '${other}' and '${name}' both name version ${version}: remove or rename one`;
    found.set(version, name);
  }
  return found;
}

export class ModelRepository {
  constructor(private readonly options: ModelRepositoryOptions) {}

  get root(): string {
    return this.options.root;
  }

  /**
   * Names of the model folders (hidden entries and plain files are ignored). A folder whose name is
   * no valid model name is ignored with a reason; a link to a folder counts as a model folder, and
   * one leading outside the repository is listed so that its reason shows in the index.
   */
  async list(): Promise<string[]> {
    const entries = await readdir(this.options.root, { withFileTypes: true });
    const names: string[] = [];
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      if (!entry.isDirectory() && !entry.isSymbolicLink()) continue;
      const problem = modelNameProblem(entry.name);
      if (problem !== undefined) {
        this.options.onRefused?.(entry.name, `folder ignored: ${problem}`);
        continue;
      }
      if (entry.isSymbolicLink()) {
        // A link to a plain file is no model; a dangling or outside link is, so its reason shows.
        const target = await stat(join(this.options.root, entry.name)).catch(() => undefined);
        if (target && !target.isDirectory()) continue;
      }
      names.push(entry.name);
    }
    return names.sort();
  }

  async exists(model: string): Promise<boolean> {
    if (!isValidModelName(model)) return false;
    const path = join(this.options.root, model);
    return stat(path).then(
      (s) => s.isDirectory(),
      // A dangling link still names a model: loading it answers with the reason, not "no folder".
      () =>
        readdir(this.options.root).then(
          (names) => names.includes(model),
          () => false,
        ),
    );
  }

  /** Reads one model folder. Problems become `{ ok: false, reason }`, never exceptions. */
  async read(model: string, configJsonOverride?: string): Promise<AspiredModel> {
    if (!(await this.exists(model))) return { ok: false, reason: `no model folder '${model.slice(0, 100)}' in the model repository ${this.options.root}` };
    const root = await realBoundary(this.options.root);
    const onRefused = this.options.onRefused;
    return readModelFolder(join(root, model), model, this.options.modelFilename, configJsonOverride, {
      boundary: root,
      onRefused: onRefused && ((reason) => onRefused(model, reason)),
      versionFolders: this.options.versionFolders,
    });
  }
}

/**
 * Reads a model folder anywhere on disk (the repository's, a model list's base path, or an
 * override folder of the load API). Every file read must resolve inside `scope.boundary`: a
 * model folder or `config.pbtxt` or label file leading outside makes the model unavailable, a
 * version folder or model file leading outside makes that version unavailable.
 */
export async function readModelFolder(
  dir: string,
  model: string,
  modelFilename: (config: ModelConfig) => string | undefined,
  configJsonOverride?: string,
  scope: FolderScope = {},
): Promise<AspiredModel> {
  const boundary = await realBoundary(scope.boundary ?? dir);
  // A folder that is its own boundary is read through its real path, so messages name paths inside it.
  const base = scope.boundary === undefined || scope.boundary === dir ? boundary : dir;
  const refuse = (error: OutsideBoundaryError): string => {
    scope.onRefused?.(error.message);
    return error.message;
  };
  try {
    const realDir = await resolveInside(boundary, base);
    if (realDir === undefined) return { ok: false, reason: `model folder '${model}' not found` };
    let config: ModelConfig;
    let configStamp: string;
    if (configJsonOverride !== undefined) {
      config = modelConfigFromJson(parseConfigJson(configJsonOverride), model);
      configStamp = `json:${configJsonOverride}`;
    } else {
      const configPath = await resolveInside(boundary, join(base, 'config.pbtxt'));
      const text = configPath === undefined ? '' : await readFile(configPath, 'utf8');
      config = parseModelConfig(text, model);
      configStamp = `pbtxt:${text}`;
    }
    for (const output of config.output) {
      if (output.label_filename) await resolveInside(boundary, join(base, output.label_filename));
    }
    const filename = modelFilename(config);
    if (!filename) return { ok: false, reason: `no backend serves platform '${config.platform}' / backend '${config.backend}'` };

    const entries = await readdir(realDir, { withFileTypes: true });
    const folders = versionFolders(
      entries.filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => e.name),
      scope.versionFolders,
    );
    if (typeof folders === 'string') {
      scope.onRefused?.(folders);
      return { ok: false, reason: folders };
    }
    const available = [...folders.keys()];
    const selected = selectVersions(config.version_policy, available);
    if (selected.length === 0) {
      const reason = noVersionReason(dir, filename, entries, available);
      return { ok: true, config, configStamp, versions: [], noVersionReason: reason, files: { directory: realDir, boundary } };
    }
    const versions = await Promise.all(
      selected.map(async (version): Promise<AspiredVersion | undefined> => {
        const versionDir = join(base, folders.get(version) ?? String(version));
        try {
          const realVersionDir = await resolveInside(boundary, versionDir);
          if (realVersionDir === undefined || !(await stat(realVersionDir)).isDirectory()) return undefined;
          await checkFolderInside(boundary, realVersionDir);
          const modelPath = await resolveModelFile(boundary, join(versionDir, filename));
          const info = await stat(modelPath).catch(() => undefined);
          return { version, modelPath, stamp: info ? `${info.size}:${info.mtimeMs}` : 'missing' };
        } catch (error) {
          if (!(error instanceof OutsideBoundaryError)) throw error;
          return { version, modelPath: join(versionDir, filename), stamp: `refused:${error.message}`, refused: refuse(error) };
        }
      }),
    );
    return { ok: true, config, configStamp, versions: versions.filter((v): v is AspiredVersion => v !== undefined), files: { directory: realDir, boundary } };
  } catch (error) {
    if (error instanceof OutsideBoundaryError) return { ok: false, reason: refuse(error) };
    // File system messages name absolute paths: show them relative to the model folder, shortened.
    const fileReason = fileErrorReason(error, boundary);
    if (fileReason !== undefined) return { ok: false, reason: fileReason };
    return { ok: false, reason: asCranberriesError(error).message.replaceAll(`${boundary}/`, '').replaceAll(boundary, '.') };
  }
}

/** Why a model folder offers no version to load, naming what is there instead. */
function noVersionReason(dir: string, filename: string, entries: readonly Dirent[], available: readonly number[]): string {
  const where = join(basename(dirname(dir)), basename(dir));
  if (available.length > 0) return `the version policy selects none of the versions ${available.join(', ')}`;
  const folders = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
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

/**
 * The real path of a version's model file. Triton allows `model.onnx` to be a folder holding
 * `model.onnx` (models with external data); every link in that folder must stay inside too.
 */
async function resolveModelFile(boundary: string, path: string): Promise<string> {
  const real = await resolveInside(boundary, path);
  if (real === undefined) return path;
  const info = await stat(real);
  if (!info.isDirectory()) return real;
  await checkFolderInside(boundary, real);
  return (await resolveInside(boundary, join(real, 'model.onnx'))) ?? join(real, 'model.onnx');
}

function parseConfigJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`the "config" parameter is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}
