/**
 * Command-line flags for the resource caps of model configurations (`repository/resource-caps.ts`),
 * shared by `serve` and `worker`:
 *
 *   --max-intra-op-threads N      default: the machine's cores
 *   --max-instances-per-model N   default: max(16, 2 × cores)
 *   --max-batch-size N            default: 1024
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { ResourceCaps } from '../repository/index.js';

export interface ResourceCapFlags {
  maxIntraOpThreads?: number;
  maxInstancesPerModel?: number;
  maxBatchSize?: number;
}

export function addResourceCapFlags(command: Command): Command {
  return command
    .option('--max-intra-op-threads <n>', 'largest intra_op_thread_count a model config may ask for (default: the number of cores)', wholeNumber)
    .option('--max-instances-per-model <n>', 'largest total instance_group count of a model (default: max(16, 2 × cores))', wholeNumber)
    .option('--max-batch-size <n>', 'largest max_batch_size (and preferred batch size) of a model (default: 1024)', wholeNumber);
}

/** The caps given on the command line; the others keep their defaults. */
export function resourceCapsFromFlags(flags: ResourceCapFlags): Partial<ResourceCaps> {
  const caps: { -readonly [K in keyof ResourceCaps]?: number } = {};
  if (flags.maxIntraOpThreads !== undefined) caps.maxIntraOpThreads = flags.maxIntraOpThreads;
  if (flags.maxInstancesPerModel !== undefined) caps.maxInstancesPerModel = flags.maxInstancesPerModel;
  if (flags.maxBatchSize !== undefined) caps.maxBatchSize = flags.maxBatchSize;
  return caps;
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a whole number ≥ 1`);
  return n;
}
