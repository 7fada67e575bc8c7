/**
 * Repository load/unload on the gateway, as desired-state changes through the cluster admin API
 * (`ClusterAdmin`): the gateway never tells a worker to load anything; the leader controller
 * places the replicas and the workers follow their assignments.
 *
 * `load` keeps a model's replica count when it already has replicas (a reload must not shrink a
 * model scaled up through the admin API) and gives it the default count otherwise.
 */
import type { ClusterAdmin } from '../../cluster/index.js';
import { CranberriesError } from '../../core/index.js';

/** Writes a model's desired state (the cluster admin API's functions). */
export interface ModelControl {
  /** Makes the model deployed with at least one replica. */
  load(model: string): Promise<void>;
  /** Keeps the model known but with zero replicas. */
  unload(model: string): Promise<void>;
  /** Why a model has no replica (e.g. PENDING placement), if known. */
  pendingReason?(model: string): Promise<string | undefined>;
}

export function adminModelControl(admin: ClusterAdmin): ModelControl {
  const current = async (model: string): Promise<number | undefined> => {
    try {
      return (await admin.getModel(model)).replicas;
    } catch (error) {
      if (error instanceof CranberriesError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    }
  };
  return {
    async load(model) {
      const replicas = await current(model);
      await admin.load(model, replicas !== undefined && replicas > 0 ? replicas : undefined);
    },
    async unload(model) {
      await admin.unload(model);
    },
    async pendingReason(model) {
      const view = await admin.getModel(model);
      return view.placement.state === 'PLACED' ? undefined : view.placement.reason;
    },
  };
}
