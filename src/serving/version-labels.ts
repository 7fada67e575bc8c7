/**
 * Version labels (`stable`, `canary`, ...): per model, a name that points at one version number,
 * so clients can address "the stable version" while operators move the label (TF Serving's
 * `version_labels`). Protocol-neutral: the TF Serving adapters resolve labels through it, the
 * model config list and the repository API set them.
 *
 * Rule (as TF Serving's default): a label may only be set to a version that is READY at that
 * moment, so a label never sends traffic to a version that cannot answer. With
 * `allowUnavailableForNewLabels` (TF Serving's `--allow_version_labels_for_unavailable_models`), a
 * label that does not exist yet may point at a version that is not READY (e.g. set in the same
 * config that starts loading it); moving an existing label still needs a READY target.
 *
 * Every change is validated as a whole before any of it applies. A label that later points at a
 * version that was unloaded keeps resolving; the request then fails as for any missing version.
 */
import { CranberriesError, invalidArgument } from '../core/index.js';

/** Label names as TF Serving documents them. */
const LABEL_NAME = /^[A-Za-z0-9_]+$/;

export interface VersionLabelsOptions {
  /** Whether `version` of `model` is READY now. */
  readonly isReady: (model: string, version: number) => boolean;
  /** Default false: every label needs a READY target. */
  readonly allowUnavailableForNewLabels?: boolean | undefined;
}

export type LabelMap = Readonly<Record<string, number>>;

export class VersionLabels {
  private readonly byModel = new Map<string, Map<string, number>>();

  constructor(private readonly options: VersionLabelsOptions) {}

  /** The version `label` points at for `model`; INVALID_ARGUMENT for an unknown label (TF Serving's message). */
  resolve(model: string, label: string): number {
    const version = this.byModel.get(model)?.get(label);
    if (version === undefined) throw invalidArgument(`Unrecognized servable version label: ${label}`);
    return version;
  }

  /** The labels of `model` (empty when it has none), sorted by label name. */
  labelsOf(model: string): LabelMap {
    const labels = this.byModel.get(model);
    if (!labels) return {};
    return Object.fromEntries([...labels.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Models that have at least one label. */
  models(): string[] {
    return [...this.byModel.keys()].sort();
  }

  /** Makes the labels of `model` exactly `labels` (a config's `version_labels`). */
  replace(model: string, labels: LabelMap): void {
    const next = new Map<string, number>();
    for (const [label, version] of Object.entries(labels)) next.set(label, version);
    this.check(model, next);
    this.store(model, next);
  }

  /** Sets the labels given a version and removes those given `null`; others stay. Returns the result. */
  update(model: string, changes: Readonly<Record<string, number | null>>): LabelMap {
    const next = new Map(this.byModel.get(model) ?? []);
    for (const [label, version] of Object.entries(changes)) {
      if (version === null) next.delete(label);
      else next.set(label, version);
    }
    this.check(model, next);
    this.store(model, next);
    return this.labelsOf(model);
  }

  /** Forgets every label of `model` (it is no longer served). */
  removeModel(model: string): void {
    this.byModel.delete(model);
  }

  private check(model: string, next: ReadonlyMap<string, number>): void {
    const current = this.byModel.get(model);
    for (const [label, version] of next) {
      if (!LABEL_NAME.test(label)) throw invalidArgument(`version label '${label}' of model '${model}': labels may only hold letters, digits and '_'`);
      if (!Number.isSafeInteger(version) || version < 1) {
        throw invalidArgument(`version label '${label}' of model '${model}': the version must be a positive integer, got ${String(version)}`);
      }
      if (current?.get(label) === version) continue;
      const isNew = current?.has(label) !== true;
      if (this.options.isReady(model, version) || (isNew && this.options.allowUnavailableForNewLabels === true)) continue;
      throw new CranberriesError(
        'FAILED_PRECONDITION',
        `version label '${label}' of model '${model}' cannot point at version ${version}: that version is not available (labels may only point at versions that are READY)`,
      );
    }
  }

  private store(model: string, next: Map<string, number>): void {
    if (next.size === 0) this.byModel.delete(model);
    else this.byModel.set(model, next);
  }
}
