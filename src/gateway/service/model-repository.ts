/**
 * The repository extension on the gateway: the index is the workers' reported states merged per
 * version (a version is READY if any replica is); load and unload write desired state through
 * `ModelControl` and wait for the cluster to follow, never calling a worker.
 */
import { CranberriesError, notFound, unavailable } from '../../core/index.js';
import type { EventChannel } from '../../core/index.js';
import type { LoadModelOptions, ModelIndexEntry, VersionState } from '../../serving/index.js';
import type { EndpointTable } from '../routing/index.js';
import type { ModelControl } from './model-control.js';

export interface ModelRepositoryOptions {
  readonly table: () => EndpointTable;
  readonly tableUpdated: EventChannel<EndpointTable>;
  readonly control?: ModelControl | undefined;
  /** How long load/unload wait for the cluster to follow. Default 120 s. */
  readonly controlTimeoutMs?: number | undefined;
}

const STATE_RANK: Readonly<Record<VersionState, number>> = { READY: 3, LOADING: 2, UNLOADING: 1, UNAVAILABLE: 0 };

export class ModelRepository {
  constructor(private readonly options: ModelRepositoryOptions) {}

  async repositoryIndex(readyOnly: boolean): Promise<readonly ModelIndexEntry[]> {
    const table = this.options.table();
    const entries: ModelIndexEntry[] = [];
    for (const name of table.models()) {
      const byVersion = new Map<number, { state: VersionState; reason?: string | undefined }>();
      for (const replica of table.replicaStates(name)) {
        const best = byVersion.get(replica.version);
        if (!best || STATE_RANK[replica.state] > STATE_RANK[best.state]) byVersion.set(replica.version, { state: replica.state, reason: replica.reason });
      }
      if (byVersion.size === 0) {
        if (readyOnly) continue;
        const reason = await this.options.control?.pendingReason?.(name).catch(() => undefined);
        entries.push(reason ? { name, state: 'UNAVAILABLE', reason } : { name });
        continue;
      }
      for (const [version, { state, reason }] of [...byVersion].sort((a, b) => a[0] - b[0])) {
        if (readyOnly && state !== 'READY') continue;
        entries.push({ name, version: String(version), state, ...(reason && state !== 'READY' ? { reason } : {}) });
      }
    }
    return entries;
  }

  async loadModel(model: string, options?: LoadModelOptions): Promise<void> {
    const control = this.requireControl();
    if (options?.config !== undefined || (options?.files?.size ?? 0) > 0) {
      throw new CranberriesError(
        'UNIMPLEMENTED',
        `failed to load '${model}': configuration and file overrides are not supported through the gateway; add the model to the repository the workers share`,
      );
    }
    await control.load(model);
    await this.waitFor(
      (table) => table.freshVersions(model).length > 0,
      async () => {
        const reason = await control.pendingReason?.(model).catch(() => undefined);
        return `failed to load '${model}': no replica became READY${reason ? ` (${reason})` : ''}`;
      },
    );
  }

  async unloadModel(model: string): Promise<void> {
    const control = this.requireControl();
    if (!this.options.table().hasModel(model)) throw notFound(`failed to unload '${model}': unknown model`);
    await control.unload(model);
    await this.waitFor(
      (table) => !table.replicaStates(model).some((r) => !r.retained && (r.state === 'READY' || r.state === 'LOADING')),
      () => Promise.resolve(`failed to unload '${model}': some workers still serve it`),
    );
  }

  private requireControl(): ModelControl {
    const control = this.options.control;
    if (!control) throw new CranberriesError('UNIMPLEMENTED', 'this gateway cannot change the deployed models (no coordination store)');
    return control;
  }

  /** Resolves once `done(table)` holds; rejects with UNAVAILABLE after the control timeout. */
  private waitFor(done: (table: EndpointTable) => boolean, timeoutMessage: () => Promise<string>): Promise<void> {
    if (done(this.options.table())) return Promise.resolve();
    const timeoutMs = this.options.controlTimeoutMs ?? 120_000;
    return new Promise((resolve, reject) => {
      const unsubscribe = this.options.tableUpdated.subscribe((table) => {
        if (!done(table)) return;
        clearTimeout(timer);
        unsubscribe();
        resolve();
      });
      const timer = setTimeout(() => {
        unsubscribe();
        void timeoutMessage().then((message) => reject(unavailable(message)));
      }, timeoutMs);
    });
  }
}
