/**
 * The sequence parameters of an inference request (`sequence_id`, `sequence_start`,
 * `sequence_end`: Triton's correlation ID and sequence flags) mean something only to a model with a
 * sequence batcher. For any other model they would be dropped without a word, so a client that
 * believes it keeps state across requests would get answers computed without it: such requests are
 * refused. A sequence_id of 0 or "" and false flags mean "no sequence" (Triton's clients send them
 * that way) and pass. Models whose config has `sequence_batching` are left to the sequence batcher.
 */
import { invalidArgument } from '../core/index.js';
import type { ModelConfig } from '../repository/index.js';
import type { Parameters } from './inference.js';

/** Whether the config asks for a sequence batcher (the field is carried even where it is not typed). */
export function hasSequenceBatching(config: ModelConfig): boolean {
  const sequence = (config as ModelConfig & { sequence_batching?: unknown }).sequence_batching;
  return sequence !== undefined && sequence !== null;
}

/** The sequence parameters `parameters` sets to something other than "no sequence". */
export function sequenceParametersSet(parameters: Parameters | undefined): string[] {
  if (!parameters) return [];
  const set: string[] = [];
  const id = parameters['sequence_id'];
  if (id !== undefined && id !== '' && id !== 0 && id !== 0n && id !== false) set.push('sequence_id');
  for (const flag of ['sequence_start', 'sequence_end']) {
    const value = parameters[flag];
    if (value !== undefined && value !== false && value !== 0 && value !== 0n && value !== 'false') set.push(flag);
  }
  return set;
}

/** Throws INVALID_ARGUMENT when a request for a model without `sequence_batching` names a sequence. */
export function refuseSequenceParameters(parameters: Parameters | undefined, config: ModelConfig): void {
  if (hasSequenceBatching(config)) return;
  const set = sequenceParametersSet(parameters);
  if (set.length === 0) return;
  throw invalidArgument(
    `inference request to model '${config.name}' must not specify ${set.join(', ')}: the model is not configured for sequence batching (no sequence_batching in its config), so it keeps no state between requests`,
  );
}
