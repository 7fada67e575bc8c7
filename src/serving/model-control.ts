/**
 * The model control API (`POST /v2/repository/models/<m>/load` and `/unload`, Triton's explicit
 * model control): loads a model from its repository folder, from the folder with a `config`
 * override, or from files sent with the request (an override folder of its own, deleted as soon as
 * nothing is served from it). Kept apart from inference because it owns files on disk and the
 * control-mode rules; the serving core only delegates to it.
 */
import { CranberriesError, invalidArgument, notFound } from '../core/index.js';
import { readModelFolder, type ModelRepository, checkModelName } from '../repository/index.js';
import type { ModelConfig } from '../repository/index.js';
import type { LoadModelOptions } from './inference-service.js';
import type { ModelManager } from './model-manager.js';
import { OverrideFolders } from './override-folders.js';
import type { ServedVersion } from './served-version.js';

export type ModelControlMode = 'none' | 'poll' | 'explicit';

export interface ModelControlOptions {
  readonly manager: ModelManager;
  readonly repository: ModelRepository;
  readonly controlMode: ModelControlMode;
  readonly modelFilename: (config: ModelConfig) => string | undefined;
}

export class ModelControl {
  /** The load API's override folders, and which of them each model may still be served from. */
  private readonly overrideFolders = new OverrideFolders();
  private readonly overrides = new Map<string, Set<string>>();
  /** Override folders whose load is still under way (nothing may be served from them yet). */
  private readonly overridesLoading = new Set<string>();

  constructor(private readonly options: ModelControlOptions) {}

  async loadModel(model: string, options?: LoadModelOptions): Promise<void> {
    this.requireExplicitMode();
    checkModelName(model);
    const { manager, repository } = this.options;
    if (options?.files && options.files.size > 0) {
      if (options.config === undefined) throw invalidArgument(`loading model '${model}' with file overrides needs a "config" parameter`);
      await this.loadOverride(model, options.config, options.files);
      return;
    }
    if (!(await repository.exists(model))) throw notFound(`failed to load '${model}': no model folder '${model}' in the repository`);
    const aspired = await repository.read(model, options?.config);
    if (!aspired.ok) {
      await manager.setAspired(model, aspired);
      throw invalidArgument(`failed to load '${model}': ${aspired.reason}`);
    }
    await manager.setAspired(model, aspired);
  }

  async unloadModel(model: string): Promise<void> {
    this.requireExplicitMode();
    checkModelName(model);
    const { manager, repository } = this.options;
    if (!manager.isAspired(model) && manager.versions(model).length === 0 && !(await repository.exists(model))) {
      throw notFound(`failed to unload '${model}': unknown model`);
    }
    try {
      await manager.setAspired(model, undefined);
    } finally {
      await this.pruneOverrides(model);
    }
  }

  /** The override folder a version was read from, if any (its label files are there). */
  overrideFolderOf(served: ServedVersion): string | undefined {
    for (const dir of this.overrides.get(served.model) ?? []) if (served.stamp.includes(overrideMarker(dir))) return dir;
    return undefined;
  }

  /** Called once the models are unloaded on shutdown: deletes every override folder. */
  async close(): Promise<void> {
    this.overrides.clear();
    await this.overrideFolders.removeAll();
  }

  private requireExplicitMode(): void {
    const mode = this.options.controlMode;
    if (mode !== 'explicit') {
      throw new CranberriesError(
        'UNAVAILABLE',
        `explicit model load / unload is not allowed when --model-control-mode is '${mode}': start the server with --model-control-mode explicit` +
          (mode === 'none'
            ? ', or change the served models with the cluster admin API (POST /v2/cluster/models/<model>/load or /unload)'
            : ', or add / remove model folders and let the poller follow'),
      );
    }
  }

  /**
   * The load API's file overrides form a model folder of their own (`OverrideFolders`). Its
   * versions' stamps name the folder, so which folders still serve is known from the manager; a
   * folder nothing is served from (a failed load, a replaced one) is deleted at once.
   */
  private async loadOverride(model: string, config: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    const { manager } = this.options;
    const dir = await this.overrideFolders.create(files);
    let folders = this.overrides.get(model);
    if (!folders) this.overrides.set(model, (folders = new Set()));
    folders.add(dir);
    this.overridesLoading.add(dir);
    try {
      const read = await readModelFolder(dir, model, this.options.modelFilename, config);
      if (!read.ok) {
        // The model's visible reason, as for a repository folder; what serves keeps serving.
        await manager.setAspired(model, read);
        throw invalidArgument(`failed to load '${model}': ${read.reason}`);
      }
      await manager.setAspired(model, { ...read, configStamp: `${read.configStamp}${overrideMarker(dir)}` });
    } finally {
      this.overridesLoading.delete(dir);
      await this.pruneOverrides(model);
    }
  }

  private async pruneOverrides(model: string): Promise<void> {
    const folders = this.overrides.get(model);
    if (!folders) return;
    // Versions that failed to load (UNAVAILABLE) serve nothing: their folder may go.
    const stamps = this.options.manager
      .versions(model)
      .filter((v) => v.state !== 'UNAVAILABLE')
      .map((v) => v.stamp);
    for (const dir of [...folders]) {
      if (this.overridesLoading.has(dir) || stamps.some((stamp) => stamp.includes(overrideMarker(dir)))) continue;
      folders.delete(dir);
      await this.overrideFolders.remove(dir);
    }
    if (folders.size === 0) this.overrides.delete(model);
  }
}

/** Ends a config stamp of a version read from an override folder (stamps are `<config>|<file>`). */
function overrideMarker(dir: string): string {
  return `\n@override:${dir}|`;
}
