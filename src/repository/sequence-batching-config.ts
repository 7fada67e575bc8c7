/**
 * `sequence_batching` of a model config, shaped like Triton's `inference.ModelSequenceBatching`
 * (snake_case, enums by name, every default filled by the config normalizer).
 */
import type { ConfigDataType } from './model-config.js';

export type SequenceControlKind = 'CONTROL_SEQUENCE_START' | 'CONTROL_SEQUENCE_READY' | 'CONTROL_SEQUENCE_END' | 'CONTROL_SEQUENCE_CORRID';

export interface SequenceControl {
  kind: SequenceControlKind;
  int32_false_true: number[];
  fp32_false_true: number[];
  bool_false_true: boolean[];
  data_type: ConfigDataType;
}

export interface SequenceControlInput {
  name: string;
  control: SequenceControl[];
}

export interface SequenceInitialState {
  data_type: ConfigDataType;
  dims: number[];
  zero_data?: boolean | undefined;
  data_file?: string | undefined;
  name: string;
}

export interface SequenceState {
  input_name: string;
  output_name: string;
  data_type: ConfigDataType;
  dims: number[];
  initial_state: SequenceInitialState[];
  use_same_buffer_for_input_output: boolean;
  use_growable_memory: boolean;
}

export interface SequenceStrategyDirect {
  max_queue_delay_microseconds: number;
  minimum_slot_utilization: number;
}

export interface SequenceStrategyOldest {
  max_candidate_sequences: number;
  preferred_batch_size: number[];
  max_queue_delay_microseconds: number;
  preserve_ordering: boolean;
}

export interface ModelSequenceBatching {
  direct?: SequenceStrategyDirect | undefined;
  oldest?: SequenceStrategyOldest | undefined;
  max_sequence_idle_microseconds: number;
  control_input: SequenceControlInput[];
  state: SequenceState[];
  iterative_sequence: boolean;
}

/** The config's `sequence_batching`, if any (the normalizer keeps every field of the message). */
export function sequenceBatchingOf(config: object): ModelSequenceBatching | undefined {
  return (config as { sequence_batching?: ModelSequenceBatching | undefined }).sequence_batching;
}

/**
 * Names the sequence batcher feeds and reads itself: control inputs and implicit-state inputs are
 * not client inputs, and implicit-state outputs are not client outputs, so none of them is listed
 * in the config's `input` / `output`, and the model may have them without the config naming them.
 */
export function sequenceTensorNames(config: object): { inputs: ReadonlySet<string>; outputs: ReadonlySet<string> } {
  const sequence = sequenceBatchingOf(config);
  const inputs = new Set<string>();
  const outputs = new Set<string>();
  for (const control of sequence?.control_input ?? []) inputs.add(control.name);
  for (const state of sequence?.state ?? []) {
    inputs.add(state.input_name);
    outputs.add(state.output_name);
  }
  return { inputs, outputs };
}
