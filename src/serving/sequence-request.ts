/**
 * The sequence parameters of a request for a sequence model (`sequence_batching` in its config);
 * undefined for any other model, whose parameters are not read here.
 */
import type { ModelConfig } from '../repository/index.js';
import { sequenceBatchingOf } from '../repository/index.js';
import { sequenceFlags, type SequenceFlags } from '../scheduling/index.js';
import type { InferenceRequest } from './inference.js';

export function sequenceRequestFlags(config: ModelConfig, request: InferenceRequest): SequenceFlags | undefined {
  if (!sequenceBatchingOf(config)) return undefined;
  return sequenceFlags(request.parameters);
}
