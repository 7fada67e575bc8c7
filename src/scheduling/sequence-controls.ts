/**
 * The control inputs a sequence model receives from the scheduler, never from the client (Triton's
 * `sequence_batching.control_input`): START (first request of a sequence), END (last request),
 * READY (the batch row holds a real request; a row that only pads a batch slot is not ready) and
 * CORRID (the row's correlation id). Pure functions: the plan is read from the config once, at load;
 * each batch row then gets its control tensors from its flags.
 *
 * START / END / READY are written as the configured false/true pair (`int32_false_true`,
 * `fp32_false_true` or `bool_false_true`); CORRID as the configured `data_type` (UINT64, INT64,
 * UINT32, INT32 or STRING). Every control tensor holds one element per row: shape `[1, 1]` for a
 * batching model (one row of dims `[1]`), `[1]` otherwise.
 */
import { invalidArgument } from '../core/index.js';
import { dataTypeFromConfig, type DataType } from '../tensors/index.js';
import type { Tensor } from '../tensors/index.js';
import type { ModelSequenceBatching, SequenceControlKind } from '../repository/index.js';

/** A correlation id: a non-zero unsigned integer or a non-empty string. */
export type CorrelationId = bigint | string;

interface FlagControl {
  readonly name: string;
  readonly datatype: DataType;
  /** [false, true] as numbers (bool as 0/1). */
  readonly values: readonly [number, number];
}

interface CorridControl {
  readonly name: string;
  readonly datatype: DataType;
}

export interface ControlPlan {
  readonly start?: FlagControl | undefined;
  readonly end?: FlagControl | undefined;
  readonly ready?: FlagControl | undefined;
  readonly corrid?: CorridControl | undefined;
}

export interface RowFlags {
  readonly start: boolean;
  readonly end: boolean;
  readonly ready: boolean;
  /** Undefined for a padding row (its CORRID is 0 / ""). */
  readonly correlationId: CorrelationId | undefined;
}

const CORRID_TYPES: ReadonlySet<DataType> = new Set(['UINT64', 'INT64', 'UINT32', 'INT32', 'BYTES']);

/**
 * Reads and checks the control inputs of `sequence_batching` (Triton's rules: each kind at most
 * once; a flag control has exactly one two-element false/true list; CORRID has a data type).
 * `fail` receives a message naming the control.
 */
export function controlPlan(sequence: ModelSequenceBatching, fail: (message: string) => never): ControlPlan {
  const plan: { start?: FlagControl; end?: FlagControl; ready?: FlagControl; corrid?: CorridControl } = {};
  const seen = new Set<SequenceControlKind>();
  const names = new Set<string>();
  for (const input of sequence.control_input) {
    if (input.name === '') fail('sequence_batching: a control_input has no name');
    if (names.has(input.name)) fail(`sequence_batching: control input '${input.name}' is listed twice`);
    names.add(input.name);
    if (input.control.length !== 1) fail(`sequence_batching: control input '${input.name}' must have exactly one control, it has ${input.control.length}`);
    const control = input.control[0]!;
    if (seen.has(control.kind)) fail(`sequence_batching specifies multiple ${control.kind} tensors`);
    seen.add(control.kind);
    if (control.kind === 'CONTROL_SEQUENCE_CORRID') {
      const datatype = dataTypeFromConfig(control.data_type);
      if (datatype === undefined || !CORRID_TYPES.has(datatype)) {
        fail(`sequence_batching: control input '${input.name}': CONTROL_SEQUENCE_CORRID needs data_type TYPE_UINT64, TYPE_INT64, TYPE_UINT32, TYPE_INT32 or TYPE_STRING, got ${control.data_type}`);
      }
      plan.corrid = { name: input.name, datatype };
      continue;
    }
    const lists: [DataType, readonly (number | boolean)[]][] = [
      ['INT32', control.int32_false_true],
      ['FP32', control.fp32_false_true],
      ['BOOL', control.bool_false_true],
    ];
    const given = lists.filter(([, values]) => values.length > 0);
    if (given.length !== 1 || given[0]![1].length !== 2) {
      fail(`sequence_batching: control input '${input.name}' (${control.kind}) must give exactly one of int32_false_true, fp32_false_true, bool_false_true with two values`);
    }
    const [datatype, values] = given[0]!;
    const flag: FlagControl = { name: input.name, datatype, values: [Number(values[0]), Number(values[1])] };
    if (control.kind === 'CONTROL_SEQUENCE_START') plan.start = flag;
    else if (control.kind === 'CONTROL_SEQUENCE_END') plan.end = flag;
    else plan.ready = flag;
  }
  return plan;
}

