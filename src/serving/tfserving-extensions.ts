/**
 * What the TF Serving APIs need beyond the Open Inference Protocol: version labels, per-version
 * status, class labels of outputs, and model-list reloads (HandleReloadConfigRequest). Kept out of
 * the serving core so that the core stays the protocol-neutral inference path.
 */
import { CranberriesError, notFound, scrubServerPaths } from '../core/index.js';
import type { ModelConfigListEntry } from '../repository/index.js';
import type { TfServingExtensions, VersionStatus } from './inference-service.js';
import type { ModelManager } from './model-manager.js';
import type { OutputLabelFiles } from './output-label-files.js';
import type { VersionLabels } from './version-labels.js';

export interface TfServingExtensionOptions {
  readonly manager: ModelManager;
  readonly versionLabels: VersionLabels;
  readonly outputLabels: OutputLabelFiles;
  /** Applies model lists at run time (TF Serving's HandleReloadConfigRequest); absent: reloads are refused. */
  readonly modelConfigList?: { apply(models: readonly ModelConfigListEntry[]): Promise<void> } | undefined;
  /** Why model lists are refused when `modelConfigList` is absent (names the flags that would allow them). */
  readonly modelConfigListRefusal?: string | undefined;
}

export class TfServingExtensionsService implements TfServingExtensions {
  constructor(private readonly options: TfServingExtensionOptions) {}

  resolveVersionLabel(model: string, label: string): number {
    return this.options.versionLabels.resolve(model, label);
  }

  modelVersionStatus(model: string, version?: number): readonly VersionStatus[] {
    const versions = this.options.manager.versions(model);
    if (versions.length === 0) throw notFound(`Could not find any versions of model ${model}`);
    const selected = version === undefined ? versions : versions.filter((v) => v.version === version);
    if (selected.length === 0) throw notFound(`Could not find version ${version} of model ${model}`);
    return selected.map((v) => ({ version: v.version, state: v.state, reason: v.reason === undefined ? undefined : scrubServerPaths(v.reason) }));
  }

  versionLabels(model: string): Readonly<Record<string, number>> {
    this.requireKnownModel(model);
    return this.options.versionLabels.labelsOf(model);
  }

  updateVersionLabels(model: string, changes: Readonly<Record<string, number | null>>): Readonly<Record<string, number>> {
    this.requireKnownModel(model);
    return this.options.versionLabels.update(model, changes);
  }

  outputLabels(model: string, version: number, output: string): readonly string[] | undefined {
    return this.options.outputLabels.of(this.options.manager.find(model, version)).get(output);
  }

  reloadModelConfigList(models: readonly ModelConfigListEntry[]): Promise<void> {
    const list = this.options.modelConfigList;
    if (!list) {
      return Promise.reject(
        new CranberriesError(
          'FAILED_PRECONDITION',
          this.options.modelConfigListRefusal ?? 'this server cannot take a model list at run time: its models follow the repository poller (--model-control-mode poll) or a cluster assignment',
        ),
      );
    }
    return list.apply(models);
  }

  private requireKnownModel(model: string): void {
    const { manager } = this.options;
    if (!manager.isAspired(model) && manager.versions(model).length === 0) throw notFound(`Request for unknown model: '${model}' is not found`);
  }
}
