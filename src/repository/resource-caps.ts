/**
 * Upper bounds on what a model configuration may ask of the machine, whoever wrote it (a file in
 * the repository, the load API's `config` parameter, a TF Serving model list). Without them one
 * config line takes the server down: `intra_op_thread_count: "100000"` starts that many threads
 * per instance until the process runs out of memory, and `instance_group { count: 10000 }` starts
 * that many ONNX Runtime sessions.
 *
 * A config over a cap is refused before anything is started: the model is UNAVAILABLE with a
 * reason naming the field and the cap (what serves keeps serving, as for any broken config), and
 * the load API answers 400 / INVALID_ARGUMENT.
 */
import { availableParallelism } from 'node:os';
import type { ModelConfig } from './model-config.js';

export interface ResourceCaps {
  /** Largest `intra_op_thread_count` parameter (threads per instance). */
  readonly maxIntraOpThreads: number;
  /** Largest total `instance_group` count of a model. */
  readonly maxInstancesPerModel: number;
  /** Largest `max_batch_size`. */
  readonly maxBatchSize: number;
}

/** Default `max_batch_size` cap: far above what the bundled and tested models use (≤ 64). */
export const DEFAULT_MAX_BATCH_SIZE_CAP = 1024;

/** Defaults: threads ≤ cores, instances ≤ max(16, 2 × cores), batches ≤ 1024. */
export function defaultResourceCaps(cores = availableParallelism()): ResourceCaps {
  return { maxIntraOpThreads: cores, maxInstancesPerModel: Math.max(16, 2 * cores), maxBatchSize: DEFAULT_MAX_BATCH_SIZE_CAP };
}

/** Why `config` exceeds a cap (naming the field and the flag that sets the cap), or undefined. */
export function resourceCapViolation(config: ModelConfig, caps: ResourceCaps): string | undefined {
  const threads = config.parameters['intra_op_thread_count']?.string_value;
  if (threads !== undefined && threads.trim() !== '') {
    const n = Number(threads);
    if (!Number.isInteger(n) || n < 0) return `parameter intra_op_thread_count must be a whole number from 0 to ${caps.maxIntraOpThreads}, got "${bounded(threads)}"`;
    if (n > caps.maxIntraOpThreads) return `parameter intra_op_thread_count ${n} exceeds the cap of ${caps.maxIntraOpThreads} threads per instance (--max-intra-op-threads)`;
  }
  let instances = 0;
  for (const group of config.instance_group) {
    instances += group.count;
    if (group.count > caps.maxInstancesPerModel) {
      return `instance_group '${bounded(group.name)}' count ${group.count} exceeds the cap of ${caps.maxInstancesPerModel} instances per model (--max-instances-per-model)`;
    }
  }
  if (instances > caps.maxInstancesPerModel) {
    return `instance_group counts add up to ${instances} instances, over the cap of ${caps.maxInstancesPerModel} per model (--max-instances-per-model)`;
  }
  if (config.max_batch_size > caps.maxBatchSize) {
    return `max_batch_size ${config.max_batch_size} exceeds the cap of ${caps.maxBatchSize} (--max-batch-size)`;
  }
  // An unstated max_batch_size is completed to the largest preferred size: the cap applies to those too.
  for (const size of config.dynamic_batching?.preferred_batch_size ?? []) {
    if (size > caps.maxBatchSize) return `dynamic_batching preferred_batch_size ${size} exceeds the cap of ${caps.maxBatchSize} (--max-batch-size)`;
  }
  return undefined;
}

/** Config text in a message, cut short: a message never carries unbounded input. */
function bounded(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}
