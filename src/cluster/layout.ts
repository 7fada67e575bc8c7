/**
 * The cluster's shared state in the coordination store: the znode layout and the JSON stored at
 * each node. Components never call each other; they read and write these nodes.
 *
 *   <root>/models/<model>           persistent  ModelDeployment   desired state (controller reads, admin API writes)
 *   <root>/nodes/<nodeId>           ephemeral   NodeInfo          a live worker (the worker writes)
 *   <root>/assignments/<nodeId>     persistent  NodeAssignment    models a worker must serve (the leader controller writes)
 *   <root>/status/<nodeId>          ephemeral   NodeStatus        per-version state on a worker (the worker writes)
 *   <root>/placement/<model>        persistent  PlacementStatus   where a model is, or why it is PENDING (the leader writes)
 *   <root>/election/n_<seq>         ephemeral-sequential          controller leader election (lowest sequence leads)
 *
 * `<root>` defaults to `/cranberries`; a ZooKeeper connection string may add a chroot on top.
 */
import { z } from 'zod';

export const DEFAULT_ROOT = '/cranberries';

export function clusterPaths(root = DEFAULT_ROOT) {
  return {
    root,
    models: `${root}/models`,
    model: (name: string) => `${root}/models/${name}`,
    nodes: `${root}/nodes`,
    node: (id: string) => `${root}/nodes/${id}`,
    assignments: `${root}/assignments`,
    assignment: (id: string) => `${root}/assignments/${id}`,
    status: `${root}/status`,
    nodeStatus: (id: string) => `${root}/status/${id}`,
    placement: `${root}/placement`,
    modelPlacement: (name: string) => `${root}/placement/${name}`,
    election: `${root}/election`,
  } as const;
}
export type ClusterPaths = ReturnType<typeof clusterPaths>;

const versionState = z.enum(['LOADING', 'READY', 'UNLOADING', 'UNAVAILABLE']);

/** Desired state of one model. */
export const ModelDeployment = z.object({
  name: z.string().min(1),
  /** How many workers should serve it. 0 keeps the model known but unloaded. */
  replicas: z.number().int().min(0),
  /** Memory one replica needs, in bytes: measured at first load, else estimated from the model files. */
  memoryBytes: z.number().int().min(0),
  /** True once `memoryBytes` comes from a real load rather than an estimate. */
  memoryMeasured: z.boolean().default(false),
  /** Models that must be on every worker this one is on: an ensemble's step models (`ensemble-colocation.ts`). */
  requires: z.array(z.string()).optional(),
});
export type ModelDeployment = z.infer<typeof ModelDeployment>;

/** A live worker. */
export const NodeInfo = z.object({
  id: z.string().min(1),
  /** `host:port` of its OIP/TF Serving REST endpoint. */
  httpAddress: z.string(),
  /** `host:port` of its gRPC endpoint. */
  grpcAddress: z.string(),
  memoryCapacityBytes: z.number().int().min(0),
  labels: z.record(z.string(), z.string()).default({}),
  startedAt: z.number(),
});
export type NodeInfo = z.infer<typeof NodeInfo>;

/** What one worker must serve. */
export const NodeAssignment = z.object({
  models: z.array(z.string()),
});
export type NodeAssignment = z.infer<typeof NodeAssignment>;

/** A worker's report of every model version it holds. */
export const NodeStatus = z.object({
  models: z.record(
    z.string(),
    z.object({
      versions: z.record(z.string(), z.object({ state: versionState, reason: z.string().optional() })),
      /** Measured memory of the model on this worker, when known. */
      memoryBytes: z.number().int().min(0).optional(),
    }),
  ),
});
export type NodeStatus = z.infer<typeof NodeStatus>;

/** The leader controller's view of where a model runs, or why it cannot. */
export const PlacementStatus = z.object({
  state: z.enum(['PLACED', 'PARTIAL', 'PENDING']),
  nodes: z.array(z.string()),
  reason: z.string().optional(),
});
export type PlacementStatus = z.infer<typeof PlacementStatus>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Parses a node's JSON with a schema; undefined for malformed data (never trust the store blindly). */
export function decodeJson<T>(schema: z.ZodType<T>, data: Uint8Array | undefined): T | undefined {
  if (!data || data.byteLength === 0) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(decoder.decode(data)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