/** Names of every control input of a plan. */
export function controlNames(plan: ControlPlan): string[] {
  return [plan.start, plan.end, plan.ready, plan.corrid].flatMap((c) => (c ? [c.name] : []));
}

/**
 * Checks that a request's correlation id can be written into the model's CORRID control: a string
 * id needs a TYPE_STRING control; a number must fit the control's integer type.
 */
export function checkCorrelationId(plan: ControlPlan, id: CorrelationId, model: string): void {
  const corrid = plan.corrid;
  if (!corrid || corrid.datatype === 'BYTES') return;
  if (typeof id === 'string') {
    throw invalidArgument(`inference request to model '${model}' must specify an unsigned integer correlation ID: its CONTROL_SEQUENCE_CORRID input '${corrid.name}' is ${corrid.datatype}`);
  }
  const max = corrid.datatype === 'UINT64' ? 2n ** 64n - 1n : corrid.datatype === 'INT64' ? 2n ** 63n - 1n : corrid.datatype === 'UINT32' ? 2n ** 32n - 1n : 2n ** 31n - 1n;
  if (id > max) throw invalidArgument(`correlation ID ${id} does not fit the ${corrid.datatype} CONTROL_SEQUENCE_CORRID input '${corrid.name}' of model '${model}'`);
}

function flagTensor(control: FlagControl, value: boolean, shape: readonly number[]): Tensor {
  const v = control.values[value ? 1 : 0];
  const data = control.datatype === 'FP32' ? Float32Array.of(v) : control.datatype === 'INT32' ? Int32Array.of(v) : Uint8Array.of(v === 0 ? 0 : 1);
  return { name: control.name, datatype: control.datatype, shape, data };
}

function corridTensor(control: CorridControl, id: CorrelationId | undefined, shape: readonly number[]): Tensor {
  if (control.datatype === 'BYTES') {
    // A padding row's id is "0", the string form of the numeric "no sequence" 0, so models that
    // parse their string CORRID as a number (as Triton's string dyna example does) do not fail.
    const text = id === undefined ? '0' : String(id);
    return { name: control.name, datatype: 'BYTES', shape, data: [new TextEncoder().encode(text)] };
  }
  const n = typeof id === 'bigint' ? id : 0n;
  const data =
    control.datatype === 'UINT64' ? BigUint64Array.of(n) : control.datatype === 'INT64' ? BigInt64Array.of(n) : control.datatype === 'UINT32' ? Uint32Array.of(Number(n)) : Int32Array.of(Number(n));
  return { name: control.name, datatype: control.datatype, shape, data };
}

/** The control tensors of one batch row, one element each (`[1, 1]` when batching, else `[1]`). */
export function controlTensors(plan: ControlPlan, flags: RowFlags, batching: boolean): Tensor[] {
  const shape = batching ? [1, 1] : [1];
  const tensors: Tensor[] = [];
  if (plan.start) tensors.push(flagTensor(plan.start, flags.start && flags.ready, shape));
  if (plan.end) tensors.push(flagTensor(plan.end, flags.end && flags.ready, shape));
  if (plan.ready) tensors.push(flagTensor(plan.ready, flags.ready, shape));
  if (plan.corrid) tensors.push(corridTensor(plan.corrid, flags.correlationId, shape));
  return tensors;
}
