/**
 * A model source driven by a TF Serving model list (`--model-config-file`, or a list given at run
 * time by gRPC `HandleReloadConfigRequest`): each application of a list makes the served models
 * exactly the listed ones — listed models are read from their `base_path` and aspired, every other
 * served model is unloaded — and then sets each model's version labels.
 *
 * Applications run one after another. With a poll period the file is re-read (and every
 * `base_path` rescanned, so new version folders are picked up) every period; a list that cannot be
 * read or applied is reported and the previous state keeps serving. Labels are set after the
 * model's loads have settled, because a label may only point at a READY version.
 *
 * As a `ModelSource` it decides a server's models when `--model-config-file` is given; without a
 * file it is only connected (`connect`), so that lists given at run time have a target.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CranberriesError, asCranberriesError } from '../core/index.js';
import type { AspiredModel, ModelConfig } from '../repository/index.js';
import { modelConfigType, parseModelConfigList, type ModelConfigListEntry, readModelFolder, realBoundary, resolveInside, parseTextFormat } from '../repository/index.js';
import type { AspiredModelsTarget, ModelSource } from './model-source.js';

export interface ModelConfigListSourceOptions {
  /** The model config file; undefined when lists only arrive at run time. */
  readonly file?: string | undefined;
  /** Seconds between re-reads of the file; 0 reads it once. */
  readonly pollSeconds: number;
  readonly modelFilename: (config: ModelConfig) => string | undefined;
  /** Makes `model`'s version labels exactly `labels`; throws when one cannot be set. */
  readonly setLabels: (model: string, labels: Readonly<Record<string, number>>) => void;
  /** Failures no caller waits for: models failing at startup, failed re-reads (each distinct message once). */
  readonly onError?: ((error: CranberriesError) => void) | undefined;
}

export class ModelConfigListSource implements ModelSource {
  private readonly directories = new Map<string, string>();
  private target: AspiredModelsTarget | undefined;
  private startupNames: readonly string[] = [];
  private queue: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private lastError: string | undefined;

  constructor(private readonly options: ModelConfigListSourceOptions) {}

  /**
   * Reads and applies the file (if any) and starts polling; resolves once the listed models have
   * settled. A file that cannot be read or parsed rejects (nothing is applied); models that fail
   * to load are reported to `onError`, the others serve.
   */
  async start(target: AspiredModelsTarget): Promise<void> {
    this.connect(target);
    const { file, pollSeconds } = this.options;
    if (file === undefined) return;
    const entries = await this.readFile(file);
    if (pollSeconds > 0) {
      this.timer = setInterval(() => void this.poll(), pollSeconds * 1000);
      this.timer.unref();
    }
    await this.apply(entries).catch((error: unknown) => this.report(asCranberriesError(error)));
    this.startupNames = target.servedModels();
  }

  /** Gives run-time lists (`apply`) their target without reading any file. */
  connect(target: AspiredModelsTarget): void {
    this.target = target;
  }

  startupModels(): readonly string[] {
    return this.startupNames;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.queue;
  }

  /** The folder a listed model is served from (for its label files), if it is listed. */
  directoryOf(model: string): string | undefined {
    return this.directories.get(model);
  }

  /**
   * Makes the served models exactly `entries`. Resolves when every model has settled; rejects with
   * FAILED_PRECONDITION listing every model or label that failed (the rest is applied regardless).
   */
  apply(entries: readonly ModelConfigListEntry[]): Promise<void> {
    const run = this.queue.then(() => this.applyNow(entries));
    this.queue = run.catch(() => {});
    return run;
  }

  private async applyNow(entries: readonly ModelConfigListEntry[]): Promise<void> {
    const target = this.target;
    if (!target) throw new CranberriesError('FAILED_PRECONDITION', 'the model config list is not connected to a model manager yet');
    const { setLabels } = this.options;
    const listed = new Set(entries.map((e) => e.name));
    const aspired = await Promise.all(entries.map((entry) => readEntry(entry, this.options.modelFilename)));
    for (const entry of entries) this.directories.set(entry.name, entry.basePath);
    for (const name of [...this.directories.keys()]) if (!listed.has(name)) this.directories.delete(name);

    const failures: string[] = [];
    const removals = target
      .servedModels()
      .filter((m) => !listed.has(m))
      .map(async (model) => {
        setLabels(model, {});
        await target.setAspired(model, undefined);
      });
    const loads = entries.map(async (entry, i) => {
      const wanted = aspired[i]!;
      if (!wanted.ok) failures.push(`model '${entry.name}' (${entry.basePath}): ${wanted.reason}`);
      try {
        await target.setAspired(entry.name, wanted);
      } catch (error) {
        failures.push(`model '${entry.name}': ${asCranberriesError(error).message}`);
      }
    });
    await Promise.all([...removals, ...loads]);
    for (const entry of entries) {
      try {
        setLabels(entry.name, entry.versionLabels);
      } catch (error) {
        failures.push(asCranberriesError(error).message);
      }
    }
    if (failures.length > 0) throw new CranberriesError('FAILED_PRECONDITION', `the model config list was applied with failures: ${failures.join('; ')}`);
  }

  private async readFile(file: string): Promise<ModelConfigListEntry[]> {
    const text = await readFile(file, 'utf8').catch((error: Error) => {
      throw new CranberriesError('INVALID_ARGUMENT', `cannot read the model config file ${file}: ${error.message}`);
    });
    return parseModelConfigList(text, file, dirname(file));
  }

  private async poll(): Promise<void> {
    const file = this.options.file;
    if (file === undefined) return;
    try {
      await this.apply(await this.readFile(file));
      this.lastError = undefined;
    } catch (error) {
      this.report(asCranberriesError(error));
    }
  }

  private report(failure: CranberriesError): void {
    if (failure.message !== this.lastError) this.options.onError?.(failure);
    this.lastError = failure.message;
  }
}

/**
 * Reads a listed model's folder. The folder's `config.pbtxt` (optional) is taken as written, with
 * the list's name and version policy put in, so a folder can serve under another name and the
 * list decides which versions are served.
 */
async function readEntry(entry: ModelConfigListEntry, modelFilename: (config: ModelConfig) => string | undefined): Promise<AspiredModel> {
  let raw: Record<string, unknown>;
  const base = await realBoundary(entry.basePath);
  try {
    // The base path may be anywhere (the operator chose it); what it holds must stay inside it.
    const configPath = await resolveInside(base, join(base, 'config.pbtxt'));
    const text = configPath === undefined ? '' : await readFile(configPath, 'utf8');
    raw = parseTextFormat(text, modelConfigType());
  } catch (error) {
    return { ok: false, reason: `config.pbtxt: ${asCranberriesError(error).message}` };
  }
  raw['name'] = entry.name;
  if (entry.versionPolicy) raw['version_policy'] = entry.versionPolicy;
  // TF Serving's world: any all-digit folder name is a version, as TF Serving reads base paths.
  return readModelFolder(base, entry.name, modelFilename, JSON.stringify(raw), { boundary: base, versionFolders: 'digits' });
}
